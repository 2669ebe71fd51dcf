"""The cookie session is the browser's: the console sets and reads it, the /v1 API never does."""

from __future__ import annotations

import base64

from flask import request


def test_a_signed_in_browser_keeps_its_session_and_the_api_neither_reads_nor_sets_one(app, admin, tenant):
    key = {"Authorization": "Basic " + base64.b64encode(f"{tenant.api_key}:".encode()).decode()}

    tracked = admin.client.post("/v1/users/ann/actions/sign-in", json={}, headers=key)
    # The same browser, holding a console session, calls the API with no key: the session is not a credential.
    anonymous = admin.client.post("/v1/users/ann/actions/sign-in", json={})
    console = admin.get("/console/account")

    assert tracked.status_code == 200 and "Set-Cookie" not in tracked.headers
    assert anonymous.status_code == 401 and "Set-Cookie" not in anonymous.headers
    assert console.status_code == 200  # still signed in: the API calls left the session alone


def test_an_api_request_does_not_open_the_session_at_all(app):
    # Opening it would unsign and decode the cookie on every track for nothing.
    interface = app.session_interface
    with app.test_request_context("/v1/users/ann/actions/sign-in", method="POST"):
        assert interface.is_null_session(interface.open_session(app, request))
    with app.test_request_context("/console/account"):
        assert not interface.is_null_session(interface.open_session(app, request))
