"""The outbox pages: a cohort's messages (its coordinators'), or every message (the administrator's),
newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, true
from sqlalchemy.orm import load_only

from ..cohorts.models import Cohort
from ..core import outbox
from ..core.outbox import OutboxMessage
from ..extensions import db
from ..people.models import User
from .kinds import KINDS

PER_PAGE = 50
# The badge of each state: what needs the coordinator stands out.
STATE_BADGES = {outbox.QUEUED: "info", outbox.SENDING: "info", outbox.SENT: "success", outbox.FAILED: "danger",
                outbox.HELD: "secondary", outbox.DIGESTED: "success", outbox.IN_APP: "light"}


def kind_label(kind: str) -> str:
    found = KINDS.get(kind)
    return found.label if found is not None else "A message of the site (a notification or a receipt)"


@dataclass(frozen=True)
class Row:
    message: OutboxMessage
    person: User | None
    kind: str
    cohort: str | None = None  # its cohort (code and year), on the administrator's page


@dataclass(frozen=True)
class OutboxPage:
    rows: list[Row]
    page: object  # flask_sqlalchemy Pagination
    counts: dict[str, int]  # state -> how many of the cohort's messages are in it


def outbox_page(cohort, *, state: str | None, page: int) -> OutboxPage:
    """The cohort's outbox rows (``cohort`` None: every message of the installation, the
    administrator's view, with those of no cohort such as invitations and password resets), ``state``:
    only those, newest first, 50 a page; a page past the last shows the last. The message bodies are
    not loaded: the page shows the subject and the state."""
    mine = OutboxMessage.cohort_id == cohort.id if cohort is not None else true()
    query = (select(OutboxMessage).where(mine)
             .options(load_only(OutboxMessage.id, OutboxMessage.user_id, OutboxMessage.cohort_id, OutboxMessage.kind,
                                OutboxMessage.to_address, OutboxMessage.subject, OutboxMessage.state,
                                OutboxMessage.tries, OutboxMessage.last_error, OutboxMessage.sent_at,
                                OutboxMessage.created_at, OutboxMessage.next_try_at))
             .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()))
    if state:
        query = query.where(OutboxMessage.state == state)
    found = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)
    if found.pages and page > found.pages:
        found = db.paginate(query, page=found.pages, per_page=PER_PAGE, error_out=False)
    messages = list(found.items)
    user_ids = {m.user_id for m in messages if m.user_id is not None}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    counts = dict(db.session.execute(select(OutboxMessage.state, func.count(OutboxMessage.id))
                                     .where(mine).group_by(OutboxMessage.state)).all())
    titles = {}
    if cohort is None and any(m.cohort_id is not None for m in messages):
        titles = {c.id: f"{c.programme_code} {c.year_label}" for c in db.session.scalars(select(Cohort).where(
            Cohort.id.in_({m.cohort_id for m in messages})))}
    return OutboxPage([Row(m, people.get(m.user_id), kind_label(m.kind), titles.get(m.cohort_id)) for m in messages],
                      found, counts)
