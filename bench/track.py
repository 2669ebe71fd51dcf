"""Benchmark: track throughput and latency under gunicorn, against the app's own JSON ceiling.

Run from anywhere: ``python bench/track.py`` (``make bench`` runs it after bench/rules_engine.py).

What it does, self-contained and bounded (~40 s; traffic only to 127.0.0.1):

1. provisions a throw-away instance in a temp dir (SQLite there, or ``DATABASE_URL`` if set, so the
   same run works against PostgreSQL) through the real ``flask`` CLI: migrations, tenant + API key,
   the ``withdraw-funds`` action with 10 active rules (none match the generated traffic, and
   ``decide`` evaluates every rule anyway, so each track runs all 10 with the trace on);
2. starts gunicorn (2 sync workers) on a free 127.0.0.1 port;
3. measures, for a fixed duration each, the maximum throughput of ``GET /healthz`` (the ceiling: the
   same app, no database) and of the track endpoint (a new user/action row per request), with
   Debian's ``wrk`` if installed, else a bounded multi-process Python client;
4. measures track latency at half of its maximum rate with an open-loop, rate-limited Python client
   (latency counted from each request's *scheduled* send time, so a stalled server cannot hide its
   queueing: no coordinated omission);
5. prints the figures with PASS/FAIL per target and exits 1 if one fails.

Targets (from the issue): track >= 40% of the healthz ceiling on SQLite, >= 20% on PostgreSQL; track
p99 < 25 ms at half max rate.
And (issue "Shadow rules"): a second action with the same ten rules and a shadow of ten rules (the
draft: one threshold changed) tracked in the same rounds; its ratio to healthz at most 10% below
the plain action's.
And (issue 21): a third action whose ten rules include four velocity rules (the first six of the
ten plus four that count the user's, device's and address's recent actions) runs at >= 0.85x the
plain action's throughput; and a stored action costs at most 1 KB of database, indexes included
(the tables a track writes, measured before and after the run: SQLite's dbstat, PostgreSQL's
pg_total_relation_size), with the SQL statements of one warm track printed beside it.
Throughput phases alternate healthz/track for ``--rounds`` rounds (the best of each counts), so a
burst of other load on the machine hits both sides of the ratio alike. Options: ``--duration S``,
``--rounds N``, ``--latency-duration S``, ``--python-client``, ``--wrk-threads``, ``--wrk-connections``.
With ``DATABASE_URL`` set (e.g. PostgreSQL) the database must be a throw-away one: the run migrates
it, adds a key, an action ``withdraw-funds-<random>`` and its rules, and leaves the tracked rows.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import os
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402  (after the path is set)
    HOST,
    WORKERS,
    database_name,
    flask,
    free_port,
    instance_env,
    percentile,
    request_once,
    run_wrk,
    start_gunicorn,
    stop_gunicorn,
)

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_track.lua"
ACTION = "withdraw-funds"
USERS = 100_000

# Track's share of /healthz: PostgreSQL pays a server round trip and an fsync per commit (issue 21).
TARGET_RATIO = {"sqlite": 0.40, "postgresql": 0.20}
TARGET_P99_MS = 25.0
TARGET_SHADOW_DROP = 0.10  # relative: the shadowed ratio >= 90% of the plain one
TARGET_VELOCITY = 0.85  # the velocity action's throughput over the plain one's
TARGET_BYTES = 1024  # per stored action, indexes included

# --- the workload -------------------------------------------------------------------------------

AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
]
CURRENCIES = ["NZD", "AUD", "USD"]


def var(path: str) -> dict:
    return {"var": path}


# Ten rules of the kinds admins write. The generated traffic (10.x.x.x addresses, amounts under
# 901, ordinary browsers, unknown devices) matches none of them, so every track ends ALLOW by default
# after evaluating all ten. CHALLENGE is left out: bench users have no authenticator, so it would
# turn into ALLOW anyway and only blur what is measured.
RULES = [
    {"name": "Known-bad IP addresses", "priority": 0, "outcome": "BLOCK",
     "conditions": {"in": [var("ip.address"), ["198.51.100.23", "198.51.100.24", "203.0.113.66",
                                                  "203.0.113.67", "192.0.2.200", "192.0.2.201"]]}},
    {"name": "Stolen device", "priority": 1, "outcome": "BLOCK",
     "conditions": {"and": [{"==": [var("device.id"), "dev_stolen_0001"]}, {">": [var("custom.amount"), 0]}]}},
    {"name": "Scripted client", "priority": 2, "outcome": "BLOCK",
     "conditions": {"or": [{"in": ["sqlmap", var("userAgent")]}, {"in": ["python-requests", var("userAgent")]},
                           {"in": ["curl/", var("userAgent")]}]}},
    {"name": "Very large withdrawal", "priority": 3, "outcome": "REVIEW",
     "conditions": {">": [var("custom.amount"), 10000]}},
    {"name": "Large withdrawal from a headless browser", "priority": 4, "outcome": "REVIEW",
     "conditions": {"and": [{">": [var("custom.amount"), 5000]},
                            {"or": [{"in": ["HeadlessChrome", var("userAgent")]},
                                    {"in": ["PhantomJS", var("userAgent")]}]}]}},
    {"name": "Crypto payout", "priority": 5, "outcome": "REVIEW",
     "conditions": {"and": [{"in": [var("custom.currency"), ["BTC", "ETH", "XMR"]]},
                            {">": [var("custom.amount"), 500]}]}},
    {"name": "New payee, sizeable amount", "priority": 6, "outcome": "REVIEW",
     "conditions": {"and": [{"==": [var("custom.isFirstPayee"), True]}, {">": [var("custom.amount"), 3000]}]}},
    {"name": "Office network and managed device", "priority": 7, "outcome": "ALLOW",
     "conditions": {"and": [{"in": [var("ip.address"), ["192.0.2.10", "192.0.2.11", "192.0.2.12"]]},
                            {"in": [var("device.id"), ["dev_office_01", "dev_office_02"]]}]}},
    {"name": "Repeated attempts or watched payee", "priority": 8, "outcome": "REVIEW",
     "conditions": {"or": [{"and": [{">=": [var("custom.attempts"), 3]}, {">": [var("custom.amount"), 1000]}]},
                           {"in": [var("custom.payee"), ["acct_mule_1", "acct_mule_2", "acct_mule_3"]]}]}},
    {"name": "Mid-size withdrawal, no device, from a risky range", "priority": 9, "outcome": "BLOCK",
     "conditions": {"and": [{"<=": [2000, var("custom.amount"), 10000]},
                            {"!": var("device.id")},
                            {"in": [var("ip.address"), ["203.0.113.1", "203.0.113.2", "203.0.113.3"]]}]}},
]


# Four velocity rules that the generated traffic (random users, devices and addresses) never trips.
VELOCITY_RULES = [
    {"name": "Busy user", "priority": 6, "outcome": "REVIEW",
     "conditions": {">": [var("velocity.user.actionCount.1h"), 30]}},
    {"name": "Withdrawal burst", "priority": 7, "outcome": "REVIEW",
     "conditions": {">": [var("velocity.user.actionCodeCount.10m"), 5]}},
    {"name": "Stuffing by device", "priority": 8, "outcome": "BLOCK",
     "conditions": {">": [var("velocity.device.distinctUsers.24h"), 25]}},
    {"name": "Stuffing by address", "priority": 9, "outcome": "BLOCK",
     "conditions": {">": [var("velocity.ip.distinctUsers.1h"), 200]}},
]
# What a track writes: its action, its first state change, a first-time user.
TRACK_TABLES = ("user_action", "action_state_change", "end_user")


def shadowed_action() -> str:
    return f"{ACTION}-shadowed"


def velocity_action() -> str:
    return f"{ACTION}-velocity"


def action_of(kind: str) -> str:
    return {"shadowed": shadowed_action(), "velocity": velocity_action()}.get(kind, ACTION)


def track_path(rng: random.Random, action: str | None = None) -> str:
    return f"/v1/users/usr_{rng.randint(1, USERS)}/actions/{action or ACTION}"


def track_body(rng: random.Random) -> bytes:
    """The same shape as bench/wrk_track.lua sends."""
    return json.dumps({
        "ipAddress": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "userAgent": rng.choice(AGENTS),
        "deviceId": f"dev_{rng.randint(1, 50000)}",
        "custom": {"amount": round(rng.uniform(1, 900), 2), "currency": rng.choice(CURRENCIES),
                   "payee": f"acct_{rng.randint(1, 5000)}", "isFirstPayee": False,
                   "attempts": rng.randint(0, 2)},
    }, separators=(",", ":")).encode()


# --- provisioning and the server ------------------------------------------------------------------

def provision(env: dict) -> None:
    flask(env, "db", "upgrade")
    flask(env, "tollgate", "init", "--api-key", env["TOLLGATE_API_SECRET_KEY"])
    flask(env, "actions", "create", "-", stdin=json.dumps({"code": ACTION, "name": "Withdraw funds",
                                                           "defaultOutcome": "ALLOW"}))
    # Each `flask` start costs ~1.3 s of imports; three at a time keeps provisioning short on 2 cores.
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda rule: flask(env, "rules", "create", ACTION, "-", stdin=json.dumps(rule)), RULES))
    listed = json.loads(flask(env, "rules", "list", ACTION))
    active = [r for r in listed if r.get("isActive", True)]
    if len(active) != len(RULES):
        raise SystemExit(f"expected {len(RULES)} active rules, found {len(active)}")
    flask(env, "actions", "publish", ACTION, "--note", "Bench rules.")  # a draft decides no track
    provision_shadowed(env)
    provision_velocity(env)


def provision_shadowed(env: dict) -> None:
    """The same ten rules live on a second action, and a shadow of ten rules: its draft, with the
    very large withdrawal threshold lowered (the generated traffic still matches nothing)."""
    code = shadowed_action()
    flask(env, "actions", "create", "-", stdin=json.dumps({"code": code, "name": "Withdraw funds (shadowed)",
                                                           "defaultOutcome": "ALLOW"}))
    with ThreadPoolExecutor(max_workers=3) as pool:
        created = list(pool.map(lambda rule: json.loads(flask(env, "rules", "create", code, "-",
                                                             stdin=json.dumps(rule))), RULES))
    flask(env, "actions", "publish", code, "--note", "Bench rules.")
    large = next(rule for rule in created if rule["name"] == "Very large withdrawal")
    flask(env, "rules", "delete", large["ruleId"])
    lowered = {**next(rule for rule in RULES if rule["name"] == "Very large withdrawal"),
               "conditions": {">": [var("custom.amount"), 8000]}}
    flask(env, "rules", "create", code, "-", stdin=json.dumps(lowered))
    shadow = json.loads(flask(env, "rules", "shadow", code))
    if shadow["status"] != "active":
        raise SystemExit(f"the shadow did not start: {shadow}")


def provision_velocity(env: dict) -> None:
    code = velocity_action()
    flask(env, "actions", "create", "-", stdin=json.dumps({"code": code, "name": "Withdraw funds (velocity)",
                                                           "defaultOutcome": "ALLOW"}))
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda rule: flask(env, "rules", "create", code, "-", stdin=json.dumps(rule)),
                      RULES[:6] + VELOCITY_RULES))
    flask(env, "actions", "publish", code, "--note", "Bench rules with velocity.")


def stored_bytes(url: str) -> tuple[int, int]:
    """(bytes of the tables a track writes with their indexes, actions stored)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            actions = conn.execute(text("SELECT count(*) FROM user_action")).scalar_one()
            if engine.dialect.name == "sqlite":  # each table's and index's pages
                size = conn.execute(text(
                    "SELECT sum(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
                    "WHERE tbl_name IN ('user_action', 'action_state_change', 'end_user'))")).scalar_one()
            else:
                size = sum(conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": table}).scalar_one()
                           for table in TRACK_TABLES)
    finally:
        engine.dispose()
    return int(size or 0), int(actions)


