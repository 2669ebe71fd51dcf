"""Benchmark: TOTP verification through the client API under gunicorn, against ``/healthz``.

Run from anywhere: ``python bench/verify.py`` (``make bench`` runs it after bench/track.py).

What it does (~1 min; traffic only to 127.0.0.1):

1. provisions a throw-away instance as bench/track.py does (SQLite in a temp dir, or ``DATABASE_URL``),
   with a ``sign-in`` action that challenges by default;
2. starts gunicorn with bench/track.py's settings and prepares ``--users`` fresh users over HTTP: each
   gets an authenticator app through the server API (``POST /v1/users/{id}/authenticators``) and then a
   track, whose client token opens the challenge;
3. measures, in alternating rounds, ``GET /healthz`` and ``POST /v1/client/verify/totp`` with wrk
   (bench/wrk_verify.lua): each verify is a new user sending the valid code of the current time-step,
   so every request is a successful verification (a replay or a wrong code counts as a failure);
4. prints the figures with PASS/FAIL and exits 1 on a miss.

Target (issue 21): verify >= 20% of the healthz ceiling, with no failed verification. Beside it: the
successful ``/validate/check`` of privacyIDEA 3.14 measured on this box (its default argon2 PIN hashing).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import shutil
import sys
import tempfile
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
    run_wrk,
    start_gunicorn,
    stop_gunicorn,
)

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_verify.lua"
ACTION = "sign-in"
TARGET_RATIO = 0.20
PRIVACYIDEA_RATE = (2.9, 3.1)  # req/s, privacyIDEA 3.14 /validate/check on this box (issue 21)
STEPS = 40  # codes per user: 20 minutes of time-steps from provisioning on


def post(conn: http.client.HTTPConnection, path: str, body: dict, auth: str) -> dict:
    conn.request("POST", path, body=json.dumps(body), headers={"Authorization": auth,
                                                              "Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    if response.will_close:
        conn.close()
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}: {payload[:300]!r}")
    return json.loads(payload)


def prepare_users(port: int, auth: str, count: int, run_id: str) -> list[tuple[str, str]]:
    """(client token, TOTP secret) per fresh user: enrolled first, so the track challenges."""
    import pyotp

    def one(index: int) -> tuple[str, str]:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            secret = pyotp.random_base32()
            user = f"usr_{run_id}_{index}"
            uri = pyotp.TOTP(secret).provisioning_uri(name=f"{user}@example.com", issuer_name="Bench")
            post(conn, f"/v1/users/{user}/authenticators",
                 {"verificationMethod": "AUTHENTICATOR_APP", "otpUri": uri}, auth)
            tracked = post(conn, f"/v1/users/{user}/actions/{ACTION}", {"ipAddress": "10.0.0.1"}, auth)
        finally:
            conn.close()
        if tracked.get("state") != "CHALLENGE_REQUIRED":
            raise SystemExit(f"expected a challenge for an enrolled user, got {tracked}")
        return tracked["token"], secret

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def write_codes(path: Path, users: list[tuple[str, str]]) -> None:
    import pyotp

    step0 = int(time.time()) // 30
    with path.open("w") as out:
        out.write(f"{step0}\n")
        for token, secret in users:
            totp = pyotp.TOTP(secret)
            out.write(" ".join([token, *(totp.generate_otp(step0 + k) for k in range(STEPS))]) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per throughput phase and round")
    parser.add_argument("--rounds", type=int, default=2)
    # ~1,000 verifies a second on this box, for 1 + rounds x duration seconds: 6,000 ran out.
    parser.add_argument("--users", type=int, default=10000,
                        help="users prepared; each verify uses one (a run that needs more reports failures)")
    parser.add_argument("--wrk-connections", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/verify.py needs wrk (apt-get install wrk)")

    import secrets

    tmp = Path(tempfile.mkdtemp(prefix="tollgate-bench-verify-"))
    env = instance_env(tmp)
    auth = env["TOLLGATE_BENCH_AUTH"]
    database = database_name(env)
    codes_file = tmp / "codes.txt"
    server = None
    try:
        print(f"bench/verify.py: provisioning ({database}) ...", flush=True)
        flask(env, "db", "upgrade")
        flask(env, "tollgate", "init", "--api-key", env["TOLLGATE_API_SECRET_KEY"])
        action_exists = ACTION in flask(env, "actions", "list")
        if not action_exists:  # a shared DATABASE_URL may hold an earlier run's
            flask(env, "actions", "create", "-", stdin=json.dumps({"code": ACTION, "name": "Sign in",
                                                                   "defaultOutcome": "CHALLENGE"}))
        port = free_port()
        server = start_gunicorn(env, port, tmp / "gunicorn.log")
        started = time.monotonic()
        users = prepare_users(port, auth, args.users, secrets.token_hex(3))
        write_codes(codes_file, users)
        print(f"  {len(users)} users enrolled and tracked in {time.monotonic() - started:.0f} s; "
              f"gunicorn --workers {WORKERS}; wrk -t1 -c{args.wrk_connections}; "
              f"{args.rounds} x {args.duration:g} s per endpoint", flush=True)
        base = f"http://{HOST}:{port}"
        first = 0

        def verify_run(duration: float) -> dict:
            nonlocal first
            run = run_wrk(base + "/", duration=duration, threads=1, connections=args.wrk_connections,
                          env={**env, "TOLLGATE_BENCH_VERIFY_FILE": str(codes_file),
                               "TOLLGATE_BENCH_VERIFY_FIRST": str(first)}, script=WRK_SCRIPT)
            counts = [line for line in run["raw"].splitlines() if line.startswith("verify:")]
            words = counts[-1].split()
            run["verified"], run["failed"], used = int(words[2]), int(words[4]), int(words[6])
            first += used
            return run

        def healthz_run(duration: float) -> dict:
            return run_wrk(base + "/healthz", duration=duration, threads=1, connections=args.wrk_connections, env=env)

        healthz_run(1)  # warm up both workers
        verify_run(1)
        healthz_runs, verify_runs = [], []
        for round_no in range(1, args.rounds + 1):
            healthz_runs.append(healthz_run(args.duration))
            verify_runs.append(verify_run(args.duration))
            v = verify_runs[-1]
            print(f"  round {round_no}: healthz {healthz_runs[-1]['rate']:7.0f} req/s, verify {v['rate']:7.0f} req/s "
                  f"(p50 {v['p50']:.1f} ms; {v['verified']} verified, {v['failed']} failed)", flush=True)
    finally:
        stop_gunicorn(server)
        shutil.rmtree(tmp, ignore_errors=True)

    healthz = max(healthz_runs, key=lambda r: r["rate"])
    verify = max(verify_runs, key=lambda r: r["rate"])
    ratio = verify["rate"] / healthz["rate"]
    failed = sum(r["failed"] + r["errors"] for r in verify_runs) + sum(r["errors"] for r in healthz_runs)
    ratio_ok = ratio >= TARGET_RATIO
    mark = {True: "PASS", False: "FAIL"}
    low, high = PRIVACYIDEA_RATE
    print()
    print(f"TOTP verify under gunicorn ({WORKERS} sync workers, {database}), wrk -t1 -c{args.wrk_connections}")
    print(f"  {'measure':<44} {'value':>12}  {'target':>10}  result")
    print(f"  {'GET /healthz (ceiling, best round)':<44} {healthz['rate']:>8.0f} r/s")
    print(f"  {'POST /v1/client/verify/totp (best round)':<44} {verify['rate']:>8.0f} r/s")
    print(f"  {'  its p50 latency':<44} {verify['p50']:>9.1f} ms")
    print(f"  {'verify / healthz':<44} {ratio:>11.1%}  {'>= 20%':>10}  {mark[ratio_ok]}")
    print(f"  {'privacyIDEA 3.14 /validate/check (issue 21)':<44} {f'{low:g}-{high:g} r/s':>12}"
          f"  (verify is {verify['rate'] / high:.0f}-{verify['rate'] / low:.0f}x that)")
    print(f"  {'failed verifications or errors':<44} {failed:>12}  {'0':>10}  {mark[failed == 0]}")
    if first > len(users):
        print(f"  (the rounds needed {first} users and {len(users)} were prepared: the rest were replays, "
              f"counted as failures; run again with --users {first + first // 4})")
    if math.isnan(verify["p50"]):
        print("  (wrk printed no latency distribution)")
    return 0 if ratio_ok and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
