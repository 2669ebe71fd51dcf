"""The manual-review queue (``/review``): reviewers and admins work REVIEW_REQUIRED actions here (htmx)."""

from flask import Blueprint

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
# The nav badge asks for the count every 30 s (see install_guard on polls).
POLLS = frozenset({"review.queue_count"})
install_guard(bp, reviewer_reads=REVIEWER_READS, anyone=ANYONE, polls=POLLS)


from app.review import views  # noqa: E402,F401  (routes register on bp)