def statements_per_track(env: dict) -> int:
    """SQL statements of one warm track (a new user), counted with SQLAlchemy's events in process."""
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db

    app = create_app({key: env[key] for key in env if key.startswith(("TOLLGATE_", "DATABASE_URL"))})
    client = app.test_client()
    rng = random.Random(2)
    headers = {"Authorization": env["TOLLGATE_BENCH_AUTH"], "Content-Type": "application/json"}
    counted = [0]

    def count(*_args) -> None:
        counted[0] += 1

    with app.app_context():
        engine = db.engine
    for warm in (True, True, False):
        if not warm:
            event.listen(engine, "before_cursor_execute", count)
        response = client.post(track_path(rng).replace("usr_", "usr_stmt_"), data=track_body(rng), headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"the in-process track answered {response.status_code}")
    event.remove(engine, "before_cursor_execute", count)
    engine.dispose()
    return counted[0]


def check_track(port: int, auth: str) -> dict:
    """One track by hand: the endpoint works, and the generated traffic is allowed by default."""
    rng = random.Random(1)
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("POST", track_path(rng), body=track_body(rng),
                     headers={"Authorization": auth, "Content-Type": "application/json"})
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise SystemExit(f"track answered {response.status}: {payload[:500]!r}")
    data = json.loads(payload)
    if data.get("state") != "ALLOW":
        raise SystemExit(f"expected the generated traffic to be ALLOWed by default, got {data}")
    return data


