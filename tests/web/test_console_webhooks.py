"""Console → Webhooks: endpoints (list, create, edit, delete), their delivery log and the test button."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, WebhookDelivery, WebhookEndpoint, WebhookEvent
from app.models.base import utcnow
from app.services.delivery import endpoints, events
from app.services.delivery.worker import SendResult, deliver_due
from tests.html import alerts, field_error, flash_messages, fragment_root, is_fragment, pager_link, parse, table_rows, text_of
from tests.webhook_receiver import running_receiver

ALL = list(events.EVENT_TYPES)


def form(url="https://hooks.example/tollgate", events=ALL, description="Fraud team", active=True) -> dict:
    data = {"url": url, "description": description, "event_types": list(events)}
    if active:
        data["is_active"] = "y"
    return data


def endpoint_rows(app) -> list[WebhookEndpoint]:
    with app.app_context():
        return list(db.session.execute(select(WebhookEndpoint)).scalars())


def audited_event_names(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent.event).order_by(AuditEvent.id)).scalars())


def deliveries(page) -> list[dict[str, str]]:
    """The delivery log's rows (column heading -> text), newest first."""
    return table_rows(page, "#webhook-deliveries table")


def delivered_events(page) -> list[str]:
    """The event type of each delivery in the log."""
    return [text_of(row.td.code) for row in parse(page).select("#webhook-deliveries tbody tr") if row.td.code]


@pytest.fixture
def endpoint_id(app, admin) -> str:
    response = admin.post("/console/webhooks", data=form())
    assert response.status_code == 303, response.get_data(as_text=True)
    return endpoint_rows(app)[0].id


def test_the_nav_links_webhooks_for_admins_only(admin, reviewer):
    assert parse(admin.get("/console/activity")).select('nav[aria-label="Main"] a[href="/console/webhooks"]')
    assert parse(reviewer.get("/console/activity")).select('a[href="/console/webhooks"]') == []


def test_empty_list(admin):
    response = admin.get("/console/webhooks")

    assert "No endpoints yet" in text_of(parse(response).select_one("#webhooks tbody")) and not is_fragment(response)


def test_the_new_form_offers_every_event_checked_but_the_delivery_hooks(admin):
    boxes = parse(admin.get("/console/webhooks/new")).select('fieldset.webhook-events input[type="checkbox"]')

    # email.created and sms.created hand that kind of message to the endpoint to send: opt-in.
    assert {box["value"]: box.has_attr("checked") for box in boxes} == {
        **dict.fromkeys(ALL, True), "email.created": False, "sms.created": False}


def test_create_is_audited_and_lands_on_the_endpoint(app, admin):
    response = admin.post("/console/webhooks", data=form(events=["action.created", "action.review_decided"]))

    assert response.status_code == 303
    [endpoint] = endpoint_rows(app)
    assert response.headers["Location"].endswith(f"/console/webhooks/{endpoint.id}")
    assert (endpoint.url, endpoint.description, endpoint.is_active) == ("https://hooks.example/tollgate", "Fraud team", True)
    assert endpoint.event_types == ["action.created", "action.review_decided"]
    assert audited_event_names(app) == ["webhook_endpoint.created"]
    page = parse(admin.get(response.headers["Location"]))
    assert flash_messages(page)[0].startswith("Endpoint added")
    assert page.find("button", string="Send test event") is not None
    assert "Nothing sent yet" in text_of(page.select_one("#webhook-deliveries tbody"))


def test_create_through_htmx_answers_with_hx_redirect(app, admin):
    response = admin.post("/console/webhooks", data=form(), htmx=True)

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/console/webhooks/{endpoint_rows(app)[0].id}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (form(url=""), "Enter the URL"),
        (form(url="http://hooks.example/in"), "Use https"),
        (form(url="ftp://hooks.example/in"), "Enter a full URL"),
        (form(url="https://user:pw@hooks.example/in"), "Leave credentials out"),
        (form(url="https://hooks.example:99999/in"), "not a valid URL"),
        (form(events=[]), "Choose at least one event"),
        (form(events=["action.created", "user.deleted"]), "Unknown event type: user.deleted"),
        (form(description="x" * 501), "at most 500 characters"),
    ],
)
def test_invalid_endpoints_are_refused_with_a_message(app, admin, data, message):
    response = admin.post("/console/webhooks", data=data)

    assert response.status_code == 400
    assert message in text_of(parse(response).find(id="webhook-form")) and not is_fragment(response)
    assert endpoint_rows(app) == []


def test_a_refused_htmx_form_comes_back_as_the_fragment(admin):
    response = admin.post("/console/webhooks", data=form(url="http://hooks.example/in"), htmx=True)

    refused = fragment_root(response)
    assert response.status_code == 400
    assert (refused.name, refused.get("id")) == ("form", "webhook-form")
    assert "Use https" in field_error(refused, "url")
    assert "HX-Request" in response.headers["Vary"]


