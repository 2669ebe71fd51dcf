"""The Management API (/v1/management) over real HTTP, in the shapes Authsignal's own tools send.

The wire shapes, as read in ``authsignal/authsignal-management-go`` (v6) and
``authsignal/terraform-provider-authsignal`` (docs/resources/*.md, internal/provider/*_resource.go):

* Base URL: the provider's ``host`` (e.g. ``https://api.authsignal.com/v1/management``); the Go
  client appends the resource path to it. Auth: ``request.SetBasicAuth(apiSecret, "")``, i.e.
  HTTP Basic with the management secret as the username and an empty password. Bodies are JSON
  with ``Content-Type: application/json``; GET and DELETE carry none.
* The client treats any 2xx as success, a status >= 500 as a bare failure, and otherwise reads
  ``error`` and ``errorDescription`` from the body. The provider drops a resource from its state
  when a GET answers 404.
* Request fields are ``NullableJsonInput``: a field left unset is omitted, ``SetNull`` sends an
  explicit ``null`` (the provider does that on update for optional fields it no longer has).
* ``POST /action-configurations`` {actionCode, defaultUserActionResult, messagingTemplates,
  verificationMethods, promptToEnrollVerificationMethods, defaultVerificationMethod};
  ``GET|PATCH|DELETE /action-configurations/{actionCode}``. Response: {lastActionCreatedAt,
  defaultUserActionResult, tenantId, actionCode, messagingTemplates, verificationMethods,
  promptToEnrollVerificationMethods, defaultVerificationMethod}.
* ``POST /action-configurations/{actionCode}/rules`` {name, description, isActive, priority, type,
  verificationMethods, promptToEnrollVerificationMethods, defaultVerificationMethod, conditions
  (JsonLogic)}; ``GET|PATCH|DELETE .../rules/{ruleId}``. Response: the same plus ruleId, tenantId,
  actionCode. Terraform imports a rule as ``actionCode/ruleId``.
* ``POST /custom-data-points`` {id, name, dataType (text|number|boolean|multiselect), modelType
  (action|user), description, isPublic}; ``GET|PATCH|DELETE /custom-data-points/{id}``.
* ``POST /value-lists`` {name, alias, itemType, valueListItems, isActive};
  ``GET|PATCH|DELETE /value-lists/{alias}``; the alias is made from the name when left out.
* DELETE answers ``HttpStatusResponse`` {success, statusCode, message, error, errorDescription}
  (Go matches the names case-insensitively).

What Tollgate adds is checked here too: writes edit the draft and go live when published (or at
once for a ``publish`` key), every write is audited with the key, read-only keys, strict bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Tenant
from app.models.base import utcnow
from app.services.delivery.endpoints import EndpointInput, create_endpoint
from app.services.tenancy.audit import Agent
from app.services.tenancy.management_keys import create_management_key, revoke_management_key
from tests import openapi_answers
from tests.factories import add_tenant_with_key

pytestmark = pytest.mark.sdk

ACTION_FIELDS = {"lastActionCreatedAt", "defaultUserActionResult", "tenantId", "actionCode", "messagingTemplates",
                 "verificationMethods", "promptToEnrollVerificationMethods", "defaultVerificationMethod"}
RULE_FIELDS = {"name", "description", "isActive", "priority", "actionCode", "ruleId", "tenantId", "type",
               "verificationMethods", "promptToEnrollVerificationMethods", "defaultVerificationMethod", "conditions"}
DATA_POINT_FIELDS = {"id", "name", "dataType", "modelType", "description", "isPublic"}
VALUE_LIST_FIELDS = {"name", "alias", "itemType", "valueListItems", "isActive"}
# The provider's example rule (docs/resources/rule.md), as the Go client marshals it; without
# promptToEnrollVerificationMethods, which Tollgate refuses (see test_unsupported_fields_are_refused).
TERRAFORM_RULE = {
    "name": "made-with-terraform",
    "description": "hello world",
    "isActive": False,
    "priority": 2,
    "type": "CHALLENGE",
    "verificationMethods": ["AUTHENTICATOR_APP", "EMAIL_MAGIC_LINK", "EMAIL_OTP"],
    "defaultVerificationMethod": "EMAIL_OTP",
    "conditions": {"and": [{"==": [{"var": "ip.isAnonymous"}, False]}]},
}


@dataclass
class Management:
    """What the Go client does: Basic auth with the secret as username, JSON bodies, host + path."""

    base: str
    secret: str
    session: requests.Session

    def call(self, method: str, path: str, body: object | None = None, **params: str) -> requests.Response:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        response = self.session.request(method, self.base + path, json=body, headers=headers, params=params,
                                        auth=(self.secret, ""), timeout=10)
        # Every answer these shapes provoke is also held to /v1/openapi.json.
        found = openapi_answers.problems(method, self.base + path, response.status_code, response.json())
        assert found == [], f"{method} {path} answered off its documented schema: {found}"
        return response


@pytest.fixture
def management(app, live_server, tenant) -> Iterator[Callable[..., Management]]:
    """``management(access="draft", tenant_id=None)``: a client holding a new management key."""
    sessions: list[requests.Session] = []

    def build(access: str = "draft", *, tenant_id: str | None = None, name: str = "Terraform") -> Management:
        with app.app_context():
            _, raw = create_management_key(Agent("test", tenant_id or tenant.id), name=name, access=access)
        session = requests.Session()
        sessions.append(session)
        return Management(f"http://{live_server.host}:{live_server.port}/v1/management", raw, session)

    yield build
    for session in sessions:
        session.close()


def track(live_server, tenant, code: str, user_id: str = "user-1") -> str:
    """The server API's decision for ``code``: what the live version says."""
    response = requests.post(f"{live_server.api_url}/users/{user_id}/actions/{code}", json={},
                             auth=(tenant.api_key, ""), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["state"]


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "errorCode", "errorDescription"} and body["error"] == body["errorCode"]
    if code is not None:
        assert body["errorCode"] == code, body
    return body