# --- load generation: wrk -----------------------------------------------------------------------

# --- load generation: Python (fallback for throughput; always for the rate-limited latency run) ---

def _closed_loop_process(port: int, kind: str, auth: str, stop_at: float, max_requests: int,
                         threads: int, seed: int, results) -> None:
    ok = errors = 0
    lock = threading.Lock()

    def loop(index: int) -> None:
        nonlocal ok, errors
        rng = random.Random(seed * 1000 + index)
        holder: list = [None]
        while time.monotonic() < stop_at:
            if kind == "healthz":
                status = request_once(holder, port, "GET", "/healthz", None, {})
            else:
                action = action_of(kind)
                status = request_once(holder, port, "POST", track_path(rng, action), track_body(rng),
                                  {"Authorization": auth, "Content-Type": "application/json"})
            with lock:
                if status == 200:
                    ok += 1
                else:
                    errors += 1
                if ok + errors >= max_requests:
                    return

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((ok, errors))


def run_python_closed_loop(port: int, kind: str, auth: str, *, duration: float, processes: int = 2,
                           threads: int = 8) -> dict:
    """Max throughput: a fixed number of clients, each sending its next request when the last ends."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    start = time.monotonic()
    stop_at = start + duration
    cap = int(duration * 20_000)  # bound even if the server were implausibly fast
    procs = [ctx.Process(target=_closed_loop_process,
                         args=(port, kind, auth, stop_at, cap // processes, threads, p, results))
             for p in range(processes)]
    for proc in procs:
        proc.start()
    totals = [results.get(timeout=duration + 60) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
    elapsed = time.monotonic() - start
    ok = sum(t[0] for t in totals)
    errors = sum(t[1] for t in totals)
    return {"rate": ok / elapsed, "requests": ok + errors, "errors": errors}


def _open_loop_process(port: int, auth: str, start_at: float, rate: float, total: int, proc_index: int,
                       processes: int, threads: int, results) -> None:
    """Send requests ``proc_index, proc_index + processes, ...`` each at ``start_at + i / rate``."""
    indices = iter(range(proc_index, total, processes))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0

    def loop(index: int) -> None:
        nonlocal errors
        rng = random.Random(proc_index * 1000 + index + 7)
        holder: list = [None]
        headers = {"Authorization": auth, "Content-Type": "application/json"}
        while True:
            with lock:
                i = next(indices, None)
            if i is None:
                return
            path, body = track_path(rng), track_body(rng)
            scheduled = start_at + i / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            status = request_once(holder, port, "POST", path, body, headers)
            latency = time.monotonic() - scheduled  # from the schedule: includes any wait for a client
            with lock:
                latencies.append(latency)
                if status != 200:
                    errors += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((latencies, errors))


def run_open_loop(port: int, auth: str, *, rate: float, duration: float, processes: int = 2,
                  threads: int = 16) -> dict:
    """Latency at a fixed offered rate (open loop): requests go out on schedule, whatever the server does."""
    total = max(1, int(rate * duration))
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    start_at = time.monotonic() + 0.5  # CLOCK_MONOTONIC is system-wide: one schedule for all processes
    procs = [ctx.Process(target=_open_loop_process,
                         args=(port, auth, start_at, rate, total, p, processes, threads, results))
             for p in range(processes)]
    for proc in procs:
        proc.start()
    gathered = [results.get(timeout=duration + 120) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
    elapsed = time.monotonic() - start_at
    latencies = sorted(lat for part in gathered for lat in part[0])
    errors = sum(part[1] for part in gathered)
    return {
        "offered": rate,
        "achieved": len(latencies) / elapsed,
        "requests": len(latencies),
        "errors": errors,
        "p50": percentile(latencies, 50) * 1000,
        "p90": percentile(latencies, 90) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "max": latencies[-1] * 1000 if latencies else math.nan,
    }


# --- the run ------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per throughput phase and round")
    parser.add_argument("--rounds", type=int, default=2,
                        help="healthz/track rounds, interleaved so both see the same machine; best of each counts")
    parser.add_argument("--latency-duration", type=float, default=10.0, help="seconds of the half-rate run")
    parser.add_argument("--python-client", action="store_true", help="use the Python client even if wrk exists")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--wrk-connections", type=int, default=8)
    args = parser.parse_args()

    use_wrk = shutil.which("wrk") is not None and not args.python_client
    global ACTION
    external = bool(os.environ.get("DATABASE_URL"))
    if external:  # a shared database may hold an earlier run's action: give this run its own
        ACTION = f"withdraw-funds-{secrets.token_hex(3)}"
    tmp = Path(tempfile.mkdtemp(prefix="tollgate-bench-"))
    env = {**instance_env(tmp), "TOLLGATE_BENCH_ACTION": ACTION, "TOLLGATE_BENCH_USERS": str(USERS)}
    auth = env["TOLLGATE_BENCH_AUTH"]
    database = database_name(env)
    server = None
    try:
        print(f"bench/track.py: provisioning ({database}, {len(RULES)} active rules on '{ACTION}') ...", flush=True)
        provision(env)
        port = free_port()
        server = start_gunicorn(env, port, tmp / "gunicorn.log")
        check_track(port, auth)
        base = f"http://{HOST}:{port}"
        client = (f"wrk -t{args.wrk_threads} -c{args.wrk_connections}" if use_wrk
                  else "Python closed-loop client, 2 processes x 8 threads")
        print(f"gunicorn --workers {WORKERS} on {base}; load: {client}; "
              f"{args.rounds} x {args.duration:g} s per endpoint", flush=True)

        def throughput(kind: str, duration: float) -> dict:
            if use_wrk:
                url = base + ("/healthz" if kind == "healthz" else "/")
                action = {"TOLLGATE_BENCH_ACTION": action_of(kind)}
                return run_wrk(url, duration=duration, threads=args.wrk_threads,
                               connections=args.wrk_connections, env={**env, **action},
                               script=None if kind == "healthz" else WRK_SCRIPT)
            return run_python_closed_loop(port, kind, auth, duration=duration)

        throughput("healthz", 1)  # warm up both workers and the client
        throughput("track", 1)
        throughput("shadowed", 1)
        throughput("velocity", 1)
        before = stored_bytes(env["DATABASE_URL"])
        healthz_runs, track_runs, shadowed_runs, velocity_runs = [], [], [], []
        for round_no in range(1, args.rounds + 1):
            healthz_runs.append(throughput("healthz", args.duration))
            track_runs.append(throughput("track", args.duration))
            shadowed_runs.append(throughput("shadowed", args.duration))
            velocity_runs.append(throughput("velocity", args.duration))
            print(f"  round {round_no}: healthz {healthz_runs[-1]['rate']:7.0f} req/s, "
                  f"track {track_runs[-1]['rate']:7.0f} req/s, with a shadow {shadowed_runs[-1]['rate']:7.0f} req/s, "
                  f"with velocity {velocity_runs[-1]['rate']:7.0f} req/s",
                  flush=True)
        healthz = max(healthz_runs, key=lambda r: r["rate"])
        track = max(track_runs, key=lambda r: r["rate"])
        shadowed = max(shadowed_runs, key=lambda r: r["rate"])
        velocity = max(velocity_runs, key=lambda r: r["rate"])
        after = stored_bytes(env["DATABASE_URL"])
        half = run_open_loop(port, auth, rate=track["rate"] / 2, duration=args.latency_duration)
        print(f"  track at {half['offered']:.0f} req/s: p50 {half['p50']:.1f} ms, p99 {half['p99']:.1f} ms",
              flush=True)
        statements = statements_per_track(env)
    finally:
        stop_gunicorn(server)
        shutil.rmtree(tmp, ignore_errors=True)

    ratio = track["rate"] / healthz["rate"]
    shadowed_ratio = shadowed["rate"] / healthz["rate"]
    shadow_drop = 1 - shadowed_ratio / ratio
    shadow_ok = shadow_drop <= TARGET_SHADOW_DROP
    velocity_factor = velocity["rate"] / track["rate"]
    velocity_ok = velocity_factor >= TARGET_VELOCITY
    per_action = (after[0] - before[0]) / max(1, after[1] - before[1])
    bytes_ok = per_action <= TARGET_BYTES
    errors = sum(r["errors"] for r in healthz_runs + track_runs + shadowed_runs + velocity_runs) + half["errors"]
    target_ratio = TARGET_RATIO["postgresql" if database == "PostgreSQL" else "sqlite"]
    ratio_ok = ratio >= target_ratio
    p99_ok = half["p99"] < TARGET_P99_MS
    mark = {True: "PASS", False: "FAIL"}
    print()
    print(f"Track under gunicorn ({WORKERS} sync workers, {database}, {len(RULES)} active rules), "
          f"{'wrk' if use_wrk else 'Python client'}, {os.cpu_count()} CPUs shared with the load generator")
    print(f"  {'measure':<40} {'value':>14}  {'target':>12}  result")
    print(f"  {'GET /healthz (ceiling, best round)':<40} {healthz['rate']:>10.0f} r/s")
    print(f"  {'POST track (max, best round)':<40} {track['rate']:>10.0f} r/s")
    print(f"  {'track / healthz':<40} {ratio:>13.1%}  {f'>= {target_ratio:.0%}':>12}  {mark[ratio_ok]}")
    print(f"  {'POST track, shadow of 10 rules (best)':<40} {shadowed['rate']:>10.0f} r/s")
    print(f"  {'  its track / healthz':<40} {shadowed_ratio:>13.1%}")
    print(f"  {'  relative drop of the ratio':<40} {shadow_drop:>13.1%}  {'<= 10%':>12}  {mark[shadow_ok]}")
    print(f"  {'POST track, 4 of 10 rules velocity (best)':<40} {velocity['rate']:>10.0f} r/s")
    print(f"  {'  over the plain action':<40} {velocity_factor:>13.2f}x  {'>= 0.85x':>12}  {mark[velocity_ok]}")
    print(f"  {'bytes per stored action, indexes incl.':<40} {per_action:>12.0f} B  {'<= 1024 B':>12}  {mark[bytes_ok]}"
          f"  ({after[1] - before[1]} actions)")
    print(f"  {'SQL statements per warm track':<40} {statements:>14}")
    print(f"  {'track offered at half max (open loop)':<40} {half['offered']:>10.0f} r/s"
          f"  (achieved {half['achieved']:.0f} r/s, {half['requests']} requests)")
    print(f"  {'  p50':<40} {half['p50']:>11.1f} ms")
    print(f"  {'  p90':<40} {half['p90']:>11.1f} ms")
    print(f"  {'  p99':<40} {half['p99']:>11.1f} ms  {'< 25 ms':>12}  {mark[p99_ok]}")
    print(f"  {'  max':<40} {half['max']:>11.1f} ms")
    print(f"  {'errors (non-200 or socket)':<40} {errors:>14}  {'0':>12}  {mark[errors == 0]}")
    return 0 if ratio_ok and p99_ok and shadow_ok and velocity_ok and bytes_ok and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
