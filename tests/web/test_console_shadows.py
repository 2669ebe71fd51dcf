"""Shadows in the console: start the draft or one of its rules in shadow on an action's Shadow tab,
read what it would have changed on real tracks, stop it, promote it."""

from __future__ import annotations

import pytest

from tests.api.test_shadows import AMOUNTS, CODE, track
from tests.api.test_shadows import action as action  # noqa: F401  (the fixture: live rules and a draft)
from tests.html import alerts, definitions, flash_messages, parse, table_rows, text_of

BASE = f"/console/actions/{CODE}/shadow"


def start(admin, candidate: str = "draft") -> str:
    response = admin.post(BASE, data={"candidate": candidate})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def test_the_tab_offers_the_whole_draft_or_one_of_its_rules(admin, action):
    page = admin.get(BASE)

    options = [text_of(option) for option in parse(page).select("select[name=candidate] option")]
    assert options == ["The whole draft (2 changes)", "Only “Huge” (added)", "Only “From 400” (added)"]
    assert "No shadow has run on withdraw yet." in text_of(parse(page).select_one("main"))


def test_a_running_shadow_shows_what_it_would_have_changed_since_it_started(admin, api, action):
    location = start(admin)
    assert flash_messages(admin.get(location))[0].startswith("In shadow from the next track on: The draft as of")
    for n, amount in enumerate(AMOUNTS):
        track(api, n, amount)

    page = admin.get(location)

    assert text_of(parse(page).select_one("#shadow-summary")).startswith("Would have changed 1 of 6 decisions (16.7%) since")
    matrix = {row["Live"]: row for row in table_rows(page, "#transition-matrix")}
    assert (matrix["Allow"]["Allow"], matrix["Review required"]["Block"]) == ("4 (100.0%)", "1 (50.0%)")
    rules = {row["Rule"]: (row["Live"], row["The shadow"]) for row in table_rows(page, "#deciding-rules")}
    assert rules["Huge"] == ("0", "1")
    affected = table_rows(page, "#shadow-changes table")
    assert [(row["User"], row["Live"], row["The shadow"]) for row in affected] == [("u4", "Review required", "Block")]
    listed = admin.get(BASE)
    assert "Running now" in text_of(parse(listed).select_one("#active-shadow"))
    assert parse(listed).select_one("select[name=candidate]") is None  # one shadow at a time


def test_stopping_a_shadow(admin, api, action):
    location = start(admin)

    stopped = admin.post(f"{location}/stop", follow_redirects=True)

    assert flash_messages(stopped)[-1] == "Shadow stopped: tracks are decided by the live version alone again."
    assert definitions(stopped)["Status"] == "Stopped"
    assert parse(stopped).find("button", string="Promote to version 3") is None
    again = admin.post(f"{location}/stop")
    assert again.status_code == 409
    assert alerts(again) == ["This shadow has already ended (stopped)."]


def test_promoting_a_rule_publishes_it_with_its_numbers_and_keeps_the_rest_a_draft(admin, api, action):
    location = start(admin, action["Huge"])
    track(api, 1, 5000)

    refused = admin.post(f"{location}/promote", data={"note": ""})
    assert refused.status_code == 400
    assert alerts(refused) == ["Say what this version changes (a change note is required)."]
    promoted = admin.post(f"{location}/promote", data={"note": "Block huge withdrawals."}, follow_redirects=True)

    assert flash_messages(promoted)[-1] == "Promoted: version 3 is live, with what the shadow measured."
    assert definitions(promoted)["Impact preview"].startswith(
        "Run in shadow before it was promoted (shadow since ")
    assert "1 of 1 decisions would have changed: Review required → Block 1." in definitions(promoted)["Impact preview"]
    assert text_of(parse(promoted).select_one(".page-head a.badge.draft")) == "Draft: 1 change"


@pytest.mark.parametrize("candidate", ["no-such-rule"])
def test_a_bad_candidate_re_renders_the_tab_with_why(admin, action, candidate):
    response = admin.post(BASE, data={"candidate": candidate})

    assert response.status_code == 400
    assert alerts(response) == ["Choose the whole draft or a rule the draft adds or changes."]


def test_reviewers_may_not_open_shadows(reviewer, action):
    assert reviewer.get(BASE).status_code == 403
