"""The `uec` command: serve, initialise the database, manage users and tokens, check rules."""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from uec.config import ROOT, Settings


def _store(settings: Settings):
    from accounts import Accounts
    from directory.store import Store
    store = Store(settings.database_url)
    Accounts(store.engine).migrate()
    store.initialise()
    return store


def _accounts(settings: Settings):
    from accounts import Accounts
    return Accounts(_store(settings).engine)


# `uec serve --worker-class`: short names; anything else is passed to gunicorn as given
_WORKER_CLASSES = {"shed": "uec.serving.ShedThreadWorker", "shed-sync": "uec.serving.ShedSyncWorker",
                   "gthread": "gthread", "sync": "sync"}


def cmd_serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    store = _store(settings)  # migrate and seed once, before the workers start
    print(f"directory: {settings.database_url} ({len(store.services())} services)", file=sys.stderr)
    if args.warm:
        from uec.core import UrgentCare
        UrgentCare(settings, store=store).snapshot()  # precompute travel-time fields once
    host = args.bind.rsplit(":", 1)[0]
    if host in ("127.0.0.1", "localhost", "[::1]") and "UEC_INSECURE_COOKIES" not in os.environ:
        # plain http on loopback (the local demo): a Secure-only cookie would make sign-in impossible
        os.environ["UEC_INSECURE_COOKIES"] = "1"
    os.chdir(ROOT)
    gunicorn = Path(sys.executable).with_name("gunicorn")  # the one installed beside this Python
    worker_class = _WORKER_CLASSES.get(args.worker_class, args.worker_class)
    argv = [str(gunicorn) if gunicorn.exists() else "gunicorn", "--bind", args.bind, "--workers", str(args.workers),
            "--worker-class", worker_class, "--threads", str(args.threads), "--timeout", "120",
            "--access-logfile", args.access_log, "wsgi:app"]
    os.execvp(argv[0], argv)
    return 0  # pragma: no cover


def cmd_init(args: argparse.Namespace) -> int:
    store = _store(Settings.from_env())
    print(f"database ready: {len(store.services())} services")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from accounts import AccountError
    accounts = _accounts(Settings.from_env())
    password = args.password or os.environ.get("UEC_PASSWORD") or getpass.getpass("Password (10+ characters): ")
    try:
        accounts.create_user(args.username, password, args.role, areas=args.area or [],
                          service_ids=args.service or [], requester_role=args.requester_role)
    except AccountError as exc:
        for k, v in exc.errors.items():
            print(f"error: {k}: {v}", file=sys.stderr)
        return 2
    print(f"created {args.role} {args.username!r}")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    args.role = "administrator"
    args.area, args.service, args.requester_role = [], [], "nhs111"
    return cmd_create_user(args)


def cmd_create_token(args: argparse.Namespace) -> int:
    from accounts import AccountError
    accounts = _accounts(Settings.from_env())
    try:
        token = accounts.create_token(args.username, args.name)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    """`uec rules check|test`: the rule set's own linter and tests (triage.cli)."""
    from triage.cli import main as rules_main
    return rules_main(["rules", args.action] + (["--rules", str(args.rules)] if args.rules else []))


