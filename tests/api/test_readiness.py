"""/readyz: ready only when the database answers and its schema is at the code's migration head."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db


def test_a_migrated_database_is_ready(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def fresh_app(app_env, tmp_path):
    """An app on its own empty SQLite file (never the session database)."""
    application = create_app({**app_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
                              "TOLLGATE_INSTANCE_PATH": str(tmp_path)})
    yield application
    with application.app_context():
        db.engine.dispose()


def test_a_database_never_migrated_is_not_ready(fresh_app):
    response = fresh_app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert "flask db upgrade" in response.get_json()["problem"]


def test_a_database_behind_the_code_is_not_ready(fresh_app):
    with fresh_app.app_context():
        upgrade()
        downgrade(revision="-1")

    assert fresh_app.test_client().get("/readyz").status_code == 503


def test_an_unreachable_database_is_not_ready(app_env, tmp_path):
    unreachable = create_app({**app_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}",
                              "TOLLGATE_INSTANCE_PATH": str(tmp_path)})

    response = unreachable.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["problem"] == "The database does not answer."


def test_liveness_needs_no_database(app_env, tmp_path):
    unreachable = create_app({**app_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}",
                              "TOLLGATE_INSTANCE_PATH": str(tmp_path)})

    assert unreachable.test_client().get("/healthz").status_code == 200
