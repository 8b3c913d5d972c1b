"""The audit log: who did what to which object, when, with the data before and after.

Services call ``record`` in the same transaction as the change they describe, so an audit event exists
exactly when the change was committed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from . import clock
from .types import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id"),
        Index("ix_audit_events_cohort_id_at", "cohort_id", "at"),
        # A coordinator sees their cohorts' events: the log's filters by action and by kind of object,
        # and the lists of both it offers, read these instead of every event of the cohort.
        Index("ix_audit_events_cohort_id_action", "cohort_id", "action"),
        Index("ix_audit_events_cohort_id_object_type", "cohort_id", "object_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Kept when the person is gone: the log outlives accounts.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    summary: Mapped[str] = mapped_column(Text)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    actor = relationship("User", lazy="joined")
    cohort = relationship("Cohort", lazy="joined")

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every field that differs, for the log's detail view."""
        before, after = self.before or {}, self.after or {}
        keys = sorted(set(before) | set(after))
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # a mark keeps its two decimals exactly ("67.50")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return value


def snapshot(obj, fields: list[str]) -> dict[str, Any]:
    """The named attributes of ``obj`` as JSON-ready values, for ``before``/``after``."""
    return {f: _jsonable(getattr(obj, f)) for f in fields}


def record(action: str, obj=None, *, actor=None, cohort=None, summary: str,
           before: dict | None = None, after: dict | None = None,
           object_type: str | None = None, object_id: int | None = None) -> AuditEvent:
    """Add an audit event to the session (the caller's transaction commits it with the change)."""
    if obj is not None:
        db.session.flush()  # the object needs its id
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else obj.id
    event = AuditEvent(
        at=clock.now(), actor_id=getattr(actor, "id", None),
        cohort_id=getattr(cohort, "id", None), action=action,
        object_type=object_type or "system", object_id=object_id, summary=summary,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
    )
    db.session.add(event)
    return event
