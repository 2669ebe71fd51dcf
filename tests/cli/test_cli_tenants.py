"""--tenant ID|NAME (or TOLLGATE_TENANT) on every command that acts on one tenant: with several
tenants the command acts on the named one only, and is refused (exit 2, the tenants listed) when
none or an unknown one is named; with one tenant it may be left out."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ActionConfiguration, BacktestRun, ConsoleUser, CustomList, EndUser
from app.services.tenancy.api_keys import find_api_key
from tests.conftest import ApiClient
from tests.factories import add_tenant_with_key, make_action, rule
from tests.rows import row_counts

RULE = rule("Large", 10, "CHALLENGE", {">": [{"var": "custom.amount"}, 1000]})


@dataclass(frozen=True)
class Named:
    id: str
    name: str
    api_key: str


@pytest.fixture
def north(app) -> Named:
    return _tenant(app, "North")


@pytest.fixture
def south(app, north) -> Named:
    return _tenant(app, "South")


def _tenant(app, name: str) -> Named:
    tenant_id, raw = add_tenant_with_key(app, name)
    make_action(app, tenant_id, "payout")
    return Named(tenant_id, name, raw)


def rules_of(cli, tenant: Named) -> list[dict]:
    result = cli("rules", "list", "payout", "--tenant", tenant.id)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


TENANT_COMMANDS = [
    ("actions", "create"),
    ("actions", "list"),
    ("actions", "publish", "payout", "--note", "Goes live."),
    ("actions", "discard", "payout"),
    ("actions", "rollback", "payout", "1"),
    ("actions", "versions", "payout"),
    ("actions", "replay", "1"),
    ("rules", "create", "payout"),
    ("rules", "list", "payout"),
    ("rules", "delete", "some-rule"),
    ("rules", "backtest", "payout"),
    ("rules", "shadow", "payout"),
    ("api-keys", "create"),
    ("management-keys", "create"),
    ("management-keys", "list"),
    ("management-keys", "revoke", "some-key"),
    ("reviews", "set-sla", "payout", "--deadline", "5"),
    ("users", "erase", "ada", "--yes"),
    ("lists", "import", "high-risk", "-"),
    ("tollgate", "create-admin", "--email", "ops@example.com"),
    ("tollgate", "export"),
    ("tollgate", "apply", "-", "--force"),
]


@pytest.mark.parametrize("command", TENANT_COMMANDS, ids=" ".join)
def test_with_two_tenants_and_no_tenant_named_the_command_is_refused_with_their_list(cli, app, north, south, command):
    before = row_counts(app)

    result = cli(*command, input=json.dumps({"code": "refund"}))

    assert result.exit_code == 2, result.output
    assert "There are 2 tenants; name one with --tenant ID|NAME (or TOLLGATE_TENANT):" in result.output
    listed = {tuple(line.split()) for line in result.output.splitlines()[-2:]}
    assert listed == {(north.id, "North"), (south.id, "South")}
    assert row_counts(app) == before


@pytest.mark.parametrize("command", TENANT_COMMANDS, ids=" ".join)
def test_an_unknown_tenant_is_refused_with_the_list(cli, app, north, south, command):
    before = row_counts(app)

    result = cli(*command, "--tenant", "Westward", input=json.dumps({"code": "refund"}))

    assert result.exit_code == 2, result.output
    assert "No tenant has the id or name 'Westward'; the tenants are:" in result.output
    assert {line.split()[0] for line in result.output.splitlines()[-2:]} == {north.id, south.id}
    assert row_counts(app) == before


def test_with_one_tenant_the_tenant_may_be_left_out_but_not_misnamed(cli, north):
    created = cli("rules", "create", "payout", input=json.dumps(RULE))
    unknown = cli("rules", "list", "payout", "--tenant", "South")

    assert created.exit_code == 0, created.output
    assert [r["name"] for r in rules_of(cli, north)] == ["Large"]
    assert unknown.exit_code == 2 and "No tenant has the id or name 'South'" in unknown.output


def test_with_no_tenant_yet_the_command_says_how_to_make_one(cli):
    result = cli("actions", "list")

    assert result.exit_code == 1
    assert "No tenant yet: run `flask tollgate seed-demo` or `flask tollgate init` first." in result.output


def test_rules_create_and_list_act_on_the_named_tenant_only(cli, north, south):
    created = cli("rules", "create", "payout", "--tenant", "South", input=json.dumps(RULE))

    assert created.exit_code == 0, created.output
    assert rules_of(cli, south) == [json.loads(created.output)]
    assert rules_of(cli, north) == []


def test_actions_create_and_list_act_on_the_named_tenant_only(cli, north, south):
    created = cli("actions", "create", "--tenant", north.id, input=json.dumps({"code": "refund"}))

    assert created.exit_code == 0, created.output
    codes = {t.name: [a["code"] for a in json.loads(cli("actions", "list", "--tenant", t.name).output)]
             for t in (north, south)}
    assert codes == {"North": ["payout", "refund"], "South": ["payout"]}


def test_publish_acts_on_the_named_tenant_only(cli, north, south):
    for tenant in (north, south):
        cli("rules", "create", "payout", "--tenant", tenant.id, input=json.dumps(RULE))

    published = cli("actions", "publish", "payout", "--note", "Large goes live.", "--tenant", "South")

    assert published.exit_code == 0, published.output
    history = {t.name: json.loads(cli("actions", "versions", "payout", "--tenant", t.id).output) for t in (north, south)}
    assert [v["number"] for v in history["South"]["versions"]] == [2, 1]
    assert history["South"]["draftChanges"] == 0
    assert [v["number"] for v in history["North"]["versions"]] == [1]
    assert history["North"]["draftChanges"] == 1


def test_an_api_key_is_created_for_the_named_tenant(cli, app, north, south):
    result = cli("api-keys", "create", "--name", "backend", "--tenant", "North")

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert find_api_key(result.output.strip()).tenant_id == north.id


def test_a_backtest_replays_the_named_tenants_actions_only(cli, app, client, north, south):
    tracked = ApiClient(client, north.api_key).post("/users/ada/actions/payout", json={})
    assert tracked.status_code == 200, tracked.get_json()
    cli("rules", "create", "payout", "--tenant", north.id, input=json.dumps(RULE))
    cli("rules", "create", "payout", "--tenant", south.id, input=json.dumps(RULE))

    in_north = cli("rules", "backtest", "payout", "--window", "24h", "--tenant", "North")
    in_south = cli("rules", "backtest", "payout", "--window", "24h", "--tenant", "South")

    assert in_north.exit_code == 0, in_north.output
    assert "Actions replayed: 1" in in_north.output.splitlines()
    assert "Actions replayed: 0" in in_south.output.splitlines()
    with app.app_context():
        runs = db.session.execute(select(BacktestRun.tenant_id)).scalars().all()
    assert sorted(runs) == sorted([north.id, south.id])  # one run each, kept in its own tenant


def test_users_erase_erases_in_the_named_tenant_only(cli, app, client, north, south):
    for tenant in (north, south):
        ApiClient(client, tenant.api_key).post("/users/ada/actions/payout", json={})

    result = cli("users", "erase", "ada", "--yes", "--tenant", "South")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["erased"]["actions"] == 1
    with app.app_context():
        assert db.session.execute(select(EndUser.tenant_id).where(EndUser.user_id == "ada")).scalars().all() == [
            north.id]


def test_the_review_sla_is_set_on_the_named_tenants_action_only(cli, app, north, south):
    result = cli("reviews", "set-sla", "payout", "--deadline", "15", "--tenant", south.id)

    assert result.exit_code == 0, result.output
    with app.app_context():
        deadlines = dict(db.session.execute(
            select(ActionConfiguration.tenant_id, ActionConfiguration.review_deadline_minutes)).all())
    assert deadlines == {north.id: None, south.id: 15}


def test_a_custom_list_is_imported_into_the_named_tenant_only(cli, app, north, south):
    result = cli("lists", "import", "high-risk", "-", "--tenant", "North", input="SY\nKP\n")

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.execute(select(CustomList.tenant_id, CustomList.name)).all() == [(north.id, "high-risk")]


def test_create_admin_puts_a_new_admin_in_the_named_tenant(cli, app, north, south):
    result = cli("tollgate", "create-admin", "--email", "ops@example.com", "--tenant", "South")

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.execute(select(ConsoleUser.tenant_id)).scalars().all() == [south.id]


def test_tollgate_tenant_in_the_environment_is_the_default_and_the_option_wins(cli, north, south):
    from_env = cli("rules", "create", "payout", input=json.dumps(RULE), env={"TOLLGATE_TENANT": "South"})
    overridden = cli("rules", "create", "payout", "--tenant", "North", input=json.dumps(RULE),
                     env={"TOLLGATE_TENANT": "South"})
    unknown = cli("actions", "list", env={"TOLLGATE_TENANT": "Westward"})

    assert (from_env.exit_code, overridden.exit_code) == (0, 0), from_env.output + overridden.output
    assert [r["ruleId"] for r in rules_of(cli, south)] == [json.loads(from_env.output)["ruleId"]]
    assert [r["ruleId"] for r in rules_of(cli, north)] == [json.loads(overridden.output)["ruleId"]]
    assert unknown.exit_code == 2 and "No tenant has the id or name 'Westward'" in unknown.output


def test_a_name_two_tenants_share_is_refused_and_their_ids_are_listed(cli, app, north):
    twin = _tenant(app, "North")

    by_name = cli("actions", "list", "--tenant", "North")
    by_id = cli("actions", "list", "--tenant", twin.id)

    assert by_name.exit_code == 2
    assert "2 tenants are named 'North'; give the id:" in by_name.output
    assert {line.split()[0] for line in by_name.output.splitlines()[-2:]} == {north.id, twin.id}
    assert by_id.exit_code == 0, by_id.output


def test_audit_verify_checks_every_tenant_unless_one_is_named_and_ignores_tollgate_tenant(cli, north, south):
    every = cli("tollgate", "audit", "verify", env={"TOLLGATE_TENANT": "North"})
    named = cli("tollgate", "audit", "verify", "--tenant", "South")
    unknown = cli("tollgate", "audit", "verify", "--tenant", "Westward")

    assert every.exit_code == 0, every.output
    assert {line.split(":")[0] for line in every.output.splitlines()} == {north.id, south.id}
    assert named.exit_code == 0 and [line.split(":")[0] for line in named.output.splitlines()] == [south.id]
    assert unknown.exit_code == 2 and "No tenant has the id or name 'Westward'" in unknown.output


def test_instance_wide_commands_need_no_tenant_with_several(cli, tmp_path, north, south):
    listed = tmp_path / "vpn.txt"
    listed.write_text("198.51.100.0/24\n")

    imported = cli("ip-lists", "import", "vpn", str(listed))
    shown = cli("ip-lists", "list")
    purged = cli("tollgate", "purge")
    slas = cli("reviews", "apply-sla")
    delivered = cli("webhooks", "deliver-once")

    assert [r.exit_code for r in (imported, shown, purged, slas, delivered)] == [0] * 5
    assert shown.output.startswith("vpn\t1 CIDRs")
