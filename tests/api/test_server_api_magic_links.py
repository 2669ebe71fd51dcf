"""Magic links from the backend (server API ``challenge`` with EMAIL_MAGIC_LINK, Tollgate's own
extension of Authsignal's code challenge): the link is emailed as the hosted page's is, confirmed on
the page it opens (opening alone proves nothing), and then claimed by the backend, which polls
``claimChallenge`` (409 challenge_not_verified until the person confirms)."""

from __future__ import annotations

from tests.html import parse, text_of
from tests.magic_links import confirm, open_link

ACTION = "sign-up"


def start(api, **body) -> dict:
    response = api.post("/challenge", json={"verificationMethod": "EMAIL_MAGIC_LINK", "action": ACTION,
                                            "email": "jo@example.com", **body})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def claim(api, challenge_id: str):
    return api.post("/claim", json={"challengeId": challenge_id, "userId": "jo"})


def test_a_confirmed_link_is_claimed_for_a_token_validate_accepts_once(api, client, mail):
    started = start(api)
    link = mail.wait_for(1)[0].link

    assert open_link(client, link).status_code == 200  # only the question
    assert claim(api, started["challengeId"]).get_json()["error"] == "challenge_not_verified"
    confirmed = confirm(client, link)
    assert text_of(parse(confirmed).find("h1")) == "You're verified"
    claimed = claim(api, started["challengeId"])

    assert claimed.status_code == 200, claimed.get_json()
    assert claimed.get_json()["verificationMethod"] == "EMAIL_MAGIC_LINK"
    validated = api.post("/validate", json={"token": claimed.get_json()["token"], "userId": "jo",
                                            "action": ACTION}).get_json()
    assert (validated["isValid"], validated["state"]) == (True, "CHALLENGE_SUCCEEDED")
    user = api.get("/users/jo").get_json()
    assert (user["email"], user["emailVerified"]) == ("jo@example.com", True)


def test_a_link_works_once_and_a_magic_link_has_no_code_to_verify(api, client, mail):
    started = start(api)
    link = mail.wait_for(1)[0].link
    confirm(client, link)

    again = open_link(client, link)
    verified = api.post("/verify", json={"challengeId": started["challengeId"], "verificationCode": "123456"})

    assert again.status_code == 409 and text_of(parse(again).find("h1")) == "This link was already used"
    assert verified.status_code == 400 and verified.get_json()["error"] == "unsupported_verification_method"


def test_a_bad_address_is_a_400_and_sends_nothing(api, mail):
    response = api.post("/challenge", json={"verificationMethod": "EMAIL_MAGIC_LINK", "action": ACTION,
                                            "email": "not an address"})

    assert response.status_code == 400 and response.get_json()["error"] == "invalid_email"
    assert mail.received == []
