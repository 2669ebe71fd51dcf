"""The hosted pages' views: one page per step, each a thin call into the services.

Past our usual size because every step leans on the session helpers at its top (read the
token, enter the tenant's locale and brand, refuse a closed challenge) and the steps read in the
order the user walks them; a method whose steps grow pages of their own moves out, as magic links did
(``magic_link_views``).
"""

from __future__ import annotations

import io
import json
from functools import partial

import segno
from flask import g, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext, lazy_gettext
from flask_babel.speaklater import LazyString
from markupsafe import Markup

from app.challenge import bp
from app.config import current_settings
from app.domain.decision import ActionState, VerificationMethod
from app.domain.errors import DomainError, TooManyRequests
from app.domain.recovery_codes import display
from app.domain.redirects import is_allowed, with_token
from app.domain.tokens import ExpiredToken, InvalidToken, TokenKind
from app.extensions import db
from app.models import Tenant
from app.models.base import utcnow
from app.services.challenges import codes, magic_links, sent_codes
from app.services.challenges.code_destinations import EMAIL_METHODS
from app.services.challenges.sessions import (
    ClientSession,
    action_name,
    expired_session,
    open_session,
    review_result_token,
)
from app.services.delivery.messages import EMAIL, can_send
from app.services.delivery.messages import SMS as SMS_CHANNEL
from app.services.end_users import trusted_devices
from app.services.tenancy.tenant_config import settings_for, theme_stylesheet

EMAIL_OTP = VerificationMethod.EMAIL_OTP
EMAIL_MAGIC_LINK = VerificationMethod.EMAIL_MAGIC_LINK
SMS, WHATSAPP = VerificationMethod.SMS, VerificationMethod.WHATSAPP
# The methods whose code is sent to the person, by the path of their forms (/challenge/<slug>[/send|/enrol]).
SENT_CODE_METHODS = {"email-otp": EMAIL_OTP, "sms": SMS, "whatsapp": WHATSAPP}
_SLUGS = {method: slug for slug, method in SENT_CODE_METHODS.items()}
_SENT_CODE_PATH = "<any('email-otp', 'sms', 'whatsapp'):slug>"
# Why a method's form is refused, naming it (lazy: the page's language is known once the session is open).
_UNAVAILABLE = {
    EMAIL_OTP: lazy_gettext("Email codes cannot be used for this action."),
    SMS: lazy_gettext("Text message codes cannot be used for this action."),
    WHATSAPP: lazy_gettext("WhatsApp codes cannot be used for this action."),
}
# The enrolment form's words for a refused number (the API's own are for developers).
_ENROL_REFUSALS = {
    "invalid_phone_number": lazy_gettext("Enter the number with its country code, for example +44 7400 123456."),
    "unsupported_country": lazy_gettext("Codes cannot be sent to numbers in that country. Choose another way."),
}


def page_methods() -> tuple[VerificationMethod, ...]:
    """What these pages can verify (for the tenant of the page, once a session is open), in the order
    offered when the action names no default; email and text messages only when this server can send them."""
    settings = current_settings()
    methods = [VerificationMethod.PASSKEY, VerificationMethod.AUTHENTICATOR_APP]
    if can_send(EMAIL, g.tenant.id, settings):
        methods += [EMAIL_OTP, EMAIL_MAGIC_LINK]
    if can_send(SMS_CHANNEL, g.tenant.id, settings):
        methods += [SMS, WHATSAPP]
    return tuple(methods)
# Lazy: each page renders them in its own language.
STATE_PAGES = {
    ActionState.BLOCK: (lazy_gettext("This request was blocked"),
                        lazy_gettext("For your security this action cannot be completed.")),
    ActionState.REVIEW_REQUIRED: (lazy_gettext("Your request is being reviewed"),
                                  lazy_gettext("Someone is checking it. You can close this page; the app will let you know.")),
    ActionState.REVIEW_FAILED: (lazy_gettext("Your request was declined"),
                                lazy_gettext("After review, this action cannot be completed.")),
    ActionState.CHALLENGE_FAILED: (lazy_gettext("Verification failed"),
                                   lazy_gettext("Too many attempts. Go back to the app and start again.")),
    ActionState.CHALLENGE_SUCCEEDED: (lazy_gettext("Already verified"),
                                      lazy_gettext("This request was already completed. Go back to the app.")),
}