# -- private networks (TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS) -----------------------------------------

PRIVATE_URLS = [
    "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "https://127.0.0.1/hook", "https://127.0.0.2:8443/hook", "https://10.0.0.5/hook", "https://172.16.3.4/hook",
    "https://192.168.1.10/hook", "https://100.64.0.1/hook", "https://0.0.0.0:8000/hook", "https://224.0.0.1/hook",
    "https://240.0.0.1/hook", "https://255.255.255.255/hook",
    "https://[::1]/hook", "https://[::]/hook", "https://[fe80::1]/hook", "https://[fd00::1]/hook", "https://[ff02::1]/hook",
    "https://[::ffff:127.0.0.1]/hook", "https://[::ffff:a9fe:a9fe]/hook", "https://[64:ff9b::10.0.0.5]/hook",
    "https://[2002:7f00:1::1]/hook",
    "https://localhost/hook", "https://LocalHost:8443/hook", "https://localhost./hook", "https://api.localhost/hook",
    "https://2130706433/hook", "https://0x7f000001/hook", "https://127.1/hook", "https://0177.0.0.1/hook",
    "http://localhost:8000/hook", "http://127.0.0.1:9000/hook", "http://[::1]:9000/hook",
]
PUBLIC_URLS = ["https://hooks.example", "https://hooks.example.com:8443/in?team=fraud", "https://93.184.215.14/in",
               "https://[2606:4700:4700::1111]/in", "https://localhost.example.com/in", "https://127.0.0.1.example.com/in"]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_destinations_are_refused_when_private_networks_are_not_allowed(app, admin, url):
    response = admin.post("/console/webhooks", data=form(url=url))

    assert response.status_code == 400
    error = field_error(response, "url")
    assert "is not on the public internet" in error and "webhooks can only go to public addresses" in error
    assert endpoint_rows(app) == []


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_https_urls_are_accepted_when_private_networks_are_not_allowed(app, admin, url):
    # Names are not resolved when saving: where they lead is checked at each connection (tests/api).
    assert admin.post("/console/webhooks", data=form(url=url)).status_code == 303
    assert endpoint_rows(app)[0].url == url


def test_without_private_networks_plain_http_is_never_accepted(app, admin):
    response = admin.post("/console/webhooks", data=form(url="http://hooks.example/in"))

    assert response.status_code == 400 and "Use https." in field_error(response, "url")
    assert "allowed only for localhost" not in response.get_data(as_text=True)  # nowhere, text or attribute


def test_an_edit_to_a_private_address_is_refused_and_keeps_the_saved_url(app, admin, endpoint_id):
    response = admin.post(f"/console/webhooks/{endpoint_id}", data=form(url="https://169.254.169.254/latest/"))

    assert response.status_code == 400
    assert "169.254.169.254 is not on the public internet" in field_error(response, "url")
    assert endpoint_rows(app)[0].url == "https://hooks.example/tollgate"


@pytest.mark.parametrize("url", ["http://localhost:8000/hook", "http://127.0.0.1:9000/hook", "http://[::1]:9000/hook",
                                 "https://hooks.example", "https://10.0.0.5/hook", "https://169.254.169.254/"])
def test_https_anywhere_and_http_on_localhost_are_accepted_with_private_networks_allowed(app, admin, url,
                                                                                          private_networks_allowed):
    assert admin.post("/console/webhooks", data=form(url=url)).status_code == 303


@pytest.mark.parametrize("url", ["http://10.0.0.5/hook", "http://hooks.example/in", "http://api.localhost/hook"])
def test_with_private_networks_allowed_plain_http_is_still_for_localhost_only(app, admin, url, private_networks_allowed):
    response = admin.post("/console/webhooks", data=form(url=url))

    assert response.status_code == 400
    assert "Plain http is allowed only for localhost and 127.0.0.1" in field_error(response, "url")


def test_the_url_hint_asks_for_a_public_https_url(admin):
    response = admin.get("/console/webhooks/new")

    assert "an https URL on the public internet" in text_of(parse(response).find(id="url-hint"))
    assert "plain http" not in response.get_data(as_text=True)  # nowhere, text or attribute


def test_with_private_networks_allowed_the_url_hint_mentions_http_on_localhost(admin, private_networks_allowed):
    response = admin.get("/console/webhooks/new")

    assert "plain http is accepted only for localhost" in text_of(parse(response).find(id="url-hint"))
    assert "public internet" not in response.get_data(as_text=True)  # nowhere, text or attribute


