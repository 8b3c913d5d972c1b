"""The outbox: every e-mail projectflow sends is first a row here, written in the transaction of the
change it reports, then delivered, then marked sent. Nothing is mailed for a change that was rolled
back; nothing is lost when the mail server is down (the row waits and is tried again, with backoff,
until it is shown as failed); nothing is sent twice.

*Once.* Each row has a unique ``key``. A reminder's key names the person, the kind, the object and the
instant it is about (``deadline-7d:u12:m40:2027-03-01T12:00Z``), so the scheduler may find it due any
number of times, in several processes at once, and the insert of all but the first does nothing
(``INSERT ... ON CONFLICT DO NOTHING``). A message made by a request (a notification, a receipt) gets a
key of its own (its Message-ID).

*Delivered once.* A sender claims a row with a conditional UPDATE (``state = 'queued' AND the row is
due``), which only one process can win; sends it; marks it sent in its own short transaction. A sender
that dies between claiming and marking leaves the row ``sending``: after ``LEASE`` (on the database's
clock, which all senders share) it is queued again
(the one window where a message may go twice is a crash after the mail server accepted it and before
the row was marked, a fraction of a second). A failed send is retried after 1, 2, 4 ... minutes (at
most an hour apart) and is ``failed`` after ``MAX_TRIES``, with the mail server's words; a coordinator
can resend it.

Requests deliver the rows they wrote right after their commit (so a receipt arrives at once); the
``projectflow scheduler`` process delivers whatever is left (a server that was down, a row a request
could not send) every few seconds. Both use the same claim, so they never send one row twice.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.policy import default as default_policy

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..extensions import db
from . import clock
from .types import UTCDateTime

log = logging.getLogger(__name__)

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
# A message its person takes in their digest (held, then digested), or in the app only (never mailed:
# the row keeps its key, so that it is still made once).
HELD, DIGESTED, IN_APP = "held", "digested", "in_app"
STATES = (QUEUED, SENDING, SENT, FAILED, HELD, DIGESTED, IN_APP)
STATE_LABELS = {QUEUED: "Queued", SENDING: "Being sent", SENT: "Sent", FAILED: "Failed",
                HELD: "Held for a digest", DIGESTED: "Sent in a digest", IN_APP: "In the app only"}
MAX_TRIES = 6
LEASE = timedelta(minutes=5)  # a row claimed longer ago than this lost its sender
BATCH = 200  # rows one delivery pass claims at most


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES!r}", name="state_known"),
        CheckConstraint("tries >= 0", name="tries_not_negative"),
        CheckConstraint("(state IN ('sent', 'digested')) = (sent_at IS NOT NULL)", name="sent_when"),
        Index("ix_outbox_messages_state_next_try_at", "state", "next_try_at"),
        Index("ix_outbox_messages_user_id_state", "user_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # reminders.kinds: deadline, marking_due, ... or "message"
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    message: Mapped[bytes] = mapped_column(LargeBinary)  # the whole RFC 5322 message, as it will be sent
    state: Mapped[str] = mapped_column(String(10), default=QUEUED)
    tries: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))

    @property
    def email(self) -> EmailMessage:
        from email import message_from_bytes

        return message_from_bytes(self.message, policy=default_policy)


def _insert():
    return postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert


def put(message: EmailMessage, *, key: str, kind: str = "message", user_id: int | None = None,
        cohort_id: int | None = None, state: str = QUEUED, send_after: datetime | None = None) -> int | None:
    """Write ``message`` to the outbox in the current transaction, unless a row with ``key`` is there
    already (or being written by another transaction, which the database waits for). Returns the new
    row's id, or None when the key was taken: the message was put there before."""
    now = clock.now()
    if not key.startswith("message:"):
        # The same message, whoever makes it: a receiving server that sees one twice can tell.
        del message["Message-ID"]
        message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@projectflow>"
    return db.session.scalar(_insert()(OutboxMessage).values(
        key=key, user_id=user_id, cohort_id=cohort_id, kind=kind, to_address=str(message["To"]),
        subject=str(message["Subject"]), message=message.as_bytes(policy=SMTP), state=state, tries=0,
        next_try_at=send_after or now, created_at=now).on_conflict_do_nothing().returning(OutboxMessage.id))


