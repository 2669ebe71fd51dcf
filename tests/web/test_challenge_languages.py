"""The hosted pages' languages: the switcher's pick (kept for that challenge), the track's locale,
Accept-Language, else English; Arabic right to left; the code email in the page's language."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import make_action
from tests.html import parse, text_of


@pytest.fixture
def challenge_action(app, tenant):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT",
                verification_methods=["AUTHENTICATOR_APP", "EMAIL_OTP"])


def track(api, user="alice", **body) -> dict:
    return api.post(f"/users/{user}/actions/withdraw-funds", json={"redirectUrl": "https://app.example/done", **body}).get_json()


def page_path(url: str) -> str:
    return url.removeprefix("http://localhost:5000")


def heading(response) -> str:
    return text_of(parse(response).find("h1"))


def html_language(response) -> tuple[str, str]:
    root = parse(response).find("html")
    return root["lang"], root["dir"]


def switcher(response) -> dict[str, str]:
    """The switcher's links: language code → href."""
    return {a["hreflang"]: a["href"] for a in parse(response).select("nav.languages a")}


def test_english_by_default(api, client, challenge_action):
    response = client.get(page_path(track(api)["url"]))

    assert heading(response) == "Set up a way to verify it's you"
    assert html_language(response) == ("en", "ltr")


def test_accept_language_german_gives_the_german_page(api, client, challenge_action):
    response = client.get(page_path(track(api)["url"]), headers={"Accept-Language": "fr;q=0.9, de-CH;q=0.8, en;q=0.1"})

    assert heading(response) == "Richten Sie eine Möglichkeit ein, sich zu bestätigen"
    assert html_language(response) == ("de", "ltr")


def test_lang_ar_gives_the_arabic_page_right_to_left(api, client, challenge_action):
    response = client.get(page_path(track(api)["url"]) + "&lang=ar", headers={"Accept-Language": "de"})

    assert heading(response) == "أعدّ طريقة للتحقق من هويتك"
    assert html_language(response) == ("ar", "rtl")


def test_the_track_locale_comes_before_accept_language(api, client, challenge_action):
    response = client.get(page_path(track(api, locale="de-AT")["url"]), headers={"Accept-Language": "ar"})

    assert html_language(response) == ("de", "ltr")


def test_the_users_stored_locale_comes_after_the_tracks_and_before_accept_language(api, client, challenge_action):
    assert api.patch("/users/alice", json={"locale": "ar"}).status_code == 200

    stored = client.get(page_path(track(api)["url"]), headers={"Accept-Language": "de"})
    tracked = client.get(page_path(track(api, locale="de")["url"]))

    assert (html_language(stored), html_language(tracked)) == (("ar", "rtl"), ("de", "ltr"))


def test_the_switcher_links_to_this_page_in_each_language_named_in_itself(api, client, challenge_action):
    url = page_path(track(api)["url"])

    links = switcher(client.get(url))

    assert set(links) == {"en", "de", "ar"}
    names = {a["hreflang"]: text_of(a) for a in parse(client.get(url)).select("nav.languages a")}
    assert names == {"en": "English", "de": "Deutsch", "ar": "العربية"}
    german = urlsplit(links["de"])
    assert german.path == "/challenge" and parse_qs(german.query)["lang"] == ["de"]
    assert parse_qs(german.query)["token"] == parse_qs(urlsplit(url).query)["token"]


def test_the_pick_is_remembered_on_the_next_page_of_the_same_challenge(api, client, challenge_action):
    token = track(api)["token"]
    client.get(f"/challenge?token={token}&lang=ar")

    setup = client.post("/challenge/totp-setup", data={"token": token})

    assert heading(setup) == "أعدّ تطبيق المصادقة"
    assert html_language(setup) == ("ar", "rtl")


def test_the_pick_does_not_follow_the_browser_to_another_challenge(api, client, challenge_action):
    client.get(f"/challenge?token={track(api)['token']}&lang=ar")

    other = client.get(page_path(track(api, user="bob")["url"]))

    assert html_language(other) == ("en", "ltr")


@pytest.mark.parametrize("lang", ["xx", "fr", "", "arabic", "../de"])
def test_an_unknown_language_falls_back_to_english(api, client, challenge_action, lang):
    response = client.get("/challenge", query_string={"token": track(api)["token"], "lang": lang})

    assert response.status_code == 200
    assert heading(response) == "Set up a way to verify it's you"
    assert html_language(response) == ("en", "ltr")


def test_an_unknown_track_locale_falls_back_to_accept_language(api, client, challenge_action):
    response = client.get(page_path(track(api, locale="not a locale!")["url"]), headers={"Accept-Language": "de"})

    assert html_language(response) == ("de", "ltr")


def test_error_pages_speak_the_language_too(client):
    response = client.get("/challenge?token=nonsense", headers={"Accept-Language": "de"})

    assert heading(response) == "Dieser Link ist ungültig"


def test_the_code_email_is_in_the_pages_language(api, client, mail, challenge_action):
    token = track(api)["token"]

    client.post("/challenge/email-otp/enrol?lang=de", data={"token": token, "email": "jane@example.com"})

    [message] = mail.wait_for(1)
    assert message.message["Subject"].startswith("Ihr Bestätigungscode für")
    assert "Geben Sie ihn dort ein" in message.text and len(message.code) == 6


def test_the_apps_own_error_page_says_it_is_english_on_a_hosted_page_path(client):
    response = client.get("/challenge", query_string={"token": "x\x00"}, headers={"Accept-Language": "ar"})

    assert response.status_code == 400
    assert html_language(response) == ("en", "ltr")


def test_the_console_stays_english(client):
    response = client.get("/login", headers={"Accept-Language": "de"})

    assert parse(response).find("html")["lang"] == "en"


def test_the_passkey_scripts_messages_come_in_the_pages_language(app, api, client, tenant):
    make_action(app, tenant.id, "log-in", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")
    tracked = api.post("/users/alice/actions/log-in", json={"redirectUrl": "https://app.example/done"}).get_json()

    panel = parse(client.get(page_path(tracked["url"]) + "&lang=de")).find(id="passkey")

    assert panel["data-text-busy"] == "Folgen Sie der Aufforderung Ihres Browsers …"
    assert panel["data-text-failed"].startswith("%(reason)s Versuchen Sie es erneut")
