"""Schemathesis against the live server: generated requests for every operation in /v1/openapi.json,
with valid credentials, checked for no answer >= 500 and every answer matching its documented schema
(and schemathesis's other default checks: status codes, content types, auth actually required, a
405 with its Allow header...).

Two default checks are left out, on purpose: "schema-valid request rejected" (the schema says what
may be sent; the services then refuse what breaks a rule no JSON schema spells, such as an unknown
challenge id or a phone number that is not E.164) and "schema-violating request accepted" (the
SDKs send empty query values meaning "none", and extra body keys, which the contract ignores)."""

from __future__ import annotations

import base64
import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from app.openapi.operations import CLIENT_TOKEN, MANAGEMENT_KEY, SECRET_KEY, TENANT_ID
from app.services.tenancy.audit import Agent
from app.services.tenancy.management_keys import create_management_key
from tests import openapi_answers
from tests.sdk.conftest import LiveServer

# Built at import (pytest parametrizes per operation before any fixture runs) from the blueprints the
# server registers; tests/api/test_openapi.py checks the served document is this one.
schema = schemathesis.openapi.from_dict(openapi_answers.document())


@pytest.fixture(autouse=True)
def _no_invalid_key_limit(app, override_settings):
    """Schemathesis also sends each operation's examples without valid credentials (its "auth is
    really required" check), all from 127.0.0.1: past TOLLGATE_API_KEY_FAILURES_PER_MINUTE they
    would get 429, not the 401 under test. The limit has its own tests (tests/api/test_api_key_failures.py)."""
    override_settings(api_key_failures_per_minute=100_000)


def basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:".encode()).decode()


@pytest.fixture
def credentials(app, live_server: LiveServer, tenant) -> dict[str, str]:
    """An Authorization header per security scheme: the client token comes from a real track, the
    management key may write drafts."""
    tracked = requests.post(f"{live_server.api_url}/users/schemathesis-user/actions/sign-in",
                            headers={"Authorization": basic(tenant.api_key)}, json={}, timeout=10)
    assert tracked.status_code == 200, tracked.text
    with app.app_context():
        _, management_key = create_management_key(Agent("schemathesis", tenant.id), name="schemathesis", access="draft")
    return {SECRET_KEY: basic(tenant.api_key), CLIENT_TOKEN: f"Bearer {tracked.json()['token']}",
            TENANT_ID: basic(tenant.id), MANAGEMENT_KEY: basic(management_key)}


# The HTTP contract, not the database, is under test: one run (on SQLite) keeps CI's time down.
@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                    reason="schemathesis runs in the SQLite pass; the PostgreSQL pass runs the API tests")
@pytest.mark.timeout(300)
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_documented_operation_answers_as_documented(case, live_server: LiveServer, credentials):
    [scheme, *_] = [name for requirement in case.operation.definition.raw["security"] for name in requirement]
    case.call_and_validate(base_url=f"http://{live_server.host}:{live_server.port}",
                           headers={"Authorization": credentials[scheme]},
                           excluded_checks=[negative_data_rejection, positive_data_acceptance])