def audit_events(app, tenant_id: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
                                       .order_by(AuditEvent.id)).scalars())


# -- action configurations ------------------------------------------------------------------------------


def test_action_configuration_lifecycle_as_the_go_client_drives_it(app, management, live_server, tenant):
    api = management()
    created = api.call("POST", "/action-configurations", {
        "actionCode": "terraform-provider-test", "defaultUserActionResult": "BLOCK",
        "verificationMethods": ["EMAIL_OTP", "PASSKEY"], "defaultVerificationMethod": "EMAIL_OTP",
    })
    assert created.status_code == 200, created.text
    body = created.json()
    assert set(body) >= ACTION_FIELDS
    assert body["actionCode"] == "terraform-provider-test" and body["tenantId"] == tenant.id
    assert body["defaultUserActionResult"] == "BLOCK"
    assert body["verificationMethods"] == ["EMAIL_OTP", "PASSKEY"] and body["defaultVerificationMethod"] == "EMAIL_OTP"
    # null, not []: the provider would read [] as a list set, differing from a config without one.
    assert body["promptToEnrollVerificationMethods"] is None and body["lastActionCreatedAt"] is None
    assert track(live_server, tenant, "terraform-provider-test") == "BLOCK"  # creating publishes version 1

    read = api.call("GET", "/action-configurations/terraform-provider-test").json()
    assert {key: read[key] for key in ACTION_FIELDS - {"lastActionCreatedAt"}} == \
        {key: body[key] for key in ACTION_FIELDS - {"lastActionCreatedAt"}}
    assert read["lastActionCreatedAt"]  # the track above

    # The provider's update: every field it has, optional ones it lost as null.
    updated = api.call("PATCH", "/action-configurations/terraform-provider-test", {
        "defaultUserActionResult": "ALLOW", "verificationMethods": ["PASSKEY"], "defaultVerificationMethod": None,
    })
    assert updated.status_code == 200, updated.text
    assert updated.json()["defaultUserActionResult"] == "ALLOW" and updated.json()["defaultVerificationMethod"] is None
    assert updated.json()["tollgate"]["draftPending"] is True
    assert track(live_server, tenant, "terraform-provider-test") == "BLOCK"  # only the draft changed

    published = api.call("POST", "/action-configurations/terraform-provider-test/publish", {"note": "Allow by default"})
    assert published.status_code == 200, published.text
    assert published.json()["version"] == 2 and published.json()["note"] == "Allow by default"
    assert track(live_server, tenant, "terraform-provider-test") == "ALLOW"

    deleted = api.call("DELETE", "/action-configurations/terraform-provider-test")
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert_error(api.call("GET", "/action-configurations/terraform-provider-test"), 404, "action_not_found")


def test_publish_needs_a_note_and_a_change(management):
    api = management()
    api.call("POST", "/action-configurations", {"actionCode": "login", "defaultUserActionResult": "ALLOW"})
    assert_error(api.call("POST", "/action-configurations/login/publish", {"note": "nothing"}), 400, "draft_unchanged")
    api.call("PATCH", "/action-configurations/login", {"defaultUserActionResult": "CHALLENGE"})
    assert_error(api.call("POST", "/action-configurations/login/publish", {}), 400, "note_required")