class PageError(Exception):
    """Stop here and show a message page."""

    def __init__(self, title: str, message: str, status: int = 400):
        self.title, self.message, self.status = title, message, status


@bp.errorhandler(PageError)
def page_error(exc: PageError):
    return render_template("challenge/message.html", title=exc.title, message=exc.message,
                           mode="popup" if g.get("popup") else ""), exc.status


def _session(token: str | None, *, kinds=(TokenKind.CLIENT, TokenKind.RESULT)) -> ClientSession:
    try:
        session = open_session(token or "", settings=current_settings(), now=utcnow(), kinds=kinds)
    except ExpiredToken as exc:
        # Its signature holds: the page that says so can still be the tenant's, with the way back.
        expired = expired_session(exc.claims)
        if expired is not None:
            _enter(expired)
        raise PageError(gettext("This link has expired"), gettext("Go back to the app and try again.")) from exc
    except InvalidToken as exc:
        # The reason is the token check's own (English) sentence.
        raise PageError(gettext("This link is not valid"),
                        gettext("%(reason)s Go back to the app and try again.", reason=exc.message)) from exc
    _enter(session)
    return session


def _enter(session: ClientSession) -> None:
    # From here on the tenant's own settings apply (redirects, framing, logo); harden() reads them too.
    g.tenant = db.session.get(Tenant, session.tenant_id)
    g.tenant_settings = settings_for(g.tenant.id, current_settings())
    # The page's "Return to <app>" (brand.page_brand): only to an address the allow-list accepts.
    target = session.action.redirect_url
    g.return_url = target if target and is_allowed(target, g.tenant_settings.redirect_allowlist) else None
    # The locale selector (app/challenge/locale.py) reads these: a switcher pick is kept per challenge.
    g.action_id = str(session.action.id)
    g.track_locale = (session.action.attributes or {}).get("locale")
    g.user_locale = session.user.locale


def _context(session: ClientSession, token: str, **extra) -> dict:
    return {
        "token": token,
        "mode": "popup" if request.values.get("mode") == "popup" else "",
        "action_name": action_name(session),
        **extra,
    }


def _require_open(session: ClientSession) -> None:
    state = session.action.state
    if state in STATE_PAGES:
        title, message = STATE_PAGES[state]
        raise PageError(title, message, status=200 if state is ActionState.REVIEW_REQUIRED else 409)


def _posted_session() -> tuple[str, ClientSession]:
    """The form's page token and its session, which must still be open to verify."""
    token = request.form.get("token", "")
    session = _session(token, kinds=(TokenKind.CLIENT,))
    _require_open(session)
    return token, session


def _require_offered(method: VerificationMethod, offered: list[VerificationMethod], message: str) -> None:
    """``message``: why, naming the method ("Email codes cannot be used for this action.")."""
    if method not in offered:
        raise PageError(gettext("Not available"), message, 409)


@bp.get("")
def challenge_show():
    token = request.args.get("token")
    session = _session(token, kinds=(TokenKind.CLIENT,))
    if session.action.state in (ActionState.REVIEW_REQUIRED, ActionState.REVIEW_SUCCEEDED):
        return _review_status(session, token)
    if session.action.state is ActionState.CHALLENGE_SUCCEEDED:
        # Reloaded after the link was confirmed in another window: on, as the page's poll would go.
        if passed_by_link(session) is not None:
            return redirect(url_for("challenge.magic_link_continue", token=token, mode=request.values.get("mode") or None))
    _require_open(session)
    usable = session.usable_methods(page_methods())
    if usable:
        return _verify_page(session, token, usable)
    if not session.may_add_authenticator():
        if session.device_bound_passkey_required and session.user_has_passkey():
            raise PageError(gettext("A device-bound passkey is needed"), gettext(
                "This action accepts only a passkey that stays on one device or security key, and yours can sync to "
                "other devices. Go back to the app and choose another way."), 409)
        raise PageError(gettext("No way to verify here"), gettext("None of your sign-in methods can be used for this action."),
                        409)
    return render_template("challenge/enrol.html", **_context(session, token, methods=session.enrollable_methods(page_methods())))


