"""PreparedStatement (app/models/prepared.py): the hot path's statements on the DB-API cursor read
and write exactly what SQLAlchemy would, and fail as SQLAlchemy fails, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from app.domain.decision import ActionState
from app.extensions import db
from app.models import EndUser, UserAction
from app.models.prepared import PreparedStatement

ACTION_BY_KEY = select(UserAction.id, UserAction.state, UserAction.created_at, UserAction.attributes,
                       UserAction.allowed_verification_methods, UserAction.is_enrolled).where(
    UserAction.tenant_id == bindparam("tenant_id"), UserAction.idempotency_key == bindparam("key"))


def test_a_prepared_select_reads_the_values_sqlalchemy_reads(app, api, tenant):
    key = api.post("/users/ann/actions/withdraw-funds", json={"custom": {"amount": 12.5}}).get_json()["idempotencyKey"]

    with app.app_context():
        params = {"tenant_id": tenant.id, "key": key}
        prepared = PreparedStatement(ACTION_BY_KEY).one_or_none(db.session.connection(), params)
        by_core = db.session.execute(ACTION_BY_KEY, params).one()

    assert tuple(prepared) == tuple(by_core)
    assert prepared.state is ActionState.ALLOW  # the enum member, not its string
    assert prepared.created_at.tzinfo is not None and prepared.created_at.utcoffset().total_seconds() == 0
    assert prepared.attributes["custom"] == {"amount": 12.5}


def test_a_prepared_insert_converts_what_it_writes_and_commits_with_the_session(app, tenant):
    moment = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)
    insert = PreparedStatement(EndUser.__table__.insert().inline())
    values = {"tenant_id": tenant.id, "user_id": "written-raw", "email": None, "phone_number": None,
              "username": None, "custom": {"tier": "gold"}, "email_verified": False,
              "phone_number_verified": False, "created_at": moment, "updated_at": moment}

    with app.app_context():
        insert.rows(db.session.connection(), values)
        db.session.commit()
    with app.app_context():
        user = db.session.execute(select(EndUser).filter_by(tenant_id=tenant.id, user_id="written-raw")).scalar_one()
        assert (user.custom, user.created_at) == ({"tier": "gold"}, moment)


def test_an_insert_that_leaves_out_a_column_with_a_python_default_is_refused(app, tenant):
    insert = PreparedStatement(EndUser.__table__.insert().inline())
    with app.app_context(), pytest.raises(ValueError, match="Python default"):
        insert.rows(db.session.connection(), {"tenant_id": tenant.id, "user_id": "no-defaults"})


def test_a_unique_violation_is_sqlalchemys_integrity_error_and_the_session_goes_on(app, tenant):
    moment = datetime(2026, 12, 7, tzinfo=UTC)
    insert = PreparedStatement(EndUser.__table__.insert().inline())
    values = {"tenant_id": tenant.id, "user_id": "twice", "email": None, "phone_number": None, "username": None,
              "custom": {}, "email_verified": False, "phone_number_verified": False, "created_at": moment,
              "updated_at": moment}

    with app.app_context():
        insert.rows(db.session.connection(), values)
        db.session.commit()
        with pytest.raises(IntegrityError):
            insert.rows(db.session.connection(), values)
        db.session.rollback()
        stored = db.session.execute(select(EndUser.id).filter_by(tenant_id=tenant.id, user_id="twice")).all()
    assert len(stored) == 1