def test_a_publish_key_makes_every_write_live(management, live_server, tenant):
    api = management("publish")
    api.call("POST", "/action-configurations", {"actionCode": "payout", "defaultUserActionResult": "ALLOW"})
    rule_response = api.call("POST", "/action-configurations/payout/rules",
                             {"name": "Everyone", "priority": 0, "type": "BLOCK", "isActive": True,
                              "conditions": None})
    assert rule_response.status_code == 200, rule_response.text
    assert track(live_server, tenant, "payout") == "BLOCK"
    rule_id = rule_response.json()["ruleId"]
    api.call("PATCH", f"/action-configurations/payout/rules/{rule_id}", {"type": "REVIEW"})
    assert track(live_server, tenant, "payout") == "REVIEW_REQUIRED"
    api.call("DELETE", f"/action-configurations/payout/rules/{rule_id}")
    assert track(live_server, tenant, "payout") == "ALLOW"
    view = api.call("GET", "/action-configurations/payout").json()["tollgate"]
    assert view == {**view, "liveVersion": 4, "draftPending": False}


def test_publish_true_asks_for_it_on_a_draft_key(management, live_server, tenant):
    api = management("draft")
    api.call("POST", "/action-configurations", {"actionCode": "payout", "defaultUserActionResult": "ALLOW"})
    api.call("PATCH", "/action-configurations/payout", {"defaultUserActionResult": "BLOCK"},
             publish="true", note="Closed for the weekend")
    assert track(live_server, tenant, "payout") == "BLOCK"
    assert_error(api.call("PATCH", "/action-configurations/payout", {}, publish="maybe"), 400)


# -- rules ------------------------------------------------------------------------------------------------


def test_rule_lifecycle_as_terraform_drives_it(management, live_server, tenant):
    api = management()
    api.call("POST", "/action-configurations", {"actionCode": "test-rules", "defaultUserActionResult": "ALLOW",
                                                "verificationMethods": ["AUTHENTICATOR_APP", "EMAIL_MAGIC_LINK",
                                                                        "EMAIL_OTP", "PASSKEY"]})
    created = api.call("POST", "/action-configurations/test-rules/rules", TERRAFORM_RULE)
    assert created.status_code == 200, created.text
    body = created.json()
    assert set(body) >= RULE_FIELDS
    assert {key: body[key] for key in TERRAFORM_RULE} == TERRAFORM_RULE
    assert body["actionCode"] == "test-rules" and body["tenantId"] == tenant.id and body["ruleId"]

    path = f"/action-configurations/test-rules/rules/{body['ruleId']}"
    assert api.call("GET", path).json() == body
    assert [r["ruleId"] for r in api.call("GET", "/action-configurations/test-rules/rules").json()] == [body["ruleId"]]

    # The provider's update: required fields always, optional ones it no longer has as null.
    updated = api.call("PATCH", path, {
        "name": "made-with-terraform", "isActive": True, "priority": 5, "type": "BLOCK",
        "description": None, "defaultVerificationMethod": None, "verificationMethods": None,
        "promptToEnrollVerificationMethods": None,
        "conditions": {"!": [{"var": "ip.isAnonymous"}]},
    })
    assert updated.status_code == 200, updated.text
    assert {k: updated.json()[k] for k in ("description", "isActive", "priority", "type", "verificationMethods",
                                            "defaultVerificationMethod")} == \
        {"description": "", "isActive": True, "priority": 5, "type": "BLOCK", "verificationMethods": None,
         "defaultVerificationMethod": None}
    assert track(live_server, tenant, "test-rules") == "ALLOW"  # draft only
    api.call("POST", "/action-configurations/test-rules/publish", {"note": "Block known addresses"})
    assert track(live_server, tenant, "test-rules") == "BLOCK"

    # A partial PATCH (the Go client's own use) leaves the rest as it was.
    renamed = api.call("PATCH", path, {"name": "renamed"}).json()
    assert renamed == {**updated.json(), "name": "renamed"}

    deleted = api.call("DELETE", path)
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert_error(api.call("GET", path), 404, "rule_not_found")


def test_rule_ids_are_looked_up_within_their_action(management):
    api = management()
    for code in ("a", "b"):
        api.call("POST", "/action-configurations", {"actionCode": code, "defaultUserActionResult": "ALLOW"})
    rule_id = api.call("POST", "/action-configurations/a/rules",
                       {"name": "r", "priority": 0, "type": "BLOCK"}).json()["ruleId"]
    assert_error(api.call("GET", f"/action-configurations/b/rules/{rule_id}"), 404, "rule_not_found")


