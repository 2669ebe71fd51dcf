"""Migrations are the only way the schema is made: one head, and upgrading an empty database
yields exactly what the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from app import create_app
from app.extensions import db


def test_there_is_exactly_one_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def _differences(application) -> list:
    with application.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgraded_session_database_matches_the_models(app):
    # The session database was emptied and upgraded from nothing by the `app` fixture.
    assert _differences(app) == []


def test_upgrade_on_a_fresh_sqlite_file_matches_the_models(app_env, tmp_path):
    fresh = create_app({**app_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
                        "TOLLGATE_INSTANCE_PATH": str(tmp_path)})
    with fresh.app_context():
        upgrade()
    assert _differences(fresh) == []
