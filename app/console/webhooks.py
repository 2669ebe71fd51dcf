"""Webhooks: the endpoints that receive signed events, each with its delivery log (admins only).

Views stay thin: parse a form, call one service, render the page (or its ``_`` fragment for htmx).
"""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from wtforms import BooleanField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from app.config import current_settings
from app.console import bp
from app.console.forms import ConfirmForm, ServiceForm, submitted
from app.htmx import redirect_to, render
from app.models import WebhookEndpoint
from app.models.base import utcnow
from app.services.delivery import endpoints, events
from app.services.tenancy.listing import ListQuery


class EndpointForm(ServiceForm):
    # Parsing and CSRF only: the URL and event rules live in the service (one place to validate).
    url = StringField("Endpoint URL", validators=[Length(max=4096)])
    description = StringField("Description", validators=[Length(max=2000)])
    event_types = SelectMultipleField(
        "Events to send",
        choices=[SelectChoice(name, name) for name in events.EVENT_TYPES],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=False,
    )
    is_active = BooleanField("Active: send new events to this endpoint", default=True)

    @classmethod
    def for_endpoint(cls, endpoint: WebhookEndpoint) -> EndpointForm:
        return cls(formdata=None, url=endpoint.url, description=endpoint.description,
                   event_types=list(endpoint.event_types), is_active=endpoint.is_active)

    def to_input(self) -> endpoints.EndpointInput:
        return endpoints.EndpointInput(url=self.url.data or "", description=self.description.data or "",
                                      event_types=list(self.event_types.data or []), is_active=bool(self.is_active.data))


def _form_page(form: EndpointForm, endpoint: WebhookEndpoint | None = None, *, status: int = 200):
    page = "console/webhooks/new.html" if endpoint is None else "console/webhooks/edit.html"
    return render(page, "console/webhooks/_form.html", status=status, form=form, endpoint=endpoint,
                  event_types=events.EVENT_TYPES,
                  private_networks_allowed=current_settings().webhook_allow_private_networks)


@bp.get("/webhooks")
def webhook_list():
    listed = endpoints.list_endpoints(current_user.tenant_id, ListQuery.from_args(request.args))
    return render("console/webhooks/list.html", "console/webhooks/_results.html", endpoints=listed,
                  refusals={e.id: _refusal(e) for e in listed.rows})


def _refusal(endpoint: WebhookEndpoint) -> str | None:
    return endpoints.refusal_reason(endpoint, allow_private_networks=current_settings().webhook_allow_private_networks)


@bp.get("/webhooks/new")
def webhook_new():
    # The delivery hooks are opt-in: subscribing to one hands that kind of message to the endpoint to send.
    ticked = [name for name in events.EVENT_TYPES if name not in events.DELIVERY_HOOKS]
    return _form_page(EndpointForm(formdata=None, event_types=ticked))


@bp.post("/webhooks")
def webhook_create():
    form = EndpointForm()
    endpoint = submitted(form, lambda: endpoints.create_endpoint(current_user, form.to_input(), settings=current_settings(),
                                                                 now=utcnow()))
    if endpoint is None:
        return _form_page(form, status=400)
    flash("Endpoint added. Send it a test event to check that it receives and verifies them.")
    return redirect_to(url_for("console.webhook_show", endpoint_id=endpoint.id))


def _show(endpoint: WebhookEndpoint, *, status: int = 200):
    log = endpoints.list_deliveries(endpoint, before_id=request.args.get("before", type=int))
    return render("console/webhooks/show.html", "console/webhooks/_deliveries.html", status=status, endpoint=endpoint,
                  log=log, form=ConfirmForm(), event_types=events.EVENT_TYPES, refusal=_refusal(endpoint))


@bp.get("/webhooks/<endpoint_id>")
def webhook_show(endpoint_id: str):
    return _show(endpoints.get_endpoint(current_user.tenant_id, endpoint_id))


@bp.get("/webhooks/<endpoint_id>/deliveries")
def webhook_delivery_list(endpoint_id: str):
    """The delivery log alone (htmx refreshes it while deliveries are pending); the full page otherwise."""
    return _show(endpoints.get_endpoint(current_user.tenant_id, endpoint_id))


@bp.get("/webhooks/<endpoint_id>/edit")
def webhook_edit(endpoint_id: str):
    endpoint = endpoints.get_endpoint(current_user.tenant_id, endpoint_id)
    return _form_page(EndpointForm.for_endpoint(endpoint), endpoint)


@bp.post("/webhooks/<endpoint_id>")
def webhook_update(endpoint_id: str):
    endpoint = endpoints.get_endpoint(current_user.tenant_id, endpoint_id)
    form = EndpointForm()
    if submitted(form, lambda: endpoints.update_endpoint(current_user, endpoint_id, form.to_input(),
                                                         settings=current_settings(), now=utcnow())) is None:
        return _form_page(form, endpoint, status=400)
    flash("Endpoint saved.")
    return redirect_to(url_for("console.webhook_show", endpoint_id=endpoint_id))


@bp.post("/webhooks/<endpoint_id>/test")
def webhook_test_send(endpoint_id: str):
    endpoints.send_test_event(current_user, endpoint_id, now=utcnow())
    flash("A webhook.test event is queued; the worker sends it within seconds. Its delivery appears below.")
    return redirect_to(url_for("console.webhook_show", endpoint_id=endpoint_id))


@bp.get("/webhooks/<endpoint_id>/delete")
def webhook_delete_confirm(endpoint_id: str):
    endpoint = endpoints.get_endpoint(current_user.tenant_id, endpoint_id)
    return render("console/webhooks/delete.html", "console/webhooks/_delete.html", endpoint=endpoint, form=ConfirmForm())


@bp.post("/webhooks/<endpoint_id>/delete")
def webhook_delete(endpoint_id: str):
    endpoint = endpoints.delete_endpoint(current_user, endpoint_id, now=utcnow())
    flash(f"Endpoint {endpoint.url} is deleted with its delivery log.")
    return redirect_to(url_for("console.webhook_list"))