# -- validation --------------------------------------------------------------------------------------------


@pytest.fixture
def action_with_rule(management):
    api = management()
    api.call("POST", "/action-configurations", {"actionCode": "payout", "defaultUserActionResult": "ALLOW"})
    rule_id = api.call("POST", "/action-configurations/payout/rules",
                       {"name": "Big", "priority": 0, "type": "REVIEW",
                        "conditions": {">": [{"var": "custom.amount"}, 100]}}).json()["ruleId"]
    return api, rule_id


@pytest.mark.parametrize(("body", "status", "code", "says"), [
    ({"name": "x", "priority": 1, "type": "BLOCK", "conditions": {"nope": [1, 2]}}, 400, "invalid_rule_conditions",
     "nope"),
    ({"name": "x", "priority": 1, "type": "BLOCK", "conditions": {"and": [{"==": [{"var": "custom.amount"}]}]}}, 400,
     "invalid_rule_conditions", "and[0]"),
    ({"name": "x", "priority": 0, "type": "BLOCK"}, 409, "priority_taken", "“Big”"),
    ({"name": "x", "priority": 100, "type": "BLOCK"}, 400, "invalid_request", "priority"),
    ({"name": "x", "priority": 1, "type": "MAYBE"}, 400, "invalid_request", "type"),
    ({"name": "x", "priority": 1, "type": "BLOCK", "colour": "red"}, 400, "invalid_request", "colour"),
    ({"name": "x", "priority": "1", "type": "BLOCK"}, 400, "invalid_request", "priority"),
    ({"priority": 1, "type": "BLOCK"}, 400, "invalid_request", "name"),
    ({"name": "x", "priority": 1, "type": "BLOCK", "promptToEnrollVerificationMethods": ["PASSKEY"]}, 400,
     "unsupported_field", "promptToEnrollVerificationMethods"),
    ({"name": "x", "priority": 1, "type": "CHALLENGE", "verificationMethods": ["PASSKEY"],
      "defaultVerificationMethod": "EMAIL_OTP"}, 400, "invalid_request", "defaultVerificationMethod"),
    ([1, 2], 400, "invalid_request", "object"),
])
def test_a_bad_rule_is_refused_saying_what_and_where(action_with_rule, body, status, code, says):
    api, _ = action_with_rule
    error = assert_error(api.call("POST", "/action-configurations/payout/rules", body), status, code)
    assert says in error["errorDescription"]


def test_a_bad_rule_update_changes_nothing(action_with_rule):
    api, rule_id = action_with_rule
    path = f"/action-configurations/payout/rules/{rule_id}"
    before = api.call("GET", path).json()
    api.call("POST", "/action-configurations/payout/rules", {"name": "Second", "priority": 1, "type": "BLOCK"})
    assert "priority" in assert_error(api.call("PATCH", path, {"priority": 1}), 409, "priority_taken")["errorDescription"]
    assert_error(api.call("PATCH", path, {"name": None}), 400)
    assert_error(api.call("PATCH", path, {"conditions": {"var": {"a": 1}}, "name": "changed"}), 400, "invalid_rule_conditions")
    assert api.call("GET", path).json() == before


def test_unsupported_fields_are_refused(management):
    api = management()
    error = assert_error(api.call("POST", "/action-configurations", {
        "actionCode": "x", "defaultUserActionResult": "BLOCK", "messagingTemplates": {"en": {"defaultTemplate": "hi"}},
    }), 400, "unsupported_field")
    assert "messagingTemplates" in error["errorDescription"]
    assert_error(api.call("POST", "/action-configurations", {"actionCode": "bad code!",
                                                             "defaultUserActionResult": "BLOCK"}), 400)
    assert_error(api.call("POST", "/action-configurations", {"actionCode": "x"}), 400)
    assert_error(api.call("GET", "/action-configurations/x"), 404)


# -- custom data points and value lists --------------------------------------------------------------------


@pytest.mark.parametrize(("data_type", "model_type"), [("text", "user"), ("number", "action"), ("boolean", "user"),
                                                       ("multiselect", "action")])
