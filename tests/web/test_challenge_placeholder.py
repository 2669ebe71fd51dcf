"""The track response's url opens a hosted page (a placeholder until the challenge pages land)."""


def test_track_url_opens_the_hosted_page_with_strict_headers(api, client):
    url = api.post("/users/alice/actions/withdraw-funds", json={}).get_json()["url"]

    response = client.get(url.removeprefix("http://localhost:5000"))

    assert response.status_code == 200
    assert b"withdraw-funds" in response.data
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src" not in response.headers["Content-Security-Policy"]


def test_invalid_token_gets_a_clear_page(client):
    response = client.get("/challenge?token=garbage")

    assert response.status_code == 400
    assert b"This link is not valid" in response.data
