"""Give a tenant a new configuration stamp in the same flush that changes its configuration.

Track caches, per process, what it reads of a tenant's configuration (services.tenancy.tenant_config) and
checks that copy against ``Tenant.config_stamp`` on every request. A session event rather than a
call in each service: no editing path (console, CLI, tests, a future API) can forget it, and the new
stamp commits or rolls back together with the change it announces.
"""

from __future__ import annotations

from itertools import chain

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from app.models.action import ActionConfiguration, ActionVersion, Rule
from app.models.custom_data import CustomDataPoint, CustomList
from app.models.shadow import ShadowRun
from app.models.tenant import Tenant, new_config_stamp
from app.models.webhook import WebhookEndpoint

# What track reads of a tenant's configuration.
STAMPED = (Tenant, ActionConfiguration, ActionVersion, Rule, CustomDataPoint, CustomList, WebhookEndpoint, ShadowRun)


@event.listens_for(Session, "before_flush")
def _restamp_changed_tenants(session: Session, _flush_context, _instances) -> None:
    tenant_ids: set[str] = set()
    dirty = session.dirty
    for obj in chain(session.new, dirty, session.deleted):
        if not isinstance(obj, STAMPED):
            continue
        if obj in dirty and not session.is_modified(obj):
            continue  # only touched (a relationship loaded or appended to), nothing of its own changed
        tenant_id = _tenant_of(session, obj)
        if tenant_id is not None:
            tenant_ids.add(tenant_id)
    if tenant_ids:
        session.connection().execute(
            update(Tenant).where(Tenant.id.in_(sorted(tenant_ids))).values(config_stamp=new_config_stamp())
        )


def _tenant_of(session: Session, obj: object) -> str | None:
    if isinstance(obj, Tenant):
        return None if obj in session.new else obj.id  # a new tenant is born with its own stamp
    if isinstance(obj, Rule):
        config = obj.action_configuration or session.get(ActionConfiguration, obj.action_configuration_id)
        return config.tenant_id if config is not None else None
    return obj.tenant_id