def test_custom_data_point_lifecycle(management, data_type, model_type):
    api = management()
    created = api.call("POST", "/custom-data-points", {"name": "MyCustomDataPoint", "dataType": data_type,
                                                       "modelType": model_type, "description": "My data point"})
    assert created.status_code == 200, created.text
    body = created.json()
    assert set(body) == DATA_POINT_FIELDS
    assert body == {**body, "name": "MyCustomDataPoint", "dataType": data_type, "modelType": model_type,
                    "description": "My data point", "isPublic": False}
    path = f"/custom-data-points/{body['id']}"
    assert api.call("GET", path).json() == body
    assert api.call("GET", "/custom-data-points").json() == [body]
    updated = api.call("PATCH", path, {"name": "MyCustomDataPoint", "dataType": "text", "modelType": model_type,
                                       "description": None, "isPublic": False})
    assert updated.status_code == 200, updated.text
    assert updated.json() == {**body, "dataType": "text", "description": ""}
    # The provider's update sends isPublic alone (every other field forces a replacement).
    assert api.call("PATCH", path, {"isPublic": False}).json() == updated.json()
    assert api.call("DELETE", path).json()["success"] is True
    assert_error(api.call("GET", path), 404, "custom_data_point_not_found")


def test_custom_data_point_refusals(management):
    api = management()
    assert_error(api.call("POST", "/custom-data-points", {"name": "x", "dataType": "text", "modelType": "action",
                                                          "isPublic": True}), 400, "unsupported_field")
    wrong_type = assert_error(api.call("POST", "/custom-data-points", {"name": "x", "dataType": "date",
                                                                       "modelType": "action"}), 400)
    assert wrong_type["errorDescription"].startswith("dataType: ")
    assert_error(api.call("POST", "/custom-data-points", {"name": "bad name", "dataType": "text",
                                                          "modelType": "action"}), 400)
    point = api.call("POST", "/custom-data-points", {"name": "x", "dataType": "text", "modelType": "action"}).json()
    assert_error(api.call("POST", "/custom-data-points", {"name": "x", "dataType": "text", "modelType": "action"}), 400)
    assert_error(api.call("PATCH", f"/custom-data-points/{point['id']}", {"name": "y"}), 400)


def test_value_list_lifecycle_as_terraform_drives_it(management):
    api = management()
    strings = api.call("POST", "/value-lists", {"name": "Example Value List Strings", "isActive": True,
                                                "valueListItems": ["hello", "world", "I am a string"]})
    assert strings.status_code == 200, strings.text
    assert strings.json() == {"name": "Example Value List Strings", "alias": "example-value-list-strings",
                              "itemType": "string", "valueListItems": ["hello", "world", "I am a string"],
                              "isActive": True}
    numbers = api.call("POST", "/value-lists", {"name": "Example Value List Numbers", "isActive": True,
                                                "itemType": "number", "valueListItems": [1, 2, 3]}).json()
    assert numbers == {"name": "Example Value List Numbers", "alias": "example-value-list-numbers",
                       "itemType": "number", "valueListItems": [1, 2, 3], "isActive": True}
    assert set(api.call("GET", "/value-lists/example-value-list-strings").json()) == VALUE_LIST_FIELDS
    assert api.call("GET", "/value-lists").json() == [numbers, strings.json()]  # by alias
    updated = api.call("PATCH", "/value-lists/example-value-list-numbers", {"name": "Numbers", "isActive": True,
                                                                            "valueListItems": [4, 5]})
    assert updated.json() == {**numbers, "name": "Numbers", "valueListItems": [4, 5]}
    assert_error(api.call("PATCH", "/value-lists/example-value-list-numbers", {"valueListItems": ["x"]}), 400)

    # A rule reads the list: deleting it would make "not in list" match everything.
    api.call("POST", "/action-configurations", {"actionCode": "pay", "defaultUserActionResult": "ALLOW"})
    api.call("POST", "/action-configurations/pay/rules", {"name": "Listed", "priority": 0, "type": "BLOCK",
                                                          "conditions": {"in": [{"var": "custom.payee"}, {
                                                              "var": "lists.example-value-list-strings"}]}})
    assert_error(api.call("DELETE", "/value-lists/example-value-list-strings"), 409, "custom_list_in_use")
    assert api.call("DELETE", "/value-lists/example-value-list-numbers").json()["success"] is True
    assert_error(api.call("GET", "/value-lists/example-value-list-numbers"), 404)
    assert_error(api.call("POST", "/value-lists", {"name": "Off", "isActive": False}), 400)


# -- auth -----------------------------------------------------------------------------------------------------