# Seconds between the review page's reloads (a Refresh header: no script, allowed by the CSP).
REVIEW_REFRESH_SECONDS = 5


def _review_status(session: ClientSession, token: str):
    """In review: a page that reloads itself until a reviewer decides. Approved: on to the integrator
    with a result token, exactly like a passed challenge. Rejected: _require_open's message."""
    result_token = review_result_token(session, settings=current_settings(), now=utcnow())
    if result_token is not None:
        return redirect(url_for("challenge.challenge_finish", token=result_token, mode=request.values.get("mode") or None))
    if session.action.state is ActionState.REVIEW_SUCCEEDED:
        raise PageError(gettext("Already approved"),
                        gettext("This request was already approved and completed. Go back to the app."), 409)
    title, message = STATE_PAGES[ActionState.REVIEW_REQUIRED]
    response = make_response(render_template("challenge/review_pending.html", **_context(
        session, token, title=title, message=message, refresh_seconds=REVIEW_REFRESH_SECONDS)))
    response.headers["Refresh"] = str(REVIEW_REFRESH_SECONDS)
    return response


def _verify_page(session: ClientSession, token: str, usable: list[VerificationMethod], *, error: str | None = None,
                 method: str | None = None, status: int = 200):
    chosen = method or request.args.get("method") or ""
    current = next((m for m in usable if m.value == chosen), None)
    if current is None and chosen == VerificationMethod.RECOVERY_CODE.value and codes.has_recovery_codes(session):
        current = VerificationMethod.RECOVERY_CODE
    current = current or usable[0]
    if current in _SLUGS:
        email = code_context(session, current)
    elif current is EMAIL_MAGIC_LINK:
        email = link_context(session)
    else:
        email = {}
    return render_template(
        "challenge/verify.html",
        **_context(
            session,
            token,
            methods=usable,
            current=current,
            has_recovery_codes=codes.has_recovery_codes(session),
            error=error,
            **email,
        ),
    ), status


def code_context(session: ClientSession, method: VerificationMethod) -> dict:
    """A sent code's part of a page: where it will go, or went (masked), and its forms' paths."""
    return {"code_method": method.value, "code_slug": _SLUGS[method],
            "send_to": sent_codes.enrolled_address(session, method),
            "sent_code": sent_codes.pending_code(session, now=utcnow(), method=method)}


# Seconds between the polls of the page waiting for a magic link (magic_link_views).
POLL_SECONDS = 2


def link_context(session: ClientSession) -> dict:
    """Where the link goes (masked), and the one on its way, for the waiting page."""
    pending = sent_codes.pending_code(session, now=utcnow(), method=EMAIL_MAGIC_LINK)
    return {"link_address": sent_codes.enrolled_address(session, EMAIL_MAGIC_LINK), "sent_link": pending,
            "poll_seconds": POLL_SECONDS}


def passed_by_link(session: ClientSession) -> str | None:
    """The result token once the action's link was confirmed (elsewhere) and its result not yet
    used; None before."""
    if session.action.result_validated_at is not None:
        return None
    result = magic_links.verification_status(session, settings=current_settings(), now=utcnow())
    return result.access_token if result.is_verified else None


@bp.post("/totp")
def totp_submit():
    return _submit_code(codes.verify_totp, VerificationMethod.AUTHENTICATOR_APP)


@bp.post("/recovery")
def recovery_submit():
    return _submit_code(codes.verify_recovery_code, VerificationMethod.RECOVERY_CODE)


