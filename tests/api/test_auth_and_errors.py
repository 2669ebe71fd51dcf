"""Secret-key authentication and the error contract on every path."""

import base64

import pytest

WRONG_KEY_DESCRIPTION = (
    "The request is unauthorized. Check that your API key and region base URL are correctly configured."
)


def basic(username: str, password: str = "") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.mark.parametrize("headers", [
    {},
    basic("tg_sk_wrong"),
    basic(""),
    {"Authorization": "Bearer something"},
    {"Authorization": "Basic !!!"},
])
def test_missing_or_wrong_key_is_401_with_the_contract_body(client, tenant, headers):
    response = client.get("/v1/users/alice", headers=headers)

    assert response.status_code == 401
    assert response.content_type == "application/json"
    assert response.get_json() == {"error": "unauthorized", "errorCode": "unauthorized",
                                   "errorDescription": WRONG_KEY_DESCRIPTION}


def test_revoked_key_is_401(client, app, tenant):
    from app.extensions import db
    from app.models.base import utcnow
    from app.services.tenancy.api_keys import find_api_key

    with app.app_context():
        find_api_key(tenant.api_key).revoked_at = utcnow()
        db.session.commit()

    assert client.get("/v1/users/alice", headers=basic(tenant.api_key)).status_code == 401


def test_key_is_stored_only_as_a_digest(app, tenant):
    from app.services.tenancy.api_keys import find_api_key

    with app.app_context():
        key = find_api_key(tenant.api_key)
        assert tenant.api_key not in (key.digest, key.hint, key.secret_ciphertext)
        assert key.last_used_at is None


def test_use_is_recorded(client, app, tenant):
    from app.services.tenancy.api_keys import find_api_key

    client.get("/v1/users/alice", headers=basic(tenant.api_key))
    with app.app_context():
        assert find_api_key(tenant.api_key).last_used_at is not None


def test_unknown_api_route_is_a_json_404(api):
    response = api.get("/nothing/here")

    assert response.status_code == 404
    assert response.get_json()["errorCode"] == "not_found"


def test_wrong_method_is_a_json_405_that_names_the_allowed_ones(api, client):
    response = api.request("PUT", "/validate")

    assert response.status_code == 405
    assert response.get_json()["errorCode"] == "method_not_allowed"
    assert response.mimetype == "application/json"
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    page = client.put("/auth/login")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


def test_api_answers_are_never_cached_sniffed_or_framed(api, client, tenant):
    tracked = api.post("/users/alice/actions/sign-in", json={})
    refused = client.get("/v1/users/alice", headers=basic("wrong-key-" + "x" * 30))
    client_api = client.get("/v1/client/user-authenticators",
                            headers={"Authorization": f"Bearer {tracked.get_json()['token']}"})

    for response in (tracked, refused, client_api):
        assert response.headers["Cache-Control"] == "no-store"  # tokens and personal data
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.content_type == "application/json"  # exactly: the Python SDK insists


def test_health_is_public(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_non_api_404_is_a_page(client):
    response = client.get("/nowhere")

    assert response.status_code == 404
    assert response.content_type.startswith("text/html")


def test_a_refusal_keeps_its_headers_on_a_page_as_in_json(app_env, tmp_path):
    from app import create_app
    from app.domain.errors import TooManyRequests

    fresh = create_app({**app_env, "TOLLGATE_INSTANCE_PATH": str(tmp_path)})

    def refuse():
        raise TooManyRequests("Slow down.", retry_after=60)

    fresh.add_url_rule("/slow-page", view_func=refuse)
    fresh.add_url_rule("/v1/slow-api", view_func=refuse)
    client = fresh.test_client()

    for path in ("/slow-page", "/v1/slow-api"):
        response = client.get(path)
        assert response.status_code == 429 and response.headers["Retry-After"] == "60", path
