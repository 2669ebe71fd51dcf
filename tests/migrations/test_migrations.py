"""Migrations are the only way the schema is made: one head, and upgrading an empty database
yields exactly what the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from app import create_app
from app.extensions import db


def test_there_is_exactly_one_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def _differences(application) -> list:
    with application.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgraded_session_database_matches_the_models(app):
    # The session database was emptied and upgraded from nothing by the `app` fixture.
    assert _differences(app) == []


def test_upgrade_on_a_fresh_sqlite_file_matches_the_models(app_env, tmp_path):
    fresh = create_app({**app_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
                        "TOLLGATE_INSTANCE_PATH": str(tmp_path)})
    with fresh.app_context():
        upgrade()
    assert _differences(fresh) == []


def test_the_rules_in_place_become_version_1_of_their_action(app_env, tmp_path):
    """Upgrading a database from before versions: each action's rules and policy are its live
    version 1, each list's items its first kept version, and tracks are decided as before."""
    from sqlalchemy import select, text

    from app.models import ActionVersion, CustomListVersion
    from app.services.tenancy.tenant_config import current_config

    fresh = create_app({**app_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}",
                        "TOLLGATE_INSTANCE_PATH": str(tmp_path)})
    with fresh.app_context():
        upgrade(revision="452c3fc785e7")
        for statement in (
            "INSERT INTO tenant (id, name, created_at, config_stamp) VALUES ('t1', 'Acme', '2026-01-01 00:00:00', 's')",
            "INSERT INTO action_configuration (id, tenant_id, code, name, default_outcome, verification_methods,"
            " default_verification_method, unenrolled_policy, review_overdue_policy, created_at, updated_at) VALUES"
            " ('a1', 't1', 'withdraw', 'Withdraw', 'REVIEW', '[\"PASSKEY\"]', NULL, 'ALLOW', 'FLAG',"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            "INSERT INTO rule (id, action_configuration_id, name, description, is_active, priority, outcome,"
            " verification_methods, default_verification_method, conditions, version, created_at, updated_at)"
            " VALUES ('r1', 'a1', 'Big', '', 1, 0, 'BLOCK', NULL, NULL, '{\">\": [{\"var\": \"custom.amount\"}, 10]}',"
            " 3, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            "INSERT INTO custom_list (id, tenant_id, name, kind, description, items, item_count, version, created_at,"
            " updated_at) VALUES ('l1', 't1', 'vip', 'strings', '', '[\"ann\"]', 1, 4, '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00')",
            # Tracked before: SQLite rebuilds user_action (a new foreign key) and tenant; none of their
            # dependants may go with the old tables.
            "INSERT INTO user_action (id, tenant_id, action_configuration_id, action_code, user_id, idempotency_key,"
            " state, state_updated_at, created_at, updated_at, is_enrolled, allowed_verification_methods, rule_ids,"
            " output, attributes) VALUES (7, 't1', 'a1', 'withdraw', 'ann', 'k1', 'BLOCK', '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, '[]', '[\"r1\"]', '{}', '{}')",
            "INSERT INTO action_state_change (user_action_id, from_state, to_state, source, changed_at)"
            " VALUES (7, NULL, 'BLOCK', 'track', '2026-01-01 00:00:00')",
        ):
            db.session.execute(text(statement))
        db.session.commit()

        upgrade()

        (version,) = db.session.execute(select(ActionVersion)).scalars()
        assert (version.number, version.action_configuration_id, version.published_by) == (1, "a1", "migration")
        assert version.document["defaultOutcome"] == "REVIEW"
        assert [(r["ruleId"], r["outcome"], r["conditions"]) for r in version.document["rules"]] == [
            ("r1", "BLOCK", {">": [{"var": "custom.amount"}, 10]})]
        (kept,) = db.session.execute(select(CustomListVersion)).scalars()
        assert (kept.list_id, kept.version, kept.items) == ("l1", 4, ["ann"])
        # Its first state moved onto its row (5d2e8c7a9f13): no history row is left for it.
        assert db.session.execute(text("SELECT initial_state, created_by FROM user_action")).one() == ("BLOCK", "track")
        assert db.session.execute(text("SELECT count(*) FROM action_state_change")).scalar_one() == 0
        assert db.session.execute(text("SELECT action_version_id FROM user_action")).scalar_one() is None
        config = current_config("t1")
        live = config.rule_set(config.action("withdraw"))
        assert (live.number, [r.rule_id for r in live.rules]) == (1, ["r1"])


def test_audit_entries_in_place_are_chained_in_the_order_they_were_written(app_env, tmp_path):
    """Upgrading a database from before the hash chain: each tenant's entries get their places in id
    order, so the upgraded log verifies, and the next entry continues it."""
    from sqlalchemy import select, text

    from app.models import AuditEvent
    from app.services.tenancy import audit_chain
    from app.services.tenancy.audit import record_change

    fresh = create_app({**app_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}",
                        "TOLLGATE_INSTANCE_PATH": str(tmp_path)})
    with fresh.app_context():
        upgrade(revision="c73f21d367d0")
        for tenant in ("t1", "t2"):
            db.session.execute(text("INSERT INTO tenant (id, name, created_at, config_stamp)"
                                    f" VALUES ('{tenant}', '{tenant}', '2026-01-01 00:00:00', 's')"))
        for number, tenant in enumerate(["t1", "t2", "t1", "t1"]):
            db.session.execute(text(
                "INSERT INTO audit_event (tenant_id, actor_email, occurred_at, event, target_type, target_id, before,"
                f" after) VALUES ('{tenant}', 'ann@example.com', '2026-01-0{number + 1} 10:00:00.123456', 'rule.updated',"
                f" 'rule', 'r{number}', NULL, '{{\"name\": \"Größe {number}\"}}')"))
        db.session.commit()

        upgrade()

        places = db.session.execute(select(AuditEvent.tenant_id, AuditEvent.chain_seq).order_by(AuditEvent.id)).all()
        assert [tuple(place) for place in places] == [("t1", 1), ("t2", 1), ("t1", 2), ("t1", 3)]
        record_change("cli", "rule.deleted", "r0", "rule", tenant_id="t1")
        db.session.commit()
        t1, t2 = audit_chain.verify_tenant("t1"), audit_chain.verify_tenant("t2")
        assert (t1.ok, t1.report.verified, t2.ok, t2.report.verified) == (True, 4, True, 1)


