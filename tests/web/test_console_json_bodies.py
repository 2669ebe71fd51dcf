"""The console's JSON endpoints (its own passkey ceremonies) read bodies with the API's limits."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import ConsolePasskey, ConsoleUser
from tests.web.conftest import csrf_from, sign_in

JSON = {"Content-Type": "application/json"}
REFUSED = [
    pytest.param(b"[" * 5_000 + b"]" * 5_000, "JSON nested too deeply (limit 64).", id="deep"),
    pytest.param(b'{"challengeId": "x", "credential": {"id": "x", "counter": NaN}}',
                 "credential.counter: not a finite number", id="nan"),
]


def assert_refused_as_json(response, message):
    assert response.status_code == 400
    assert response.get_json()["errorDescription"] == message


@pytest.mark.parametrize(("body", "message"), [
    *REFUSED,
    pytest.param(b"[1]", "challengeId is required.", id="not an object"),
])
def test_adding_a_passkey(admin, body, message):
    assert_refused_as_json(admin.post("/console/account/passkeys", data=body, headers=JSON), message)


@pytest.fixture
def awaiting_passkey(app, make_console_user):
    """A browser past the password step of an account that has a passkey."""
    user_id = make_console_user("keyed@example.com")
    with app.app_context():
        user = db.session.get(ConsoleUser, user_id)
        user.passkeys.append(ConsolePasskey(credential_id="cred-1", public_key=b"key"))
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "keyed@example.com").headers["Location"].endswith("/auth/passkey")
    return client


@pytest.mark.parametrize(("body", "message"), REFUSED)
def test_signing_in_with_a_passkey(awaiting_passkey, body, message):
    csrf = csrf_from(awaiting_passkey.get("/auth/passkey").get_data(as_text=True))

    response = awaiting_passkey.post("/auth/passkey/verify", data=body, headers={**JSON, "X-CSRFToken": csrf})

    assert_refused_as_json(response, message)
