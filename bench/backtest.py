"""Benchmark: back-test a draft over 1,000,000 stored actions decided by 10 rules.

Run from anywhere: ``python bench/backtest.py`` (``make bench`` runs it). Target (issue "Shadow
rules and back-testing"): under 90 s on this 2-core machine and under 500 MB of memory, by
streaming the window instead of loading it.

What it does, self-contained (no network):

1. builds a throw-away instance in a temp dir (SQLite there, or ``DATABASE_URL`` if set: then it must
   be a throw-away database), migrates it, creates the action with bench/track.py's ten rules;
2. tracks a few actions of each kind of traffic through the real ``track_action`` service (genuine
   input snapshots and decisions), then bulk-inserts ``--actions`` copies of them over 30 days,
   each with its first state change, so every stored decision is one its version reproduces;
3. edits the draft (the large-withdrawal threshold from 10,000 down to 800), and runs
   ``flask rules backtest withdraw --window 30d`` in a child process, as an operator would;
4. prints the child's wall time, rows/s and peak RSS against the targets, and exits 1 on a miss
   (or when the self-check does not reproduce every stored outcome).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.track import RULES  # noqa: E402  (after the path is set)

TARGET_SECONDS = 90.0
TARGET_RSS_MB = 500.0
ACTION = "withdraw"
BATCH = 5_000
# Kinds of traffic: (custom data, share). Ordinary amounts match no rule; some are large enough for
# the draft's lower threshold; a few hit the live rules.
TRAFFIC = [
    ({"amount": 120.0, "currency": "NZD", "payee": "acct_1", "isFirstPayee": False, "attempts": 0}, 0.80),
    ({"amount": 950.0, "currency": "AUD", "payee": "acct_2", "isFirstPayee": False, "attempts": 1}, 0.15),
    ({"amount": 25000.0, "currency": "USD", "payee": "acct_3", "isFirstPayee": False, "attempts": 0}, 0.03),
    ({"amount": 900.0, "currency": "BTC", "payee": "acct_4", "isFirstPayee": False, "attempts": 0}, 0.02),
]


def environment(tmp: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "TOLLGATE_ENV": "development",
        "TOLLGATE_SECRET_KEY": secrets.token_urlsafe(48),
        "TOLLGATE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "TOLLGATE_INSTANCE_PATH": str(tmp),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}",
        "TOLLGATE_PUBLIC_URL": "http://localhost:5000",
    }


def seed(env: dict[str, str], actions: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import delete, select

    from app import create_app
    from app.extensions import db
    from app.models import ActionStateChange, Rule, UserAction
    from app.models.base import utcnow
    from app.services.decisions.tracking import TrackAttributes, track_action
    from app.services.operations.provisioning import ensure_tenant
    from app.services.rulesets.rules import ActionDocument, RuleDocument, create_action_configuration, create_rule
    from app.services.rulesets.versions import publish

    app = create_app(env)
    with app.app_context():
        upgrade()
        tenant = ensure_tenant("Bench tenant")
        create_action_configuration(tenant.id, ActionDocument(code=ACTION, default_outcome="ALLOW"))
        for rule in RULES:
            create_rule(tenant.id, ACTION, RuleDocument.model_validate(rule))
        publish("bench", tenant.id, ACTION, note="Bench rules.")

        now = utcnow()
        templates = []
        for index, (custom, share) in enumerate(TRAFFIC):
            key = f"bench-template-{index}"
            track_action(tenant.id, f"template-{index}", ACTION,
                         TrackAttributes(custom=custom, ip_address="10.0.0.1", idempotency_key=key,
                                         user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"),
                         settings=app.config["TOLLGATE"], now=now)
            action = db.session.execute(select(UserAction.__table__).where(UserAction.idempotency_key == key)).mappings().one()
            templates.append((dict(action), share))
        db.session.execute(delete(ActionStateChange))
        db.session.execute(delete(UserAction))
        db.session.commit()

        rng = random.Random(15)
        start = now - timedelta(days=29)
        step = (now - timedelta(minutes=1) - start) / actions
        connection = db.session.connection()
        action_rows = []
        for n in range(1, actions + 1):
            template = rng.choices([t for t, _ in templates], weights=[w for _, w in templates])[0]
            created = start + step * n
            user_id = f"user-{rng.randrange(10_000):05d}"
            # The stored snapshot holds no user id (replay reads it from the row's column), so the
            # template's snapshot serves every user as it is.
            action_rows.append({**template, "id": n, "user_id": user_id, "idempotency_key": f"k{n}",
                                "created_at": created, "updated_at": created, "state_updated_at": created})
            if len(action_rows) >= BATCH:
                connection.execute(UserAction.__table__.insert(), action_rows)
                action_rows.clear()
        if action_rows:
            connection.execute(UserAction.__table__.insert(), action_rows)
        # The draft: large withdrawals from 800 instead of 10,000.
        large = db.session.execute(select(Rule).where(Rule.name == "Very large withdrawal")).scalar_one()
        large.conditions = {">": [{"var": "custom.amount"}, 800]}
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=1_000_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tollgate-bench-backtest-"))
    try:
        env = environment(tmp)
        began = time.perf_counter()
        seed(env, args.actions)
        print(f"seeded {args.actions:,} stored actions in {time.perf_counter() - began:.0f} s")
        flask = Path(sys.executable).with_name("flask")
        began = time.perf_counter()
        child = subprocess.run([str(flask), "rules", "backtest", ACTION, "--window", "30d"], capture_output=True,
                               text=True, env={**os.environ, **env, "FLASK_APP": "app:create_app"}, cwd=ROOT)
        seconds = time.perf_counter() - began
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(child.stdout.rstrip())
    if child.returncode != 0:
        print(child.stderr.rstrip()[-2000:])
        print("FAIL: the back-test did not finish with every stored outcome reproduced")
        return 1
    rate = args.actions / seconds
    ok_time, ok_memory = seconds < TARGET_SECONDS, peak_mb < TARGET_RSS_MB
    print(f"back-test of {args.actions:,} actions: {seconds:.1f} s ({rate:,.0f} rows/s), target < {TARGET_SECONDS:.0f} s: "
          f"{'PASS' if ok_time else 'FAIL'}")
    print(f"peak RSS {peak_mb:.0f} MB, target < {TARGET_RSS_MB:.0f} MB: {'PASS' if ok_memory else 'FAIL'}")
    return 0 if ok_time and ok_memory else 1


if __name__ == "__main__":
    sys.exit(main())