def cmd_triage(args: argparse.Namespace) -> int:
    from uec.core import UrgentCare
    from uec.inputs import InputError
    care = UrgentCare(Settings.from_env())
    care.initialise()
    try:
        print(json.dumps(care.triage(json.loads(args.json)), indent=2))
    except InputError as exc:
        print(json.dumps({"errors": exc.errors, **exc.extra}, indent=2))
        return 2
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from uec.core import UrgentCare
    from uec.inputs import parse_at
    care = UrgentCare(Settings.from_env())
    care.initialise()
    errors: dict[str, str] = {}
    at = parse_at(args.at, errors)
    if errors:
        print(f"error: {errors}", file=sys.stderr)
        return 2
    result = care.coverage(args.type, at=at)
    overall = result["overall"]
    print(f"{args.type} open at {result['at']} ({result['services']} services), LSC population {overall['population']:,.0f}")
    for t, w in overall["within"].items():
        print(f"  within {float(t):>4.0f} min: {w['share']:.1%} of people, {w['deprived_share']:.1%} of the most deprived fifth")
    if args.json:
        print(json.dumps(result, default=str))
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    """Run the scenario bundle (the database's, or a file's); exit 1 if any differ from expectation."""
    from directory import scenarios as sc
    from uec.core import UrgentCare
    care = UrgentCare(Settings.from_env())
    care.initialise()
    bad: dict[str, str] = {}
    try:
        if args.file:
            items = sc.load_file(args.file, dispositions=care.rules.dispositions)
        else:
            care.store.seed_scenarios([(x.name, x.spec()) for x in sc.load_file(dispositions=care.rules.dispositions)])
            items, bad = sc.from_store(care.store.scenarios(), dispositions=care.rules.dispositions)
            for name, why in bad.items():
                print(f"INVALID  {name}: {why}")
    except sc.ScenarioError as exc:
        for k, v in exc.errors.items():
            print(f"error: {k}: {v}", file=sys.stderr)
        return 2
    outcomes = sc.run(items, care.route)
    for o in outcomes:
        print(f"{'ok     ' if o.ok else 'DIFFERS'}  {o.scenario.name}: {o.message} (first: {o.first or '-'}, at {o.at})")
    n_bad = sum(not o.ok for o in outcomes) + len(bad)
    print(f"{len(outcomes)} scenarios, {n_bad} differ")
    return 1 if n_bad else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="uec", description="LSC urgent-care triage and directory of services")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="initialise the database, then run gunicorn")
    s.add_argument("--bind", default=os.environ.get("UEC_BIND", "127.0.0.1:8000"))
    # defaults chosen with `python -m bench.http` (README, docs/scaling.md): 2 processes x 4 threads of
    # the gthread worker that sheds requests waiting over UEC_MAX_QUEUE_MS with a fast 503
    s.add_argument("--workers", type=int, default=int(os.environ.get("UEC_WORKERS", "2")))
    s.add_argument("--worker-class", default=os.environ.get("UEC_WORKER_CLASS", "shed"),
                   help="shed (gthread that answers 503 when saturated), gthread, sync, or a gunicorn class path")
    s.add_argument("--threads", type=int, default=int(os.environ.get("UEC_THREADS", "4")))
    s.add_argument("--access-log", default=os.environ.get("UEC_ACCESS_LOG", "-"),
                   help="gunicorn access log file ('-' standard output, '/dev/null' none)")
    s.add_argument("--no-warm", dest="warm", action="store_false", help="skip precomputing travel fields")
    s.set_defaults(func=cmd_serve)
    sub.add_parser("init", help="create or migrate the database and load the bundled LSC directory").set_defaults(func=cmd_init)
    u = sub.add_parser("create-user", help="create a user: viewer, capacity_updater, commissioner, administrator")
    u.add_argument("username")
    u.add_argument("--role", required=True, choices=["viewer", "capacity_updater", "commissioner", "administrator"])
    u.add_argument("--area", action="append", help="LAD code or place a commissioner edits (repeat)")
    u.add_argument("--service", action="append", help="service id a capacity updater updates (repeat)")
    u.add_argument("--requester-role", default="nhs111", help="default requester role for this user's API tokens")
    u.add_argument("--password", help="or set UEC_PASSWORD, or be prompted")
    u.set_defaults(func=cmd_create_user)
    a = sub.add_parser("create-admin", help="create the first administrator")
    a.add_argument("username")
    a.add_argument("--password")
    a.set_defaults(func=cmd_create_admin)
    t = sub.add_parser("create-token", help="create an API token (printed once) for a user")
    t.add_argument("username")
    t.add_argument("--name", default="api")
    t.set_defaults(func=cmd_create_token)
    r = sub.add_parser("rules", help="rule set tools")
    r.add_argument("action", choices=["check", "test"])
    r.add_argument("--rules", type=Path, default=None)
    r.set_defaults(func=cmd_rules)
    tr = sub.add_parser("triage", help="run one triage request given as JSON")
    tr.add_argument("json")
    tr.set_defaults(func=cmd_triage)
    c = sub.add_parser("coverage", help="share of people within N minutes of an open service of a type")
    c.add_argument("--type", required=True)
    c.add_argument("--at", default=None, help="ISO date-time, default now")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_coverage)


    sc = sub.add_parser("scenarios", help="scenario bundles: check routing against expectations")
    sc.add_argument("action", choices=["run"])
    sc.add_argument("--file", type=Path, default=None, help="run a YAML file instead of the database's scenarios")
    sc.set_defaults(func=cmd_scenarios)
    args = p.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
