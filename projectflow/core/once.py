"""Acting once when the same request arrives several times at once: a double click, a form sent again
from the back button, two tabs.

Three tools, each for its kind of change (the race gate, tests/web/test_races.py, tries every form):

- **A constraint** when duplicates can be told apart by their data: one open proposal per student,
  one calendar feed per person. The second insert fails, and ``core.web`` answers 409.
- **A conditional update** (``UPDATE ... WHERE confirmed_at IS NULL``, checking the row count) for a
  state transition: of two requests confirming one meeting, one finds nothing left to change.
  ``lock`` is its read-modify-write form, for an edit whose audit event says what changed.
- **A one-submission form token** (``FormTokenField``, ``claim``) for a "create" form whose duplicates
  cannot be told apart (two identical meetings may really have happened): the page renders a random
  token into the form, and the request that acts consumes it in the transaction of its change. The
  same form sent again finds the token used and answers with the first sending's result.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, delete, inspect, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import HiddenField

from ..extensions import db
from . import clock
from .errors import ValidationFailed
from .types import UTCDateTime

# secrets.token_urlsafe(24): 32 characters of [A-Za-z0-9_-].
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class FormToken(db.Model):
    """A form's one-submission token, once a request has acted on it (kept with what it made)."""

    __tablename__ = "form_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Who sent it (None: a form for people not signed in, such as "forgotten password").
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]


def new_token() -> str:
    return secrets.token_urlsafe(24)


class FormTokenField(HiddenField):
    """The hidden one-submission token of a "create" form: a new one each time the page is shown."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, default=new_token, **kwargs)


@dataclass(frozen=True)
class EarlierSending:
    """The same form was sent before (or at the same moment) and acted on: what it made, if recorded."""

    object_type: str | None
    object_id: int | None


def claim(token: str | None, user) -> EarlierSending | None:
    """Consume ``token`` in this request's transaction. None: this is the form's first sending, so act
    (and ``made`` may record the result). Otherwise the form was already acted on, by an earlier request
    or by one running at this moment (the database makes this one wait for it to commit): answer with
    that result instead of acting twice. If the acting request fails and rolls back, the token is free
    again. A form sent without a token (a client that never loaded the page) is acted on as it comes."""
    if not token:
        return None
    if not _TOKEN.match(token):
        raise ValidationFailed("The form was damaged on its way: reload the page and send it again.")
    user_id = user.id if user is not None and user.is_authenticated else None
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # INSERT ... ON CONFLICT DO NOTHING: of requests inserting one token at once, the database lets one
    # in and makes the others wait for its commit, then skip. No error, so no transaction to repair.
    inserted = db.session.scalar(insert(FormToken).values(token=token, user_id=user_id, sent_at=clock.now())
                                 .on_conflict_do_nothing(index_elements=["token"]).returning(FormToken.token))
    if inserted is not None:
        return None
    earlier = db.session.scalar(select(FormToken).where(FormToken.token == token))
    if earlier is None or earlier.user_id != user_id:
        raise ValidationFailed("The form was damaged on its way: reload the page and send it again.")
    return EarlierSending(earlier.object_type, earlier.object_id)


def forget_spent_tokens(older_than: timedelta) -> int:
    """Delete the tokens of forms sent longer ago than ``older_than`` (how many): once a form's CSRF
    token has expired (``WTF_CSRF_TIME_LIMIT``), sending that form again is refused anyway, so its
    one-submission token has nothing left to guard. ``projectflow scheduler`` does this every hour."""
    result = db.session.execute(delete(FormToken).where(FormToken.sent_at < clock.now() - older_than))
    return result.rowcount


def insert_unless_present(model, **values) -> bool:
    """Insert a row unless one with the same key is there (or is being inserted by a request at this
    moment, which the database waits for): True when this call inserted it. For a row whose presence is
    the whole effect (a bookmark): the same request twice at once gives the same result twice."""
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    key = inspect(model).primary_key
    return db.session.scalar(insert(model).values(**values).on_conflict_do_nothing()
                             .returning(*key[:1])) is not None


def made(token: str | None, obj) -> None:
    """Record what the first sending of the form made, so that a repeat can answer with it."""
    if not token:
        return
    db.session.flush()
    row = db.session.get(FormToken, token)
    if row is not None:
        row.object_type, row.object_id = obj.__tablename__, obj.id


def lock(obj) -> None:
    """Re-read ``obj``'s row and hold it until this transaction ends. A concurrent request doing the
    same waits here, then reads what this one committed: of two identical edits, the second finds
    nothing left to change (and writes no second audit event). SQLite has one writer at a time anyway,
    and SQLAlchemy leaves FOR UPDATE out there. Changes made so far are flushed first, so they stay."""
    db.session.flush()
    state = inspect(obj)
    keys = state.mapper.primary_key
    # Only the row's own key: a refresh FOR UPDATE would take the eager joins along (PostgreSQL
    # refuses FOR UPDATE on the nullable side of an outer join).
    db.session.execute(select(*keys).where(*(k == v for k, v in zip(keys, state.identity))).with_for_update())
    db.session.refresh(obj)