@bp.post(f"/{_SENT_CODE_PATH}")
def code_submit(slug: str):
    method = SENT_CODE_METHODS[slug]
    return _submit_code(partial(sent_codes.verify_code, method=method), method)


@bp.post(f"/{_SENT_CODE_PATH}/send")
def code_send(slug: str):
    method = SENT_CODE_METHODS[slug]
    return send_by_email(method, _UNAVAILABLE[method])


def send_by_email(method: VerificationMethod, unavailable: LazyString):
    """Send (or resend) a code or link to the enrolled address (or number), then the page waiting for it.
    ``unavailable``: why not, naming the method (lazy: the page's language is known once the
    session is open)."""
    token, session = _posted_session()
    _require_offered(method, session.usable_methods(page_methods()), str(unavailable))
    try:
        sent_codes.send_code(session, settings=current_settings(), now=utcnow(), locale=str(get_locale()), method=method,
                             client_ip=request.remote_addr)
    except TooManyRequests as exc:
        return _verify_page(session, token, session.usable_methods(page_methods()), error=exc.message,
                            method=method.value, status=429)
    return _verify_page(session, token, session.usable_methods(page_methods()), method=method.value)


@bp.post(f"/{_SENT_CODE_PATH}/enrol")
def code_enrol(slug: str):
    """A first way to verify: the address or number typed here, enrolled by the code sent to it."""
    method = SENT_CODE_METHODS[slug]
    return enrol_by_email(method, _UNAVAILABLE[method], partial(_code_setup_page, method=method))


def enrol_by_email(method: VerificationMethod, unavailable: LazyString, setup_page):
    """The address (or number) typed on the enrolment page gets a code or link (``setup_page(session,
    token)`` then waits for it), or the page again with the reason."""
    token, session = _posted_session()
    _require_offered(method, session.enrollable_methods(page_methods()), str(unavailable))
    typed = request.form.get("email" if method in EMAIL_METHODS else "phone_number", "").strip()
    try:
        sent_codes.enroll(session, typed, method=method, settings=current_settings(), now=utcnow(),
                          locale=str(get_locale()), client_ip=request.remote_addr)
    except DomainError as exc:
        return render_template("challenge/enrol.html", **_context(
            session, token, methods=session.enrollable_methods(page_methods()),
            enrol_error=str(_ENROL_REFUSALS.get(exc.code, exc.message)),
            enrol_value=typed, enrol_method=method.value)), exc.status
    return setup_page(session, token)


def _code_setup_page(session: ClientSession, token: str, *, method: VerificationMethod, error: str | None = None,
                     status: int = 200):
    return render_template("challenge/code_setup.html", **_context(session, token, error=error,
                                                                   **code_context(session, method))), status


def _submit_code(verify, method: VerificationMethod):
    """A code typed into the page (authenticator app, recovery, email, text message): they differ only in the check."""
    token, session = _posted_session()
    result = verify(session, request.form.get("code", ""), settings=current_settings(), now=utcnow())
    if result.is_verified:
        return _after_success(session, result.access_token)
    return _code_refused(session, token, result, method)


def _code_refused(session: ClientSession, token: str, result: codes.CodeResult, method: VerificationMethod):
    if result.challenge_ended:
        message = gettext("Too many wrong codes for that code. Send a new code and try again.")
    elif result.failure_reason == codes.FAILURE_LOCKED:
        raise PageError(gettext("Too many attempts"), gettext("Too many wrong codes. Go back to the app and start again."), 429)
    else:
        message = gettext("That code is not right, or it was already used. Try the newest code.")
    if method in _SLUGS and method not in session.usable_methods(page_methods()):
        return _code_setup_page(session, token, method=method, error=message, status=400)
    pending = codes.pending_totp_enrollment(session, settings=current_settings())
    if pending is not None and method is VerificationMethod.AUTHENTICATOR_APP and not session.usable_methods(page_methods()):
        return _totp_setup_page(session, token, pending, error=message, status=400)
    return _verify_page(session, token, session.usable_methods(page_methods()), error=message, method=method.value, status=400)


