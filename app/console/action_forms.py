"""Forms for actions, rules and Test action: parsing, labels and CSRF; the services own the rules.

The condition builder is not a WTForms form: its fields are keyed by tree position
(``c-0-1-field``), so :class:`ConditionsEditor` reads them with :func:`app.domain.builder.tree_from_form`.

Past our usual size because the action's forms share the field types defined here (deadline,
methods) and the condition editor is read by two of them (rule and Test action).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from app.config import current_settings
from app.console.forms import AtMost
from app.domain.actions import ACTION_CODE_PATTERN, DEFAULT_VERIFICATION_METHODS, MAX_REVIEW_DEADLINE_MINUTES
from app.domain.builder import TOO_LARGE, Group, apply_edit, check_tree, from_jsonlogic, to_jsonlogic, tree_from_form
from app.domain.catalogue import TenantCatalogue
from app.domain.decision import Outcome, UnenrolledPolicy, VerificationMethod
from app.domain.errors import InvalidJson, InvalidRuleConditions, RefusedNumber
from app.domain.json_documents import OUT_OF_RANGE, decode_json
from app.domain.labels import label
from app.domain.rules import validate_conditions
from app.models import ActionConfiguration, Rule
from app.models.review import OverduePolicy
from app.services.challenges.code_destinations import unsendable_methods
from app.services.rulesets.rules import ActionSettings, RuleChanges

METHOD_LABELS = {method: label(method) for method in VerificationMethod}
OUTCOME_LABELS = {
    Outcome.ALLOW: "Allow",
    Outcome.CHALLENGE: "Challenge (ask the user to verify)",
    Outcome.REVIEW: "Review (hold for a reviewer)",
    Outcome.BLOCK: "Block",
}
POLICY_LABELS = {
    UnenrolledPolicy.ALLOW: "Let them through: the action is allowed (isEnrolled is false in the response)",
    UnenrolledPolicy.REQUIRE_ENROLLMENT: "Ask them to set up a method first, then verify with it",
    UnenrolledPolicy.BLOCK: "Block the action",
}
OVERDUE_LABELS = {
    OverduePolicy.FLAG: "Flag it as overdue in the queue, and decide nothing",
    OverduePolicy.AUTO_APPROVE: "Approve it",
    OverduePolicy.AUTO_REJECT: "Reject it",
}
METHOD_CHOICES = [SelectChoice(m.value, label) for m, label in METHOD_LABELS.items()]
OUTCOME_CHOICES = [SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()]
RESERVED_CODES = frozenset({"new"})  # /console/actions/new is the create form


DEADLINE_MESSAGE = f"Enter 1 to {MAX_REVIEW_DEADLINE_MINUTES:,} minutes, or leave it empty."


class DeadlineField(IntegerField):
    """Whole minutes in range, or empty; one message for every way of getting it wrong."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(DEADLINE_MESSAGE) from None

    def post_validate(self, form, validation_stopped: bool) -> None:
        if not validation_stopped and self.data is not None and not 1 <= self.data <= MAX_REVIEW_DEADLINE_MINUTES:
            self.errors.append(DEADLINE_MESSAGE)


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def refuse_unsendable(field) -> None:
    """A methods field (an action's, a rule's) may not allow what this server cannot send (in production)."""
    unsendable = unsendable_methods(field.data or [], current_user.tenant_id, current_settings())
    if unsendable:
        raise ValidationError(
            f"{', '.join(unsendable)} cannot be enabled: this server has no way to send them. Configure "
            "TOLLGATE_SMTP_URL (email) or TOLLGATE_TWILIO_* (SMS, WhatsApp), or subscribe a webhook to "
            "email.created / sms.created.")


class ActionSettingsForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the action a name."), Length(max=120)])
    default_outcome = SelectField("Default outcome", choices=OUTCOME_CHOICES, default=Outcome.ALLOW.value)
    verification_methods = MultiCheckboxField(
        "Allowed verification methods", choices=METHOD_CHOICES, default=list(DEFAULT_VERIFICATION_METHODS),
        validators=[DataRequired("Allow at least one verification method.")],
    )
    default_verification_method = SelectField(
        "Default method", choices=[SelectChoice("", "None: the user picks"), *METHOD_CHOICES], default="",
    )
    unenrolled_policy = RadioField(
        "When a challenged user has no usable method",
        choices=[SelectChoice(p.value, label) for p, label in POLICY_LABELS.items()], default=UnenrolledPolicy.ALLOW.value,
    )
    review_deadline_minutes = DeadlineField("Review deadline (minutes)", validators=[Optional()])
    review_overdue_policy = RadioField(
        "When a case is still waiting at its deadline",
        choices=[SelectChoice(p.value, label) for p, label in OVERDUE_LABELS.items()], default=OverduePolicy.FLAG.value,
    )
    require_device_bound_passkey = BooleanField("Require a device-bound passkey")

    def validate_verification_methods(self, field) -> None:
        refuse_unsendable(field)

    def validate_default_verification_method(self, field) -> None:
        if field.data and field.data not in (self.verification_methods.data or []):
            raise ValidationError("The default method must be one of the allowed methods.")

    def settings(self) -> ActionSettings:
        return ActionSettings(
            name=self.name.data.strip(),
            default_outcome=self.default_outcome.data,
            verification_methods=self.verification_methods.data,
            default_verification_method=self.default_verification_method.data or None,
            unenrolled_policy=self.unenrolled_policy.data,
            review_deadline_minutes=self.review_deadline_minutes.data,
            review_overdue_policy=self.review_overdue_policy.data,
            require_device_bound_passkey=self.require_device_bound_passkey.data,
        )

    @classmethod
    def for_action(cls, config: ActionConfiguration) -> ActionSettingsForm:
        return cls(
            formdata=None,
            name=config.name,
            default_outcome=config.default_outcome.value,
            verification_methods=list(config.verification_methods),
            default_verification_method=config.default_verification_method.value
            if config.default_verification_method else "",
            unenrolled_policy=config.unenrolled_policy.value,
            review_deadline_minutes=config.review_deadline_minutes,
            review_overdue_policy=config.review_overdue_policy.value,
            require_device_bound_passkey=config.require_device_bound_passkey,
        )


class ActionCreateForm(ActionSettingsForm):
    code = StringField("Code", validators=[
        DataRequired("Enter a code."),
        Regexp(ACTION_CODE_PATTERN.pattern, message="Use 1-64 letters, digits, '_' or '-' (no spaces)."),
    ])
    name = StringField("Name", validators=[Optional(), Length(max=120)])

    def validate_code(self, field) -> None:
        if field.data in RESERVED_CODES:
            raise ValidationError(f"'{field.data}' is reserved; pick another code.")

    def document(self) -> dict[str, Any]:
        return {
            "code": self.code.data,
            "name": (self.name.data or "").strip() or self.code.data,
            "default_outcome": self.default_outcome.data,
            "verification_methods": self.verification_methods.data,
            "default_verification_method": self.default_verification_method.data or None,
            "unenrolled_policy": self.unenrolled_policy.data,
        }


class RuleForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the rule a name."), AtMost(120)])
    description = TextAreaField("Description", validators=[AtMost(2000)])
    outcome = SelectField("Outcome when it matches", choices=OUTCOME_CHOICES, default=Outcome.CHALLENGE.value)
    is_active = BooleanField("Active", default=True)
    verification_methods = MultiCheckboxField("Verification methods for this rule", choices=METHOD_CHOICES)
    default_verification_method = SelectField(
        "Default method", choices=[SelectChoice("", "The action's default"), *METHOD_CHOICES], default="",
    )

    def validate_verification_methods(self, field) -> None:
        refuse_unsendable(field)

    def validate_default_verification_method(self, field) -> None:
        if field.data and self.verification_methods.data and field.data not in self.verification_methods.data:
            raise ValidationError("The default method must be one of this rule's methods.")

    def changes(self, conditions: Any) -> RuleChanges:
        return RuleChanges(
            name=self.name.data.strip(),
            description=(self.description.data or "").strip(),
            is_active=bool(self.is_active.data),
            outcome=self.outcome.data,
            verification_methods=self.verification_methods.data or None,
            default_verification_method=self.default_verification_method.data or None,
            conditions=conditions,
        )

    @classmethod
    def for_rule(cls, rule: Rule) -> RuleForm:
        return cls(
            formdata=None,
            name=rule.name,
            description=rule.description,
            outcome=rule.outcome.value,
            is_active=rule.is_active,
            verification_methods=list(rule.verification_methods or []),
            default_verification_method=rule.default_verification_method.value
            if rule.default_verification_method else "",
        )


class SimulationForm(FlaskForm):
    user_id = StringField("User ID", validators=[DataRequired("Enter the user id to test with."), Length(max=255)])
    custom = TextAreaField("Custom data (JSON)", validators=[Length(max=20_000)], default="{}")
    ip_address = StringField("IP address", validators=[Length(max=64)])
    device_id = StringField("Device ID", validators=[Length(max=255)])
    user_agent = StringField("User agent", validators=[Length(max=1024)])

    def validate_custom(self, field) -> None:
        try:
            value = self._custom()
        except InvalidJson as exc:
            raise ValidationError(exc.message) from None
        if not isinstance(value, dict):
            raise ValidationError('Custom data must be a JSON object, e.g. {"amount": 5000}.')

    def _custom(self) -> Any:
        return decode_json((self.custom.data or "").strip() or "{}")

    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {"custom": self._custom()}
        for name, key in (("ip_address", "ipAddress"), ("device_id", "deviceId"), ("user_agent", "userAgent")):
            value = (getattr(self, name).data or "").strip()
            if value:
                attributes[key] = value
        return attributes