def test_only_a_live_management_key_opens_the_api(app, management, live_server, tenant):
    api = management()
    base = api.base + "/action-configurations"
    assert_error(requests.get(base, timeout=10), 401)
    assert_error(requests.get(base, auth=("tg_mk_wrong", ""), timeout=10), 401)
    assert_error(requests.get(base, auth=(tenant.api_key, ""), timeout=10), 401)  # a server key
    assert_error(requests.get(base, headers={"Authorization": f"Bearer {api.secret}"}, timeout=10), 401)
    assert requests.get(base, auth=(api.secret, ""), timeout=10).status_code == 200
    # ... and a management key opens no server API.
    assert_error(requests.post(f"{live_server.api_url}/users/u/actions/login", json={}, auth=(api.secret, ""),
                               timeout=10), 401)

    with app.app_context():
        key, raw = create_management_key(Agent("test", tenant.id), name="Old", access="draft")
        revoke_management_key(Agent("test", tenant.id), key.id, now=utcnow())
    assert_error(requests.get(base, auth=(raw, ""), timeout=10), 401)


def test_a_read_only_key_reads_and_is_refused_every_write(management):
    writer, reader = management("draft"), management("read")
    writer.call("POST", "/action-configurations", {"actionCode": "login", "defaultUserActionResult": "ALLOW"})
    assert reader.call("GET", "/action-configurations/login").status_code == 200
    for method, path, body in [
        ("POST", "/action-configurations", {"actionCode": "x", "defaultUserActionResult": "ALLOW"}),
        ("PATCH", "/action-configurations/login", {"defaultUserActionResult": "BLOCK"}),
        ("DELETE", "/action-configurations/login", None),
        ("POST", "/action-configurations/login/rules", {"name": "r", "priority": 0, "type": "BLOCK"}),
        ("POST", "/action-configurations/login/publish", {"note": "x"}),
        ("POST", "/custom-data-points", {"name": "x", "dataType": "text", "modelType": "action"}),
        ("POST", "/value-lists", {"name": "x"}),
        ("PATCH", "/tollgate/review-sla/login", {"reviewDeadlineMinutes": 5}),
        ("POST", "/tollgate/webhook-endpoints", {"url": "https://hooks.example.com/"}),
        ("PATCH", "/tollgate/tenant-settings", {"name": "Mine now"}),
        ("PUT", "/tollgate/theme", {"primaryColor": "#000000"}),
    ]:
        assert_error(reader.call(method, path, body), 403, "read_only_key")
    assert writer.call("GET", "/action-configurations/login").json()["defaultUserActionResult"] == "ALLOW"


def test_tenants_do_not_see_each_other(app, management, tenant):
    other_id, _ = add_tenant_with_key(app, "Other")
    ours, theirs = management(), management(tenant_id=other_id)
    ours.call("POST", "/action-configurations", {"actionCode": "login", "defaultUserActionResult": "BLOCK"})
    point = ours.call("POST", "/custom-data-points", {"name": "x", "dataType": "text", "modelType": "action"}).json()
    assert_error(theirs.call("GET", "/action-configurations/login"), 404)
    assert_error(theirs.call("PATCH", "/action-configurations/login", {"defaultUserActionResult": "ALLOW"}), 404)
    assert_error(theirs.call("GET", f"/custom-data-points/{point['id']}"), 404)
    assert_error(theirs.call("DELETE", f"/custom-data-points/{point['id']}"), 404)
    assert theirs.call("GET", "/action-configurations").json() == []
    created = theirs.call("POST", "/action-configurations", {"actionCode": "login", "defaultUserActionResult": "ALLOW"})
    assert created.json()["tenantId"] == other_id
    assert ours.call("GET", "/action-configurations/login").json()["defaultUserActionResult"] == "BLOCK"


# -- audit ----------------------------------------------------------------------------------------------------


def test_every_write_is_audited_naming_the_key(app, management, tenant):
    api = management(name="Terraform (staging)")
    hint = "…" + api.secret[-4:]
    api.call("POST", "/action-configurations", {"actionCode": "login", "defaultUserActionResult": "ALLOW"})
    rule_id = api.call("POST", "/action-configurations/login/rules",
                       {"name": "r", "priority": 0, "type": "BLOCK"}).json()["ruleId"]
    api.call("PATCH", f"/action-configurations/login/rules/{rule_id}", {"type": "REVIEW"})
    api.call("POST", "/action-configurations/login/publish", {"note": "Review everyone"})
    api.call("DELETE", f"/action-configurations/login/rules/{rule_id}")
    api.call("POST", "/custom-data-points", {"name": "x", "dataType": "text", "modelType": "action"})
    api.call("POST", "/value-lists", {"name": "Payees", "valueListItems": ["a"]})
    api.call("PATCH", "/tollgate/review-sla/login", {"reviewDeadlineMinutes": 30})
    api.call("DELETE", "/action-configurations/login")
    events = [e for e in audit_events(app, tenant.id) if e.event != "management_key.created"]
    assert [e.event for e in events] == [
        "action.created", "rule.created", "rule.updated", "action.published", "rule.deleted",
        "custom_data_point.created", "custom_list.created", "action.updated", "action.deleted",
    ]
    assert {e.actor_email for e in events} == {f"management key “Terraform (staging)” ({hint})"}
    assert all(e.actor_id is None for e in events)


