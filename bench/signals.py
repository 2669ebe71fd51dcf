"""Benchmark: track latency with risk-signal rules on a database of 1,000,000 actions vs an empty one.

Run from anywhere: ``python bench/signals.py`` (``make bench`` runs it). Self-contained, in a temp
dir, no network; about a minute or two on 2 cores, most of it writing the big database.

1. Two throw-away instances (SQLite files, migrated by Alembic), each with one tenant, one network
   list of 2,000 CIDRs (ip.isAnonymous) and the action ``withdraw-funds`` with 10 active rules that
   read device, IP, user and velocity signals (none matches the generated traffic: every track
   computes every signal and evaluates all ten rules, then ends ALLOW by default).
2. The "full" instance gets 1,000,000 stored actions across 100,000 users (10 each, 1-3 devices and
   2 addresses per user, 1,000 shared NAT addresses, spread over 30 days), written with Core
   executemany in batches of 50,000; the "empty" one has none.
3. In-process tracks through the Flask test client (the whole API path: auth, validation, signals,
   rules, inserts, commit), in alternating rounds on the two instances so background load on the
   machine hits both alike; p50/p99 of each, and the statements each track runs on user_action.

Targets (from the issue): full-database p50 and p99 within 1.5x of the empty database's; velocity
lookups at most 2 indexed queries per track (here: 1); no table scan in any signal query plan.
Options: ``--actions N`` (default 1,000,000), ``--users N`` (100,000), ``--tracks N`` per instance
(3,000), ``--keep`` (leave the temp dir).
"""

from __future__ import annotations

import argparse
import base64
import logging
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import UserAction  # noqa: E402

ACTION = "withdraw-funds"
CODES = [ACTION, "sign-in", "change-email", "add-payee", "view-statement"]
TARGET_RATIO = 1.5
MAX_VELOCITY_QUERIES = 2
BATCH = 50_000
AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
]


def var(path: str) -> dict:
    return {"var": path}


RULES = [
    {"name": "Bot", "outcome": "BLOCK", "conditions": {"==": [var("device.isBot"), True]}},
    {"name": "New device, big amount", "outcome": "REVIEW",
     "conditions": {"and": [{"==": [var("device.isNew"), True]}, {">": [var("custom.amount"), 5000]}]}},
    {"name": "Many devices", "outcome": "REVIEW", "conditions": {">": [var("device.count"), 20]}},
    {"name": "Watched countries", "outcome": "BLOCK",  # none of the generated addresses is there
     "conditions": {"in": [var("ip.countryCode"), ["AQ", "BV", "HM"]]}},
    {"name": "Anonymous network", "outcome": "BLOCK", "conditions": {"==": [var("ip.isAnonymous"), True]}},
    {"name": "New address, busy user", "outcome": "REVIEW",
     "conditions": {"and": [{"==": [var("ip.isUnrecognized"), True]}, {">": [var("velocity.user.actionCount.1h"), 30]}]}},
    {"name": "Withdrawal burst", "outcome": "REVIEW", "conditions": {">": [var("velocity.user.actionCodeCount.10m"), 5]}},
    {"name": "Stuffing by device", "outcome": "BLOCK", "conditions": {">": [var("velocity.device.distinctUsers.24h"), 25]}},
    {"name": "Stuffing by IP", "outcome": "BLOCK",
     "conditions": {"or": [{">": [var("velocity.ip.distinctUsers.1h"), 200]},
                           {">": [var("velocity.ip.failedChallenges.1h"), 50]}]}},
    {"name": "Noisy IP", "outcome": "REVIEW", "conditions": {">": [var("velocity.ip.actionCount.7d"), 100_000]}},
]


def user_devices(user: int) -> list[str]:
    return [f"dev_{user}_{k}" for k in range(1 + user % 3)]


def user_addresses(user: int) -> list[str]:
    home = f"{11 + user % 180}.{(user >> 8) & 255}.{user & 255}.{1 + user % 250}"
    nat = f"100.{64 + user % 4}.{(user // 4) % 250}.1"  # ~1,000 shared addresses, ~100 users each
    return [home, nat]


