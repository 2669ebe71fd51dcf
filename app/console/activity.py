"""Tracked actions, newest first, and one action's whole story."""

from __future__ import annotations

from flask import Response, request, stream_with_context
from flask_login import current_user

from app.console import bp
from app.domain.decision import ActionState, Outcome, VerificationMethod
from app.domain.errors import NotFound
from app.htmx import render
from app.models.base import utcnow
from app.services.console import activity, activity_export
from app.services.decisions import replay
from app.services.reviews import reasons


@bp.get("/activity")
def activity_list():
    parsed = activity.parse_filters(request.args)
    page = activity.list_activity(
        current_user.tenant_id, parsed.filters, cursor=activity.Cursor.decode(request.args.get("cursor"))
    )
    return render(
        "console/activity/list.html", "console/activity/_list.html",
        results=page, filters=parsed.filters, errors=parsed.errors, values=parsed.values,
        states=list(ActionState), outcomes=list(Outcome), action_codes=activity.action_codes(current_user.tenant_id),
        paged=bool(request.args.get("cursor")), reasons=reasons.tenant_reasons(current_user.tenant_id),
        rules=activity.rule_choices(current_user.tenant_id), default_rule=activity.DEFAULT_RULE,
        methods=list(VerificationMethod),
    )


@bp.get("/activity/export.csv")
def activity_export_csv():
    """Admins only (the guard's default): a bulk export of personal data."""
    parsed = activity.parse_filters(request.args)
    now = utcnow()
    activity_export.record_export(current_user, parsed.filters, now=now)
    chunks = activity_export.csv_chunks(current_user.tenant_id, parsed.filters)
    return Response(stream_with_context(chunks), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="tollgate-activity-{now:%Y%m%d-%H%M%S}.csv"',
    })


@bp.get("/activity/<int:action_id>")
def activity_show(action_id: int):
    detail = _detail(action_id)
    return render("console/activity/show.html", detail=detail, action=detail.action)


@bp.get("/activity/<int:action_id>/replay")
def activity_replay(action_id: int):
    """The stored decision beside the live version's (and the draft's) for the same inputs; read-only,
    so reviewers may open it from a case too."""
    detail = _detail(action_id)
    result = replay.replay_action(current_user.tenant_id, action_id) if detail.replayable else None
    return render("console/activity/replay.html", "console/activity/_replay.html",
                  detail=detail, action=detail.action, replay=result)


def _detail(action_id: int) -> activity.ActionDetail:
    detail = activity.get_action_detail(current_user.tenant_id, action_id)
    if detail is None:
        raise NotFound(f"There is no tracked action #{action_id}: it may have been purged by the retention policy.")
    return detail