def test_reads_and_refused_writes_are_not_audited(app, management, tenant):
    api = management()
    api.call("GET", "/action-configurations")
    api.call("POST", "/action-configurations", {"actionCode": "bad code", "defaultUserActionResult": "ALLOW"})
    assert [e.event for e in audit_events(app, tenant.id)] == ["management_key.created"]


# -- Tollgate's own resources -------------------------------------------------------------------------------


def test_webhook_endpoints_are_read_without_secrets(app, management, tenant, private_networks_allowed):
    with app.app_context():
        endpoint = create_endpoint(Agent("test", tenant.id), EndpointInput(url="https://hooks.example.com/tollgate",
                                                                            event_types=["action.review_decided"]),
                                   settings=private_networks_allowed, now=utcnow())
        endpoint_id = endpoint.id
    api = management("read")
    listed = api.call("GET", "/tollgate/webhook-endpoints").json()
    assert [e["id"] for e in listed] == [endpoint_id]
    assert set(listed[0]) == {"id", "url", "description", "eventTypes", "isActive", "createdAt", "updatedAt"}
    assert api.call("GET", f"/tollgate/webhook-endpoints/{endpoint_id}").json() == listed[0]
    assert_error(api.call("GET", "/tollgate/webhook-endpoints/nope"), 404)


def test_webhook_endpoints_are_written_as_in_the_console(app, management, tenant, private_networks_allowed):
    api = management()
    created = api.call("POST", "/tollgate/webhook-endpoints", {"url": "https://hooks.example.com/a",
                                                               "eventTypes": ["action.created"]})
    assert created.status_code == 200, created.text
    endpoint = created.json()
    assert endpoint == {**endpoint, "url": "https://hooks.example.com/a", "eventTypes": ["action.created"],
                        "isActive": True, "description": ""}
    path = f"/tollgate/webhook-endpoints/{endpoint['id']}"
    updated = api.call("PATCH", path, {"isActive": False, "description": "Paused"}).json()
    assert updated == {**endpoint, "isActive": False, "description": "Paused", "updatedAt": updated["updatedAt"]}
    refused = assert_error(api.call("PATCH", path, {"eventTypes": ["nope"]}), 400)
    assert refused["errorDescription"].startswith("eventTypes: ")
    assert api.call("DELETE", path).json()["success"] is True
    assert_error(api.call("GET", path), 404)
    assert [e.event for e in audit_events(app, tenant.id)][-3:] == [
        "webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.deleted"]


def test_review_sla_per_action(management):
    api = management()
    api.call("POST", "/action-configurations", {"actionCode": "payout", "defaultUserActionResult": "REVIEW"})
    assert api.call("GET", "/tollgate/review-sla/payout").json() == {
        "actionCode": "payout", "reviewDeadlineMinutes": None, "reviewOverduePolicy": "FLAG"}
    updated = api.call("PATCH", "/tollgate/review-sla/payout", {"reviewDeadlineMinutes": 60,
                                                                 "reviewOverduePolicy": "AUTO_REJECT"})
    assert updated.json() == {"actionCode": "payout", "reviewDeadlineMinutes": 60, "reviewOverduePolicy": "AUTO_REJECT"}
    assert api.call("GET", "/tollgate/review-sla").json() == [updated.json()]
    assert_error(api.call("PATCH", "/tollgate/review-sla/payout", {"reviewDeadlineMinutes": 0}), 400)
    assert_error(api.call("PATCH", "/tollgate/review-sla/payout", {"reviewOverduePolicy": "LATER"}), 400)
    # The deadline is not part of the rule set: nothing to publish.
    assert api.call("GET", "/action-configurations/payout").json()["tollgate"]["draftPending"] is False


