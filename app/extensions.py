"""Extension singletons, bound to the app in ``create_app``."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from app.models.base import Base
from app.sqlite_checkpoints import BACKSTOP_PAGES, checkpoint_in_background

# Objects stay readable after commit: each request commits once and then only serialises what
# it just wrote, so re-loading every row after the commit would be a wasted query.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
babel = Babel()


def upsert(entity):
    """``INSERT`` for the session's database with its ON CONFLICT clauses (``on_conflict_do_nothing``,
    ``on_conflict_do_update``): PostgreSQL and SQLite spell them alike, SQLAlchemy in two dialects."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(entity)


def tune_sqlite(engine: Engine, *, background_checkpoints: bool) -> None:
    """SQLite leaves foreign keys (and so ON DELETE CASCADE) off unless each connection asks.

    WAL lets readers work while one writer commits, which the API and gunicorn workers need; its
    checkpoints run in a background thread per process (app.sqlite_checkpoints), with SQLite's own
    automatic checkpoint kept as the backstop that lets the log start over. Tests build many
    short-lived apps on throw-away files, so they go without the thread.
    """
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database
    on_file = bool(database) and database != ":memory:" and not database.startswith("file:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        cursor.close()
        # Here rather than at start-up: the process that connects is the one that writes (a gunicorn
        # worker forked after the app was built starts its own).
        if background_checkpoints and on_file:
            checkpoint_in_background(database)
