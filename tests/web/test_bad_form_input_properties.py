"""Bad form input, generated: every console, review and hosted-page form answers without a server error.

The forms are found the way their users find them, by following the console's own links and the
hosted challenge's own steps, so a new form is covered the day it ships. Each one then gets
generated values for its own fields (free text, huge and control-character strings, its select
options, fields left out), with a valid CSRF token where the form has one, and must answer with a
page, a re-rendered form or a redirect: never a 5xx.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_action, rule
from tests.html import parse

EXAMPLES = 25
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
START_PAGES = ["/console/", "/review/"]
MAX_PAGES = 60
# Forms whose purpose is to end the session doing the crawling.
SKIPPED_ACTIONS = ("/auth/logout",)

# JSON no form may take, whichever field it lands in: nested past the limit (Python's json recursed
# into a RecursionError on these), or numbers that are not finite doubles.
JSON_IT_CANNOT_HOLD = ["[" * 5_000 + "]" * 5_000, '{"a": ' * 2_000 + "1" + "}" * 2_000,
                       '{"amount": 1e400}', '{"amount": NaN}', '{">": [{"var": "custom.amount"}, -Infinity]}']
awkward_text = st.sampled_from(
    ["", " ", "\x00", "a" * 5000, "é", "-1", "0", "99999999999999999999", "1.5", "true", "{", "[]",
     '{"and": []}', '{"==": [{"var": "custom.amount"}, 1]}', "<script>alert(1)</script>", "../x",
     "https://evil.example/", "10.0.0.0/8", "2026-13-45T25:61", "1e400", "NaN", *JSON_IT_CANNOT_HOLD]
) | st.text(max_size=60)


class _FormsAndLinks(HTMLParser):
    """The page's same-site links and its POST forms with their field names and select options."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._select: str | None = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "form" and (attrs.get("method") or "get").lower() == "post" or attrs.get("hx-post") is not None:
            # htmx posts from inside a form (the rule builder's refresh) send that form's fields.
            fields = self.forms[-1]["fields"] if self._in_form and tag != "form" else {}
            self.forms.append({"action": attrs.get("hx-post") or attrs.get("action") or "", "fields": fields})
            self._in_form = self._in_form or tag == "form"
        if tag in ("input", "textarea", "select", "button") and self._in_form and attrs.get("name"):
            if attrs["name"] != "csrf_token":
                self.forms[-1]["fields"].setdefault(attrs["name"], [])
                if attrs.get("value"):
                    self.forms[-1]["fields"][attrs["name"]].append(attrs["value"])
            self._select = attrs["name"] if tag == "select" else None
        elif tag == "option" and self._select and attrs.get("value") is not None:
            self.forms[-1]["fields"][self._select].append(attrs["value"])

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._select, self._in_form = None, False


def discover_forms(admin) -> dict[str, dict[str, list[str]]]:
    """Follow console and review links breadth-first; every POST form found, keyed by its target."""
    seen, queue, forms = set(), list(START_PAGES), {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = admin.get(path)
        if response.status_code != 200 or not response.content_type.startswith("text/html"):
            continue
        parser = _FormsAndLinks()
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            target = urlsplit(urljoin(path, form["action"] or path)).path
            if not target.startswith(SKIPPED_ACTIONS):
                forms.setdefault(target, {}).update(form["fields"])
        for link in parser.links:
            parts = urlsplit(urljoin(path, link))
            if not parts.netloc and parts.path.startswith(("/console/", "/review/")) and "/delete" not in parts.path:
                queue.append(parts.path)
    return forms


@pytest.fixture
def populated_console(app, tenant, api, admin):
    """Something behind every kind of page, so its edit forms exist: an action with rules (one only
    the JsonLogic editor can show), tracked actions (one in review), a data point, a list, a webhook
    endpoint and a second team member."""
    make_action(app, tenant.id, "withdraw-funds", rules=[
        rule("Big", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]}),
        rule("Listed payee", 1, "BLOCK", {"in": [{"var": "custom.payee"}, ["acct_1"]]}),
        rule("VIP", 2, "ALLOW", {"if": [{"var": "custom.vip"}, True, False]}),
    ])
    api.post("/users/alice/actions/withdraw-funds", json={"custom": {"amount": 5000}})
    api.post("/users/bob/actions/withdraw-funds", json={"custom": {"amount": 5}})
    for target, data in [
        ("/console/data/points", {"name": "amount", "model_type": "action", "data_type": "number"}),
        ("/console/data/lists", {"name": "payees", "kind": "strings", "items": "acct_1"}),
        ("/console/webhooks", {"url": "https://hooks.example/in", "event_types": "action.created", "is_active": "y"}),
        ("/console/settings/team", {"email": "second@example.com", "name": "Second", "role": "reviewer"}),
    ]:
        assert admin.post(target, data=data).status_code < 400, target