def claim(ids: list[int] | None = None, *, limit: int = BATCH, session: Session | None = None) -> list[int]:
    """Take due queued rows for this process (``ids``: only those): each is won by one process only.
    Rows whose sender died (``sending`` for longer than ``LEASE``) are queued again first. Commits."""
    s = session or db.session
    now = clock.now()
    # Leases run on the database's clock, which every sender shares: a sender whose own clock jumps
    # (or a second server's clock, set differently) never takes a row another is sending.
    held_since = database_now(s)
    s.execute(update(OutboxMessage).where(OutboxMessage.state == SENDING, OutboxMessage.claimed_at < held_since - LEASE)
              .values(state=QUEUED, last_error="Its sender stopped while sending it: queued again."))
    query = select(OutboxMessage.id).where(OutboxMessage.state == QUEUED, OutboxMessage.next_try_at <= now)
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    candidates = list(s.scalars(query.order_by(OutboxMessage.next_try_at, OutboxMessage.id).limit(limit)))
    if not candidates:
        s.commit()
        return []
    # One statement claims the batch; a row another sender claimed meanwhile no longer matches it
    # (PostgreSQL re-checks the condition once the other's update commits), so each row has one sender.
    won = list(s.scalars(update(OutboxMessage).where(OutboxMessage.id.in_(candidates), OutboxMessage.state == QUEUED)
                         .values(state=SENDING, claimed_at=held_since, tries=OutboxMessage.tries + 1)
                         .returning(OutboxMessage.id)))
    s.commit()
    return sorted(won, key=candidates.index)


@dataclass(frozen=True)
class Outgoing:
    """A message as a sender gets it: its address and its bytes, as they were written."""

    to_address: str
    raw: bytes


def database_now(session: Session | None = None) -> datetime:
    """The database server's clock, in UTC (SQLite's CURRENT_TIMESTAMP is UTC text)."""
    value = (session or db.session).scalar(select(func.current_timestamp()))
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def backoff(tries: int) -> timedelta:
    """How long after its ``tries``-th failed attempt a message is tried again."""
    return min(timedelta(hours=1), timedelta(minutes=2 ** max(0, tries - 1)))


def send_claimed(row_id: int, send, *, session: Session | None = None) -> bool:
    """Send one claimed row with ``send(Outgoing)``; mark it sent, or queued again (or failed after
    ``MAX_TRIES``) with the reason. True when it was sent. Commits."""
    s = session or db.session
    row = s.get(OutboxMessage, row_id, populate_existing=True)
    if row is None or row.state != SENDING:
        s.rollback()
        return False
    try:
        send(Outgoing(row.to_address, row.message))
    except (smtplib.SMTPException, OSError) as exc:
        now = clock.now()
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        final = row.tries >= MAX_TRIES
        s.execute(update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.state == SENDING)
                  .values(state=FAILED if final else QUEUED, last_error=reason, next_try_at=now + backoff(row.tries)))
        s.commit()
        log.warning("could not send %r to %s (try %d): %s", row.subject, row.to_address, row.tries, reason)
        return False
    s.execute(update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.state == SENDING)
              .values(state=SENT, sent_at=clock.now(), last_error=None))
    s.commit()
    return True


def deliver(send, ids: list[int] | None = None, *, limit: int = BATCH,
            session: Session | None = None) -> tuple[int, int]:
    """Claim and send due rows (``ids``: only those); returns (sent, not sent). Commits."""
    sent = failed = 0
    for row_id in claim(ids, limit=limit, session=session):
        if send_claimed(row_id, send, session=session):
            sent += 1
        else:
            failed += 1
    return sent, failed


def resend(row: OutboxMessage) -> bool:
    """Queue a failed message again, now, with its tries counted afresh. False when it is not failed
    (sent meanwhile, or resent by the same form a moment ago)."""
    return db.session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.state == FAILED)
                              .values(state=QUEUED, tries=0, next_try_at=clock.now())).rowcount == 1


def waiting(now: datetime | None = None):
    """The rows a delivery pass would take now."""
    now = now or clock.now()
    return select(OutboxMessage).where(or_(OutboxMessage.state == QUEUED, OutboxMessage.state == SENDING),
                                       OutboxMessage.next_try_at <= now)


def text_of(row: OutboxMessage) -> str:
    """The plain-text body of a row's message."""
    body = row.email.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""