def test_an_endpoint_saved_under_other_rules_is_flagged_where_it_is_shown(app, tenant, admin):
    # Saved before the private-network check existed, or while the operator allowed private networks.
    with app.app_context():
        db.session.add(WebhookEndpoint(id="legacy", tenant_id=tenant.id, url="http://10.0.0.5/hook", description="",
                                       event_types=list(events.EVENT_TYPES), is_active=True,
                                       created_at=utcnow(), updated_at=utcnow()))
        db.session.commit()

    listed = parse(admin.get("/console/webhooks"))
    shown = admin.get("/console/webhooks/legacy")

    [row] = listed.select("#webhooks tbody tr")
    assert text_of(row.select_one("p.error")).startswith("Deliveries are refused: 10.0.0.5 is not on the public internet")
    [alert] = alerts(shown)
    assert alert.startswith("Deliveries to this URL are refused: 10.0.0.5 is not on the public internet")


def test_endpoints_that_are_fine_carry_no_warning(admin, endpoint_id):
    assert "refused" not in admin.get("/console/webhooks").get_data(as_text=True)
    assert "refused" not in admin.get(f"/console/webhooks/{endpoint_id}").get_data(as_text=True)


def test_list_shows_each_endpoint(admin, endpoint_id):
    page = parse(admin.get("/console/webhooks"))

    [row] = table_rows(page, "#webhooks table")
    assert row["URL"].startswith("https://hooks.example/tollgate") and row["Status"] == "Active"
    assert page.select_one("#webhooks tbody a")["href"] == f"/console/webhooks/{endpoint_id}"


def test_the_list_fragment_for_htmx(admin, endpoint_id):
    """The search and the pager swap the results alone (tests/web/test_console_lists.py)."""
    response = admin.get("/console/webhooks", headers={"HX-Request": "true"})

    assert fragment_root(response).get("id") == "webhook-results"
    assert table_rows(response, "#webhook-results table")[0]["URL"].startswith("https://hooks.example/tollgate")


def test_edit_prefills_and_saves_with_an_audit_record(app, admin, endpoint_id):
    page = parse(admin.get(f"/console/webhooks/{endpoint_id}/edit"))
    assert page.find("input", id="url")["value"] == "https://hooks.example/tollgate"

    response = admin.post(f"/console/webhooks/{endpoint_id}",
                          data=form(url="https://hooks.example/v2", events=["authenticator.deleted"], active=False))

    assert response.status_code == 303
    [endpoint] = endpoint_rows(app)
    assert (endpoint.url, endpoint.event_types, endpoint.is_active) == ("https://hooks.example/v2",
                                                                        ["authenticator.deleted"], False)
    assert audited_event_names(app) == ["webhook_endpoint.created", "webhook_endpoint.updated"]
    with app.app_context():
        updated = db.session.execute(select(AuditEvent).where(AuditEvent.event == "webhook_endpoint.updated")).scalar_one()
    assert updated.before["active"] is True and updated.after["active"] is False


def test_a_refused_edit_keeps_what_was_typed(app, admin, endpoint_id):
    response = admin.post(f"/console/webhooks/{endpoint_id}", data=form(url="http://evil.example/"))

    assert response.status_code == 400
    assert parse(response).find("input", id="url")["value"] == "http://evil.example/"
    assert endpoint_rows(app)[0].url == "https://hooks.example/tollgate"


def test_delete_asks_first_then_deletes_with_an_audit_record(app, admin, endpoint_id):
    confirm = parse(admin.get(f"/console/webhooks/{endpoint_id}/delete")).find(id="webhook-delete")
    assert "cannot be undone" in text_of(confirm) and confirm.form.find("input", attrs={"name": "csrf_token"})

    response = admin.post(f"/console/webhooks/{endpoint_id}/delete")

    assert response.status_code == 303 and response.headers["Location"].endswith("/console/webhooks")
    assert endpoint_rows(app) == []
    assert audited_event_names(app)[-1] == "webhook_endpoint.deleted"


def test_send_test_event_queues_one_delivery_and_the_log_shows_it(app, admin, endpoint_id, settings):
    response = admin.post(f"/console/webhooks/{endpoint_id}/test")

    assert response.status_code == 303
    with app.app_context():
        [event] = db.session.execute(select(WebhookEvent)).scalars()
        assert event.type == "webhook.test" and event.data["endpointId"] == endpoint_id
    assert audited_event_names(app)[-1] == "webhook_endpoint.test_sent"
    page = parse(admin.get(f"/console/webhooks/{endpoint_id}"))
    assert delivered_events(page) == ["webhook.test"] and deliveries(page)[0]["Status"] == "Pending"
    assert page.find(id="webhook-deliveries")["hx-trigger"] == "every 3s"  # the log refreshes while something is pending

    with app.app_context():
        deliver_due(settings=settings, now=utcnow(), send=lambda url, body, headers: SendResult(503, "HTTP 503: busy"))
    log = admin.get(f"/console/webhooks/{endpoint_id}/deliveries", headers={"HX-Request": "true"})
    assert fragment_root(log).name == "section"
    [retrying] = deliveries(log)
    assert retrying["Response"] == "503 HTTP 503: busy"
    with app.app_context():
        delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
    assert retrying["Next retry"] == delivery.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S")

    with app.app_context():
        deliver_due(settings=settings, now=delivery.next_attempt_at, send=lambda url, body, headers: SendResult(200))
    fragment = parse(admin.get(f"/console/webhooks/{endpoint_id}/deliveries", headers={"HX-Request": "true"}))
    assert deliveries(fragment)[0]["Status"] == "Delivered"
    assert fragment.find(attrs={"hx-trigger": True}) is None  # nothing pending: the log stops refreshing


