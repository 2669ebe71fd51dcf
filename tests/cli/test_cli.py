"""The flask commands that manage a tenant before the console exists: JSON in, JSON out."""

import base64
import json
import shlex

import pytest

from app.services.operations.provisioning import default_tenant
from app.services.tenancy.api_keys import find_api_key

RULE = {"name": "Large", "priority": 10, "outcome": "CHALLENGE", "conditions": {">": [{"var": "custom.amount"}, 1000]}}


def test_seed_demo_prints_a_key_once_and_is_idempotent(cli, app):
    first = cli("tollgate", "seed-demo")
    second = cli("tollgate", "seed-demo")

    assert first.exit_code == 0, first.output
    key = _key_from(first.output)
    with app.app_context():
        assert find_api_key(key) is not None
    assert "already exists" in second.output
    rules = json.loads(cli("rules", "list", "withdraw-funds").output)
    assert [(r["priority"], r["outcome"]) for r in rules] == [(0, "REVIEW"), (5, "ALLOW"), (10, "CHALLENGE")]
    assert rules[1]["conditions"] == {"==": [{"var": "device.isTrusted"}, True]}  # a remembered device
    with app.app_context():
        assert default_tenant().remember_device_days == 30  # so the hosted page offers remembering one


def test_the_demo_challenges_its_first_large_withdrawal_and_prints_a_curl_that_works_as_pasted(cli, app):
    output = cli("tollgate", "seed-demo").output
    key = _key_from(output)
    command = next(line.strip() for line in output.splitlines() if line.strip().startswith("curl "))
    argv = shlex.split(command)

    assert argv[argv.index("-u") + 1] == f"{key}:"  # the key itself: nothing to export first
    body = json.loads(argv[argv.index("-d") + 1])
    url = argv[argv.index("-X") + 2]
    response = app.test_client().post(url.removeprefix(app.config["TOLLGATE"].public_url), json=body,
                                      headers={"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "CHALLENGE_REQUIRED"  # alice has nothing enrolled: she enrols first
    assert response.get_json()["url"].startswith(app.config["TOLLGATE"].public_url + "/challenge?token=")


def test_seed_demo_says_where_email_codes_go_without_smtp(cli):
    result = cli("tollgate", "seed-demo")

    line = next(line for line in result.output.splitlines() if "Email codes go to" in line)
    assert "development outbox" in line and "/console/messages" in line
    texts = next(line for line in result.output.splitlines() if "SMS and WhatsApp codes go to" in line)
    assert "development outbox" in texts and "TOLLGATE_TWILIO_*" in texts


def _key_from(output: str) -> str:
    return next(word for word in output.split() if word.startswith("tg_sk_"))


def test_seed_demo_with_a_provided_key(cli, app):
    key = "tg_sk_provided_by_the_deployment_0123456789"
    result = cli("tollgate", "seed-demo", env={"TOLLGATE_API_SECRET_KEY": key})

    assert result.exit_code == 0, result.output
    assert key not in result.output
    with app.app_context():
        assert find_api_key(key) is not None


def test_init_with_api_key_option(cli, app):
    key = "tg_sk_given_on_the_command_line_0123456789"
    assert cli("tollgate", "init", "--api-key", key).exit_code == 0
    with app.app_context():
        assert find_api_key(key) is not None


def test_rules_create_list_delete(cli):
    cli("tollgate", "init")
    created = cli("actions", "create", input=json.dumps({"code": "payout", "defaultOutcome": "ALLOW"}))
    assert created.exit_code == 0, created.output

    rule = json.loads(cli("rules", "create", "payout", input=json.dumps(RULE)).output)
    listed = json.loads(cli("rules", "list", "payout").output)
    deleted = cli("rules", "delete", rule["ruleId"])

    assert listed == [rule]
    assert rule["conditions"] == RULE["conditions"]
    assert deleted.exit_code == 0
    assert json.loads(cli("rules", "list", "payout").output) == []
    assert json.loads(cli("actions", "list").output)[0]["code"] == "payout"


def test_rules_are_published_discarded_and_rolled_back(cli):
    cli("tollgate", "init")
    cli("actions", "create", input=json.dumps({"code": "payout", "defaultOutcome": "ALLOW"}))
    cli("rules", "create", "payout", input=json.dumps(RULE))
    assert json.loads(cli("actions", "versions", "payout").output)["draftChanges"] == 1

    published = cli("actions", "publish", "payout", "--note", "First rule.")
    assert (published.exit_code, published.output.strip()) == (0, "Version 2 of payout is live.")
    again = cli("actions", "publish", "payout", "--note", "Nothing new.")
    assert again.exit_code == 1 and "Nothing to publish" in again.output

    cli("rules", "create", "payout", input=json.dumps({**RULE, "name": "Unwanted", "priority": 7}))
    assert cli("actions", "discard", "payout").output.strip() == "Draft discarded: the rules of version 2 again."
    rolled = cli("actions", "rollback", "payout", "1")
    assert rolled.output.strip() == "Version 3 (the rules of version 1) of payout is live."

    history = json.loads(cli("actions", "versions", "payout").output)
    assert history["draftChanges"] == 0
    assert [(v["number"], v["note"], v["restoredFrom"]) for v in history["versions"]] == [
        (3, "Rolled back to version 1.", 1), (2, "First rule.", None), (1, "Created.", None)]
    assert json.loads(cli("rules", "list", "payout").output) == []


@pytest.mark.parametrize(("document", "message"), [
    ({**RULE, "conditions": {"foo": [1]}}, "unknown operator 'foo'"),
    ({**RULE, "conditions": {"==": [1]}}, "'==' takes 2 arguments"),
    ({**RULE, "priority": 100}, "priority"),
    ({**RULE, "outcome": "MAYBE"}, "outcome"),
    ({k: v for k, v in RULE.items() if k != "name"}, "name"),
])
def test_invalid_rules_are_refused_with_a_message(cli, document, message):
    cli("tollgate", "init")
    cli("actions", "create", input=json.dumps({"code": "payout"}))

    result = cli("rules", "create", "payout", input=json.dumps(document))

    assert result.exit_code != 0
    assert message in result.output


def test_duplicate_priority_is_refused(cli):
    cli("tollgate", "init")
    cli("actions", "create", input=json.dumps({"code": "payout"}))
    cli("rules", "create", "payout", input=json.dumps(RULE))

    result = cli("rules", "create", "payout", input=json.dumps(RULE))

    assert result.exit_code != 0
    assert "priority 10" in result.output


def test_non_json_input_is_refused(cli):
    cli("tollgate", "init")
    result = cli("actions", "create", input="{nope")

    assert result.exit_code != 0
    assert "Not valid JSON" in result.output


@pytest.mark.parametrize(("document", "message"), [
    ('{"name": "Big", "priority": 1, "outcome": "BLOCK", "conditions": {">": [{"var": "custom.amount"}, 1e400]}}',
     "Error: conditions.>[1]: number out of range"),
    ('{"name": "Big", "priority": 1, "outcome": "BLOCK", "conditions": {"==": [{"var": "custom.amount"}, NaN]}}',
     "Error: conditions.==[1]: not a finite number"),
    ('{"name": "Deep", "priority": 1, "outcome": "BLOCK", "conditions": ' + '{"!": ' * 5_000 + "true" + "}" * 5_001,
     "Error: JSON nested too deeply (limit 64)."),
])
def test_a_rule_file_json_cannot_hold_is_refused_with_a_message(cli, document, message):
    cli("tollgate", "init")
    cli("actions", "create", input=json.dumps({"code": "payout"}))

    result = cli("rules", "create", "payout", input=document)

    assert result.exit_code == 1
    assert result.output.strip() == message
    assert json.loads(cli("rules", "list", "payout").output) == []


def test_a_nul_character_is_refused_with_a_message(cli):
    cli("tollgate", "init")
    result = cli("actions", "create", input='{"code": "sign-in", "name": "Sign\\u0000in"}')

    assert result.exit_code != 0
    assert "NUL character" in result.output


def test_commands_need_a_tenant(cli):
    result = cli("actions", "list")

    assert result.exit_code != 0
    assert "No tenant yet" in result.output
