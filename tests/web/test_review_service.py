"""services.reviews.queue: every transition, conflict and permission of the review queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain.decision import ActionState
from app.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from app.extensions import db
from app.models import AuditEvent, ReviewClaim, ReviewDecision, UserAction
from app.models.base import utcnow
from app.models.review import OverduePolicy
from app.services.console.console_users import find_console_user
from app.services.reviews import cases, decisions, queue, sla
from tests.factories import make_action, rule

APPROVE, REJECT = ActionState.REVIEW_SUCCEEDED, ActionState.REVIEW_FAILED


@pytest.fixture
def review_action(app, tenant):
    return make_action(app, tenant.id, "withdraw", rules=[
        rule("Big amount", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]}),
    ])[0]


def track(api, user="alice", action="withdraw", amount=5000, **body) -> int:
    response = api.post(f"/users/{user}/actions/{action}", json={"custom": {"amount": amount}, **body})
    assert response.status_code == 200, response.get_json()
    key = response.get_json()["idempotencyKey"]
    return db.session.execute(select(UserAction.id).where(UserAction.idempotency_key == key)).scalar_one()


@pytest.fixture
def people(app, tenant, make_console_user, app_context):
    make_console_user("ann@example.com", "reviewer")
    make_console_user("bob@example.com", "reviewer")
    make_console_user("boss@example.com", "admin")
    return tuple(find_console_user(e) for e in ("ann@example.com", "bob@example.com", "boss@example.com"))


def state_of(action_id: int) -> ActionState:
    db.session.expire_all()
    return db.session.get(UserAction, action_id).state


# ---------------------------------------------------------------------------------------------
# Claims


def test_one_reviewer_holds_a_case_at_a_time(api, review_action, people, settings):
    ann, bob, _ = people
    case = track(api)
    now = utcnow()

    claim = cases.claim_case(ann, case, settings=settings, now=now)
    with pytest.raises(Conflict) as refused:
        cases.claim_case(bob, case, settings=settings, now=now)

    assert claim.is_mine and claim.expires_at == now + timedelta(minutes=settings.review_claim_minutes)
    assert refused.value.code == "review_claimed" and "ann@example.com" in refused.value.message
    assert db.session.get(ReviewClaim, case).console_user_id == ann.id


def test_claiming_again_extends_ones_own_claim(api, review_action, people, settings):
    ann, _, _ = people
    case = track(api)
    now = utcnow()
    cases.claim_case(ann, case, settings=settings, now=now)

    later = cases.claim_case(ann, case, settings=settings, now=now + timedelta(minutes=10))

    assert later.expires_at == now + timedelta(minutes=10 + settings.review_claim_minutes)


def test_a_lapsed_claim_can_be_taken_over(api, review_action, people, settings):
    ann, bob, _ = people
    case = track(api)
    now = utcnow()
    cases.claim_case(ann, case, settings=settings, now=now)
    after_idle = now + timedelta(minutes=settings.review_claim_minutes, seconds=1)

    claim = cases.claim_case(bob, case, settings=settings, now=after_idle)

    assert claim.holder_id == bob.id
    assert cases.get_case(ann.tenant_id, case, viewer_id=ann.id, now=after_idle).claim.holder_email == "bob@example.com"


def test_release_is_for_the_holder_or_an_admin(api, review_action, people, settings):
    ann, bob, boss = people
    case = track(api)
    now = utcnow()
    cases.claim_case(ann, case, settings=settings, now=now)

    with pytest.raises(Forbidden):
        cases.release_case(bob, case, now=now)
    cases.release_case(boss, case, now=now)

    assert db.session.get(ReviewClaim, case) is None
    cases.claim_case(bob, case, settings=settings, now=now)
    cases.release_case(bob, case, now=now)
    assert db.session.get(ReviewClaim, case) is None
    cases.release_case(bob, case, now=now)  # nothing held: nothing to do


def test_decided_cases_cannot_be_claimed(api, review_action, people, settings):
    ann, _, _ = people
    case = track(api)
    decisions.decide_case(ann, case, APPROVE, "Known customer", now=utcnow())

    with pytest.raises(Conflict) as refused:
        cases.claim_case(ann, case, settings=settings, now=utcnow())

    assert refused.value.code == "review_already_decided"


# ---------------------------------------------------------------------------------------------
# Notes


def test_notes_are_appended_with_author_and_time_and_keep_the_claim_alive(api, review_action, people, settings):
    ann, bob, _ = people
    case = track(api)
    now = utcnow()
    cases.claim_case(ann, case, settings=settings, now=now)

    cases.add_note(ann, case, "  Called the customer.  ", settings=settings, now=now + timedelta(minutes=20))
    cases.add_note(bob, case, "Second opinion: fine.", settings=settings, now=now + timedelta(minutes=21))

    notes = cases.get_case(ann.tenant_id, case, viewer_id=ann.id, now=now).notes
    assert [(n.author_email, n.text) for n in notes] == [
        ("ann@example.com", "Called the customer."), ("bob@example.com", "Second opinion: fine.")]
    assert db.session.get(ReviewClaim, case).expires_at == now + timedelta(minutes=20 + settings.review_claim_minutes)


@pytest.mark.parametrize("text", ["", "   ", "x" * 4001])
def test_empty_or_huge_notes_are_refused(api, review_action, people, settings, text):
    case = track(api)

    with pytest.raises(InvalidRequest):
        cases.add_note(people[0], case, text, settings=settings, now=utcnow())


# ---------------------------------------------------------------------------------------------
# Decisions


@pytest.mark.parametrize("outcome", [APPROVE, REJECT])
def test_a_decision_moves_the_action_records_who_why_and_audits(api, review_action, people, settings, outcome):
    ann, _, _ = people
    case = track(api)
    cases.claim_case(ann, case, settings=settings, now=utcnow())

    decided = decisions.decide_case(ann, case, outcome, "Checked the payee", now=utcnow())

    assert state_of(case) is outcome
    decision = db.session.execute(select(ReviewDecision)).scalar_one()
    assert (decision.user_action_id, decision.outcome, decision.reason, decision.decided_by, decision.source) == (
        case, outcome, "Checked the payee", "ann@example.com", "console")
    assert decided.decision.id == decision.id
    assert db.session.get(ReviewClaim, case) is None  # the claim ends with the decision
    action = db.session.get(UserAction, case)
    assert [(c.from_state, c.to_state, c.source) for c in action.state_changes][-1] == (
        ActionState.REVIEW_REQUIRED, outcome, "review")
    event = db.session.execute(select(AuditEvent).where(AuditEvent.event.like("review.%ed")
                                                        & (AuditEvent.event != "review.claimed"))).scalar_one()
    assert event.event == ("review.approved" if outcome is APPROVE else "review.rejected")
    assert event.actor_email == "ann@example.com" and event.after["reason"] == "Checked the payee"


def test_an_already_decided_case_is_refused(api, review_action, people):
    ann, bob, _ = people
    case = track(api)
    decisions.decide_case(ann, case, APPROVE, "ok", now=utcnow())

    with pytest.raises(Conflict) as refused:
        decisions.decide_case(bob, case, REJECT, "no", now=utcnow())

    assert refused.value.code == "review_already_decided" and refused.value.status == 409
    assert state_of(case) is APPROVE
    assert db.session.execute(select(ReviewDecision)).scalars().all()[0].reason == "ok"


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 2001])
def test_a_decision_needs_a_reason(api, review_action, people, reason):
    case = track(api)

    with pytest.raises(InvalidRequest):
        decisions.decide_case(people[0], case, APPROVE, reason, now=utcnow())

    assert state_of(case) is ActionState.REVIEW_REQUIRED


def test_a_case_someone_else_holds_is_theirs_to_decide(api, review_action, people, settings):
    ann, bob, boss = people
    case = track(api)
    cases.claim_case(ann, case, settings=settings, now=utcnow())

    for other in (bob, boss):
        with pytest.raises(Conflict) as refused:
            decisions.decide_case(other, case, APPROVE, "ok", now=utcnow())
        assert refused.value.code == "review_claimed"


def test_actions_not_in_review_are_not_cases(api, app, tenant, review_action, people):
    allowed = track(api, amount=5)  # under the rule's threshold: ALLOW

    with pytest.raises(Conflict) as refused:
        decisions.decide_case(people[0], allowed, APPROVE, "ok", now=utcnow())
    with pytest.raises(NotFound):
        decisions.decide_case(people[0], 999_999, APPROVE, "ok", now=utcnow())

    assert refused.value.code == "review_not_pending"


def test_other_tenants_cases_are_not_found(api, app, review_action, people, settings):
    from app.models import Tenant
    from app.services.console.console_users import create_console_user

    case = track(api)
    stranger = Tenant(name="Other")
    db.session.add(stranger)
    db.session.commit()
    other = create_console_user(stranger.id, email="x@other.example", password="p" * 12, role="admin",
                                settings=settings)

    for attempt in (lambda: decisions.decide_case(other, case, APPROVE, "ok", now=utcnow()),
                    lambda: cases.claim_case(other, case, settings=settings, now=utcnow()),
                    lambda: cases.add_note(other, case, "hi", settings=settings, now=utcnow()),
                    lambda: cases.get_case(other.tenant_id, case, viewer_id=other.id, now=utcnow())):
        with pytest.raises(NotFound):
            attempt()


# ---------------------------------------------------------------------------------------------
# Bulk


def test_bulk_decisions_are_for_admins(api, review_action, people):
    case = track(api)

    with pytest.raises(Forbidden):
        decisions.bulk_decide(people[0], [case], APPROVE, "batch", now=utcnow())


def test_bulk_decides_the_open_unheld_cases_and_reports_the_rest(api, review_action, people, settings):
    ann, _, boss = people
    open_one, held, decided, allowed = track(api), track(api, user="bo"), track(api, user="cy"), track(api, amount=1)
    cases.claim_case(ann, held, settings=settings, now=utcnow())
    decisions.decide_case(ann, decided, REJECT, "fraud", now=utcnow())

    result = decisions.bulk_decide(boss, [open_one, held, decided, allowed, 424242], APPROVE, "Campaign", now=utcnow())

    assert result.decided == [open_one]
    assert set(result.skipped) == {held, decided, allowed, 424242}
    assert state_of(open_one) is APPROVE and state_of(held) is ActionState.REVIEW_REQUIRED
    decision = db.session.execute(select(ReviewDecision).where(ReviewDecision.user_action_id == open_one)).scalar_one()
    assert (decision.source, decision.reason, decision.decided_by) == ("bulk", "Campaign", "boss@example.com")


def test_bulk_needs_a_selection_and_a_reason(api, review_action, people):
    boss = people[2]
    with pytest.raises(InvalidRequest):
        decisions.bulk_decide(boss, [], APPROVE, "why", now=utcnow())
    with pytest.raises(InvalidRequest):
        decisions.bulk_decide(boss, [track(api)], APPROVE, " ", now=utcnow())


# ---------------------------------------------------------------------------------------------
# The queue


def test_the_queue_lists_cases_oldest_first_with_what_a_reviewer_needs(api, review_action, people, settings):
    ann, bob, _ = people
    first = track(api, user="alice", ipAddress="203.0.113.9")
    second = track(api, user="bob")
    track(api, amount=1)  # ALLOW: not a case
    cases.claim_case(bob, second, settings=settings, now=utcnow())

    page = queue.list_queue(ann.tenant_id, viewer_id=ann.id, now=utcnow())

    assert [r.id for r in page.rows] == [first, second]
    row = page.rows[0]
    assert (row.action_code, row.user_id, row.deciding_rule_name, row.ip_address) == (
        "withdraw", "alice", "Big amount", "203.0.113.9")
    assert row.key_values == [("amount", "5000")]
    assert page.rows[1].claimed_by == "bob@example.com" and not page.rows[1].claimed_by_me
    assert queue.count_pending(ann.tenant_id) == 2


def test_queue_filters(api, app, tenant, review_action, people, settings):
    ann, bob, _ = people
    [other_rule] = make_action(app, tenant.id, "sign-in", default_outcome="REVIEW", rules=[rule("All", 0, "REVIEW")])
    withdraw, sign_in, mine = track(api), track(api, action="sign-in"), track(api, user="me")
    cases.claim_case(ann, mine, settings=settings, now=utcnow())

    def ids(**filters):
        return [r.id for r in queue.list_queue(ann.tenant_id, queue.QueueFilters(**filters), viewer_id=ann.id,
                                                 now=utcnow()).rows]

    assert ids(action_code="sign-in") == [sign_in]
    assert ids(rule_id=other_rule) == [sign_in]
    assert ids(rule_id=review_action) == [withdraw, mine]
    assert ids(claim="mine") == [mine]
    assert ids(claim="unclaimed") == [withdraw, sign_in]
    assert ids(min_age_minutes=5) == []
    later = utcnow() + timedelta(minutes=10)
    assert [r.id for r in queue.list_queue(ann.tenant_id, queue.QueueFilters(min_age_minutes=5), viewer_id=ann.id,
                                             now=later).rows] == [withdraw, sign_in, mine]
    # A lapsed claim counts as unclaimed.
    after_idle = utcnow() + timedelta(minutes=settings.review_claim_minutes + 1)
    assert [r.id for r in queue.list_queue(ann.tenant_id, queue.QueueFilters(claim="unclaimed"), viewer_id=ann.id,
                                             now=after_idle).rows] == [withdraw, sign_in, mine]


def test_queue_keyset_pages_both_ways(api, review_action, people):
    ann = people[0]
    cases = [track(api, user=f"u{i}") for i in range(5)]

    def page(**kw):
        return queue.list_queue(ann.tenant_id, viewer_id=ann.id, now=utcnow(), limit=2, **kw)

    first = page()
    second = page(after=first.newer)
    third = page(after=second.newer)
    back = page(before=second.older)

    assert [r.id for r in first.rows] == cases[:2] and first.older is None
    assert [r.id for r in second.rows] == cases[2:4]
    assert [r.id for r in third.rows] == cases[4:] and third.newer is None
    assert [r.id for r in back.rows] == cases[:2] and back.older is None and back.newer is not None


def test_next_case_prefers_ones_own_claim_then_the_oldest_unclaimed(api, review_action, people, settings):
    ann, bob, _ = people
    oldest, middle, newest = track(api), track(api, user="b"), track(api, user="c")
    cases.claim_case(bob, oldest, settings=settings, now=utcnow())

    assert queue.next_case_id(ann.tenant_id, viewer_id=ann.id, now=utcnow()) == middle
    cases.claim_case(ann, newest, settings=settings, now=utcnow())
    assert queue.next_case_id(ann.tenant_id, viewer_id=ann.id, now=utcnow()) == newest


def test_the_case_view_gathers_the_users_history(api, review_action, people):
    ann = people[0]
    earlier = track(api)
    decisions.decide_case(ann, earlier, REJECT, "Mule account", now=utcnow())
    case = track(api)

    view = cases.get_case(ann.tenant_id, case, viewer_id=ann.id, now=utcnow())

    assert view.is_open and view.decision is None
    assert [(d.user_action_id, d.reason) for d in view.earlier_decisions] == [(earlier, "Mule account")]
    assert [r.id for r in view.recent_actions] == [earlier]
    assert view.detail.trace.deciding_rule.name == "Big amount"


# ---------------------------------------------------------------------------------------------
# SLA


@pytest.mark.parametrize(("policy", "expected"), [
    (OverduePolicy.AUTO_APPROVE, APPROVE), (OverduePolicy.AUTO_REJECT, REJECT),
])
def test_sla_decides_overdue_cases(api, tenant, review_action, people, policy, expected):
    sla.set_review_sla(tenant.id, "withdraw", deadline_minutes=60, policy=policy)
    case = track(api)

    early = sla.apply_sla(now=utcnow() + timedelta(minutes=59))
    late = sla.apply_sla(now=utcnow() + timedelta(minutes=61))

    assert early == sla.SlaReport()
    assert (late.approved if expected is APPROVE else late.rejected) == [case]
    assert state_of(case) is expected
    decision = db.session.execute(select(ReviewDecision)).scalar_one()
    assert decision.source == "sla" and "60 minutes" in decision.reason
    assert sla.apply_sla(now=utcnow() + timedelta(minutes=120)) == sla.SlaReport()


def test_sla_flags_once_and_the_queue_shows_overdue(api, tenant, review_action, people):
    sla.set_review_sla(tenant.id, "withdraw", deadline_minutes=30, policy=OverduePolicy.FLAG)
    case = track(api)
    later = utcnow() + timedelta(minutes=31)

    assert sla.apply_sla(now=later).flagged == [case]
    assert sla.apply_sla(now=later).flagged == []
    assert state_of(case) is ActionState.REVIEW_REQUIRED
    [row] = queue.list_queue(tenant.id, viewer_id=None, now=later).rows
    assert row.overdue and row.due_at is not None
    assert cases.get_case(tenant.id, case, viewer_id=None, now=later).flagged_at == later


def test_sla_settings_are_validated(tenant, app_context, review_action):
    with pytest.raises(InvalidRequest):
        sla.set_review_sla(tenant.id, "withdraw", deadline_minutes=0)
    with pytest.raises(NotFound):
        sla.set_review_sla(tenant.id, "nope", deadline_minutes=5)
    assert sla.set_review_sla(tenant.id, "withdraw", deadline_minutes=None).review_deadline_minutes is None