def test_the_delivery_log_says_why_a_delivery_that_led_to_a_private_address_was_refused(app, admin, tenant, settings,
                                                                                         dns):
    with running_receiver(tenant.api_key) as (receiver_url, received):
        url = f"https://hooks.example:{urlsplit(receiver_url).port}/in"
        admin.post("/console/webhooks", data=form(url=url))  # a public name: accepted when saved
        [endpoint] = endpoint_rows(app)
        admin.post(f"/console/webhooks/{endpoint.id}/test")
        dns["hooks.example"] = "127.0.0.1"  # by delivery time the name points inside

        with app.app_context():
            assert deliver_due(settings=settings, now=utcnow()).retrying == 1

    assert received == []
    [delivery] = deliveries(admin.get(f"/console/webhooks/{endpoint.id}/deliveries", headers={"HX-Request": "true"}))
    assert ("nothing was sent; hooks.example leads to an address off the public internet (loopback, private, "
            "link-local or reserved).") in delivery["Response"]
    assert delivery["Status"].startswith("Failed, retrying at ")  # retried like any other failure
    assert delivery["Status"].removeprefix("Failed, retrying at ") == delivery["Next retry"]


def test_the_delivery_log_pages_backwards(app, admin, endpoint_id, monkeypatch):
    monkeypatch.setattr(endpoints, "LOG_PAGE_SIZE", 2)
    for _ in range(3):
        admin.post(f"/console/webhooks/{endpoint_id}/test")
    with app.app_context():
        ids = sorted(db.session.execute(select(WebhookDelivery.id)).scalars())

    first = admin.get(f"/console/webhooks/{endpoint_id}")
    assert f"before={ids[1]}" in pager_link(first)

    older = admin.get(f"/console/webhooks/{endpoint_id}?before={ids[1]}")
    assert delivered_events(older) == ["webhook.test"]
    assert pager_link(older) is None and "Older deliveries" not in older.get_data(as_text=True)



def test_unknown_endpoints_are_404(admin):
    assert admin.get("/console/webhooks/nope").status_code == 404
    assert admin.post("/console/webhooks/nope/test").status_code == 404


def test_another_tenants_endpoint_is_404(app, admin):
    from app.models import Tenant
    from app.models.base import new_id

    with app.app_context():
        other = Tenant(id=new_id(), name="Other")
        db.session.add(other)
        db.session.add(WebhookEndpoint(id="theirs", tenant_id=other.id, url="https://x.example", description="",
                                       event_types=ALL, is_active=True))
        db.session.commit()

    assert admin.get("/console/webhooks/theirs").status_code == 404
    assert admin.post("/console/webhooks/theirs/delete").status_code == 404
    assert "x.example" not in admin.get("/console/webhooks").get_data(as_text=True)


def test_changes_without_a_csrf_token_are_refused(app, admin, endpoint_id):
    client = admin.client
    assert client.post("/console/webhooks", data=form(url="https://other.example")).status_code == 400
    assert client.post(f"/console/webhooks/{endpoint_id}", data=form(url="https://other.example")).status_code == 400
    assert client.post(f"/console/webhooks/{endpoint_id}/test").status_code == 400
    assert client.post(f"/console/webhooks/{endpoint_id}/delete").status_code == 400

    [endpoint] = endpoint_rows(app)
    assert endpoint.url == "https://hooks.example/tollgate"
    with app.app_context():
        assert db.session.execute(select(WebhookEvent)).first() is None


def test_reviewers_get_403_everywhere(admin, reviewer, endpoint_id):
    for path in ("/console/webhooks", "/console/webhooks/new", f"/console/webhooks/{endpoint_id}",
                 f"/console/webhooks/{endpoint_id}/edit", f"/console/webhooks/{endpoint_id}/deliveries",
                 f"/console/webhooks/{endpoint_id}/delete"):
        assert reviewer.get(path).status_code == 403, path
    for path in ("/console/webhooks", f"/console/webhooks/{endpoint_id}", f"/console/webhooks/{endpoint_id}/test",
                 f"/console/webhooks/{endpoint_id}/delete"):
        assert reviewer.post(path, data=form()).status_code == 403, path
