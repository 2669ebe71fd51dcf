"""Track served by real gunicorn processes: what a 2xx promises survives the process being killed,
and a setting saved by another process decides the very next track."""

from __future__ import annotations

import requests
from sqlalchemy import select

from app.extensions import db
from app.models import Tenant, UserAction
from tests.servers import tollgate_processes, tollgate_to_kill


def track(url: str, api_key: str, user_id: str, **body) -> requests.Response:
    return requests.post(f"{url}/v1/users/{user_id}/actions/withdraw", json=body, auth=(api_key, ""), timeout=10)


def test_a_track_answered_before_kill_9_is_in_the_database(app, app_env, tenant):
    keys = [f"durable-{n}" for n in range(20)]
    with tollgate_to_kill(app_env) as (url, kill):
        for n, key in enumerate(keys):
            assert track(url, tenant.api_key, f"u{n}", idempotencyKey=key).status_code == 200
        kill()  # right after the last answer: no clean shutdown, no checkpoint, nothing flushed

    with app.app_context():
        stored = db.session.execute(
            select(UserAction.idempotency_key).where(UserAction.tenant_id == tenant.id,
                                                     UserAction.idempotency_key.in_(keys))
        ).scalars().all()
    assert sorted(stored) == sorted(keys)


def test_a_setting_saved_in_another_process_decides_the_next_track(app, app_env, tenant):
    elsewhere = "https://elsewhere.example/done"
    with tollgate_processes(app_env, 1) as (url,):
        refused = track(url, tenant.api_key, "alice", redirectUrl=elsewhere)
        assert refused.status_code == 400  # and the instance now holds the tenant's configuration
        assert refused.json()["error"] == "redirect_url_not_allowed"

        with app.app_context():  # the console, in a process of its own
            db.session.get(Tenant, tenant.id).redirect_allowlist = ["https://elsewhere.example"]
            db.session.commit()

        assert track(url, tenant.api_key, "alice", redirectUrl=elsewhere).status_code == 200
