"""Benchmark the HTTP API under gunicorn with a constant-rate (open-loop) mix of route and triage requests.

python -m bench.http [--quick] [--rates 25,50,100] [--seconds 4] [--workers 2 --worker-class shed --threads 4]

Starts `uec serve` on loopback with its own temporary var dir and SQLite database, then for each
rate sends requests at fixed scheduled times (never waiting for answers, so a slow server cannot
slow the generator: latency counts from the scheduled send time), and prints p50/p99/max latency,
errors, 503 refusals and the gunicorn processes' CPU time per request (from /proc) at each step.
Bounded: every step has a fixed number of requests and every request a timeout. The last line is
one JSON object with cpu_ms_per_route, route_p99_ms_at_300 and errors_below_500 among others.

cpu_ms_per_route is measured route-only at 300 req/s (the load the p99 target is set at) with a new
connection per request; the same at 100 req/s and on kept-alive connections are printed beside it
(cpu_ms_per_route_at_100, cpu_ms_per_route_keepalive, ...). At a light load each request also pays for
waking the idle worker, which on a virtual machine is a large share of it.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
TICK = os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# -- the server under test ------------------------------------------------------------------------------
class Server:
    """`uec serve` (gunicorn) on a free loopback port with its own temporary var dir."""

    def __init__(self, *, workers: int | None, worker_class: str | None, threads: int | None, env: dict[str, str]):
        self.tmp = Path(tempfile.mkdtemp(prefix="uec-bench-http-"))
        self.port = _free_port()
        self.base = f"http://{HOST}:{self.port}"
        uec = Path(sys.executable).with_name("uec")
        argv = [str(uec) if uec.exists() else "uec", "serve", "--bind", f"{HOST}:{self.port}"]
        for flag, value in (("--workers", workers), ("--worker-class", worker_class), ("--threads", threads)):
            if value is not None:
                argv += [flag, str(value)]
        self.argv = argv
        run_env = dict(os.environ, UEC_VAR_DIR=str(self.tmp), DATABASE_URL=f"sqlite:///{self.tmp / 'd.sqlite'}", **env)
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=run_env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.tmp / "server.log", "wb"), start_new_session=True)

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + (self.tmp / "server.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(self.base + "/api/v1/health", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("server did not become ready: " + (self.tmp / "server.log").read_text()[-2000:])

    def pids(self) -> list[int]:
        """The gunicorn master and its workers."""
        out = [self.proc.pid]
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            out += [int(k) for k in kids]
        except OSError:
            pass
        return out

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
            except (OSError, IndexError, ValueError):
                pass
        return total / TICK

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- requests -------------------------------------------------------------------------------------------
def _get_json(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.loads(r.read())


def _post_json(base: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def make_workload(base: str, *, seed: int = 7, n_route: int = 2000, n_triage: int = 40) -> tuple[list[bytes], list[bytes]]:
    """Route bodies for random dispositions at random LSC postcodes; complete triage cases (every
    question answered "no", found by walking the API) for a spread of complaints, with a location."""
    rng = random.Random(seed)
    with open(ROOT / "geodata" / "data" / "postcodes.csv", newline="") as fh:
        postcodes = [r["postcode"] for r in csv.DictReader(fh) if r.get("lad_code")]
    codes = [d["code"] for d in _get_json(base, "/api/v1/dispositions")["dispositions"]]
    routes = [json.dumps({"disposition": rng.choice(codes), "location": {"postcode": rng.choice(postcodes)},
                          "age": rng.choice([2, 9, 35, 62, 84]), "sex": rng.choice(["female", "male"])}).encode()
              for _ in range(n_route)]
    complaints = _get_json(base, "/api/v1/complaints")["complaints"]
    rng.shuffle(complaints)
    triages = []
    for c in complaints:
        if len(triages) >= n_triage:
            break
        age = 8 if c["id"].endswith("_child") else 45
        body = {"complaint": c["id"], "age": age, "sex": rng.choice(["female", "male"]),
                "location": {"postcode": rng.choice(postcodes)}, "answers": {}}
        try:
            for _ in range(40):
                out = _post_json(base, "/api/v1/triage", body)
                if out["status"] == "complete":
                    triages.append(json.dumps(body).encode())
                    break
                body["answers"][out["question"]["id"]] = "no"
        except (OSError, KeyError, ValueError):
            continue  # a complaint this simple walk cannot finish (e.g. needs a number): skip it
    if not triages:
        raise RuntimeError("could not build any complete triage case")
    return routes, triages


def _request_bytes(path: str, body: bytes, *, keepalive: bool = False) -> bytes:
    close = "" if keepalive else "Connection: close\r\n"
    return (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{close}\r\n").encode() + body


@dataclass
class KindStats:
    latencies_ms: list[float] = field(default_factory=list)
    ok: int = 0
    shed: int = 0        # 503 with Retry-After
    errors: int = 0      # anything else: other statuses, timeouts, refused or reset connections
    shed_ms: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)  # generator's own delay past the scheduled time

    def summary(self) -> dict:
        return {"n": self.ok + self.shed + self.errors, "ok": self.ok, "shed_503": self.shed, "errors": self.errors,
                "p50_ms": _round(_pct(self.latencies_ms, 0.50)), "p99_ms": _round(_pct(self.latencies_ms, 0.99)),
                "max_ms": _round(max(self.latencies_ms) if self.latencies_ms else None),
                "shed_p99_ms": _round(_pct(self.shed_ms, 0.99)),
                "send_lag_p99_ms": _round(_pct(self.send_lag_ms, 0.99))}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


class Pool:
    """Idle keep-alive connections, as a dispatch system's HTTP client (or HAProxy) keeps them: a request
    takes one if any is idle, else opens a new one; it goes back after a complete answer the server did
    not mark `Connection: close`. Disabled (every request on its own connection) when `keepalive` is off."""

    def __init__(self, keepalive: bool):
        self.keepalive = keepalive
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    def close(self) -> None:
        for _, w in self.idle:
            w.close()
        self.idle.clear()


async def _one(port: int, payload: bytes, scheduled: float, stats: KindStats, timeout: float,
               pool: Pool | None = None) -> None:
    loop = asyncio.get_running_loop()
    writer = None
    status = 0
    reuse = False
    stats.send_lag_ms.append((loop.time() - scheduled) * 1000)
    try:
        if pool is not None and pool.idle:
            reader, writer = pool.idle.pop()
        else:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
            if pool is not None:
                pool.opened += 1
        writer.write(payload)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout - (loop.time() - scheduled))
        status = int(head[9:12])
        length = 0
        closing = True
        for line in head.split(b"\r\n"):
            low = line.lower()
            if low[:15] == b"content-length:":
                length = int(line[15:])
            elif low[:11] == b"connection:":
                closing = b"close" in low
        if length:
            await asyncio.wait_for(reader.readexactly(length), max(timeout - (loop.time() - scheduled), 0.01))
        reuse = pool is not None and pool.keepalive and not closing
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        status = 0
    finally:
        if writer is not None:
            if reuse:
                pool.idle.append((reader, writer))
            else:
                writer.close()
    ms = (loop.time() - scheduled) * 1000
    if status == 200:
        stats.ok += 1
        stats.latencies_ms.append(ms)
    elif status == 503:
        stats.shed += 1
        stats.shed_ms.append(ms)
    else:
        stats.errors += 1


async def _drive(port: int, rate: float, seconds: float, plan: list[tuple[str, bytes]], timeout: float,
                 keepalive: bool = False) -> dict[str, KindStats]:
    loop = asyncio.get_running_loop()
    stats = {"route": KindStats(), "triage": KindStats()}
    pool = Pool(keepalive)
    n = max(1, int(rate * seconds))
    start = loop.time() + 0.05
    tasks = []
    for i in range(n):
        kind, payload = plan[i % len(plan)]
        at = start + i / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(_one(port, payload, at, stats[kind], timeout, pool)))
    await asyncio.gather(*tasks)
    pool.close()
    return stats


def run_step(server: Server, rate: float, seconds: float, plan: list[tuple[str, bytes]], *, timeout: float,
             keepalive: bool = False) -> dict:
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    stats = asyncio.run(_drive(server.port, rate, seconds, plan, timeout, keepalive))
    cpu1, wall = server.cpu_seconds(), time.monotonic() - t0
    done = sum(s.ok + s.shed for s in stats.values())
    return {"rate": rate, "seconds": round(wall, 1), "server_cpu_s": round(cpu1 - cpu0, 2),
            "cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / done, 3) if done else None,
            "route": stats["route"].summary(), "triage": stats["triage"].summary()}


def _plan(routes: list[bytes], triages: list[bytes], mix: float, rng: random.Random, n: int = 4000, *,
          keepalive: bool = False) -> list[tuple[str, bytes]]:
    plan = []
    for _ in range(n):
        if rng.random() < mix:
            plan.append(("route", _request_bytes("/api/v1/route", rng.choice(routes), keepalive=keepalive)))
        else:
            plan.append(("triage", _request_bytes("/api/v1/triage", rng.choice(triages), keepalive=keepalive)))
    return plan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 s steps at 50, 300 and 500 req/s")
    ap.add_argument("--rates", default="25,50,100,200,300,400,500", help="comma-separated request rates (req/s)")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each step")
    ap.add_argument("--mix", type=float, default=0.8, help="share of route requests (the rest are triage)")
    ap.add_argument("--overload", type=float, default=900.0, help="a last step above capacity (0: skip)")
    ap.add_argument("--timeout", type=float, default=10.0, help="per-request timeout (s); later counts as an error")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--worker-class")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--keepalive", action="store_true",
                    help="the steps reuse idle connections (as a dispatch system's client pool or HAProxy would) "
                         "instead of one connection per request; the CPU calibration measures both either way")
    ap.add_argument("--calibrate-seconds", type=float, default=6.0, help="length of each CPU calibration step")
    args = ap.parse_args(argv)
    rates = [50.0, 300.0, 500.0] if args.quick else [float(r) for r in args.rates.split(",") if r.strip()]
    seconds = 2.0 if args.quick else args.seconds
    rng = random.Random(11)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))  # stop the server too
    # one load generator is one client address: lift the per-client rate limit (still counted, so its
    # CPU cost is in the figures) so that capacity, not the abuse limit, is measured
    server = Server(workers=args.workers, worker_class=args.worker_class, threads=args.threads,
                    env={"UEC_RATELIMIT_DEFAULT": "1000000 per minute"})
    try:
        server.wait_ready()
        routes, triages = make_workload(server.base)
        route_only = _plan(routes, triages, 1.0, rng)
        route_only_ka = _plan(routes, triages, 1.0, rng, keepalive=True)
        triage_only = _plan(routes, triages, 0.0, rng)
        mixed = _plan(routes, triages, args.mix, rng, keepalive=args.keepalive)
        run_step(server, 100, 2.0, mixed, timeout=args.timeout, keepalive=args.keepalive)  # warm every worker
        print(f"server: {' '.join(server.argv[1:])}  ({os.cpu_count()} CPUs; load average "
              f"{os.getloadavg()[0]:.1f} before the run)")
        # CPU per route request, route only, at the rate the p99 target is set at (300 req/s) and at a
        # light 100 req/s (where workers idle between requests, so each request also pays for waking up),
        # with a new connection per request and on kept-alive connections
        cal_s = args.calibrate_seconds
        cal = {}
        for rate in (300, 100):
            for ka, plan in ((False, route_only), (True, route_only_ka)):
                cal[(rate, ka)] = run_step(server, rate, cal_s, plan, timeout=args.timeout, keepalive=ka)
        t_cal = run_step(server, 50, cal_s, triage_only, timeout=args.timeout)
        print("CPU per route request (all gunicorn processes, route only, "
              f"{cal_s:g} s a step):")
        for (rate, ka), st in cal.items():
            print(f"  {rate} req/s, {'kept-alive connections' if ka else 'a new connection each'}: "
                  f"{st['cpu_ms_per_request']} ms (p99 {st['route']['p99_ms']} ms)")
        print(f"CPU per triage request: {t_cal['cpu_ms_per_request']} ms (50 req/s, new connections, "
              f"p99 {t_cal['triage']['p99_ms']} ms)")
        r_cal = cal[(300, False)]
        print(f"mixed load: {args.mix:.0%} route, {1 - args.mix:.0%} triage, {seconds:g} s per step")
        print(f"{'req/s':>6} {'route p50':>9} {'p99':>7} {'max':>7} {'triage p50':>10} {'p99':>7} {'max':>7} "
              f"{'503s':>5} {'errors':>6} {'CPU ms/req':>10} {'send lag p99':>12}")
        steps = []
        all_rates = rates + ([args.overload] if args.overload else [])
        for rate in all_rates:
            st = run_step(server, rate, seconds, mixed, timeout=args.timeout, keepalive=args.keepalive)
            steps.append(st)
            r, t = st["route"], st["triage"]
            print(f"{rate:>6.0f} {r['p50_ms']!s:>9} {r['p99_ms']!s:>7} {r['max_ms']!s:>7} {t['p50_ms']!s:>10} "
                  f"{t['p99_ms']!s:>7} {t['max_ms']!s:>7} {r['shed_503'] + t['shed_503']:>5} "
                  f"{r['errors'] + t['errors']:>6} {st['cpu_ms_per_request']!s:>10} {r['send_lag_p99_ms']!s:>12}"
                  + ("  (overload step)" if args.overload and rate == args.overload else ""))
        at300 = next((s for s in steps if s["rate"] == 300), None)
        below = [s for s in steps if s["rate"] < 500]
        over = steps[-1] if args.overload else None
        result = {
            "cpu_ms_per_route": r_cal["cpu_ms_per_request"],
            "cpu_ms_per_route_keepalive": cal[(300, True)]["cpu_ms_per_request"],
            "cpu_ms_per_route_at_100": cal[(100, False)]["cpu_ms_per_request"],
            "cpu_ms_per_route_at_100_keepalive": cal[(100, True)]["cpu_ms_per_request"],
            "cpu_ms_per_triage": t_cal["cpu_ms_per_request"],
            "keepalive_steps": args.keepalive,
            "route_p99_ms_at_300": at300["route"]["p99_ms"] if at300 else None,
            "errors_below_500": sum(s["route"]["errors"] + s["triage"]["errors"] + s["route"]["shed_503"]
                                    + s["triage"]["shed_503"] for s in below),
            "overload": None if over is None else {
                "rate": over["rate"], "ok": over["route"]["ok"] + over["triage"]["ok"],
                "shed_503": over["route"]["shed_503"] + over["triage"]["shed_503"],
                "errors": over["route"]["errors"] + over["triage"]["errors"],
                "ok_p99_ms": over["route"]["p99_ms"], "shed_p99_ms": over["route"]["shed_p99_ms"]},
            "server": " ".join(server.argv[1:]), "cpus": os.cpu_count(), "steps": steps,
        }
        if any((s["route"]["send_lag_p99_ms"] or 0) > 20 for s in steps):
            print("note: where 'send lag p99' is large the generator itself fell behind (a busy machine): "
                  "those latencies include its lag")
        print(json.dumps(result))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
