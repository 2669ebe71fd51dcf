"""The Management API's request bodies, in the wire shapes of ``authsignal-management-go``
(action-configurations.go, rules.go, custom-data-points.go, value-lists.go), which the Terraform
provider sends.

Stricter than the server API's bodies: an unknown field is refused (a typo in a config file must
not pass as "unchanged"), and types are JSON's own. The Go client sends only the fields it sets,
and an explicit ``null`` to clear one (its ``SetNull``), so a PATCH reads ``model_fields_set``:
a field left out stays as it is, one sent as ``null`` is cleared.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from app.domain.decision import Outcome, VerificationMethod
from app.domain.errors import InvalidFields, InvalidRequest
from app.models.review import OverduePolicy

Text = Annotated[str, StringConstraints(max_length=2000)]


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid", strict=True,
                              frozen=True)


class ActionConfigurationBody(_Body):
    action_code: Annotated[str, StringConstraints(max_length=64)] | None = None
    default_user_action_result: Outcome | None = None
    messaging_templates: Any = None
    verification_methods: list[VerificationMethod] | None = None
    prompt_to_enroll_verification_methods: list[VerificationMethod] | None = None
    default_verification_method: VerificationMethod | None = None


class RuleBody(_Body):
    name: Text | None = None
    description: Text | None = None
    is_active: bool | None = None
    priority: int | None = None
    type: Outcome | None = None
    verification_methods: list[VerificationMethod] | None = None
    prompt_to_enroll_verification_methods: list[VerificationMethod] | None = None
    default_verification_method: VerificationMethod | None = None
    conditions: Any = None


class CustomDataPointBody(_Body):
    id: Text | None = None
    name: Text | None = None
    data_type: Text | None = None
    model_type: Text | None = None
    description: Text | None = None
    is_public: bool | None = None


class ValueListBody(_Body):
    name: Text | None = None
    alias: Text | None = None
    item_type: Text | None = None
    value_list_items: Annotated[list[Annotated[str, StringConstraints(max_length=200)] | int | float],
                                Field(max_length=10_000)] | None = None
    is_active: bool | None = None


class PublishBody(_Body):
    note: Text | None = None


class ReviewSlaBody(_Body):
    """Tollgate's own: an action's manual-review deadline (services.reviews.sla applies it)."""

    review_deadline_minutes: int | None = None
    review_overdue_policy: OverduePolicy | None = None


class WebhookEndpointBody(_Body):
    """Tollgate's own: where signed webhook events go (no secret: they are signed with a server key)."""

    url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    description: Text | None = None
    event_types: list[Annotated[str, StringConstraints(max_length=64)]] | None = None
    is_active: bool | None = None


class TenantSettingsBody(_Body):
    """Tollgate's own: the tenant's overrides of the environment (null: the environment's default).
    Four-eyes (``publishNeedsSecondAdmin``) is not here: it governs who may publish, keys included,
    so only the console changes it."""

    name: Annotated[str, StringConstraints(max_length=120)] | None = None
    logo_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    webauthn_rp_id: Annotated[str, StringConstraints(max_length=255)] | None = None
    webauthn_rp_name: Annotated[str, StringConstraints(max_length=120)] | None = None
    webauthn_origins: list[Annotated[str, StringConstraints(max_length=2048)]] | None = None
    redirect_allowlist: list[Annotated[str, StringConstraints(max_length=2048)]] | None = None
    client_token_ttl: int | None = None
    remember_device_days: int | None = None


@contextmanager
def wire_names(names: dict[str, str] | None = None) -> Iterator[None]:
    """A form-shaped refusal (fields named as the console's forms name them) as one message naming
    each field as the wire does: ``names`` where it differs from the camelCase of the form's name."""
    try:
        yield
    except InvalidFields as exc:
        named = "; ".join(f"{(names or {}).get(field, to_camel(field))}: {message}"
                          for field, messages in exc.fields.items() for message in messages)
        raise InvalidRequest(named, code=exc.code) from exc
