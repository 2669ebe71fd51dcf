"""The pure part of config as code: reading a file with its lines, its one canonical form, the diff."""

from __future__ import annotations

import pytest

from app.domain.config_code import InvalidConfigFile, describe_change, diff_configs, fingerprint, load_config, render_config

FILE = """\
tollgate: 1
actions:
  payout:
    rules:
    - name: Large
      priority: 10
      outcome: CHALLENGE
      conditions: {">": [{"var": "custom.amount"}, 1000]}
    - name: Huge
      priority: 0
      outcome: REVIEW
      conditions: {">": [{"var": "custom.amount"}, 10000]}
lists:
  vip:
    kind: strings
    items: [zoe, ada]
"""


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(InvalidConfigFile) as raised:
        load_config(text)
    return [(p.line, p.path, p.message) for p in raised.value.problems]


def test_a_file_reads_into_its_canonical_form_with_defaults_and_order():
    document = load_config(FILE).document

    payout = document["actions"]["payout"]
    assert payout["name"] == "payout" and payout["defaultOutcome"] == "ALLOW"
    assert [rule["name"] for rule in payout["rules"]] == ["Huge", "Large"]  # priority order
    assert payout["rules"][0]["isActive"] is True and payout["rules"][0]["description"] == ""
    assert document["lists"]["vip"]["items"] == ["ada", "zoe"]
    assert "settings" not in document  # left out: not managed


def test_rendering_is_canonical_and_reads_back_to_the_same_document():
    document = load_config(FILE).document

    text = render_config(document)

    assert load_config(text).document == document
    assert render_config(load_config(text).document) == text
    assert text.index("actions:") < text.index("lists:")
    assert "# Actions by code" in text
    lines = text.splitlines()
    rule_comments = [lines[n - 1].strip() for n, line in enumerate(lines) if line.startswith("    - conditions:")]
    assert rule_comments == ["# Huge: REVIEW when custom.amount is greater than 10000",
                             "# Large: CHALLENGE when custom.amount is greater than 1000"]


@pytest.mark.parametrize(("text", "expected"), [
    ("tollgate: 1\nactions:\n  payout:\n    colour: red\n",
     (4, "actions.payout.colour", "unknown key 'colour'")),
    ("tollgate: 1\nactions:\n  payout: {}\n  payout: {}\n", (4, "actions.payout", "written twice in the same mapping")),
    (FILE.replace("priority: 0", "priority: 10"), (10, "actions.payout.rules[1].priority", "priority 10 is taken")),
    (FILE.replace("name: Huge", "name: Large"), (9, "actions.payout.rules[1].name", "rules[0] has this name too")),
    (FILE.replace('">": [{"var": "custom.amount"}, 1000]', '"nope": []'),
     (8, "actions.payout.rules[0].conditions", "not valid JsonLogic")),
    (FILE.replace("outcome: REVIEW", "outcome: MAYBE"), (11, "actions.payout.rules[1].outcome", "Input should be")),
    ("tollgate: 1\nactions:\n  payout:\n    verificationMethods: [PASSKEY, TELEPATHY]\n",
     (4, "actions.payout.verificationMethods[1]", "Input should be")),
    ("tollgate: 1\ndataPoints:\n  amount: {type: number}\n", (3, "dataPoints.amount", "a data point is custom.NAME")),
    ("tollgate: 1\nactions: [\n", (3, "", "not valid YAML")),
    (FILE.replace("outcome: REVIEW", "outcome: REVIEW\n      verificationMethods: PASSKEY"),
     (12, "actions.payout.rules[1].verificationMethods", "Input should be a valid list")),
    ("tollgate: 1\nwebhooks:\n  https://[2001:db8::1]/hook:\n    eventTypes: action.created\n",
     (4, "webhooks.https://[2001:db8::1]/hook.eventTypes", "Input should be a valid list")),
    ("tollgate: 1\nlists:\n  vip:\n    kind: strings\n    items:\n    - ada\n    - \"zoe\\nbob\"\n",
     (7, "lists.vip.items[1]", "an item is one line")),
])
def test_a_bad_file_names_the_line_and_the_key_path(text, expected):
    line, path, message = expected

    found = problems_of(text)

    assert any(p[0] == line and p[1] == path and message in p[2] for p in found), found


def test_a_file_must_say_its_format():
    assert problems_of("actions: {}\n") == [(1, "tollgate", "is required")]


def test_rules_are_matched_by_name_and_described_in_builder_sentences():
    live = load_config(FILE).document
    wanted = load_config(FILE.replace("10000]", "50000]").replace("name: Large", "name: Big")).document

    (change,) = diff_configs(live, wanted)
    lines = [line.strip() for line in describe_change(change)]

    assert (change.kind, change.section, change.key) == ("changed", "actions", "payout")
    assert [(r.kind, r.name) for r in change.rules] == [("changed", "Huge"), ("added", "Big"), ("removed", "Large")]
    assert lines[0] == "~ action payout"
    assert "~ rule “Huge”" in lines
    assert "~ conditions: when custom.amount is greater than 10000 → when custom.amount is greater than 50000" in lines
    assert "+ rule “Big” (priority 10): CHALLENGE when custom.amount is greater than 1000" in lines


def test_a_section_left_out_changes_nothing_and_an_empty_one_removes_everything():
    live = load_config(FILE).document

    assert diff_configs(live, load_config("tollgate: 1\n").document) == ()
    removed = diff_configs(live, load_config("tollgate: 1\nlists: {}\n").document)
    assert [(c.kind, c.section, c.key) for c in removed] == [("removed", "lists", "vip")]


def test_the_fingerprint_is_of_the_content_not_its_key_order():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_review_reasons_are_read_in_their_order_with_each_problem_at_its_line():
    text = "tollgate: 1\nsettings:\n  reviewReasons:\n  - Fraud\n  - '  Confirmed   by customer'\n  - FRAUD\n"

    assert problems_of(text) == [(6, "settings.reviewReasons[2]", "“FRAUD” is the same reason as “Fraud”.")]
    document = load_config(text.replace("  - FRAUD\n", "")).document
    assert document["settings"] == {"reviewReasons": ["Fraud", "Confirmed by customer"]}
