"""Fixtures shared by every test layer that needs the app.

The schema is created the way production creates it, by running the Alembic migrations. Tests run
on a real SQLite file by default, or on the PostgreSQL server named by ``DATABASE_URL``.
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import delete, text

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models.base import Base

PUBLIC_URL = "http://localhost:5000"


def _reset_database(url: str) -> None:
    """Start every session from an empty database, so ``upgrade`` really runs from nothing."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(scope="session")
def app_env(tmp_path_factory) -> dict[str, str]:
    instance = tmp_path_factory.mktemp("instance")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'test.db'}"
    return {
        "TOLLGATE_ENV": "test",
        "TOLLGATE_INSTANCE_PATH": str(instance),
        "DATABASE_URL": url,
        "TOLLGATE_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "TOLLGATE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "TOLLGATE_PUBLIC_URL": PUBLIC_URL,
        "TOLLGATE_REDIRECT_ALLOWLIST": "https://app.example,https://shop.example/done,http://localhost:3000",
    }


@pytest.fixture(scope="session")
def app(app_env) -> Iterator[Flask]:
    application = create_app(app_env)
    with application.app_context():
        _reset_database(application.config["SQLALCHEMY_DATABASE_URI"])
        upgrade()
        db.engine.dispose()
    yield application
    # Close the pool before psycopg's connections are garbage-collected open (a ResourceWarning,
    # which filterwarnings turns into an error).
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request) -> Iterator[None]:
    """Each test starts with empty tables (only for tests that use the app)."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        db.session.rollback()
        for table in reversed(Base.metadata.sorted_tables):
            db.session.execute(delete(table))
        db.session.commit()


@pytest.fixture
def settings(app):
    return app.config["TOLLGATE"]


@pytest.fixture
def override_settings(app, monkeypatch) -> Callable[..., Settings]:
    """``override_settings(code_ttl=120)``: for the rest of one test, the app runs with those settings
    changed (as the environment variables would); returns the settings in effect."""

    def override(**changes) -> Settings:
        changed = replace(app.config["TOLLGATE"], **changes)
        monkeypatch.setitem(app.config, "TOLLGATE", changed)
        return changed

    return override


@pytest.fixture
def private_networks_allowed(override_settings) -> Settings:
    """The app as ``make run`` has it (TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS on), for the duration of
    one test: webhooks may go to a receiver on 127.0.0.1. Returns those settings, for the worker.

    Tests otherwise run as production does, with private networks refused."""
    return override_settings(webhook_allow_private_networks=True)


SMTP_SENDER = "codes@tollgate.test"


def use_smtp(app, monkeypatch, url: str) -> Settings:
    """For one test, the app sends email through the SMTP server at ``url`` (from SMTP_SENDER)."""
    from app.domain.smtp_url import parse_smtp_url

    smtp_settings = replace(app.config["TOLLGATE"], smtp=parse_smtp_url(url), smtp_from=SMTP_SENDER)
    monkeypatch.setitem(app.config, "TOLLGATE", smtp_settings)
    return smtp_settings


@pytest.fixture
def mail(app, monkeypatch):
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that the app sends its email to, for one test."""
    from tests.smtp_server import running_mail_server

    with running_mail_server() as server:
        use_smtp(app, monkeypatch, server.url)
        yield server


def use_twilio(app, monkeypatch, base_url: str, *, sender: str | None = None) -> Settings:
    """For one test, the app sends text messages through the Twilio API at ``base_url``."""
    from app.domain.twilio_account import parse_twilio_account
    from tests.twilio_server import ACCOUNT_SID, AUTH_TOKEN, SENDER

    account = parse_twilio_account(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, sender=sender or SENDER,
                                   base_url=base_url)
    twilio_settings = replace(app.config["TOLLGATE"], twilio=account)
    monkeypatch.setitem(app.config, "TOLLGATE", twilio_settings)
    return twilio_settings


@pytest.fixture
def twilio(app, monkeypatch):
    """A fake Twilio Messages API on 127.0.0.1 (tests/twilio_server.py) the app sends texts to, for one test."""
    from tests.twilio_server import running_twilio

    with running_twilio() as server:
        use_twilio(app, monkeypatch, server.base_url)
        yield server


@pytest.fixture
def dns(monkeypatch):
    """The resolver's answers for some names, as a hostile or rebinding DNS server would give them:
    ``dns["hooks.example"] = "127.0.0.1"``. Other names resolve as usual."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real(answers.get(host, host), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture
def app_context(app) -> Iterator[None]:
    with app.app_context():
        yield


@dataclass
class Tenant:
    id: str
    api_key: str


@pytest.fixture
def tenant(app) -> Tenant:
    from app.services.operations.provisioning import ensure_tenant
    from app.services.tenancy.api_keys import create_api_key

    with app.app_context():
        row = ensure_tenant("Test tenant")
        _, raw = create_api_key(row.id, name="test", settings=app.config["TOLLGATE"])
        return Tenant(id=row.id, api_key=raw)


class ApiClient:
    """The Flask test client with the tenant's secret key as Basic auth, as the SDKs send it."""

    def __init__(self, client: FlaskClient, api_key: str):
        self.client = client
        self.headers = {"Authorization": "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()}

    def request(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open("/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(client, tenant) -> ApiClient:
    return ApiClient(client, tenant.api_key)




@pytest.fixture
def app_without_database(app_env, tmp_path) -> Iterator[Flask]:
    """An instance whose database does not answer, as when PostgreSQL is down: the same settings with
    DATABASE_URL pointing where nothing listens (a port just freed; for SQLite, a missing directory)."""
    from sqlalchemy.engine import make_url

    url = make_url(app_env["DATABASE_URL"])
    if url.get_backend_name() == "postgresql":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        gone = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    else:
        gone = f"sqlite:///{tmp_path / 'gone' / 'tollgate.db'}"
    yield create_app({**app_env, "DATABASE_URL": gone, "TOLLGATE_INSTANCE_PATH": str(tmp_path / "instance")})
