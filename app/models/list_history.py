"""Keep every version of a custom list's items, in the same flush that changes them.

A stored decision names the list versions it read (app.domain.track_decision.ListVersion), and a
replay reads their items back from ``custom_list_version``. A session event rather than a call in
each editing path, as for the configuration stamp: no path (console, CLI import, tests) can change
a list's items without its history.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session, attributes

from app.models.base import new_id
from app.models.custom_data import CustomList, CustomListVersion


@event.listens_for(Session, "before_flush")
def _keep_list_versions(session: Session, _flush_context, _instances) -> None:
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, CustomList):
            continue
        if obj not in session.new and not attributes.get_history(obj, "items").has_changes():
            continue
        if obj.id is None:
            obj.id = new_id()
        if obj.version is None:
            obj.version = 1
        elif obj not in session.new and not attributes.get_history(obj, "version").has_changes():
            obj.version += 1  # the items changed: so does the version a decision will name
        session.add(CustomListVersion(list_id=obj.id, version=obj.version, tenant_id=obj.tenant_id, name=obj.name,
                                      items=list(obj.items or ())))
