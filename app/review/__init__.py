"""The manual-review queue (``/review``): reviewers and admins work REVIEW_REQUIRED actions here (htmx)."""

from flask import Blueprint, g, request, session

from app.console.guard import install_guard

bp = Blueprint("review", __name__, url_prefix="/review")

# Reviewers may read the queue and work cases (claim, note, decide); bulk decisions stay admin-only.
REVIEWER_READS = frozenset({
    "review.queue_list",
    "review.queue_count",
    "review.case_show",
    "review.case_next",
})
ANYONE = frozenset({
    "review.case_claim",
    "review.case_release",
    "review.note_create",
    "review.case_decide",
})
# The nav badge polls the count every 30 s; that must not count as activity, or an open tab would
# never reach the console's idle sign-out. Remember "seen" before the guard bumps it...
PASSIVE = frozenset({"review.queue_count"})


@bp.before_request
def remember_last_seen() -> None:
    g.review_seen_before = session.get("seen")


install_guard(bp, reviewer_reads=REVIEWER_READS, anyone=ANYONE)


@bp.after_request
def restore_last_seen(response):
    # ...and put it back after a passive request.
    if request.endpoint in PASSIVE and g.get("review_seen_before") is not None:
        session["seen"] = g.review_seen_before
    return response


from app.review import views  # noqa: E402,F401  (routes register on bp)
