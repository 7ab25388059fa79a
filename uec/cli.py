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


def _shm_dir() -> str | None:
    """/dev/shm where it is a writable directory: gunicorn's workers touch a heartbeat file on every
    wake of their loop, and on a disk file system each touch is a journalled inode update (11% of a
    worker's busy time at 100 route requests a second under py-spy; gunicorn's docs advise /dev/shm)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def cmd_serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    store = _store(settings)  # migrate and seed once, before the workers start
    print(f"directory: {settings.database_url} ({len(store.services())} services)", file=sys.stderr)
    if args.warm:
        from uec.core import UrgentCare
        UrgentCare(settings, store=store).snapshot()  # precompute travel-time fields once
    # Session cookies stay Secure whatever the address bound: loopback is how the app runs behind a TLS
    # proxy. Browsers accept Secure cookies from http://127.0.0.1 and http://localhost, so the local demo
    # still signs in; UEC_INSECURE_COOKIES=1 only for plain http on another address (README).
    os.chdir(ROOT)
    gunicorn = Path(sys.executable).with_name("gunicorn")  # the one installed beside this Python
    worker_class = _WORKER_CLASSES.get(args.worker_class, args.worker_class)
    argv = [str(gunicorn) if gunicorn.exists() else "gunicorn", "--bind", args.bind, "--workers", str(args.workers),
            "--worker-class", worker_class, "--threads", str(args.threads), "--timeout", "120"]
    if args.access_log.lower() not in ("off", "none", ""):
        argv += ["--access-logfile", args.access_log]
    tmp_dir = args.worker_tmp_dir if args.worker_tmp_dir is not None else _shm_dir()
    if tmp_dir:
        argv += ["--worker-tmp-dir", tmp_dir]
    argv.append("wsgi:app")
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
    days = args.days if args.days is not None else Settings.from_env().token_days
    try:
        token = accounts.create_token(args.username, args.name, days=days)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(token)
    print(f"(expires in {days:g} days; revoke with 'uec revoke-token --id N', ids from 'uec tokens')", file=sys.stderr)
    return 0


def cmd_revoke_token(args: argparse.Namespace) -> int:
    """`uec revoke-token --id N` or `uec revoke-token --user NAME` (all of that user's tokens)."""
    from accounts import AccountError
    accounts = _accounts(Settings.from_env())
    if (args.id is None) == (args.user is None):
        print("error: give --id N (from 'uec tokens') or --user NAME (all of that user's tokens)", file=sys.stderr)
        return 2
    try:
        if args.id is not None:
            gone = accounts.revoke_token(args.id, by="cli")
            print(f"revoked token {args.id} ({gone['name']!r} of {gone['username']})")
        else:
            print(f"revoked {accounts.revoke_tokens(args.user, by='cli')} token(s) of {args.user}")
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    """List API tokens (never the secrets): id, user, name, expiry, state."""
    for tok in _accounts(Settings.from_env()).tokens(args.user):
        state = "revoked" if tok["revoked"] else ("expired" if tok["expired"] else "live")
        print(f"{tok['id']}\t{tok['username']}\t{tok['name']}\texpires {tok['expires_at']:%Y-%m-%d}\t{state}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """`uec import FILE --user NAME`: the same checked, all-or-nothing write path as the admin pages and API."""
    from directory.model import ServiceError
    from uec.core import UrgentCare
    from uec.directory_service import Forbidden
    from uec.permissions import User
    care = UrgentCare(Settings.from_env())
    care.initialise()
    row = care.accounts.user(args.user)
    if not row or not row["active"]:
        print(f"error: user: no active user {args.user!r}; create one with 'uec create-user'", file=sys.stderr)
        return 2
    fmt = args.format or ("geojson" if args.file.suffix.lower() in (".geojson", ".json") else "csv")
    try:
        text = args.file.read_bytes().decode("utf-8-sig")
        counts = care.directory.import_text(text, fmt, user=User.from_row(row), source=f"cli:{args.file.name}")
    except Forbidden as exc:  # before OSError: a refusal is not a file problem
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: file: cannot read {args.file} as UTF-8 text ({exc.__class__.__name__})", file=sys.stderr)
        return 2
    except ServiceError as exc:
        for k, v in exc.errors.items():
            print(f"error: {k}: {v}", file=sys.stderr)
        return 2
    print(f"imported {counts['rows']} rows: {counts['created']} new, {counts['updated']} changed, "
          f"{counts['unchanged']} unchanged")
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


def cmd_purge_outcomes(args: argparse.Namespace) -> int:
    """Apply the outcome log's retention now."""
    from dataclasses import replace
    from uec.intelligence.outcomes import OutcomeLog, OutcomeSettings
    settings = OutcomeSettings.from_env()
    if args.days is not None:
        if not 1 <= args.days <= 36500:
            print("error: --days must be from 1 to 36500", file=sys.stderr)
            return 2
        settings = replace(settings, retention_days=args.days)
    store = _store(Settings.from_env())
    n = OutcomeLog(store.engine, classes={}, type_of=lambda _: None, settings=settings).purge()
    print(f"purged {n:,} outcome(s) older than {settings.retention_days:g} days")
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
    s.add_argument("--access-log", default=os.environ.get("UEC_ACCESS_LOG", "off"),
                   help="gunicorn access log file ('-' standard output; default off: the TLS proxy in front logs access)")
    s.add_argument("--worker-tmp-dir", default=os.environ.get("UEC_WORKER_TMP_DIR"),
                   help="where gunicorn keeps its worker heartbeat files (default /dev/shm when writable)")
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
    t.add_argument("--days", type=float, default=None, help="lifetime in days (default UEC_TOKEN_DAYS, 90)")
    t.set_defaults(func=cmd_create_token)
    im = sub.add_parser("import", help="import services from a CSV or GeoJSON file, all rows or none")
    im.add_argument("file", type=Path)
    im.add_argument("--user", required=True, help="the account the change is made as (its role and areas apply)")
    im.add_argument("--format", choices=["csv", "geojson"], default=None, help="default: from the file name")
    im.set_defaults(func=cmd_import)
    rv = sub.add_parser("revoke-token", help="revoke an API token (--id N) or all of a user's (--user NAME)")
    rv.add_argument("--id", type=int, default=None)
    rv.add_argument("--user", default=None)
    rv.set_defaults(func=cmd_revoke_token)
    tl = sub.add_parser("tokens", help="list API tokens (ids, users, expiry; never the secrets)")
    tl.add_argument("--user", default=None)
    tl.set_defaults(func=cmd_tokens)
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
    po = sub.add_parser("purge-outcomes", help="delete outcome-log rows older than UEC_OUTCOME_RETENTION_DAYS "
                                               "(the running app also does this hourly)")
    po.add_argument("--days", type=float, default=None, help="retention in days (default: the setting)")
    po.set_defaults(func=cmd_purge_outcomes)
    args = p.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
