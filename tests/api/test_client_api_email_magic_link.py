"""Magic links (EMAIL_MAGIC_LINK) through the client API, as @authsignal/browser's ``emailML`` module
calls it, delivered by a real SMTP server on 127.0.0.1 (aiosmtpd) and opened from the received
message: the link's page asks, its POST (with a CSRF token) confirms, and checkVerificationStatus
(``/verify/email-magic-link/finalize``) then answers with the token.

A link works once, for one action, for TOLLGATE_CODE_TTL; a resend waits 30 seconds and replaces it.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.domain.decision import ActionState
from app.extensions import db
from app.models import ActionStateChange, CodeChallenge, OutboundMessage
from app.models.base import utcnow
from tests.api.test_client_api_email_otp import ACTION, bearer, state_of, track
from tests.concurrency import at_once
from tests.factories import make_action
from tests.html import parse, text_of
from tests.magic_links import PUBLIC_URL, confirm, confirm_fields, link_secret, open_link


def enroll(client, token: str, email: str = "alice@example.com"):
    return client.post("/v1/client/user-authenticators/email-magic-link", headers=bearer(token), json={"email": email})


def challenge(client, token: str):
    return client.post("/v1/client/challenge/email-magic-link", headers=bearer(token))  # no body, as the SDK sends it


def status(client, token: str) -> dict:
    """One poll of ``checkVerificationStatus``."""
    response = client.post("/v1/client/verify/email-magic-link/finalize", headers=bearer(token), json={})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert "error" not in body
    return body


def heading(response) -> str:
    return text_of(parse(response).find("h1"))


def splice(link: str, challenge_id: str) -> str:
    """The secret of ``link`` with another challenge's id."""
    secret = link_secret(link).partition(".")[2]
    return f"{PUBLIC_URL}/challenge/email-magic-link?link={challenge_id}.{secret}"


@pytest.fixture(autouse=True)
def link_action(app, tenant):
    make_action(app, tenant.id, ACTION, default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["EMAIL_MAGIC_LINK", "AUTHENTICATOR_APP"])


@pytest.fixture
def enrolled(api):
    """Alice's address for links, enrolled by the integrator's backend."""
    response = api.post("/users/alice/authenticators",
                        json={"verificationMethod": "EMAIL_MAGIC_LINK", "email": "alice@example.com"})
    assert response.status_code == 200, response.get_json()


def test_enrolling_sends_a_link_whose_confirmation_enrols_the_address_and_passes_the_challenge(api, client, mail):
    tracked = track(api)
    assert tracked["state"] == "CHALLENGE_REQUIRED"

    response = enroll(client, tracked["token"])

    assert response.status_code == 200, response.get_json()
    enrolled = response.get_json()
    assert set(enrolled) == {"userAuthenticatorId", "userId"}
    [received] = mail.wait_for(1)
    assert received.envelope_to == ["alice@example.com"]
    assert received.message["From"] == "Test tenant <codes@tollgate.test>"
    assert received.message["Subject"] == "Your Test tenant sign-in link"
    assert "next 10 minutes" in received.text
    assert parse(received.html).find("a", href=received.link) is not None
    assert status(client, tracked["token"]) == {"isVerified": False}
    assert api.get("/users/alice").get_json()["enrolledVerificationMethods"] == []

    confirmed = confirm(client, received.link)

    assert confirmed.status_code == 200
    assert heading(confirmed) == "You're verified"
    assert "token=" not in confirmed.get_data(as_text=True)  # the window that asked gets the token, not this one
    verified = status(client, tracked["token"])
    assert verified["isVerified"] is True
    assert verified["userAuthenticator"]["userAuthenticatorId"] == enrolled["userAuthenticatorId"]
    assert verified["userAuthenticator"]["verificationMethod"] == "EMAIL_MAGIC_LINK"
    assert state_of(api, tracked) == "CHALLENGE_SUCCEEDED"
    result = api.post("/validate", json={"token": verified["accessToken"]}).get_json()
    assert (result["isValid"], result["verificationMethod"]) == (True, "EMAIL_MAGIC_LINK")
    user = api.get("/users/alice").get_json()
    assert user["email"] == "alice@example.com"
    assert "EMAIL_MAGIC_LINK" in user["enrolledVerificationMethods"]


def test_an_enrolled_user_gets_a_link_and_passes_with_it(api, client, mail, enrolled):
    tracked = track(api)

    started = challenge(client, tracked["token"])

    assert started.status_code == 200
    assert set(started.get_json()) == {"challengeId"}
    assert status(client, tracked["token"]) == {"isVerified": False}
    confirm(client, mail.wait_for(1)[0].link)
    verified = status(client, tracked["token"])
    assert verified["isVerified"] is True
    assert "userAuthenticator" not in verified  # only the link that enrols an address returns it
    assert api.post("/validate", json={"token": verified["accessToken"]}).get_json()["isValid"] is True


def test_opening_the_link_verifies_nothing_until_it_is_confirmed(api, client, mail, enrolled):
    """Mail scanners fetch links: the GET only asks."""
    tracked = track(api)
    challenge(client, tracked["token"])
    link = mail.wait_for(1)[0].link

    page = open_link(client, link)
    open_link(client, link)

    assert heading(page) == "Confirm it's you"
    assert parse(page).find("form")["method"] == "post"
    assert status(client, tracked["token"]) == {"isVerified": False}
    assert state_of(api, tracked) == "CHALLENGE_REQUIRED"


