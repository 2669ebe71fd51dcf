"""The queue, a case, and the changes a reviewer makes to it: each view parses, calls one service, renders.

htmx requests get the changed section's ``_fragment`` (claim, notes, decision); a plain form post
gets a 303 back to the case page, so everything works without JavaScript too.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, request, url_for
from flask_login import current_user

from app.config import current_settings
from app.domain.errors import DomainError
from app.domain.keyset import Cursor
from app.htmx import redirect_to, render
from app.models.base import utcnow
from app.review import bp
from app.services.console import activity
from app.services.reviews import cases, decisions, queue, reasons


def _queue_context(parsed: activity.ParsedFilters[queue.QueueFilters], page: queue.QueuePage, **extra) -> dict:
    return {
        "results": page, "filters": parsed.filters, "errors": parsed.errors, "values": parsed.values,
        "action_codes": activity.action_codes(current_user.tenant_id),
        "rules": queue.rule_choices(current_user.tenant_id),
        "pending": queue.count_pending(current_user.tenant_id),
        "reasons": reasons.tenant_reasons(current_user.tenant_id),
        "paged": bool(request.args.get("after") or request.args.get("before")),
        "now": utcnow(), **extra,
    }


@bp.get("/")
def queue_list():
    parsed = queue.parse_queue_filters(request.args)
    page = queue.list_queue(
        current_user.tenant_id, parsed.filters, viewer_id=current_user.id, now=utcnow(),
        after=Cursor.decode(request.args.get("after")),
        before=Cursor.decode(request.args.get("before")),
    )
    return render("review/queue.html", "review/_queue.html", **_queue_context(parsed, page))


@bp.get("/count")
def queue_count():
    """The nav badge (always a fragment: only htmx asks for it)."""
    return render("review/_count.html", "review/_count.html", pending=queue.count_pending(current_user.tenant_id))


@bp.post("/bulk")
def queue_bulk_decide():
    """Admins only (the guard lists it for no other role): one outcome and reason for the ticked cases."""
    ids = [i for i in map(queue.parse_case_id, request.form.getlist("ids")) if i is not None]
    try:
        outcome = decisions.parse_decision(request.form.get("decision"))
        result = decisions.bulk_decide(current_user, ids, outcome, request.form.get("reason", ""), now=utcnow(),
                                       reason_code=request.form.get("reason_code"))
    except DomainError as exc:
        flash(exc.message)
        return redirect_to(_back_to_queue())
    verb = "Approved" if outcome.value == "REVIEW_SUCCEEDED" else "Rejected"
    message = f"{verb} {len(result.decided)} case{'s' if len(result.decided) != 1 else ''}."
    if result.skipped:
        message += f" Skipped {len(result.skipped)}: " + "; ".join(f"#{i} {why}" for i, why in result.skipped.items())
    flash(message)
    return redirect_to(_back_to_queue())


def _back_to_queue() -> str:
    """The queue with the filters the bulk form was sent from (kept in its hidden fields)."""
    parsed = queue.parse_queue_filters(request.form)
    return url_for("review.queue_list", **parsed.filters.as_query())


@bp.get("/next")
def case_next():
    """The next case to work in the queue the reviewer came from (its filters travel in the query).

    ``after`` (a case id): the one after that case in the queue's order; without it, the reviewer's
    oldest held case, else the oldest unclaimed one.
    """
    filters = queue.parse_queue_filters(request.args).filters
    action_id = queue.next_case_id(current_user.tenant_id, filters, viewer_id=current_user.id, now=utcnow(),
                                   after_case=queue.parse_case_id(request.args.get("after")))
    if action_id is None:
        flash("No case left in this queue: nothing else matches its filters." if filters.active
              else "The queue is empty: nothing left to review.")
        return redirect(url_for("review.queue_list", **filters.as_query()))
    return redirect(url_for("review.case_show", action_id=action_id, **filters.as_query()))


def _queue_query() -> dict[str, str]:
    """The filters of the queue a case was opened from, for its links back and onward."""
    return queue.parse_queue_filters(request.values).filters.as_query()


def _case_page_extras() -> dict:
    """What a case page needs beside the case: the queue it came from, and for admins whom to assign it to."""
    team = cases.assignable_reviewers(current_user.tenant_id) if current_user.is_admin else []
    return {"queue_query": _queue_query(), "team": team, "reasons": reasons.tenant_reasons(current_user.tenant_id)}


@bp.get("/<int:action_id>")
def case_show(action_id: int):
    case = cases.get_case(current_user.tenant_id, action_id, viewer_id=current_user.id, now=utcnow())
    return render("review/case.html", case=case, action=case.action, now=utcnow(), **_case_page_extras())


def _case_section(action_id: int, fragment: str, *, error: DomainError | None = None, **extra):
    """After a change: the section's fragment for htmx, back to the case page for a plain form.

    A refusal shows in that section: as the fragment (htmx), or on the whole page re-rendered with
    the refusal's status (no JavaScript), keeping what was typed.
    """
    if error is None and not request.htmx:
        return redirect_to(url_for("review.case_show", action_id=action_id))
    now = utcnow()
    case = cases.get_case(current_user.tenant_id, action_id, viewer_id=current_user.id, now=now)
    return render("review/case.html", fragment, status=error.status if error else 200, case=case, action=case.action,
                  now=now, error=error.message if error else None, error_in=fragment, **_case_page_extras(), **extra)


def _change_section(action_id: int, fragment: str, change: Callable[[], object], **kept: str):
    """Make ``change`` to the case, then show its section; a refusal shows there too, with what was
    typed (``kept``). A case that is not there is a 404 page, not a section."""
    try:
        change()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _case_section(action_id, fragment, error=exc, **kept)
    return _case_section(action_id, fragment)


@bp.post("/<int:action_id>/claim")
def case_claim(action_id: int):
    return _change_section(action_id, "review/_claim.html",
                           lambda: cases.claim_case(current_user, action_id, settings=current_settings(), now=utcnow()))


@bp.post("/<int:action_id>/release")
def case_release(action_id: int):
    return _change_section(action_id, "review/_claim.html",
                           lambda: cases.release_case(current_user, action_id, now=utcnow()))


@bp.post("/<int:action_id>/assign")
def case_assign(action_id: int):
    """Admins only (the guard lists it for no other role): give the case to a member of the team."""
    try:
        cases.assign_case(current_user, action_id, request.form.get("assignee"), now=utcnow())
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _case_section(action_id, "review/_claim.html", error=exc)
    return _case_section(action_id, "review/_claim.html")


@bp.post("/<int:action_id>/notes")
def note_create(action_id: int):
    text = request.form.get("text", "")
    return _change_section(
        action_id, "review/_notes.html",
        lambda: cases.add_note(current_user, action_id, text, settings=current_settings(), now=utcnow()), text=text)


@bp.post("/<int:action_id>/decision")
def case_decide(action_id: int):
    """Approve or reject; the "… and next" buttons send ``decision_next`` and go on to the next case."""
    reason, reason_code = request.form.get("reason", ""), request.form.get("reason_code", "")
    and_next = bool(request.form.get("decision_next"))
    try:
        outcome = decisions.parse_decision(request.form.get("decision_next") or request.form.get("decision"))
        decisions.decide_case(current_user, action_id, outcome, reason, reason_code=reason_code, now=utcnow())
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _case_section(action_id, "review/_decision.html", error=exc, reason=reason, reason_code=reason_code)
    if and_next:
        flash(f"{'Approved' if outcome.value == 'REVIEW_SUCCEEDED' else 'Rejected'} case #{action_id}.")
        return redirect_to(url_for("review.case_next", after=action_id, **_queue_query()))
    # The whole page changes (state, claim, decision, "next case"): htmx follows HX-Redirect.
    flash("Decision recorded.")
    return redirect_to(url_for("review.case_show", action_id=action_id, **_queue_query()))
