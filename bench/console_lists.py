"""Benchmark: console list pages with 100,000 tracked actions in the database.

Run from anywhere: ``python bench/console_lists.py`` (``make bench`` runs it).

What it does, self-contained (~1-2 min on 2 cores; no network):

1. builds a throw-away instance in a temp dir (SQLite there, or ``DATABASE_URL`` if set: then it must
   be a throw-away database, because the run migrates it and leaves its rows), runs the migrations,
   creates a tenant, an admin and five actions with realistic rules;
2. tracks a few actions through the real ``track_action`` service to get genuine decision outputs
   (rule traces), then bulk-inserts ``--actions`` (100,000) tracked actions across ``--users``
   (10,000) users with Core ``executemany`` in batches, spread over the last 30 days, each with
   its state history (one or two ``action_state_change`` rows);
3. signs in through the Flask test client (the real login form and CSRF token) and times
   ``--requests`` GETs (after a warm-up) of every console list page: actions, activity (first page,
   filtered by state, by user, by action code, an older page via cursor), users (+ searches), one
   user, one action, the review queue when the build has one, and the Overview (24 h, 7 and 30 days,
   one action): first its cold views, which count the ended hours of 30 days into ``outcome_hour``
   (a bounded number per view) and are timed and printed on their own, then its views after that;
4. prints p50 / p99 per page against the 150 ms target and exits 1 when any p50 misses it.

Timing is in-process (the test client, no HTTP server): routing, the guard, the queries and the
template, which is where a page's time goes. ``--profile PATH`` prints the slowest SQL statements of
that page (one request, with EXPLAIN QUERY PLAN on SQLite).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_P50_MS = 150.0
PASSWORD = "bench password " + "x" * 12
ADMIN = "bench-admin@example.com"
DAYS = 30
BATCH = 5_000

# (code, share of traffic, default outcome, rules): first match wins, from the top.
ACTIONS: list[tuple[str, float, str, list[dict[str, Any]]]] = [
    ("signIn", 0.55, "ALLOW", [
        {"name": "Anonymous network", "outcome": "CHALLENGE", "conditions": {"==": [{"var": "custom.vpn"}, True]}},
        {"name": "Many failures", "outcome": "BLOCK", "conditions": {">": [{"var": "custom.failures"}, 10]}},
    ]),
    ("withdraw-funds", 0.22, "ALLOW", [
        {"name": "Huge withdrawal", "outcome": "BLOCK", "conditions": {">": [{"var": "custom.amount"}, 100000]}},
        {"name": "Large withdrawal, new payee", "outcome": "REVIEW", "conditions": {"and": [
            {">": [{"var": "custom.amount"}, 10000]}, {"==": [{"var": "custom.newPayee"}, True]}]}},
        {"name": "Large withdrawal", "outcome": "CHALLENGE", "conditions": {">": [{"var": "custom.amount"}, 1000]}},
    ]),
    ("payment", 0.15, "ALLOW", [
        {"name": "Risky merchant", "outcome": "REVIEW", "conditions": {"in": [{"var": "custom.mcc"}, ["7995", "6051"]]}},
        {"name": "Big payment", "outcome": "CHALLENGE", "conditions": {">": [{"var": "custom.amount"}, 2000]}},
    ]),
    ("change-email", 0.07, "CHALLENGE", []),
    ("close-account", 0.01, "REVIEW", []),
]
# What the traffic looks like per action: (custom data, share) → the engine decides the outcome.
CUSTOM: dict[str, list[tuple[dict[str, Any], float]]] = {
    "signIn": [({"vpn": False, "failures": 0}, 0.90), ({"vpn": True, "failures": 0}, 0.07),
               ({"vpn": False, "failures": 25}, 0.03)],
    "withdraw-funds": [({"amount": 250, "newPayee": False}, 0.70), ({"amount": 5000, "newPayee": False}, 0.20),
                       ({"amount": 20000, "newPayee": True}, 0.06), ({"amount": 500000, "newPayee": False}, 0.04)],
    "payment": [({"amount": 40, "mcc": "5411"}, 0.85), ({"amount": 3500, "mcc": "5732"}, 0.12),
                ({"amount": 90, "mcc": "7995"}, 0.03)],
    "change-email": [({"newEmailDomain": "example.com"}, 1.0)],
    "close-account": [({"reason": "moving"}, 1.0)],
}
# How challenged and reviewed actions end (the rest stay where track left them).
LATER = {
    "CHALLENGE_REQUIRED": [("CHALLENGE_SUCCEEDED", 0.80, "challenge"), ("CHALLENGE_FAILED", 0.08, "challenge"),
                           (None, 0.12, None)],
    "REVIEW_REQUIRED": [("REVIEW_SUCCEEDED", 0.55, "review"), ("REVIEW_FAILED", 0.25, "review"), (None, 0.20, None)],
}
AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
]


def pick(rng: random.Random, weighted: list[tuple[Any, float]]) -> Any:
    return rng.choices([item for item, _ in weighted], weights=[w for _, w in weighted])[0]


# --- the instance -------------------------------------------------------------------------------

def make_app(tmp: Path):
    from cryptography.fernet import Fernet

    from app import create_app

    return create_app({
        "TOLLGATE_ENV": "development",
        "TOLLGATE_SECRET_KEY": secrets.token_urlsafe(48),
        "TOLLGATE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "TOLLGATE_INSTANCE_PATH": str(tmp),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}",
        "TOLLGATE_PUBLIC_URL": "http://localhost:5000",
    })


def provision(app) -> str:
    """Migrate; tenant, admin, actions and rules. Returns the tenant id."""
    from flask_migrate import upgrade

    from app.services.console.console_users import create_console_user
    from app.services.operations.provisioning import ensure_tenant
    from app.services.rulesets.rules import ActionDocument, RuleDocument, create_action_configuration, create_rule
    from app.services.rulesets.versions import publish

    upgrade()
    tenant = ensure_tenant("Bench tenant")
    create_console_user(tenant.id, email=ADMIN, password=PASSWORD, role="admin", settings=app.config["TOLLGATE"])
    for code, _, default, rules in ACTIONS:
        create_action_configuration(tenant.id, ActionDocument(
            code=code, default_outcome=default, unenrolled_policy="REQUIRE_ENROLLMENT"))
        for priority, rule in enumerate(rules):
            create_rule(tenant.id, code, RuleDocument.model_validate({**rule, "priority": priority * 10}))
        if rules:
            publish("bench", tenant.id, code, note="Bench rules.")
    return tenant.id


def decision_templates(app, tenant_id: str, now: datetime) -> dict[tuple[str, int], dict[str, Any]]:
    """Track each (action, kind of traffic) once for real; its row is the template for the copies."""
    from sqlalchemy import delete, select

    from app.extensions import db
    from app.models import ActionStateChange, UserAction
    from app.services.decisions.tracking import TrackAttributes, track_action

    templates = {}
    for code, *_ in ACTIONS:
        for index, (custom, _) in enumerate(CUSTOM[code]):
            key = f"bench-template-{code}-{index}"
            track_action(tenant_id, "bench-template", code,
                         TrackAttributes(custom=custom, ip_address="10.0.0.1", idempotency_key=key),
                         settings=app.config["TOLLGATE"], now=now)
            row = db.session.execute(select(UserAction.__table__).where(
                UserAction.tenant_id == tenant_id, UserAction.idempotency_key == key)).mappings().one()
            templates[(code, index)] = dict(row)
    db.session.execute(delete(ActionStateChange))
    db.session.execute(delete(UserAction))
    db.session.commit()
    return templates


def insert_users(tenant_id: str, users: int, now: datetime) -> None:
    from app.extensions import db
    from app.models import EndUser

    rows = [{
        "tenant_id": tenant_id, "user_id": f"user-{n:05d}", "email": f"user{n:05d}@example.com",
        "email_verified": True, "phone_number": f"+6421{n:07d}" if n % 3 == 0 else None,
        "phone_number_verified": False, "username": None, "display_name": f"User {n}", "custom": {},
        "locale": None, "webauthn_user_handle": None, "created_at": now - timedelta(days=DAYS + 1), "updated_at": now,
    } for n in range(users)]
    connection = db.session.connection()
    for start in range(0, len(rows), BATCH):
        connection.execute(EndUser.__table__.insert(), rows[start:start + BATCH])
    db.session.commit()


def insert_actions(tenant_id: str, templates: dict, *, actions: int, users: int, now: datetime, seed: int = 7) -> None:
    """Oldest first (ids grow with time, as in production), with explicit ids for the history rows."""
    from app.domain.decision import ActionState, VerificationMethod
    from app.extensions import db
    from app.models import ActionStateChange, UserAction

    rng = random.Random(seed)
    codes = [(code, share) for code, share, *_ in ACTIONS]
    start = now - timedelta(days=DAYS)
    step = (now - timedelta(minutes=1) - start) / actions
    action_rows: list[dict] = []
    change_rows: list[dict] = []
    connection = db.session.connection()

    def flush() -> None:
        connection.execute(UserAction.__table__.insert(), action_rows)
        if change_rows:
            connection.execute(ActionStateChange.__table__.insert(), change_rows)
        action_rows.clear()
        change_rows.clear()

    change_id = 0
    for n in range(1, actions + 1):
        code = pick(rng, codes)
        index = pick(rng, [(i, share) for i, (_, share) in enumerate(CUSTOM[code])])
        template = templates[(code, index)]
        created = start + step * n + timedelta(milliseconds=rng.randint(0, 500))
        state = template["state"]
        row = {**template, "id": n, "user_id": f"user-{rng.randrange(users):05d}",
               "idempotency_key": secrets.token_hex(16), "created_at": created, "updated_at": created,
               "state_updated_at": created, "ip_address": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
               "user_agent": rng.choice(AGENTS), "device_id": f"dev-{rng.randrange(50_000):05d}"}
        later, source = None, None
        if state.value in LATER:
            later, _, source = pick(rng, [(choice, choice[1]) for choice in LATER[state.value]])
        if later and created < now - timedelta(minutes=10):
            later = ActionState(later)
            moved = created + timedelta(seconds=rng.randint(20, 600))
            change_id += 1
            change_rows.append({"id": change_id, "user_action_id": n, "from_state": state, "to_state": later,
                                "source": source, "changed_at": moved})
            row.update(state=later, state_updated_at=moved, updated_at=moved)
            if later == ActionState.CHALLENGE_SUCCEEDED:
                row.update(verification_method=VerificationMethod.AUTHENTICATOR_APP)
        action_rows.append(row)
        if len(action_rows) >= BATCH:
            flush()
    if action_rows:
        flush()
    db.session.commit()


# --- measuring ----------------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def sign_in(client) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    match = CSRF.search(page)
    if not match:
        raise SystemExit("The login page carries no CSRF token.")
    token = next(group for group in match.groups() if group)
    response = client.post("/auth/login", data={"email": ADMIN, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 302 or "/console/" not in response.headers.get("Location", ""):
        raise SystemExit(f"Sign-in failed: {response.status_code} {response.get_data(as_text=True)[:300]}")


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def time_page(client, path: str, shows: str, *, requests: int, warmup: int) -> list[float]:
    """Sorted timings (ms) of ``requests`` GETs; the page must answer 200 and show ``shows`` (a page
    that quietly showed nothing would be fast for the wrong reason)."""
    timings = []
    for attempt in range(warmup + requests):
        started = time.perf_counter()
        response = client.get(path)
        body = response.get_data(as_text=True)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200 or shows not in body:
            raise SystemExit(f"GET {path} answered {response.status_code} without {shows!r}: {body[:300]!r}")
        if attempt >= warmup:
            timings.append(elapsed)
    return sorted(timings)


@contextmanager
def statement_log(engine) -> Iterator[list[tuple[float, str, Any]]]:
    """(ms, SQL, parameters) of every statement run inside the block."""
    from sqlalchemy import event

    log: list[tuple[float, str, Any]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        log.append(((time.perf_counter() - conn.info["bench_started"].pop()) * 1000, statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def profile(app, client, path: str) -> None:
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    with statement_log(engine) as log:
        started = time.perf_counter()
        client.get(path)
        total = (time.perf_counter() - started) * 1000
    print(f"\nprofile of GET {path}: {total:.1f} ms in all, {sum(ms for ms, *_ in log):.1f} ms in {len(log)} SQL statements")
    for ms, statement, parameters in sorted(log, key=lambda entry: -entry[0])[:5]:
        print(f"  {ms:7.1f} ms  {' '.join(statement.split())[:400]}")
        if engine.dialect.name == "sqlite" and statement.lstrip().upper().startswith("SELECT"):
            with app.app_context(), engine.connect() as conn:
                plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            for row in plan:
                print(f"             plan: {row[-1]}")


COUNTING = "Still counting"  # what the Overview says while ended hours of its period are not counted yet


def count_overview_hours(client) -> list[float]:
    """The Overview's first views of 30 days (ms each), until every ended hour is counted: what the
    first admin to open it after a long quiet waits, once."""
    timings = []
    while True:
        started = time.perf_counter()
        response = client.get("/console/overview?window=30d")
        timings.append((time.perf_counter() - started) * 1000)
        body = response.get_data(as_text=True)
        if response.status_code != 200 or 'id="outcomes-chart"' not in body:
            raise SystemExit(f"The Overview answered {response.status_code}: {body[:300]!r}")
        if COUNTING not in body:
            return timings
        if len(timings) > 20:
            raise SystemExit("The Overview is still counting after 20 views.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=40, help="timed GETs per page (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile", action="append", default=[], metavar="PATH",
                        help="also print the slowest SQL of this page (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temp instance (its path is printed)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tollgate-bench-console-"))
    try:
        app = make_app(tmp)
        now = datetime.now(UTC)
        began = time.perf_counter()
        with app.app_context():
            tenant_id = provision(app)
            templates = decision_templates(app, tenant_id, now)
            insert_users(tenant_id, args.users, now)
            insert_actions(tenant_id, templates, actions=args.actions, users=args.users, now=now)
            from sqlalchemy import func, select, text

            from app.extensions import db
            from app.models import ActionStateChange, EndUser, UserAction
            from app.services.console.activity import Cursor

            counts = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                      for model in (UserAction, ActionStateChange, EndUser)}
            if db.engine.dialect.name == "sqlite":
                db.session.execute(text("ANALYZE"))  # what a long-running database has; cheap here
                db.session.commit()
            # An older page: the cursor of a row half way back, and a user with many actions.
            middle = db.session.execute(select(UserAction.created_at, UserAction.id)
                                        .order_by(UserAction.id).offset(args.actions // 2).limit(1)).one()
            older = Cursor(middle.created_at, middle.id).encode()
            busy_user = db.session.execute(select(UserAction.user_id, func.count().label("n"))
                                           .group_by(UserAction.user_id).order_by(func.count().desc()).limit(1)).one()
            detail_id = db.session.scalar(select(UserAction.id).where(UserAction.state == "CHALLENGE_SUCCEEDED")
                                          .order_by(UserAction.id.desc()).limit(1))
            has_review = "review.queue_list" in app.view_functions
            database = db.engine.url.render_as_string(hide_password=True)
        print(f"database {database}: {counts} built in {time.perf_counter() - began:.1f} s "
              f"(busiest user {busy_user.user_id} has {busy_user.n} actions)")

        # The build left a large heap in this process; a server worker's would not have it. Freeze it
        # so a full garbage collection of setup objects (~100 ms) does not land in a page's timings.
        gc.collect()
        gc.freeze()
        client = app.test_client()
        sign_in(client)
        row_link = 'href="/console/activity/'
        older_link = 'rel="next"'
        pages = [
            ("actions list", "/console/actions", "close-account"),
            ("activity, newest", "/console/activity", older_link),
            ("activity, state=CHALLENGE_FAILED", "/console/activity?state=CHALLENGE_FAILED", older_link),
            ("activity, state=ALLOW", "/console/activity?state=ALLOW", older_link),
            ("activity, user", f"/console/activity?user={busy_user.user_id}", row_link),
            ("activity, action=withdraw-funds", "/console/activity?action=withdraw-funds", older_link),
            ("activity, action=close-account (1%)", "/console/activity?action=close-account", older_link),
            ("activity, older page (cursor)", f"/console/activity?cursor={older}", older_link),
            ("activity, from yesterday", f"/console/activity?from={(now - timedelta(days=1)).date().isoformat()}",
             older_link),
            ("activity detail", f"/console/activity/{detail_id}", "Challenge succeeded"),
            ("users", "/console/users", "user-00010"),
            ("users, search id prefix", "/console/users?q=user-0420", "user-04209"),
            ("users, search email", "/console/users?q=user04242@example.com", "user-04242"),
            ("user page", f"/console/users/{busy_user.user_id}", row_link),
        ]
        chart = 'id="outcomes-chart"'
        pages += [
            ("overview, 24 h", "/console/overview", chart),
            ("overview, 7 days", "/console/overview?window=7d", chart),
            ("overview, 30 days", "/console/overview?window=30d", chart),
            ("overview, 30 days, action=withdraw-funds", "/console/overview?window=30d&action=withdraw-funds", chart),
        ]
        if has_review:
            pages.append(("review queue", "/review/", "close-account"))
        else:
            print("(no review queue in this build: review.queue_list is not registered)")

        cold = count_overview_hours(client)
        print(f"overview, first views counting 30 days of ended hours: {len(cold)} views, "
              f"{', '.join(f'{ms:.0f}' for ms in cold)} ms (once; the hours stay counted)")
        print(f"\n{args.requests} timed GETs per page after {args.warmup} warm-up, in-process (Flask test client); "
              f"target p50 < {TARGET_P50_MS:.0f} ms")
        print(f"{'page':42} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  result")
        failed = []
        for label, path, shows in pages:
            timings = time_page(client, path, shows, requests=args.requests, warmup=args.warmup)
            p50, p99 = statistics.median(timings), percentile(timings, 99)
            ok = p50 < TARGET_P50_MS
            if not ok:
                failed.append((label, path))
            print(f"{label:42} {p50:8.1f} {p99:8.1f} {timings[-1]:8.1f}  {'PASS' if ok else 'FAIL'}")
        for _, path in failed:
            profile(app, client, path)
        for path in args.profile:
            profile(app, client, path)
        print("\nall pages PASS" if not failed else f"\n{len(failed)} page(s) FAIL: {', '.join(label for label, _ in failed)}")
        with app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