# ---------------------------------------------------------------------------------------------
# The conditions editor: builder or raw JsonLogic


CANNOT_SHOW = "The builder cannot show this condition, so it opens as JsonLogic. You can edit it here."


@dataclass(frozen=True)
class JsonCheck:
    value: Any
    message: str | None  # None: valid
    path: str | None = None  # where, in the engine's terms (and[1].or[0]): a technical detail


def check_json(text: str) -> JsonCheck:
    """Raw JsonLogic text → its value, or a message saying what is wrong, and the path of where."""
    text = (text or "").strip()
    if not text:
        return JsonCheck(None, None)
    try:
        value = decode_json(text)
    except RefusedNumber as exc:  # the API's rule, said as the builder says it
        return JsonCheck(None, TOO_LARGE if exc.problem == OUT_OF_RANGE else NOT_A_JSON_NUMBER, exc.path)
    except InvalidJson as exc:
        return JsonCheck(None, exc.message)
    try:
        validate_conditions(value)
    except InvalidRuleConditions as exc:
        return JsonCheck(None, exc.reason[:1].upper() + exc.reason[1:] + ".", exc.path)
    return JsonCheck(value, None)


NOT_A_JSON_NUMBER = "Not a number a rule can hold: JSON has no NaN or Infinity."


@dataclass
class ConditionsEditor:
    # The tenant's fields and lists the tree is read and checked against, for every step of one request.
    catalogue: TenantCatalogue
    mode: str = "builder"  # or "advanced"
    tree: Group = field(default_factory=Group)
    text: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None  # an error for the advanced textarea
    path: str | None = None  # where the error is, in the engine's terms
    note: str | None = None
    focus: str | None = None  # the form field to focus after a re-render

    @classmethod
    def for_conditions(cls, conditions: Any, *, catalogue: TenantCatalogue) -> ConditionsEditor:
        tree = from_jsonlogic(conditions, catalogue=catalogue)
        if tree is None:
            return cls(catalogue, mode="advanced", text=json.dumps(conditions, indent=2), note=CANNOT_SHOW)
        return cls(catalogue, tree=tree)

    @classmethod
    def from_form(cls, form: Mapping[str, str], *, catalogue: TenantCatalogue) -> ConditionsEditor:
        if form.get("mode") == "advanced":
            return cls(catalogue, mode="advanced", text=form.get("conditions_json", ""))
        tree, errors = tree_from_form(form, catalogue=catalogue)
        focus = form.get("focus")
        return cls(catalogue, tree=tree, errors=errors, focus=focus if focus and len(focus) < 40 else None)

    def edit(self, operation: str) -> None:
        """Add, remove or switch modes (``to-advanced``, ``to-builder``); nothing is saved."""
        if operation == "to-advanced":
            errors = {**check_tree(self.tree, catalogue=self.catalogue), **self.errors}
            if errors:
                self.errors, self.note = errors, "Fix the conditions marked below to switch to JsonLogic."
                return
            self.mode, self.errors = "advanced", {}
            self.text = json.dumps(to_jsonlogic(self.tree), indent=2)
            self.note = "This is the JsonLogic the builder generated."
        elif operation == "to-builder":
            checked = check_json(self.text)
            tree = from_jsonlogic(checked.value, catalogue=self.catalogue) if checked.message is None else None
            if tree is None:
                self.message, self.path = checked.message, checked.path
                self.note = "The builder cannot show this condition; keep editing it as JsonLogic."
                return
            self.mode, self.tree, self.note, self.message = "builder", tree, None, None
        else:
            self.tree, added = apply_edit(self.tree, operation)
            self.errors = {}
            self.focus = f"c-{added}-field" if added else None

    def conditions(self) -> tuple[Any, bool]:
        """The JsonLogic to save and whether it is valid; problems land in errors / message."""
        if self.mode == "advanced":
            checked = check_json(self.text)
            self.message, self.path = checked.message, checked.path
            return checked.value, checked.message is None
        self.errors = {**check_tree(self.tree, catalogue=self.catalogue), **self.errors}
        if self.errors:
            return None, False
        expr = to_jsonlogic(self.tree)
        validate_conditions(expr)  # the builder only writes valid JsonLogic; fail loudly if not
        return expr, True