def make_app(root: Path, name: str):
    logging.getLogger("alembic").setLevel(logging.WARNING)
    instance = root / name
    instance.mkdir()
    app = create_app({
        "TOLLGATE_ENV": "test", "TOLLGATE_INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'bench.db'}",
        "TOLLGATE_SECRET_KEY": "bench-secret-key-" + "x" * 32, "TOLLGATE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "TOLLGATE_PUBLIC_URL": "http://localhost:5000",
    })
    with app.app_context():
        upgrade()
        from app.domain.decision import Outcome
        from app.services.decisions.signals import import_network_list
        from app.services.operations.provisioning import ensure_tenant
        from app.services.rulesets.rules import ActionDocument, RuleDocument, create_action_configuration, create_rule
        from app.services.rulesets.versions import publish
        from app.services.tenancy.api_keys import create_api_key

        tenant = ensure_tenant("Bench")
        _, key = create_api_key(tenant.id, name="bench", settings=app.config["TOLLGATE"])
        create_action_configuration(tenant.id, ActionDocument(code=ACTION, default_outcome=Outcome.ALLOW))
        for priority, rule in enumerate(RULES):
            create_rule(tenant.id, ACTION, RuleDocument.model_validate({"priority": priority, **rule}))
        publish("bench", tenant.id, ACTION, note="Bench rules.")
        rng = random.Random(7)
        cidrs = [f"{rng.randint(1, 9)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24" for _ in range(1500)]
        cidrs += [f"2a0{rng.randint(0, 9)}:{rng.randint(0, 65535):x}::/32" for _ in range(500)]
        import_network_list("bench-anonymous", cidrs, now=datetime.now(UTC))
        tenant_id = tenant.id
    return app, tenant_id, "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def fill(app, tenant_id: str, *, actions: int, users: int) -> float:
    """Write ``actions`` stored actions across ``users`` users; returns the seconds it took.

    Straight to the DB-API's executemany with ready tuples (timestamps in the text form SQLAlchemy
    stores for SQLite), in batches of 50,000 rows per transaction."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    rng = random.Random(42)
    columns = [c.name for c in UserAction.__table__.columns if c.name != "id"]
    statement = (f"INSERT INTO user_action ({', '.join(columns)}) "
                 f"VALUES ({', '.join('?' for _ in columns)})")
    fixed = {"tenant_id": tenant_id, "is_enrolled": 0, "allowed_verification_methods": "[]", "rule_ids": "[]",
             "output": "{}", "attributes": "{}", "country_code": "US"}
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            # Bulk load without the secondary indexes, then build each in one sorted pass (minutes
            # become seconds); the unique key on idempotency keys stays as it is.
            indexes = cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                     "AND tbl_name = 'user_action' AND sql IS NOT NULL").fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            done = 0
            while done < actions:
                rows = []
                for i in range(done, min(actions, done + BATCH)):
                    user = i % users
                    at = (now - timedelta(seconds=rng.randint(60, 30 * 86400))).strftime("%Y-%m-%d %H:%M:%S.%f")
                    values = {
                        **fixed, "action_code": rng.choice(CODES), "user_id": f"usr_{user}", "idempotency_key": f"k{i}",
                        "state": "CHALLENGE_FAILED" if rng.random() < 0.02 else "ALLOW", "initial_state": "ALLOW",
                        "created_by": "track",
                        "state_updated_at": at, "created_at": at, "updated_at": at,
                        "device_id": rng.choice(user_devices(user)), "ip_address": rng.choice(user_addresses(user)),
                        "user_agent": AGENTS[user % 3],
                    }
                    rows.append(tuple(values.get(name) for name in columns))
                cursor.executemany(statement, rows)
                raw.commit()
                done += len(rows)
                print(f"  wrote {done:,} actions ({time.perf_counter() - started:.0f} s)", end="\r", flush=True)
            print()
            for _, sql in indexes:
                cursor.execute(sql)
            raw.commit()
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            raw.close()
    return time.perf_counter() - started


def request_for(rng: random.Random, users: int) -> tuple[str, dict]:
    user = rng.randrange(users)
    devices = user_devices(user)
    body = {
        "deviceId": rng.choice(devices) if rng.random() < 0.9 else f"dev_{user}_new{rng.randint(0, 9999)}",
        "ipAddress": rng.choice(user_addresses(user)),
        "userAgent": AGENTS[user % 3],
        "custom": {"amount": round(rng.uniform(1, 900), 2)},
    }
    return f"/v1/users/usr_{user}/actions/{ACTION}", body


class Probe:
    """Statements on user_action per track, and their query plans."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.statements: list[tuple[str, object]] = []
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        # Prepared statements (app/models/prepared.py) hand the cursor a list; EXPLAIN takes a tuple.
        self.statements.append((statement, parameters if isinstance(parameters, dict) else tuple(parameters)))

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._record)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--tracks", type=int, default=3000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tollgate-bench-signals-"))
    try:
        print(f"bench/signals.py: {len(RULES)} signal rules; {args.actions:,} actions across {args.users:,} users; "
              f"temp dir {root}")
        empty_app, empty_tenant, empty_auth = make_app(root, "empty")
        full_app, full_tenant, full_auth = make_app(root, "full")
        seconds = fill(full_app, full_tenant, actions=args.actions, users=args.users)
        print(f"  generated in {seconds:.1f} s ({args.actions / seconds:,.0f} rows/s)")

        # What one track runs on the full database: statements on user_action and their plans.
        probe = Probe(full_app)
        client = full_app.test_client()
        path, body = request_for(random.Random(3), args.users)
        response = client.post(path, json=body, headers={"Authorization": full_auth})
        assert response.status_code == 200 and response.get_json()["state"] == "ALLOW", response.get_json()
        probe.statements.clear()
        client.post(path, json=body, headers={"Authorization": full_auth})
        probe.close()
        reads = [(s, p) for s, p in probe.statements if "user_action" in s and s.lstrip().upper().startswith("SELECT")]
        velocity = [(s, p) for s, p in reads if "UNION ALL" in s or "recent" in s]
        scans = []
        with full_app.app_context(), db.engine.connect() as conn:
            for statement, params in reads:
                plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                scans += [row[-1] for row in plan if str(row[-1]).startswith("SCAN user_action")]
        print(f"  per track on user_action: {len(reads)} SELECTs ({len(velocity)} for every velocity field), "
              f"table scans in their plans: {len(scans)}")

        rng = random.Random(11)
        latencies = {"empty": [], "full": []}
        targets = {"empty": (empty_app.test_client(), empty_auth), "full": (full_app.test_client(), full_auth)}
        for client, auth in targets.values():  # warm up both: caches, connections, page cache
            for _ in range(300):
                path, body = request_for(rng, args.users)
                client.post(path, json=body, headers={"Authorization": auth})
        rounds = 10
        per_round = max(1, args.tracks // rounds)
        for _ in range(rounds):
            for name, (client, auth) in targets.items():
                for _ in range(per_round):
                    path, body = request_for(rng, args.users)
                    started = time.perf_counter()
                    response = client.post(path, json=body, headers={"Authorization": auth})
                    latencies[name].append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200 or response.get_json()["state"] != "ALLOW":
                        raise SystemExit(f"unexpected track answer: {response.status_code} {response.get_json()}")

        def pct(values, q):
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        figures = {name: (statistics.median(v), pct(v, 0.99)) for name, v in latencies.items()}
        ratio50 = figures["full"][0] / figures["empty"][0]
        ratio99 = figures["full"][1] / figures["empty"][1]
        print(f"  track, empty database: p50 {figures['empty'][0]:.2f} ms, p99 {figures['empty'][1]:.2f} ms "
              f"({len(latencies['empty'])} tracks)")
        print(f"  track, {args.actions:,} actions: p50 {figures['full'][0]:.2f} ms, p99 {figures['full'][1]:.2f} ms "
              f"({len(latencies['full'])} tracks)")
        checks = [
            (f"full/empty p50 {ratio50:.2f}x <= {TARGET_RATIO}x", ratio50 <= TARGET_RATIO),
            (f"full/empty p99 {ratio99:.2f}x <= {TARGET_RATIO}x", ratio99 <= TARGET_RATIO),
            (f"velocity queries per track {len(velocity)} <= {MAX_VELOCITY_QUERIES}",
             0 < len(velocity) <= MAX_VELOCITY_QUERIES),
            (f"table scans in signal query plans: {len(scans)}", not scans),
        ]
        for label, ok in checks:
            print(f"  {'PASS' if ok else 'FAIL'}  {label}")
        return 0 if all(ok for _, ok in checks) else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
