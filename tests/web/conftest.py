"""Console fixtures: signed-in test clients per role, and the CSRF token a page carries."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services.console.console_users import create_console_user

PASSWORD = "correct horse battery staple"
CSRF_META = re.compile(r'"X-CSRFToken": "([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"|'
                       r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_META.search(html)
    assert match, "page carries no CSRF token"
    return next(group for group in match.groups() if group)


def next_page_link(response) -> str | None:
    """The list page's "next" link (keyset paging), unescaped; None on the last page."""
    match = re.search(r'<a href="([^"]+)" rel="next"', response.get_data(as_text=True))
    return match.group(1).replace("&amp;", "&") if match else None


def audit_events(app, event: str) -> list[AuditEvent]:
    """The audit trail's entries of one kind, oldest first (in the order the changes happened)."""
    with app.app_context():
        return list(db.session.execute(
            select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.occurred_at, AuditEvent.id)
        ).scalars())


def sign_in(client, email: str, password: str = PASSWORD):
    page = client.get("/auth/login").get_data(as_text=True)
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
        self.csrf = csrf_from(client.get("/console/account").get_data(as_text=True))

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
