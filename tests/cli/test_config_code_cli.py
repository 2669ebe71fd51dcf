"""Config as code: `flask tollgate export`, `plan` and `apply` on a tenant's whole configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from app.extensions import db
from app.models import ActionConfiguration, AuditEvent, CustomDataPoint, CustomList, Tenant, WebhookEndpoint
from app.models.tenant import ApiKey
from app.services.rulesets import versions
from tests.factories import add_tenant_with_key, make_action, rule
from tests.rows import row_counts

LARGE = rule("Large withdrawal", 10, "CHALLENGE", {">": [{"var": "custom.amount"}, 1000]},
             description="Needs a passkey or an authenticator app.")
HUGE = rule("Huge withdrawal", 0, "REVIEW", {">=": [{"var": "custom.amount"}, 10000]})
RISKY = rule("Risky country", 20, "BLOCK", {"in": [{"var": "custom.country"}, {"var": "lists.blocked-countries"}]},
             isActive=False, verificationMethods=["PASSKEY"], defaultVerificationMethod="PASSKEY")


@pytest.fixture
def staging(app) -> str:
    """A tenant with something of every kind a file holds."""
    tenant_id, _ = add_tenant_with_key(app, "Staging")
    make_action(app, tenant_id, "withdraw-funds", rules=[LARGE, HUGE, RISKY], name="Withdraw funds",
                verification_methods=["PASSKEY", "AUTHENTICATOR_APP", "EMAIL_OTP"], unenrolled_policy="REQUIRE_ENROLLMENT")
    make_action(app, tenant_id, "sign-in", default_outcome="CHALLENGE")
    with app.app_context():
        config = db.session.execute(select(ActionConfiguration).where(ActionConfiguration.code == "withdraw-funds")
                                    ).scalar_one()
        config.review_deadline_minutes, config.review_overdue_policy = 60, "AUTO_REJECT"
        tenant = db.session.get(Tenant, tenant_id)
        tenant.client_token_ttl, tenant.redirect_allowlist = 600, ["https://app.example.com/done"]
        tenant.review_reasons = ["Looks fine", "Fraud"]
        tenant.theme = {"primary_color": "#0055aa", "radius": 8, "font": "serif"}
        db.session.add_all([
            CustomDataPoint(tenant_id=tenant_id, name="amount", data_type="number", model_type="action",
                            description="The withdrawal's amount."),
            CustomDataPoint(tenant_id=tenant_id, name="tier", data_type="text", model_type="user"),
            CustomList(tenant_id=tenant_id, name="blocked-countries", kind="strings", description="Sanctioned.",
                       items=["KP", "IR"], item_count=2),
            CustomList(tenant_id=tenant_id, name="office", kind="cidrs", items=["203.0.113.0/24"], item_count=1),
            WebhookEndpoint(tenant_id=tenant_id, url="https://hooks.example.com/tollgate", description="Ops",
                            event_types=["action.state_changed", "action.created"]),
        ])
        db.session.commit()
    return tenant_id


@pytest.fixture
def production(app, staging) -> str:
    return add_tenant_with_key(app, "Production")[0]


def export(cli, tenant_id: str) -> str:
    result = cli("tollgate", "export", "--tenant", tenant_id)
    assert result.exit_code == 0, result.output
    return result.output


def written(tmp_path: Path, text: str, name: str = "tollgate.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def plan(cli, tenant_id: str, path: str):
    return cli("tollgate", "plan", path, "--tenant", tenant_id)


def fingerprint_of(output: str) -> str:
    return re.search(r"--fingerprint ([0-9a-f]{16})", output).group(1)


def edited(text: str, edit) -> str:
    """The file with ``edit`` applied to its data, written as export writes it."""
    from app.domain.config_code import load_config, render_config

    data = yaml.safe_load(text)
    edit(data)
    return render_config(load_config(yaml.safe_dump(data)).document)


def test_export_apply_to_an_empty_tenant_then_export_gives_the_same_file_byte_for_byte(cli, app, staging, production,
                                                                                      tmp_path):
    exported = export(cli, staging)
    path = written(tmp_path, exported)

    applied = cli("tollgate", "apply", path, "--tenant", "Production", "--force", "--publish", "-m", "From staging.")

    assert applied.exit_code == 0, applied.output
    assert export(cli, production) == exported
    assert export(cli, staging) == exported  # deterministic: the same configuration, the same bytes
    again = plan(cli, production, path)
    assert again.exit_code == 0, again.output
    assert again.output.startswith("No changes")


def test_the_export_is_the_published_configuration_not_the_draft(cli, app, staging):
    before = export(cli, staging)
    cli("rules", "create", "sign-in", "--tenant", staging, input='{"name": "Draft only", "priority": 5, '
                                                               '"outcome": "BLOCK"}')

    document = yaml.safe_load(export(cli, staging))

    assert export(cli, staging) == before
    assert document["actions"]["sign-in"]["rules"] == []
    assert [r["name"] for r in document["actions"]["withdraw-funds"]["rules"]] == [
        "Huge withdrawal", "Large withdrawal", "Risky country"]  # priority order
    assert document["actions"]["withdraw-funds"]["reviewDeadlineMinutes"] == 60
    assert document["settings"]["clientTokenTtl"] == 600
    assert document["settings"]["reviewReasons"] == ["Looks fine", "Fraud"]  # in the order reviewers see them
    assert document["lists"]["blocked-countries"]["items"] == ["IR", "KP"]
    assert document["webhooks"]["https://hooks.example.com/tollgate"]["eventTypes"] == [
        "action.created", "action.state_changed"]
    assert document["dataPoints"]["user.custom.tier"]["type"] == "text"


def test_the_export_comments_each_section(cli, staging):
    text = export(cli, staging)
    lines = text.splitlines()

    for section in ("actions", "dataPoints", "lists", "settings", "webhooks"):
        at = lines.index(f"{section}:")
        assert lines[at - 1].startswith("# "), section


def test_no_secret_is_ever_exported(cli, app, staging):
    cli("tollgate", "create-admin", "--tenant", staging, "--email", "ops@example.com", "--password", "correct horse 42!")
    with app.app_context():
        keys = list(db.session.execute(select(ApiKey).where(ApiKey.tenant_id == staging)).scalars())
        secrets = [value for key in keys for value in (key.digest, key.secret_ciphertext, key.hint)]
        tenant_id = staging

    text = export(cli, tenant_id)

    assert keys and not [secret for secret in secrets if secret in text]
    assert "correct horse" not in text and "ops@example.com" not in text
    keys_written = set(_keys(yaml.safe_load(text)))
    assert not {key for key in keys_written if re.search("secret|password|digest|key|token$", key, re.I)}


def _keys(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


def test_plan_says_what_would_change_in_rule_sentences_and_exits_2(cli, staging, tmp_path):
    def change(data):
        rules = data["actions"]["withdraw-funds"]["rules"]
        rules[1]["conditions"] = {">": [{"var": "custom.amount"}, 5000]}
        rules.append({"name": "Night", "priority": 30, "outcome": "CHALLENGE",
                      "conditions": {"==": [{"var": "custom.country"}, "NZ"]}})
        del rules[0]
        data["actions"]["refund"] = {"defaultOutcome": "REVIEW"}
        del data["actions"]["sign-in"]
        data["lists"]["office"]["items"].append("198.51.100.0/24")
        data["settings"]["clientTokenTtl"] = 900

    result = plan(cli, staging, written(tmp_path, edited(export(cli, staging), change)))

    assert result.exit_code == 2, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert "+ action refund (refund): REVIEW when no rule matches, 0 rules" in lines
    assert "- action sign-in" in lines
    assert "~ action withdraw-funds" in lines
    assert "~ rule “Large withdrawal”" in lines
    sentence = next(line for line in lines if line.startswith("~ conditions:"))
    assert re.fullmatch(r"~ conditions: when .*amount.* greater than 1000 → when .*amount.* greater than 5000", sentence)
    assert any(re.fullmatch(r"\+ rule “Night” \(priority 30\): CHALLENGE when .*country.*NZ.*", line) for line in lines)
    assert any(line.startswith("- rule “Huge withdrawal” (priority 0): REVIEW when") for line in lines)
    assert "~ items: 1 added (198.51.100.0/24), 0 removed" in lines
    assert "~ setting clientTokenTtl: 600 → 900" in lines
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint_of(result.output))


def test_a_file_that_leaves_a_section_out_leaves_that_section_alone(cli, staging, tmp_path):
    def keep_only_actions(data):
        for section in ("dataPoints", "lists", "settings", "webhooks"):
            del data[section]

    result = plan(cli, staging, written(tmp_path, edited(export(cli, staging), keep_only_actions)))

    assert result.exit_code == 0, result.output


def test_apply_puts_rule_changes_in_the_draft_and_publishes_only_when_asked(cli, app, staging, tmp_path):
    def raise_threshold(data):
        data["actions"]["withdraw-funds"]["rules"][1]["conditions"] = {">": [{"var": "custom.amount"}, 5000]}
        data["actions"]["withdraw-funds"]["name"] = "Withdrawals"

    path = written(tmp_path, edited(export(cli, staging), raise_threshold))
    fingerprint = fingerprint_of(plan(cli, staging, path).output)

    applied = cli("tollgate", "apply", path, "--tenant", staging, "--fingerprint", fingerprint)

    assert applied.exit_code == 0, applied.output
    assert "Drafts waiting to be published" in applied.output
    with app.app_context():
        draft = versions.draft_of(staging, "withdraw-funds")
        assert draft.config.name == "Withdrawals"  # not versioned: at once
        assert draft.live.number == 2  # the rules are the draft's only
        assert [(c.kind, c.name, c.fields) for c in draft.diff.rules] == [("changed", "Large withdrawal", ("conditions",))]
    published = cli("tollgate", "apply", path, "--tenant", staging, "--force", "--publish", "-m", "Raise the bar.")
    assert published.exit_code == 0, published.output
    assert "Version 3 of withdraw-funds is live." in published.output
    assert plan(cli, staging, path).exit_code == 0


def test_apply_keeps_the_ids_of_rules_it_keeps(cli, app, staging, tmp_path):
    with app.app_context():
        before = {r["name"]: r["ruleId"] for r in versions.draft_of(staging, "withdraw-funds").live.document["rules"]}

    def reorder(data):
        rules = data["actions"]["withdraw-funds"]["rules"]
        rules[0]["priority"], rules[1]["priority"] = rules[1]["priority"], rules[0]["priority"]

    path = written(tmp_path, edited(export(cli, staging), reorder))
    applied = cli("tollgate", "apply", path, "--tenant", staging, "--force", "--publish", "-m", "Swap.")

    assert applied.exit_code == 0, applied.output
    with app.app_context():
        live = versions.draft_of(staging, "withdraw-funds").live.document["rules"]
    assert {r["name"]: r["ruleId"] for r in live} == before
    assert [(r["name"], r["priority"]) for r in sorted(live, key=lambda r: r["priority"])][:2] == [
        ("Large withdrawal", 0), ("Huge withdrawal", 10)]


def test_each_applied_change_is_an_audit_event_by_the_cli(cli, app, staging, production, tmp_path):
    path = written(tmp_path, export(cli, staging))

    cli("tollgate", "apply", path, "--tenant", production, "--force", "--publish", "-m", "First.")

    with app.app_context():
        events = db.session.execute(select(AuditEvent.event, AuditEvent.actor_email)
                                    .where(AuditEvent.tenant_id == production)).all()
    assert {actor for _, actor in events} == {"cli"}
    names = sorted(event for event, _ in events)
    assert names.count("action.created") == 2 and names.count("rule.created") == 3
    assert names.count("custom_data_point.created") == 2 and names.count("custom_list.created") == 2
    assert {"tenant.settings_updated", "webhook_endpoint.created", "action.published"} <= set(names)


def test_apply_refuses_when_the_configuration_changed_since_the_plan_unless_forced(cli, app, staging, tmp_path):
    def add_rule(data):
        data["actions"]["sign-in"]["rules"] = [{"name": "Everyone", "priority": 0, "outcome": "CHALLENGE"}]

    path = written(tmp_path, edited(export(cli, staging), add_rule))
    fingerprint = fingerprint_of(plan(cli, staging, path).output)
    cli("rules", "create", "withdraw-funds", "--tenant", staging,
        input='{"name": "Someone else", "priority": 50, "outcome": "BLOCK"}')  # a draft edit since the plan
    before = row_counts(app)

    refused = cli("tollgate", "apply", path, "--tenant", staging, "--fingerprint", fingerprint)

    assert refused.exit_code == 1
    assert "changed since the plan" in refused.output and "--force" in refused.output
    assert row_counts(app) == before
    forced = cli("tollgate", "apply", path, "--tenant", staging, "--force")
    assert forced.exit_code == 0, forced.output
    with app.app_context():
        assert [r.name for r in versions.draft_of(staging, "sign-in").config.rules] == ["Everyone"]
        assert "Someone else" not in [r.name for r in versions.draft_of(staging, "withdraw-funds").config.rules]


def test_apply_without_a_fingerprint_or_force_is_refused(cli, staging, tmp_path):
    result = cli("tollgate", "apply", written(tmp_path, export(cli, staging)), "--tenant", staging)

    assert result.exit_code == 2
    assert "--fingerprint" in result.output


# How to break the file, what the error says (with the line), and what that line of the file holds.
BAD_FILES = {
    "yaml syntax": (lambda text: text.replace("  sign-in:\n", "  sign-in: [\n", 1),
                    r"line (\d+): the file: not valid YAML", None),
    "unknown key": (lambda text: text.replace("    name: Withdraw funds\n", "    name: Withdraw funds\n    colour: red\n"),
                    r"line (\d+): actions\.withdraw-funds\.colour: unknown key 'colour'", "colour: red"),
    "bad JsonLogic": (lambda text: text.replace("'>':", "'frobnicate':", 1),
                      r"line (\d+): actions\.withdraw-funds\.rules\[1\]\.conditions: not valid JsonLogic", "conditions:"),
    "duplicate priority": (lambda text: text.replace("priority: 20", "priority: 10"),
                           r"line (\d+): actions\.withdraw-funds\.rules\[2\]\.priority: priority 10 is taken",
                           "priority: 10"),
    "unknown method": (lambda text: text.replace("- EMAIL_OTP", "- CARRIER_PIGEON"),
                       r"line (\d+): actions\.withdraw-funds\.verificationMethods\[2\]: Input should be",
                       "- CARRIER_PIGEON"),
}


@pytest.mark.parametrize("mistake", BAD_FILES, ids=str)
def test_a_bad_file_changes_nothing_and_names_the_line(cli, app, staging, tmp_path, mistake):
    break_it, message, on_the_line = BAD_FILES[mistake]
    exported = export(cli, staging)
    text = break_it(exported).replace("clientTokenTtl: 600", "clientTokenTtl: 900")
    assert text != exported.replace("clientTokenTtl: 600", "clientTokenTtl: 900")
    path = written(tmp_path, text)
    before = row_counts(app)

    planned = plan(cli, staging, path)
    applied = cli("tollgate", "apply", path, "--tenant", staging, "--force", "--publish", "-m", "Broken.")

    for result in (planned, applied):
        assert result.exit_code == 1, result.output
        found = re.search(message, result.output)
        assert found, result.output
        if on_the_line:
            assert on_the_line in text.splitlines()[int(found.group(1)) - 1]
    assert row_counts(app) == before
    assert export(cli, staging) == exported


def test_a_file_whose_list_items_or_settings_the_console_would_refuse_changes_nothing(cli, app, staging, tmp_path):
    text = export(cli, staging).replace("- 203.0.113.0/24", "- 203.0.113.0/33").replace("clientTokenTtl: 600",
                                                                                       "clientTokenTtl: 5")
    before = row_counts(app)

    result = cli("tollgate", "apply", written(tmp_path, text), "--tenant", staging, "--force")

    assert result.exit_code == 1
    named = {key: text.splitlines()[int(number) - 1].strip()
             for number, key in re.findall(r"line (\d+): ([\w.\[\]]+): ", result.output)}
    assert named == {"lists.office.items[0]": "- 203.0.113.0/33", "settings.clientTokenTtl": "clientTokenTtl: 5"}
    assert row_counts(app) == before


def test_a_file_applies_to_the_named_tenant_only(cli, app, staging, production, tmp_path):
    staging_before = export(cli, staging)
    path = written(tmp_path, edited(staging_before, lambda data: data["actions"].pop("sign-in")))

    applied = cli("tollgate", "apply", path, "--tenant", "Production", "--force", "--publish", "-m", "Promote.")

    assert applied.exit_code == 0, applied.output
    assert export(cli, staging) == staging_before
    assert list(yaml.safe_load(export(cli, production))["actions"]) == ["withdraw-funds"]
    unnamed = cli("tollgate", "plan", path)
    assert unnamed.exit_code == 1 and "There are 2 tenants" in unnamed.output  # 2 would read as "changes"


def test_applying_the_same_file_again_writes_and_audits_nothing_more(cli, app, staging, tmp_path):
    def raise_threshold(data):
        data["actions"]["withdraw-funds"]["rules"][1]["conditions"] = {">": [{"var": "custom.amount"}, 5000]}

    path = written(tmp_path, edited(export(cli, staging), raise_threshold))
    first = cli("tollgate", "apply", path, "--tenant", staging, "--force")
    events = audit_events(app, staging)

    again = cli("tollgate", "apply", path, "--tenant", staging, "--force")

    assert first.exit_code == 0 and again.exit_code == 0, again.output
    assert events.count("rule.updated") == 1
    assert audit_events(app, staging) == events


def audit_events(app, tenant_id: str) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent.event).where(AuditEvent.tenant_id == tenant_id)
                                       .order_by(AuditEvent.chain_seq)).scalars())


def test_settings_are_stored_as_the_console_would_store_them(cli, app, staging, tmp_path):
    def override_origins(data):
        data["settings"] = {"webauthnRpId": "example.com", "webauthnOrigins": ["https://app.example.com/"]}

    path = written(tmp_path, edited(export(cli, staging), override_origins))
    applied = cli("tollgate", "apply", path, "--tenant", staging, "--force")

    assert applied.exit_code == 0, applied.output
    with app.app_context():
        tenant = db.session.get(Tenant, staging)
        assert (tenant.webauthn_rp_id, tenant.webauthn_origins) == ("example.com", ["https://app.example.com"])
        assert tenant.client_token_ttl == 600  # left out of the file: left alone
    assert plan(cli, staging, path).exit_code == 0


def test_a_file_sets_the_device_bound_passkey_requirement_and_the_days_devices_are_remembered(cli, app, staging,
                                                                                             tmp_path):
    def require_device_bound(data):
        data["actions"]["withdraw-funds"]["requireDeviceBoundCredential"] = True
        data["settings"]["rememberDeviceDays"] = 14

    exported = yaml.safe_load(export(cli, staging))
    assert exported["actions"]["withdraw-funds"]["requireDeviceBoundCredential"] is False
    assert exported["settings"]["rememberDeviceDays"] == 0
    path = written(tmp_path, edited(export(cli, staging), require_device_bound))
    assert "requireDeviceBoundCredential" in plan(cli, staging, path).output

    applied = cli("tollgate", "apply", path, "--tenant", staging, "--force")

    assert applied.exit_code == 0, applied.output
    with app.app_context():
        config = db.session.execute(select(ActionConfiguration).where(ActionConfiguration.tenant_id == staging,
                                                                      ActionConfiguration.code == "withdraw-funds")
                                    ).scalar_one()
        assert config.require_device_bound_passkey is True
        assert db.session.get(Tenant, staging).remember_device_days == 14
    assert plan(cli, staging, path).exit_code == 0


def test_the_theme_travels_in_the_file_checked_as_settings_brand_checks_it(cli, app, staging, tmp_path):
    assert yaml.safe_load(export(cli, staging))["settings"]["theme"] == {"primaryColor": "#0055aa", "radius": 8,
                                                                           "font": "serif"}

    def restyle(data):
        data["settings"]["theme"] = {"primaryColor": "#05A", "pageTitle": "Acme sign-in", "font": "system"}

    path = written(tmp_path, edited(export(cli, staging), restyle))
    planned = plan(cli, staging, path)
    assert planned.exit_code == 2 and "~ setting theme: " in planned.output, planned.output
    applied = cli("tollgate", "apply", path, "--tenant", staging, "--force")

    assert applied.exit_code == 0, applied.output
    with app.app_context():  # as the console stores it: #rrggbb, the default font left out
        assert db.session.get(Tenant, staging).theme == {"primary_color": "#0055aa", "page_title": "Acme sign-in"}
    assert plan(cli, staging, path).output.startswith("No changes")


def test_a_theme_whose_contrast_fails_wcag_aa_changes_nothing_and_names_the_line(cli, app, staging, tmp_path):
    def unreadable(data):
        data["settings"]["theme"] = {"textColor": "#aaaaaa", "backgroundColor": "#ffffff"}

    text = edited(export(cli, staging), unreadable)
    before = row_counts(app)

    result = cli("tollgate", "apply", written(tmp_path, text), "--tenant", staging, "--force")

    assert result.exit_code == 1
    found = re.search(r"line (\d+): settings\.theme\.textColor: The text colour on the background colour has a "
                      r"contrast of 2\.32:1", result.output)
    assert found, result.output
    assert text.splitlines()[int(found.group(1)) - 1].strip() == "textColor: '#aaaaaa'"
    assert row_counts(app) == before


def test_export_only_some_sections_and_a_file_of_them_leaves_the_others_alone(cli, app, staging, production, tmp_path):
    with app.app_context():
        db.session.get(Tenant, production).client_token_ttl = 120
        db.session.commit()

    only = cli("tollgate", "export", "--tenant", staging, "--only", "actions", "--only", "lists")
    applied = cli("tollgate", "apply", written(tmp_path, only.output), "--tenant", production, "--force",
                  "--publish", "-m", "Promote.")

    assert only.exit_code == 0 and applied.exit_code == 0, applied.output
    assert set(yaml.safe_load(only.output)) == {"tollgate", "actions", "lists"}
    produced = yaml.safe_load(export(cli, production))
    assert produced["settings"]["clientTokenTtl"] == 120 and produced["webhooks"] == {}
    assert produced["actions"] == yaml.safe_load(only.output)["actions"]


@pytest.mark.parametrize("mistake", [("--tenant", "Westward"), (), ("--tenant", "Staging", "--no-such-option")])
def test_a_plan_that_cannot_run_exits_1_never_2_which_means_changes(cli, staging, production, tmp_path, mistake):
    result = cli("tollgate", "plan", written(tmp_path, export(cli, staging)), *mistake)

    assert result.exit_code == 1, result.output
    assert "Error" in result.output


def test_in_production_a_file_cannot_allow_texts_this_server_cannot_send_unless_its_webhooks_take_them(
        cli, app, staging, tmp_path, override_settings):
    override_settings(env="production", smtp=None)
    text = edited(export(cli, staging), lambda data: data["actions"]["sign-in"].update(verificationMethods=["SMS"]))
    before = row_counts(app)

    refused = cli("tollgate", "apply", written(tmp_path, text), "--tenant", staging, "--force")

    assert refused.exit_code == 1
    assert "actions.sign-in.verificationMethods: SMS cannot be enabled" in refused.output
    assert "actions.withdraw-funds.verificationMethods: EMAIL_OTP cannot be enabled" in refused.output
    assert row_counts(app) == before

    def with_hooks(data):
        data["actions"]["sign-in"]["verificationMethods"] = ["SMS"]
        for hook in data["webhooks"].values():
            hook["eventTypes"] += ["email.created", "sms.created"]

    applied = cli("tollgate", "apply", written(tmp_path, edited(export(cli, staging), with_hooks)), "--tenant", staging,
                  "--force")
    assert applied.exit_code == 0, applied.output