def form_data(fields: dict[str, list[str]]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional={
        name: (st.sampled_from(options) | awkward_text) if options else awkward_text
        for name, options in fields.items()
    })


def test_every_console_form_survives_generated_input(admin, populated_console):
    forms = discover_forms(admin)
    # The crawl must really reach the forms, or this test proves nothing.
    assert {"/console/actions/new", "/console/settings", "/console/webhooks", "/review/bulk"} <= set(forms), sorted(forms)

    for target, fields in sorted(forms.items()):
        assert_form_survives(admin, target, fields)


def test_every_console_form_survives_json_it_cannot_hold_in_any_free_text_field(admin, populated_console):
    """Not left to chance: each such document in each field that has no preset value on its page
    (the Test action's custom data, the JsonLogic editor and its live check among them)."""
    forms = discover_forms(admin)
    assert any("conditions_json" in fields for fields in forms.values()), sorted(forms)

    for target, fields in sorted(forms.items()):
        as_on_the_page = {name: options[0] for name, options in fields.items() if options}
        for name in (name for name, options in fields.items() if not options):
            for document in JSON_IT_CANNOT_HOLD:
                response = admin.post(target, data={**as_on_the_page, name: document})
                assert response.status_code < 500, (target, name, document[:30], response.get_data(as_text=True)[:300])


def test_every_hosted_page_form_survives_generated_input(app, tenant, api, client):
    make_action(app, tenant.id, "withdraw-funds", default_outcome="CHALLENGE", unenrolled_policy="REQUIRE_ENROLLMENT")
    url = api.post("/users/alice/actions/withdraw-funds",
                   json={"redirectUrl": "https://app.example/done"}).get_json()["url"]
    challenge_page = client.get(url.removeprefix("http://localhost:5000"))
    enrol_form = parse(challenge_page).find("form", action="/challenge/totp-setup")
    token = enrol_form.find("input", attrs={"name": "token"})["value"]
    setup_page = client.post("/challenge/totp-setup", data={"token": token})  # the enrolment step's own form
    forms: dict[str, dict[str, list[str]]] = {}
    for page in (challenge_page, setup_page):
        parser = _FormsAndLinks()
        parser.feed(page.get_data(as_text=True))
        for form in parser.forms:
            forms.setdefault(urlsplit(form["action"]).path, {}).update(form["fields"])
    assert {"/challenge/totp-setup", "/challenge/totp"} <= set(forms), sorted(forms)

    for target, fields in sorted(forms.items()):
        assert_form_survives(client, target, fields)


def assert_form_survives(client, target: str, fields: dict[str, list[str]]) -> None:
    """``client``: the signed-in ConsoleClient (CSRF header, htmx flag) or a plain test client."""
    @PROPERTY
    @given(data=form_data(fields), htmx=st.booleans())
    def answers_cleanly(data, htmx):
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.post(target, data=data, headers=headers)
        assert response.status_code < 500, (target, data, response.get_data(as_text=True)[:500])

    answers_cleanly()
