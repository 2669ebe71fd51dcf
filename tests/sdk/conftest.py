"""The official ``authsignal`` Python SDK (4.1.0), unchanged, against Tollgate over real HTTP.

One Werkzeug server per session serves the session ``app`` (the same object every other fixture
uses, so the server sees the same database); each test gets a fresh SDK client holding the test
tenant's secret key.

SDK 4.1.0 quirks the tests respect:
* it applies no HTTP timeout at all (pytest-timeout turns a hang into a failure);
* a top-level ``None`` in ``attributes`` makes it send a body shorter than its Content-Length, so
  attributes here never carry top-level ``None`` values;
* responses come back decamelized (``idempotencyKey`` -> ``idempotency_key``), recursively.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from authsignal import AuthsignalClient
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from app.domain.decision import Outcome, VerificationMethod
from app.extensions import db
from app.models import UserAction
from app.models.base import utcnow
from app.services.challenges.sessions import record_challenge_success
from app.services.decisions.shadows import start_shadow
from app.services.rulesets.rules import RuleDocument, create_rule
from tests.factories import make_action


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one access-log line per call is noise here
        pass


@dataclass(frozen=True)
class LiveServer:
    host: str
    port: int

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[LiveServer]:
    # Port 0: the OS picks a free port at bind time, so nothing can take it between pick and bind.
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="tollgate-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(host="127.0.0.1", port=server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def authsignal_client(live_server: LiveServer, tenant) -> Iterator[AuthsignalClient]:
    client = AuthsignalClient(api_secret_key=tenant.api_key, api_url=live_server.api_url)
    yield client
    client.session.close()  # the SDK never closes its keep-alive connections itself


@pytest.fixture
def client_with_secret(live_server: LiveServer) -> Iterator[Callable[[str], AuthsignalClient]]:
    """An SDK client with any secret (for the unauthorized cases)."""
    made: list[AuthsignalClient] = []

    def build(secret: str) -> AuthsignalClient:
        client = AuthsignalClient(api_secret_key=secret, api_url=live_server.api_url)
        made.append(client)
        return client

    yield build
    for client in made:
        client.session.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every Python SDK test runs twice: as it is, and with a shadow on each action it configures
    (issue "Shadow rules": SDK responses are byte-identical with and without shadow rules)."""
    if metafunc.module.__name__.rsplit(".", 1)[-1].startswith("test_sdk_"):
        metafunc.fixturenames.append("rules_in_shadow")
        metafunc.parametrize("rules_in_shadow", [False, True], ids=["live", "with-shadow"], indirect=True)


@pytest.fixture
def rules_in_shadow(request: pytest.FixtureRequest) -> bool:
    return getattr(request, "param", False)


# The shadow each configured action gets in the "with-shadow" runs: the live rules plus a rule that
# blocks whatever they leave to the default, so a shadow that leaked into a response would show.
SHADOW_BLOCKS_THE_REST = {"name": "Shadow: block the rest", "priority": 99, "outcome": "BLOCK"}


@pytest.fixture
def configure_action(app: Flask, tenant, rules_in_shadow: bool) -> Callable[..., list[str]]:
    """Create an action configuration and its rules the way an admin would, published; returns the
    rule ids. ``rules`` are RuleDocument JSON dicts (camelCase, ``priority`` defaults to the list position).
    """

    def configure(code: str, *, default_outcome: Outcome = Outcome.ALLOW, rules: list[dict] = ()) -> list[str]:
        ids = make_action(app, tenant.id, code, default_outcome=default_outcome,
                          rules=[{"priority": position, **rule} for position, rule in enumerate(rules)])
        if rules_in_shadow:
            with app.app_context():
                create_rule(tenant.id, code, RuleDocument.model_validate(SHADOW_BLOCKS_THE_REST))
                start_shadow("cli", tenant.id, code)
        return ids

    return configure


@pytest.fixture
def enroll_totp(authsignal_client: AuthsignalClient) -> Callable[[str], dict]:
    """Enrol an authenticator app for a user through the SDK; returns the enrol response."""

    def enroll(user_id: str) -> dict:
        otp_uri = pyotp.TOTP(pyotp.random_base32()).provisioning_uri(name="x", issuer_name="Tollgate")
        return authsignal_client.enroll_verified_authenticator(
            user_id, {"verificationMethod": "AUTHENTICATOR_APP", "otpUri": otp_uri}
        )

    return enroll


@pytest.fixture
def pass_challenge(app: Flask, tenant) -> Callable[..., str]:
    """What the hosted page does once the user passed the challenge: returns the result token."""

    def passed(user_id: str, action_code: str, idempotency_key: str) -> str:
        with app.app_context():
            return record_challenge_success(
                tenant.id,
                user_id,
                action_code,
                idempotency_key,
                verification_method=VerificationMethod.AUTHENTICATOR_APP,
                authenticator_id=None,
                settings=app.config["TOLLGATE"],
                now=utcnow(),
            )

    return passed


@pytest.fixture
def stored_action(app: Flask, tenant) -> Callable[[str], dict[str, Any]]:
    """The persisted action row (as plain data) for an idempotency key."""

    def load(idempotency_key: str) -> dict[str, Any]:
        with app.app_context():
            action = db.session.execute(
                select(UserAction).where(
                    UserAction.tenant_id == tenant.id, UserAction.idempotency_key == idempotency_key
                )
            ).scalar_one()
            return {
                "state": action.state.value,
                "ip_address": action.ip_address,
                "user_agent": action.user_agent,
                "device_id": action.device_id,
                "redirect_url": action.redirect_url,
                "attributes": dict(action.attributes),
            }

    return load