def test_an_actions_first_state_moves_onto_its_row_and_back(app_env, tmp_path):
    """5d2e8c7a9f13: the first history entry (from no state) becomes the row's initial_state and
    created_by; later entries stay; a downgrade puts the first entries back."""
    from flask_migrate import downgrade
    from sqlalchemy import text

    fresh = create_app({**app_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'before.db'}",
                        "TOLLGATE_INSTANCE_PATH": str(tmp_path)})
    with fresh.app_context():
        upgrade(revision="7c1e5a9b2d40")
        db.session.execute(text("INSERT INTO tenant (id, name, created_at, config_stamp) VALUES"
                                " ('t1', 'Acme', '2026-01-01 00:00:00', 's')"))
        for action_id, key, state in ((1, "k1", "CHALLENGE_SUCCEEDED"), (2, "k2", "CHALLENGE_REQUIRED")):
            db.session.execute(text(
                "INSERT INTO user_action (id, tenant_id, action_code, user_id, idempotency_key, state, state_updated_at,"
                " created_at, updated_at, is_enrolled, allowed_verification_methods, rule_ids, output, attributes)"
                f" VALUES ({action_id}, 't1', 'pay', 'ann', '{key}', '{state}', '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, '[]', '[]', '{}', '{}')"))
        changes = [(1, None, "CHALLENGE_REQUIRED", "track"), (1, "CHALLENGE_REQUIRED", "CHALLENGE_SUCCEEDED", "challenge"),
                   (2, None, "CHALLENGE_REQUIRED", "challenge")]
        for action_id, before, after, source in changes:
            db.session.execute(text("INSERT INTO action_state_change (user_action_id, from_state, to_state, source,"
                                    " changed_at) VALUES (:a, :f, :t, :s, '2026-01-01 00:00:00')"),
                               {"a": action_id, "f": before, "t": after, "s": source})
        db.session.commit()

        upgrade()
        assert db.session.execute(text("SELECT id, initial_state, created_by FROM user_action ORDER BY id")).all() == [
            (1, "CHALLENGE_REQUIRED", "track"), (2, "CHALLENGE_REQUIRED", "challenge")]
        assert db.session.execute(text("SELECT user_action_id, from_state, to_state FROM action_state_change")).all() == [
            (1, "CHALLENGE_REQUIRED", "CHALLENGE_SUCCEEDED")]

        downgrade(revision="7c1e5a9b2d40")
        assert sorted(db.session.execute(text("SELECT user_action_id, from_state, to_state, source"
                                              " FROM action_state_change")).all(), key=str) == sorted(changes, key=str)
