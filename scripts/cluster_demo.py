"""Two app nodes behind HAProxy on a PostgreSQL primary and streaming replica, all on loopback.

scripts/cluster-demo [--json]   starts everything from the machine's binaries in a temporary folder,
shows (1) an edit through one node reaching both within 2 s, (2) a node killed under load losing only
its in-flight requests, (3) a paused replica giving old-but-consistent answers, bypassed after
UEC_REPLICA_MAX_LAG_S; then stops everything and removes the folder (also on Ctrl-C or failure).
Exit status 0 only if every check passed; with --json the last line is the figures as JSON.
"""
from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
ROUTE = {"disposition": "ED_4H", "location": {"postcode": "PR1 8XJ"}, "age": 40, "sex": "male"}
EDITED = "rph-ed"   # the nearest ED to PR1 8XJ: closing it changes the first answer
MAX_LAG_S = 3.0


def log(msg: str) -> None:
    print(f"[cluster-demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (install postgresql)")
    return found[-1]


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None, timeout: float = 10
         ) -> tuple[int, dict, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"{}")


class Cluster:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="uec-cluster-"))
        os.chmod(self.tmp, 0o755)
        self.procs: list[subprocess.Popen] = []
        self.as_postgres = os.geteuid() == 0  # initdb refuses root: run the servers as `postgres`
        self.pg_primary, self.pg_replica = free_port(), free_port()
        self.nodes: dict[str, dict] = {}
        self.lb_port = free_port()
        self.url_primary = f"postgresql+psycopg://uec@{HOST}:{self.pg_primary}/uec"
        self.url_replica = f"postgresql+psycopg://uec@{HOST}:{self.pg_replica}/uec"

    # -- PostgreSQL ------------------------------------------------------------------------------------
    def _pg(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(argv)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and res.returncode:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {res.stderr[-1500:]}")
        return res

    def _pg_dir(self, name: str) -> Path:
        d = self.tmp / name
        d.mkdir(mode=0o700)
        if self.as_postgres:
            shutil.chown(d, "postgres", "postgres")
        return d

    def start_postgres(self) -> None:
        sock = self._pg_dir("sockets")
        self.logs = self._pg_dir("pglogs")
        primary = self._pg_dir("primary")
        t0 = time.monotonic()
        self._pg(pg_bin("initdb"), "-D", str(primary), "-U", "uec", "--auth=trust", "-E", "UTF8", "--no-sync")
        with open(primary / "postgresql.conf", "a") as fh:
            fh.write(f"\nlisten_addresses = '{HOST}'\nport = {self.pg_primary}\nunix_socket_directories = '{sock}'\n"
                     "wal_level = replica\nmax_wal_senders = 5\nfsync = off\nhot_standby = on\n")
        self._pg(pg_bin("pg_ctl"), "-D", str(primary), "-l", str(self.logs / "primary.log"), "-w", "start")
        log(f"primary initialised and started in {time.monotonic() - t0:.1f} s")
        self._pg(pg_bin("createdb"), "-h", HOST, "-p", str(self.pg_primary), "-U", "uec", "uec")
        replica = self._pg_dir("replica")
        self._pg(pg_bin("pg_basebackup"), "-h", HOST, "-p", str(self.pg_primary), "-U", "uec", "-D", str(replica),
                 "-R", "-X", "stream", "--no-sync", "--checkpoint=fast")
        with open(replica / "postgresql.conf", "a") as fh:
            fh.write(f"\nport = {self.pg_replica}\n")
        self._pg(pg_bin("pg_ctl"), "-D", str(replica), "-l", str(self.logs / "replica.log"), "-w", "start")
        log(f"PostgreSQL primary :{self.pg_primary}, streaming replica :{self.pg_replica}")

    def psql(self, port: int, sql: str) -> str:
        return self._pg(pg_bin("psql"), "-h", HOST, "-p", str(port), "-U", "uec", "-d", "uec", "-Atc", sql).stdout.strip()

    # -- app nodes and HAProxy --------------------------------------------------------------------------
    def env(self, var: Path) -> dict[str, str]:
        return dict(os.environ, DATABASE_URL=self.url_primary, DATABASE_READ_URL=self.url_replica,
                    UEC_VAR_DIR=str(var), UEC_SECRET_KEY="cluster-demo-shared-secret", UEC_REPLICA_MAX_LAG_S=str(MAX_LAG_S),
                    UEC_REFRESH_SECONDS="0.5", UEC_RATELIMIT_DEFAULT="1000000 per minute")  # one load generator

    def uec(self, *args: str) -> str:
        uec = Path(sys.executable).with_name("uec")
        res = subprocess.run([str(uec) if uec.exists() else "uec", *args], env=self.env(self.tmp / "cli"), cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
        if res.returncode:
            raise RuntimeError(f"uec {' '.join(args)} failed: {res.stderr[-1500:]}")
        return res.stdout

    def start_node(self, name: str, *, cache_from: Path | None = None) -> None:
        port = free_port()
        var = self.tmp / name
        var.mkdir()
        if cache_from is not None:
            cache_from.rename(var / "travel-cache")
        uec = Path(sys.executable).with_name("uec")
        proc = subprocess.Popen([str(uec) if uec.exists() else "uec", "serve", "--bind", f"{HOST}:{port}",
                                 "--workers", "2", "--access-log", "/dev/null"], env=self.env(var), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=open(var / "server.log", "wb"), start_new_session=True)
        self.procs.append(proc)
        self.nodes[name] = {"port": port, "proc": proc, "base": f"http://{HOST}:{port}"}

    def wait_http(self, base: str, timeout: float = 180) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if http("GET", base + "/api/v1/health", timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{base} did not answer within {timeout:.0f} s")

    def start_haproxy(self) -> None:
        exe = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(exe).exists():
            raise SystemExit("haproxy not found: scripts/test-deps.sh installs the Debian package")
        servers = "\n".join(f"    server {n} {HOST}:{v['port']} check inter 500ms fall 2 rise 2"
                            for n, v in self.nodes.items())
        cfg = self.tmp / "haproxy.cfg"
        cfg.write_text(f"""global
    maxconn 2000
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout queue 1s
    retries 2
    option redispatch 1
    # a dead node's refused or dropped connections, and its 503 refusals, are retried on the other node;
    # route and triage only read, so a request lost in flight is retried too (other POSTs are not)
    retry-on conn-failure empty-response response-timeout 503
frontend api
    bind {HOST}:{self.lb_port}
    http-request disable-l7-retry if METH_POST !{{ path_beg /api/v1/route }} !{{ path_beg /api/v1/triage }}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /api/v1/health
{servers}
""")
        check = subprocess.run([exe, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"haproxy configuration refused: {check.stderr[-1500:]}")
        proc = subprocess.Popen([exe, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                                stderr=open(self.tmp / "haproxy.log", "wb"), start_new_session=True)
        self.procs.append(proc)
        self.lb = f"http://{HOST}:{self.lb_port}"
        self.wait_http(self.lb, 30)
        nodes = ", ".join(f"{n} :{v['port']}" for n, v in self.nodes.items())
        log(f"HAProxy :{self.lb_port} in front of {nodes}")

    def kill_node(self, name: str) -> None:
        os.killpg(self.nodes[name]["proc"].pid, signal.SIGKILL)

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        for d in ("replica", "primary"):
            if (self.tmp / d / "postmaster.pid").exists():
                self._pg(pg_bin("pg_ctl"), "-D", str(self.tmp / d), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- the checks -------------------------------------------------------------------------------------------
def route_ids(base: str) -> tuple[int, list[str]]:
    status, _, out = http("POST", base + "/api/v1/route", ROUTE)
    if status != 200:
        raise RuntimeError(f"route via {base} answered {status}: {out}")
    return out["directory_version"], [s["id"] for s in out["services"]]


def edit(base: str, token: str, *, closed: bool) -> int:
    auth = {"Authorization": f"Bearer {token}"}
    status, headers, svc = http("GET", f"{base}/api/v1/services/{EDITED}", headers=auth)
    assert status == 200, svc
    body = {k: v for k, v in svc.items() if k not in ("version", "capacity", "updated_at", "updated_by")}
    body["status"] = "temporarily_closed" if closed else "active"
    body["closed_reason"] = "cluster demo: power cut" if closed else None
    status, _, out = http("PUT", f"{base}/api/v1/services/{EDITED}", body,
                          headers={**auth, "If-Match": headers.get("ETag", "")})
    if status != 200:
        raise RuntimeError(f"edit answered {status}: {out}")
    return out["version"]


def check_edit_reaches_both(c: Cluster, token: str) -> dict:
    bases = [v["base"] for v in c.nodes.values()]
    assert all(EDITED in route_ids(b)[1] for b in bases), "the demo expects the ED open at the start"
    t0 = time.monotonic()
    edit(bases[0], token, closed=True)
    seen: dict[str, float] = {}
    while len(seen) < len(bases) and time.monotonic() - t0 < 10:
        for b in bases:
            if b not in seen and EDITED not in route_ids(b)[1]:
                seen[b] = time.monotonic() - t0
        time.sleep(0.05)
    worst = max(seen.values()) if len(seen) == len(bases) else None
    log(f"edit on node1 (close {EDITED}) reached " + ", ".join(f"{b.rsplit(':', 1)[1]} in {s:.2f} s" for b, s in seen.items()))
    return {"edit_visible_s": round(worst, 2) if worst is not None else None,
            "ok": worst is not None and worst <= 2.0}


async def _load(url_host: str, port: int, rate: float, seconds: float, kill_at: float, kill) -> dict:
    loop = asyncio.get_running_loop()
    body = json.dumps(ROUTE).encode()
    payload = (f"POST /api/v1/route HTTP/1.1\r\nHost: {url_host}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    stats = {"ok": 0, "failed": 0, "in_flight_at_kill": None, "statuses": {}}
    in_flight = 0

    async def one() -> None:
        nonlocal in_flight
        in_flight += 1
        status = 0
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(url_host, port), 5)
            w.write(payload)
            data = await asyncio.wait_for(r.read(), 10)
            w.close()
            status = int(data[9:12]) if data[:5] == b"HTTP/" else 0
        except (OSError, asyncio.TimeoutError, ValueError):
            status = 0
        finally:
            in_flight -= 1
        stats["ok" if status == 200 else "failed"] += 1
        if status != 200:
            stats["statuses"][status] = stats["statuses"].get(status, 0) + 1

    start = loop.time()
    tasks, killed = [], False
    for i in range(int(rate * seconds)):
        at = start + i / rate
        if not killed and at - start >= kill_at:
            stats["in_flight_at_kill"] = in_flight
            kill()
            killed = True
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one()))
    await asyncio.gather(*tasks)
    return stats


def check_node_killed_under_load(c: Cluster) -> dict:
    stats = asyncio.run(_load(HOST, c.lb_port, rate=60, seconds=6, kill_at=2.0, kill=lambda: c.kill_node("node2")))
    lost = stats["failed"]
    bound = stats["in_flight_at_kill"] or 0
    log(f"node2 killed under 60 req/s: {stats['ok']} answered, {lost} failed "
        f"({bound} request(s) were in flight at the kill; failures by status {stats['statuses']})")
    return {"answered": stats["ok"], "failed": lost, "in_flight_at_kill": bound, "ok": lost <= bound}


def check_replica_lag(c: Cluster, token: str) -> dict:
    """Pause WAL replay: answers stay on the replica's (older) version, consistent with it, until the
    node sees the replica more than UEC_REPLICA_MAX_LAG_S behind and reads the primary instead."""
    base = c.nodes["node1"]["base"]
    v_before, ids = route_ids(base)
    assert EDITED not in ids
    c.psql(c.pg_replica, "SELECT pg_wal_replay_pause()")
    t0 = time.monotonic()
    v_new = edit(base, token, closed=False)  # reopen on the primary; the replica does not see it
    answers, wrong = [], 0
    while time.monotonic() - t0 < MAX_LAG_S + 6:
        v, ids = route_ids(base)
        fresh = v > v_before
        # a wrong answer: a version that claims the reopening without it, or the reverse
        if fresh != (EDITED in ids):
            wrong += 1
        answers.append((round(time.monotonic() - t0, 2), v, fresh))
        if fresh:
            break
        time.sleep(0.1)
    replica_version = int(c.psql(c.pg_replica, "SELECT value FROM meta WHERE key = 'directory_version'") or 0)
    c.psql(c.pg_replica, "SELECT pg_wal_replay_resume()")
    stale = [a for a in answers if not a[2]]
    caught = next((a[0] for a in answers if a[2]), None)
    log(f"replica paused: {len(stale)} answers on the replica's version (consistent), the primary's edit "
        f"used after {caught} s (max lag setting {MAX_LAG_S:g} s); replica still at version {replica_version}; "
        f"{wrong} wrong answers")
    return {"stale_consistent_answers": len(stale), "bypass_after_s": caught, "wrong_answers": wrong,
            "replica_version_while_paused": replica_version,
            "ok": wrong == 0 and caught is not None and replica_version < v_new + 0 and stale != []}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    c = Cluster()
    result: dict = {"tmp": str(c.tmp)}
    t_start = time.monotonic()

    def _term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    try:
        c.start_postgres()
        t0 = time.monotonic()
        c.uec("init")
        log(f"schema and bundled directory loaded in {time.monotonic() - t0:.1f} s")
        c.uec("create-admin", "demo-admin", "--password", "cluster-demo-password-1")
        token = c.uec("create-token", "demo-admin").strip().splitlines()[-1]
        c.start_node("node1")
        c.wait_http(c.nodes["node1"]["base"])
        # travel fields are per-node state derived from the road graph: node2 gets node1's as a deployment would
        shutil.copytree(c.tmp / "node1" / "travel-cache", c.tmp / "node2-cache")
        c.start_node("node2", cache_from=c.tmp / "node2-cache")
        c.wait_http(c.nodes["node2"]["base"])
        c.start_haproxy()
        log(f"cluster up in {time.monotonic() - t_start:.1f} s")
        result["edit"] = check_edit_reaches_both(c, token)
        result["replica_lag"] = check_replica_lag(c, token)
        result["kill"] = check_node_killed_under_load(c)
        result["ok"] = all(v["ok"] for v in result.values() if isinstance(v, dict))
        result["seconds"] = round(time.monotonic() - t_start, 1)
        log("PASS" if result["ok"] else "FAIL")
    except Exception as exc:  # report, clean up, fail
        log(f"FAIL: {exc.__class__.__name__}: {exc}")
        result["ok"] = False
        result["error"] = str(exc)[:2000]
    except KeyboardInterrupt:
        log("interrupted")
        result["ok"] = False
    finally:
        c.stop()
    if args.json:
        print(json.dumps(result))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
