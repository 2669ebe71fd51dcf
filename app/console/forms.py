"""What every console form shares: the confirm button, field errors from a service, and the
submit-to-a-service step (a button's too).

Forms parse and carry CSRF; the services own the rules (one place to validate), and their
``InvalidFields`` refusals come back beside the fields they are about."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_wtf import FlaskForm
from wtforms.validators import Length, ValidationError

from app.domain.errors import DomainError, InvalidFields

Saved = TypeVar("Saved")


class AtMost(Length):
    """Length's check without its maxlength attribute: a browser cuts typed or pasted text at maxlength
    without a word, where this says how long the text is against the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(max=limit)
        self.field_flags = {}

    def __call__(self, form, field) -> None:
        length = len(field.data or "")
        if length > self.max:
            raise ValidationError(f"{field.label.text} can be at most {self.max:,} characters; this one has {length:,}.")


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class ServiceForm(FlaskForm):
    def add_errors(self, fields: dict[str, list[str]]) -> None:
        for name, messages in fields.items():
            self[name].errors = [*self[name].errors, *messages]


def submitted(form: ServiceForm, save: Callable[[], Saved], *,
              beside: str | Callable[[DomainError], str] | None = None) -> Saved | None:
    """``save()``'s result once the form is valid (CSRF included) and the service takes it; None when
    the form is to be shown again, its service's refusals beside their fields. ``beside``: for a
    service that refuses with one message, the field it goes beside (or which, by the refusal)."""
    if not form.validate_on_submit():
        return None
    try:
        return save()
    except InvalidFields as exc:
        form.add_errors(exc.fields)
    except DomainError as exc:
        if beside is None:
            raise
        form.add_errors({beside if isinstance(beside, str) else beside(exc): [exc.message]})
    return None


def refusal(change: Callable[[], object]) -> DomainError | None:
    """Make ``change`` (a button's): None once made, else the service's refusal for the page to
    show. What is not there still raises, so it is the 404 page."""
    try:
        change()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return exc
    return None