def test_tenant_settings_are_read_and_written(app, management, tenant):
    api = management()
    settings = api.call("GET", "/tollgate/tenant-settings").json()
    assert settings == {**settings, "name": "Test tenant", "publishNeedsSecondAdmin": False}
    assert set(settings) >= {"logoUrl", "webauthnRpId", "webauthnOrigins", "redirectAllowlist", "clientTokenTtl"}

    updated = api.call("PATCH", "/tollgate/tenant-settings", {"name": "Acme", "clientTokenTtl": 300,
                                                              "redirectAllowlist": ["https://acme.example/"]})
    assert updated.status_code == 200, updated.text
    assert updated.json() == {**settings, "name": "Acme", "clientTokenTtl": 300,
                              "redirectAllowlist": ["https://acme.example/"]}
    assert api.call("PATCH", "/tollgate/tenant-settings", {"clientTokenTtl": None}).json()["clientTokenTtl"] is None
    bad = assert_error(api.call("PATCH", "/tollgate/tenant-settings", {"webauthnOrigins": ["not a url"]}), 400)
    assert bad["errorDescription"].startswith("webauthnOrigins: ")
    # Four-eyes governs who may publish, keys included: the console's alone.
    assert_error(api.call("PATCH", "/tollgate/tenant-settings", {"publishNeedsSecondAdmin": True}), 400)
    assert api.call("GET", "/tollgate/tenant-settings").json()["name"] == "Acme"
    assert [e.event for e in audit_events(app, tenant.id)][-2:] == ["tenant.settings_updated"] * 2


def test_the_hosted_pages_theme_is_read_and_replaced_with_its_contrast_checked(app, management, tenant):
    api = management()
    assert api.call("GET", "/tollgate/theme").json() == {}

    saved = api.call("PUT", "/tollgate/theme", {"primaryColor": "#05A", "radius": 12, "font": "serif",
                                                "pageTitle": "Acme sign-in"})
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"primaryColor": "#0055aa", "radius": 12, "font": "serif", "pageTitle": "Acme sign-in"}
    assert api.call("GET", "/tollgate/theme").json() == saved.json()

    # Grey text on white fails WCAG AA: refused, naming the pair and the ratio; nothing changes.
    bad = assert_error(api.call("PUT", "/tollgate/theme", {"textColor": "#aaaaaa", "backgroundColor": "#ffffff"}),
                       400, "invalid_theme")
    assert "textColor: " in bad["errorDescription"] and "2.32:1" in bad["errorDescription"]
    assert_error(api.call("PUT", "/tollgate/theme", {"primaryColour": "#000000"}), 400)  # a typo is not ignored
    assert_error(api.call("PUT", "/tollgate/theme", {"radius": 99}), 400, "invalid_theme")
    assert api.call("GET", "/tollgate/theme").json() == saved.json()

    # A PUT replaces the whole theme: what it leaves out goes back to the pages' own look.
    assert api.call("PUT", "/tollgate/theme", {}).json() == {}
    with app.app_context():
        assert db.session.get(Tenant, tenant.id).theme is None
    assert [e.event for e in audit_events(app, tenant.id)][-2:] == ["tenant.theme_updated"] * 2


# -- four-eyes ------------------------------------------------------------------------------------------------


def test_with_four_eyes_on_a_key_edits_drafts_but_publishes_nothing(app, management, live_server, tenant):
    publisher, drafter = management("publish"), management("draft")
    drafter.call("POST", "/action-configurations", {"actionCode": "payout", "defaultUserActionResult": "ALLOW"})
    with app.app_context():
        db.session.get(Tenant, tenant.id).publish_needs_second_admin = True
        db.session.commit()

    refused = publisher.call("POST", "/action-configurations/payout/rules", {"name": "r", "priority": 0,
                                                                             "type": "BLOCK"})
    assert_error(refused, 403, "second_admin_required")
    assert publisher.call("GET", "/action-configurations/payout/rules").json() == []  # refused before writing
    assert_error(drafter.call("PATCH", "/action-configurations/payout", {"defaultUserActionResult": "BLOCK"},
                              publish="true"), 403, "second_admin_required")
    assert drafter.call("PATCH", "/action-configurations/payout", {"defaultUserActionResult": "BLOCK"}).status_code == 200
    assert_error(drafter.call("POST", "/action-configurations/payout/publish", {"note": "x"}), 403,
                 "second_admin_required")
    assert track(live_server, tenant, "payout") == "ALLOW"


def test_a_review_deadline_publishes_no_pending_draft(management, live_server, tenant):
    drafter, publisher = management("draft"), management("publish")
    drafter.call("POST", "/action-configurations", {"actionCode": "payout", "defaultUserActionResult": "ALLOW"})
    drafter.call("PATCH", "/action-configurations/payout", {"defaultUserActionResult": "BLOCK"})
    publisher.call("PATCH", "/tollgate/review-sla/payout", {"reviewDeadlineMinutes": 10})
    assert track(live_server, tenant, "payout") == "ALLOW"
    assert drafter.call("GET", "/action-configurations/payout").json()["tollgate"]["draftPending"] is True