@bp.post("/totp-setup")
def totp_setup():
    token, session = _posted_session()
    _require_offered(VerificationMethod.AUTHENTICATOR_APP, session.enrollable_methods(page_methods()),
                     gettext("An authenticator app cannot be used for this action."))
    pending = codes.start_totp_enrollment(session, settings=current_settings(), now=utcnow())
    return _totp_setup_page(session, token, pending)


def _totp_setup_page(session: ClientSession, token: str, pending: codes.PendingEnrollment, *, error: str | None = None,
                     status: int = 200):
    return render_template(
        "challenge/totp_setup.html",
        **_context(session, token, qr_svg=_qr_svg(pending.uri), secret=pending.secret, error=error),
    ), status


def _qr_svg(uri: str) -> Markup:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False, svgns=True,
                                    title=gettext("QR code for your authenticator app"))
    return Markup(buffer.getvalue().decode())  # generated by segno from our own URI: no user markup


@bp.post("/complete")
def challenge_complete():
    """Where the passkey script lands with the access token the client API returned."""
    token = request.form.get("token")
    session = _session(token, kinds=(TokenKind.RESULT,))
    return _after_success(session, token)


def _after_success(session: ClientSession, result_token: str):
    """A first enrolment gets its recovery codes, shown once; everyone else goes straight on."""
    if not codes.has_recovery_codes(session):
        shown = [display(code) for code in codes.issue_recovery_codes(session, settings=current_settings(), now=utcnow())]
        # The download's text, built here: a template's gettext would HTML-escape the tenant's name into it.
        heading = gettext("Recovery codes for %(app)s. Each code works once.", app=g.tenant.name)
        return render_template(
            "challenge/recovery_codes.html",
            **_context(session, result_token, codes=shown, codes_file="\n".join([heading, "", *shown, ""])),
        )
    return redirect(url_for("challenge.challenge_finish", token=result_token, mode=request.values.get("mode") or None))


@bp.get("/finish")
def challenge_finish():
    token = request.args.get("token")
    session = _session(token, kinds=(TokenKind.RESULT,))
    if session.action.state is not ActionState.CHALLENGE_SUCCEEDED:
        _require_open(session)
    settings = g.tenant_settings
    target = session.action.redirect_url
    if target and not is_allowed(target, settings.redirect_allowlist):
        raise PageError(gettext("Redirect not allowed"), gettext("The address to return to is not on the allow-list."), 400)
    # Asked once (remember_views answers it), before the result goes to the app.
    days = None if request.args.get("remember") else trusted_devices.remember_offer(
        session.action, session.user, request.cookies, settings=settings, now=utcnow())
    if days is not None:
        return render_template("challenge/remember.html", **_context(session, token, days=days))
    if request.args.get("mode") == "popup":
        origins = sorted({rule.exact_origin for rule in settings.redirect_allowlist} - {None})
        message = json.dumps({"event": "AUTHSIGNAL_CLOSE_POPUP", "token": token})
        return render_template("challenge/popup_done.html", **_context(session, token, message=message,
                                                                           origins=json.dumps(origins)))
    if target:
        return redirect(with_token(target, token))
    return render_template("challenge/done.html", **_context(session, token))


@bp.get("/theme/<tenant_id>/<stamp>.css")
def theme_stylesheet_show(tenant_id: str, stamp: str):
    """The tenant's theme as a stylesheet (the CSP allows no inline styles). Its URL names the stamp it
    was built for, so a browser may keep it for good; an older stamp (a page rendered before a change)
    gets the current theme, not to be kept."""
    found = theme_stylesheet(tenant_id)
    if found is None:
        return make_response("", 404, {"Content-Type": "text/css; charset=utf-8"})
    current, css = found
    g.cacheable = True
    cache = "public, max-age=31536000, immutable" if stamp == current else "no-cache"
    return make_response(css, 200, {"Content-Type": "text/css; charset=utf-8", "Cache-Control": cache})
