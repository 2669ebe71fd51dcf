"""A known history to back-test: six withdrawals decided by version 2 and a draft that decides five
of them differently (tests/api/test_backtests.py derives the exact matrix)."""

from __future__ import annotations

from sqlalchemy import select

from app.domain.backtest import parse_window
from app.extensions import db
from app.models import Rule
from app.models.base import utcnow
from app.services.decisions import backtest_runner, backtests
from app.services.rulesets.rules import RuleDocument, create_rule, delete_rule
from tests.factories import make_action, rule

LARGE = rule("Large amount", 10, "REVIEW", {">": [{"var": "custom.amount"}, 1000]})


def seed_withdrawals(app, api, tenant):
    """Six withdrawals decided by version 2 (amounts over 1000 go to review), then a draft that
    reviews from 400, blocks from 4000 and challenges under 100 (nobody here is enrolled)."""
    make_action(app, tenant.id, "withdraw", rules=[LARGE])
    for n, amount in enumerate([500, 600, 700, 5000, 6000, 50]):
        response = api.post(f"/users/u{n}/actions/withdraw", json={"custom": {"amount": amount}})
        assert response.status_code == 200
    with app.app_context():
        for rule_id in db.session.execute(select(Rule.id)).scalars().all():
            delete_rule(tenant.id, rule_id)
        for document in (rule("From 400", 10, "REVIEW", {">": [{"var": "custom.amount"}, 400]}),
                         rule("From 4000", 5, "BLOCK", {">": [{"var": "custom.amount"}, 4000]}),
                         rule("Small", 20, "CHALLENGE", {"<": [{"var": "custom.amount"}, 100]})):
            create_rule(tenant.id, "withdraw", RuleDocument.model_validate(document))
    return tenant


def work_off(app, run_id: str, *, batch: int = 1000) -> str:
    """What a back-test worker does with one queued run, here and now."""
    with app.app_context():
        return backtest_runner.run_claimed(*backtest_runner.claim_backtest(now=utcnow(), run_id=run_id),
                                           settings=app.config["TOLLGATE"], batch=batch)


def run_now(app, tenant_id: str, *, version: int | None = None, window: str = "24h", batch: int = 1000):
    """Queue a back-test of withdraw and work it off: (its final status, its view)."""
    with app.app_context():
        run = backtests.request_backtest("cli", tenant_id, "withdraw", version=version,
                                         window=parse_window(window, now=utcnow()))
    status = work_off(app, run.id, batch=batch)
    with app.app_context():
        return status, backtests.backtest_view(tenant_id, "withdraw", run.id)
