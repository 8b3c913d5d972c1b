"""Changes people make to how messages reach them, and coordinators and administrators to the outbox."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core import audit, mail, outbox
from ..core.errors import ValidationFailed
from ..extensions import db
from .kinds import KINDS
from .models import NotificationPreference


def current_channels(user, kinds) -> dict[str, str]:
    """The person's channel for each of ``kinds``: their choice, or the kind's default."""
    chosen = dict(db.session.execute(select(NotificationPreference.kind, NotificationPreference.channel).where(
        NotificationPreference.user_id == user.id)).all())
    return {k.key: chosen[k.key] if chosen.get(k.key) in k.channels else k.default for k in kinds}


def save_preferences(user, choices: dict[str, str]) -> list[str]:
    """Set how each kind of message in ``choices`` (kind -> channel) reaches ``user``; returns the kinds
    that changed. A choice equal to the kind's default leaves no row. Each kind is set, not toggled
    (an upsert or a delete), so the same form sent several times at once has the effect of once."""
    for kind, channel in choices.items():
        found = KINDS.get(kind)
        if found is None or channel not in found.channels:
            raise ValidationFailed("That way of receiving these messages is not offered.", field=kind)
    before = current_channels(user, [KINDS[k] for k in choices])
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for kind, channel in choices.items():  # in KINDS order in every request: row locks taken in one order
        if channel == KINDS[kind].default:
            db.session.execute(delete(NotificationPreference).where(NotificationPreference.user_id == user.id,
                                                                    NotificationPreference.kind == kind))
        else:
            stmt = insert(NotificationPreference).values(user_id=user.id, kind=kind, channel=channel)
            db.session.execute(stmt.on_conflict_do_update(index_elements=["user_id", "kind"],
                                                          set_={"channel": channel}))
    return [k for k, c in choices.items() if before[k] != c]


def resend(cohort, message: outbox.OutboxMessage, *, by) -> bool:
    """Queue a failed message again (``core.outbox.resend``), with an audit event in its cohort (None: a
    message of no cohort, from the administrator's outbox). False when it is not failed any more (sent
    meanwhile, or resent by the same button a moment ago)."""
    if not outbox.resend(message):
        return False
    audit.record("outbox.resent", message, actor=by, cohort=cohort,
                 summary=f"Queued again the failed message “{message.subject}” to {message.to_address}",
                 before={"state": outbox.FAILED, "last_error": message.last_error}, after={"state": outbox.QUEUED})
    mail.deliver_after_commit(message.id)  # tried at once, not on the scheduler's next pass
    return True
