"""Console fixtures: signed-in test clients per role, sending the CSRF token their pages carry."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services.console.console_users import create_console_user
from tests.html import csrf_from

PASSWORD = "correct horse battery staple"


def audit_events(app, event: str) -> list[AuditEvent]:
    """The audit trail's entries of one kind, oldest first (in the order the changes happened)."""
    with app.app_context():
        return list(db.session.execute(
            select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.occurred_at, AuditEvent.id)
        ).scalars())


def sign_in(client, email: str, password: str = PASSWORD):
    page = client.get("/auth/login")
    return client.post("/auth/login", data={"email": email, "password": password, "csrf_token": csrf_from(page)})


@pytest.fixture
def make_console_user(app, tenant):
    def make(email: str, role: str = "admin"):
        with app.app_context():
            user = create_console_user(
                tenant.id, email=email, password=PASSWORD, role=role, settings=app.config["TOLLGATE"]
            )
            return user.id

    return make


class ConsoleClient:
    """A test client signed in to the console, sending the CSRF token like the pages do."""

    def __init__(self, client):
        self.client = client
        self.csrf = csrf_from(client.get("/console/account"))


    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path, data=None, htmx=False, **kwargs):
        headers = {"X-CSRFToken": self.csrf, **kwargs.pop("headers", {})}
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.post(path, data=data or {}, headers=headers, **kwargs)


@pytest.fixture
def admin(app, make_console_user) -> ConsoleClient:
    make_console_user("admin@example.com", "admin")
    client = app.test_client()
    sign_in(client, "admin@example.com")
    return ConsoleClient(client)


@pytest.fixture
def reviewer(app, make_console_user) -> ConsoleClient:
    make_console_user("reviewer@example.com", "reviewer")
    client = app.test_client()
    sign_in(client, "reviewer@example.com")
    return ConsoleClient(client)
