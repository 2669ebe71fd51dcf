"""The manual-review queue (``/review``): reviewers and admins work REVIEW_REQUIRED actions here (htmx)."""

from flask import Blueprint

from app.console.guard import install_guard

bp = Blueprint("review", __name__, url_prefix="/review")

install_guard(bp)  # reviewers read the queue and work cases: the tables in console/guard.py


from app.review import views  # noqa: E402,F401  (routes register on bp)