def test_a_confirmation_without_its_csrf_token_is_refused(api, client, mail, enrolled):
    tracked = track(api)
    challenge(client, tracked["token"])
    link = mail.wait_for(1)[0].link
    refused = client.post("/challenge/email-magic-link", data={"link": link_secret(link)})

    assert refused.status_code == 400
    assert heading(refused) == "Confirm again"
    assert state_of(api, tracked) == "CHALLENGE_REQUIRED"
    assert confirm(client, link).status_code == 200  # the link still works from its page


def test_a_link_works_once(api, client, mail, enrolled):
    tracked = track(api)
    challenge(client, tracked["token"])
    link = mail.wait_for(1)[0].link
    fields = confirm_fields(open_link(client, link))
    assert client.post("/challenge/email-magic-link", data=fields).status_code == 200

    again = client.post("/challenge/email-magic-link", data=fields)
    reopened = open_link(client, link)

    assert again.status_code == 409
    assert heading(again) == "This link was already used"
    assert heading(reopened) == "This link was already used"
    assert parse(reopened).find(class_="tenant").get_text(strip=True) == "Test tenant"  # the tenant's brand


def test_an_expired_link_is_refused(app, api, client, mail, enrolled):
    tracked = track(api)
    challenge(client, tracked["token"])
    link = mail.wait_for(1)[0].link
    with app.app_context():
        db.session.execute(update(CodeChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    page = open_link(client, link)

    assert page.status_code == 410
    assert heading(page) == "This link has expired"
    assert status(client, tracked["token"]) == {"isVerified": False, "failureReason": "CODE_INVALID_OR_EXPIRED"}
    assert state_of(api, tracked) == "CHALLENGE_REQUIRED"


def test_a_link_is_for_its_own_action_only(app, api, client, tenant, mail, enrolled):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", verification_methods=["EMAIL_MAGIC_LINK"])
    other = track(api, action="withdraw-funds")
    other_id = challenge(client, other["token"]).get_json()["challengeId"]
    tracked = track(api)
    challenge(client, tracked["token"])
    other_link, link = (m.link for m in mail.wait_for(2))

    spliced = open_link(client, splice(link, other_id))  # this action's secret on the other's challenge

    assert spliced.status_code == 409
    assert heading(spliced) == "This link is not valid"
    confirm(client, other_link)
    assert status(client, tracked["token"]) == {"isVerified": False}
    assert state_of(api, tracked) == "CHALLENGE_REQUIRED"
    assert status(client, other["token"])["isVerified"] is True


def test_a_resend_waits_30_seconds_then_replaces_the_link(app, api, client, mail, enrolled):
    tracked = track(api)
    first = challenge(client, tracked["token"]).get_json()

    too_soon = challenge(client, tracked["token"])

    assert too_soon.status_code == 429
    assert too_soon.get_json()["error"] == "too_many_requests"
    assert 1 <= int(too_soon.headers["Retry-After"]) <= 30
    with app.app_context():
        db.session.execute(update(CodeChallenge).values(last_sent_at=utcnow() - timedelta(seconds=31)))
        db.session.commit()

    resent = challenge(client, tracked["token"])

    assert resent.status_code == 200
    assert resent.get_json()["challengeId"] == first["challengeId"]
    old, new = (m.link for m in mail.wait_for(2))
    assert heading(open_link(client, old)) == "This link is not valid"
    confirm(client, new)
    assert status(client, tracked["token"])["isVerified"] is True


def test_the_link_is_kept_only_as_a_keyed_digest(app, api, client, mail, enrolled):
    tracked = track(api)
    challenge(client, tracked["token"])
    link = mail.wait_for(1)[0].link
    secret = link_secret(link).partition(".")[2]
    assert len(secret) == 64

    with app.app_context():
        row = db.session.execute(select(CodeChallenge)).scalar_one()
        stored = [str(value) for value in row.__dict__.values()]
        message = db.session.execute(select(OutboundMessage)).scalar_one()
    assert all(secret not in value for value in stored)
    assert row.code_digest and row.code_digest != secret
    assert secret not in message.content_ciphertext


def test_a_blocked_action_closes_its_link(app, api, client, mail, enrolled):
    tracked = track(api)
    challenge(client, tracked["token"])
    link = mail.wait_for(1)[0].link
    api.patch(f"/users/alice/actions/{ACTION}/{tracked['idempotencyKey']}", json={"state": "BLOCK"})

    page = open_link(client, link)

    assert page.status_code == 409
    assert heading(page) == "This request cannot be completed"


def test_a_link_that_is_no_link_of_ours_gets_a_page_saying_so(client):
    for link in ("", "nonsense", "00000000-0000-0000-0000-000000000000." + "0" * 64):
        page = client.get(f"/challenge/email-magic-link?link={link}")
        assert page.status_code == 409
        assert heading(page) == "This link is not valid"


def test_checking_the_status_needs_the_token(client):
    response = client.post("/v1/client/verify/email-magic-link/finalize", json={})

    assert response.status_code == 401
    assert response.get_json()["error"] == "token_not_set"


def test_a_link_confirmed_on_several_devices_at_once_passes_once(app, api, mail, enrolled):
    tracked = track(api)
    challenge(app.test_client(), tracked["token"])
    link = mail.wait_for(1)[0].link
    devices = [app.test_client() for _ in range(4)]
    forms = [confirm_fields(open_link(device, link)) for device in devices]  # each its own cookie and CSRF token

    def press(index: int):
        return lambda: devices[index].post("/challenge/email-magic-link", data=forms[index])

    answers = at_once(*[press(i) for i in range(len(devices))])

    assert sorted(heading(answer) for answer in answers) == ["This link was already used"] * 3 + ["You're verified"]
    with app.app_context():
        passes = db.session.execute(select(func.count()).select_from(ActionStateChange)
                                    .where(ActionStateChange.to_state == ActionState.CHALLENGE_SUCCEEDED)).scalar_one()
    assert passes == 1
