"""Magic links on the hosted pages: sending one (and enrolling an address by it), the page that
waits for it (polled by htmx, or a plain "continue" button), and the page the link itself opens.

The link's page confirms with a POST carrying a CSRF token (the link's own secret is in the form
too): a mail scanner that fetches the link, as many do to check it, only ever sees the question.
That page never hands out the result token; the window that asked for the link does.
"""

from __future__ import annotations

from flask import g, make_response, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_wtf.csrf import CSRFError

from app.challenge import bp
from app.challenge.views import (
    PageError,
    _after_success,
    _context,
    _session,
    _verify_page,
    enrol_by_email,
    link_context,
    page_methods,
    passed_by_link,
    send_by_email,
)
from app.config import current_settings
from app.domain.decision import ActionState, VerificationMethod
from app.domain.tokens import TokenKind
from app.extensions import csrf, db
from app.models import EndUser, Tenant
from app.models.base import utcnow
from app.services.challenges import magic_links
from app.services.challenges.magic_links import LinkState, OpenedLink
from app.services.challenges.sessions import ClientSession
from app.services.tenancy.tenant_config import settings_for

EMAIL_MAGIC_LINK = VerificationMethod.EMAIL_MAGIC_LINK


@bp.post("/email-magic-link/send")
def magic_link_send():
    return send_by_email(EMAIL_MAGIC_LINK, lazy_gettext("Email links cannot be used for this action."))


@bp.post("/email-magic-link/enrol")
def magic_link_enrol():
    """A first way to verify: the address typed here, enrolled when the link sent to it is confirmed."""
    return enrol_by_email(EMAIL_MAGIC_LINK, lazy_gettext("Email links cannot be used for this action."), _link_setup_page)


def _link_setup_page(session: ClientSession, token: str):
    return render_template("challenge/email_link_setup.html", **_context(session, token, **link_context(session)))


@bp.get("/email-magic-link/status")
def magic_link_status():
    """The waiting page's poll: still waiting (poll again), over (stop), or passed (HX-Redirect on)."""
    token = request.args.get("token")
    session = _session(token, kinds=(TokenKind.CLIENT,))
    context = _context(session, token, **link_context(session))
    if passed_by_link(session) is not None:
        response = make_response(render_template("challenge/_email_link_status.html", passed=True, **context))
        response.headers["HX-Redirect"] = url_for("challenge.magic_link_continue", token=token,
                                                  mode=context["mode"] or None)
        return response
    return render_template("challenge/_email_link_status.html", passed=False, **context)


@bp.get("/email-magic-link/continue")
def magic_link_continue():
    """On from the waiting page once the link was confirmed; before that, the page again, saying so."""
    token = request.args.get("token")
    session = _session(token, kinds=(TokenKind.CLIENT,))
    result_token = passed_by_link(session)
    if result_token is not None:
        return _after_success(session, result_token)
    if session.action.state is ActionState.CHALLENGE_SUCCEEDED:
        raise PageError(gettext("Already verified"), gettext("This request was already completed. Go back to the app."),
                        409)
    usable = session.usable_methods(page_methods())
    if EMAIL_MAGIC_LINK not in usable:
        return render_template("challenge/email_link_setup.html", **_context(
            session, token, error=gettext("The link has not been confirmed yet."), **link_context(session))), 409
    return _verify_page(session, token, usable, error=gettext("The link has not been confirmed yet."),
                        method=EMAIL_MAGIC_LINK.value, status=409)


# -- the page the link opens -----------------------------------------------------------------------

# Lazy: each page renders them in its own language.
FINAL_PAGES = {
    LinkState.INVALID: (409, lazy_gettext("This link is not valid"),
                        lazy_gettext("It was replaced by a newer link, or it is not a link we sent. Use the newest email.")),
    LinkState.USED: (409, lazy_gettext("This link was already used"),
                     lazy_gettext("Each link works once. Go back to the app.")),
    LinkState.EXPIRED: (410, lazy_gettext("This link has expired"),
                        lazy_gettext("Go back to the app and ask for a new link.")),
    LinkState.CLOSED: (409, lazy_gettext("This request cannot be completed"),
                       lazy_gettext("Go back to the app and start again.")),
}


@bp.get("/email-magic-link")
def magic_link_show():
    """What the link opens: a question, never an answer (see the module's docstring)."""
    link = request.args.get("link", "")
    opened = magic_links.open_link(link, settings=current_settings(), now=utcnow())
    return _link_page(opened, link)


@bp.post("/email-magic-link")
def magic_link_confirm():
    link = request.form.get("link", "")
    try:
        csrf.protect()
    except CSRFError:
        opened = magic_links.open_link(link, settings=current_settings(), now=utcnow())
        _brand(opened)
        return _final(gettext("Confirm again"), gettext("This page was open too long, or the browser blocks its cookie. "
                                                        "Open the link from the email again."), 400)
    opened = magic_links.confirm_link(link, settings=current_settings(), now=utcnow())
    if opened.state is LinkState.OPEN:
        _brand(opened)
        return _final(gettext("You're verified"),
                      gettext("Go back to the window where you started: it continues by itself. "
                              "You can close this page."), 200)
    return _link_page(opened, link)


def _link_page(opened: OpenedLink, link: str):
    _brand(opened)
    if opened.state is LinkState.OPEN:
        return render_template("challenge/link_confirm.html", link=link, tenant_name=g.tenant.name,
                               tenant_logo_url=g.tenant.logo_url, action_code=opened.challenge.action_code)
    status, title, message = FINAL_PAGES[opened.state]
    return _final(str(title), str(message), status)


def _brand(opened: OpenedLink) -> None:
    """The tenant's brand, settings and language on the link's pages, as on the other hosted pages."""
    if opened.challenge is None:
        return
    g.tenant = db.session.get(Tenant, opened.challenge.tenant_id)
    g.tenant_settings = settings_for(g.tenant.id, current_settings())
    if opened.action is not None:
        g.action_id = str(opened.action.id)
        g.track_locale = (opened.action.attributes or {}).get("locale")
    user = db.session.get(EndUser, opened.challenge.end_user_id) if opened.challenge.end_user_id else None
    g.user_locale = user.locale if user else None


def _final(title: str, message: str, status: int):
    tenant = g.get("tenant")
    return render_template("challenge/message.html", title=title, message=message,
                           tenant_name=tenant.name if tenant else None,
                           tenant_logo_url=tenant.logo_url if tenant else None), status

