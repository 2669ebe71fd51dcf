"""Bad input, generated, at every Management API write (/v1/management): never a 500, always the
contract's error shape. The same promise and strategies as test_bad_input_properties.py; bodies are
biased towards the Go client's field names so values reach validation and the services."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.tenancy.audit import Agent
from app.services.tenancy.management_keys import create_management_key
from tests.api.test_bad_input_properties import PROPERTY, assert_clean_answer, awkward_text, bodies, path_segments
from tests.conftest import ApiClient

ACTION_FIELDS = ["actionCode", "defaultUserActionResult", "messagingTemplates", "verificationMethods",
                 "promptToEnrollVerificationMethods", "defaultVerificationMethod"]
RULE_FIELDS = ["name", "description", "isActive", "priority", "type", "verificationMethods",
               "promptToEnrollVerificationMethods", "defaultVerificationMethod", "conditions"]
DATA_POINT_FIELDS = ["id", "name", "dataType", "modelType", "description", "isPublic"]
VALUE_LIST_FIELDS = ["name", "alias", "itemType", "valueListItems", "isActive"]


class ManagementClient(ApiClient):
    def request(self, method: str, path: str, **kwargs):
        return super().request(method, "/management" + path, **kwargs)


@pytest.fixture
def management(app, client, tenant) -> ManagementClient:
    """A publishing key (the path that does the most per write) and an action with a rule, a data
    point and a value list to change."""
    with app.app_context():
        _, raw = create_management_key(Agent("test", tenant.id), name="fuzz", access="publish")
    api = ManagementClient(client, raw)
    api.post("/action-configurations", json={"actionCode": "payout", "defaultUserActionResult": "ALLOW"})
    rule = api.post("/action-configurations/payout/rules", json={"name": "Big", "priority": 0, "type": "REVIEW",
                                                                 "conditions": {">": [{"var": "custom.amount"}, 1]}})
    point = api.post("/custom-data-points", json={"name": "amount", "dataType": "number", "modelType": "action"})
    api.post("/value-lists", json={"name": "Payees", "valueListItems": ["a"]})
    api.rule_id, api.point_id = rule.get_json()["ruleId"], point.get_json()["id"]
    return api


WRITES = [
    ("POST", "/action-configurations", ACTION_FIELDS),
    ("PATCH", "/action-configurations/payout", ACTION_FIELDS),
    ("POST", "/action-configurations/payout/publish", ["note"]),
    ("POST", "/action-configurations/payout/rules", RULE_FIELDS),
    ("PATCH", "/action-configurations/payout/rules/{rule}", RULE_FIELDS),
    ("POST", "/custom-data-points", DATA_POINT_FIELDS),
    ("PATCH", "/custom-data-points/{point}", DATA_POINT_FIELDS),
    ("POST", "/value-lists", VALUE_LIST_FIELDS),
    ("PATCH", "/value-lists/payees", VALUE_LIST_FIELDS),
    ("PATCH", "/tollgate/review-sla/payout", ["reviewDeadlineMinutes", "reviewOverduePolicy"]),
    ("POST", "/tollgate/webhook-endpoints", ["url", "description", "eventTypes", "isActive"]),
    ("PATCH", "/tollgate/tenant-settings", ["name", "logoUrl", "webauthnRpId", "webauthnRpName", "webauthnOrigins",
                                            "redirectAllowlist", "clientTokenTtl"]),
]


@pytest.mark.parametrize(("method", "path", "fields"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_writes(management, method, path, fields):
    resolved = path.format(rule=management.rule_id, point=management.point_id)

    @PROPERTY
    @given(body=bodies(fields), params=st.dictionaries(st.sampled_from(["publish", "note"]), awkward_text, max_size=2))
    def check(body, params):
        assert_clean_answer(management.request(method, f"{resolved}?{urlencode(params)}", json=body))

    check()


@PROPERTY
@given(segment=path_segments, method=st.sampled_from(["GET", "PATCH", "DELETE"]))
def test_paths(management, segment, method):
    quoted = quote(segment, safe="")
    for path in (f"/action-configurations/{quoted}", f"/action-configurations/payout/rules/{quoted}",
                 f"/custom-data-points/{quoted}", f"/value-lists/{quoted}", f"/tollgate/review-sla/{quoted}",
                 f"/tollgate/webhook-endpoints/{quoted}"):
        if method == "GET" or not path.startswith("/tollgate/webhook"):
            assert_clean_answer(management.request(method, path, json={} if method == "PATCH" else None))
