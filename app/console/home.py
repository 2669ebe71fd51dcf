"""The console's front door: each role lands on its own starting page."""

from flask import redirect
from flask_login import current_user

from app.auth.views import landing_url
from app.console import bp


@bp.get("/")
def home():
    return redirect(landing_url(current_user))
