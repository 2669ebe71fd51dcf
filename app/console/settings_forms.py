"""Forms for Settings: parsing and CSRF only; the services own the rules (one place to validate)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.console.forms import ServiceForm
from app.domain.api_keys import ManagementAccess
from app.domain.theme import DEFAULT_FONT, FONT_STACKS, Theme
from app.models import Tenant
from app.services.tenancy.management_keys import ACCESS_LABELS
from app.services.tenancy.tenant_settings import TenantSettingsInput


class LinesField(TextAreaField):
    """Text of one entry per line: a stored list shows as its lines; ``entries`` are what was typed,
    trimmed, without the blank lines."""

    def process_data(self, value: object) -> None:
        super().process_data("\n".join(value) if isinstance(value, list | tuple) else value)

    @property
    def entries(self) -> list[str]:
        return [line.strip() for line in (self.data or "").splitlines() if line.strip()]


class TenantSettingsForm(ServiceForm):
    # Lengths, formats and ranges are the service's to check (the same rules as the environment's).
    name = StringField("Name")
    logo_url = StringField("Logo URL")
    webauthn_rp_id = StringField("Passkey relying party ID (RP ID)")
    webauthn_rp_name = StringField("Passkey relying party name")
    webauthn_origins = LinesField("Allowed passkey origins", validators=[Length(max=20_000)])
    redirect_allowlist = LinesField("Redirect URL allow-list", validators=[Length(max=50_000)])
    client_token_ttl = IntegerField(
        "Client token lifetime (seconds)",
        validators=[Optional()],
        render_kw={"inputmode": "numeric"},
    )
    remember_device_days = IntegerField(
        "Remember devices for (days)",
        validators=[Optional()],
        render_kw={"inputmode": "numeric"},
    )
    publish_needs_second_admin = BooleanField("Publishing rule changes needs a second admin")

    @classmethod
    def for_tenant(cls, tenant: Tenant) -> TenantSettingsForm:
        return cls(formdata=None, obj=tenant)  # each field from the tenant's column of its name

    def to_input(self) -> TenantSettingsInput:
        return TenantSettingsInput(
            name=self.name.data or "",
            logo_url=self.logo_url.data,
            webauthn_rp_id=self.webauthn_rp_id.data,
            webauthn_rp_name=self.webauthn_rp_name.data,
            webauthn_origins=self.webauthn_origins.entries,
            redirect_allowlist=self.redirect_allowlist.entries,
            client_token_ttl=self.client_token_ttl.data,
            remember_device_days=self.remember_device_days.data,
            publish_needs_second_admin=self.publish_needs_second_admin.data,
        )


class ThemeForm(ServiceForm):
    """Settings → Brand. Plain text for the colours (``#rrggbb``), not ``type=color``: a value typed or
    pasted must be able to be wrong, and then say why (the service's message beside it)."""

    primary_color = StringField("Primary colour (buttons, links)")
    button_text_color = StringField("Button text colour")
    background_color = StringField("Background colour")
    text_color = StringField("Text colour")
    radius = StringField("Corner radius (pixels)", render_kw={"inputmode": "numeric"})
    font = SelectField("Font", choices=[SelectChoice(key, label) for key, (label, _) in FONT_STACKS.items()],
                       default=DEFAULT_FONT, validate_choice=False)
    logo_dark_url = StringField("Logo URL for dark backgrounds")
    page_title = StringField("Page title")

    @classmethod
    def for_tenant(cls, tenant: Tenant) -> ThemeForm:
        theme = Theme.from_stored(tenant.theme)
        return cls(formdata=None, data={**(theme.stored() or {}), "font": theme.font or DEFAULT_FONT})

    def values(self) -> dict[str, str | None]:
        """What was typed, by the theme's field names (domain.theme reads them)."""
        return {name: self[name].data for name in THEME_FIELDS}


THEME_FIELDS = ("primary_color", "button_text_color", "background_color", "text_color", "radius", "font",
                "logo_dark_url", "page_title")


class ApiKeyForm(ServiceForm):
    name = StringField("Name", validators=[DataRequired("Give the key a name, e.g. the backend that will use it."),
                                           Length(max=120)])


class ManagementKeyForm(ServiceForm):
    name = StringField("Name", validators=[DataRequired("Give the key a name, e.g. the tool that will use it."),
                                           Length(max=120)])
    access = SelectField("Access", choices=[SelectChoice(access.value, label) for access, label in ACCESS_LABELS.items()],
                         validators=[DataRequired()], default=ManagementAccess.DRAFT.value)


class InviteForm(ServiceForm):
    email = EmailField("Email", validators=[DataRequired("Enter their email address."), Length(max=320)])
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    role = SelectField(
        "Role",
        choices=[SelectChoice("reviewer", "Reviewer: review queue, read-only activity and users"),
                 SelectChoice("admin", "Admin: everything, including settings")],
        validators=[DataRequired()],
        default="reviewer",
    )


class AuditFilterForm(FlaskForm):
    """The audit log's GET filters (no CSRF: reading changes nothing)."""

    class Meta:
        csrf = False

    actor = StringField("Who (email)", validators=[Optional(), Length(max=320)])
    target_type = SelectField("Target type", choices=[SelectChoice("", "Any")], validate_choice=False)
    event = SelectField("Event", choices=[SelectChoice("", "Any")], validate_choice=False)
    before = HiddenField()

    def set_choices(self, *, events: list[str], target_types: list[str]) -> None:
        self.event.choices = [SelectChoice("", "Any"), *(SelectChoice(e, e) for e in events)]
        self.target_type.choices = [SelectChoice("", "Any"), *(SelectChoice(t, t) for t in target_types)]

    @property
    def before_id(self) -> int | None:
        value = (self.before.data or "").strip()
        return int(value) if value.isdigit() else None


class ReviewReasonsForm(ServiceForm):
    # The service reads the lines (domain.review_reasons): the limits and duplicates are its to say.
    reasons = TextAreaField("Review reasons", validators=[Length(max=20_000)])
