"""E-mail: messages are built from templates and written to the outbox (``core.outbox``) in the
transaction of the change they report: nobody is told about a change that was rolled back, and a
message the mail server refused is tried again rather than lost. Right after the commit the request
delivers what it wrote; the ``projectflow scheduler`` delivers anything left.

Backends (``MAIL_BACKEND``): ``file`` writes ``.eml`` files to ``instance/mail/`` (development),
``smtp`` sends through ``MAIL_SERVER``, ``blocked`` refuses (the test suite's default, so nothing is
mailed by accident).
"""

from __future__ import annotations

import logging
import re
import smtplib
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import delete, event
from sqlalchemy.orm import Session

from ..extensions import db
from . import clock, outbox

log = logging.getLogger(__name__)
_OUTBOX = "projectflow_outbox"


class MailBlocked(RuntimeError):
    pass


def build(to: str, subject: str, template: str, **context) -> EmailMessage:
    """A message from ``templates/email/<template>.txt`` (and ``.html`` when it exists)."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = to
    # A title typed with a line break (or read from older data) must not break, or add to, the headers.
    msg["Subject"] = " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", subject).split())
    msg["Date"] = formatdate(clock.now().timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(domain="projectflow")
    msg.set_content(render_template(f"email/{template}.txt", **context))
    try:
        html = render_template(f"email/{template}.html", **context)
    except TemplateNotFound:
        return msg
    msg.add_alternative(html, subtype="html")
    return msg


_suppressed: ContextVar[bool] = ContextVar("projectflow_mail_suppressed", default=False)


@contextmanager
def suppressed():
    """Inside the block nothing is mailed: ``queue`` and ``notify`` leave no outbox row (the demo
    generator builds a year of history that nobody is to be told about)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def is_suppressed() -> bool:
    return _suppressed.get()


def queue(message: EmailMessage, *, key: str | None = None, kind: str = "message", user_id: int | None = None,
          cohort_id: int | None = None, held: bool = False) -> bool:
    """Put ``message`` in the outbox in the current transaction, to be sent once it commits (``held``:
    kept for its person's digest instead). ``key`` makes it once-only (a reminder); by default a message
    is its own (its Message-ID). False when a message with that key was put there before, or mail is
    ``suppressed``."""
    if _suppressed.get():
        return False
    row_id = outbox.put(message, key=key or f"message:{message['Message-ID']}", kind=kind, user_id=user_id,
                        cohort_id=cohort_id, state=outbox.HELD if held else outbox.QUEUED)
    if row_id is not None and not held:
        deliver_after_commit(row_id)
    return row_id is not None


def deliver_after_commit(row_id: int) -> None:
    """Send the outbox row ``row_id`` right after the current transaction commits (a resend, say),
    rather than on the scheduler's next pass."""
    db.session.info.setdefault(_OUTBOX, []).append(row_id)


def discard_queued() -> int:
    """Take back the messages put in the outbox in this transaction (the demo generator's history is
    not mailed)."""
    ids = db.session.info.pop(_OUTBOX, [])
    if ids:
        db.session.execute(delete(outbox.OutboxMessage).where(outbox.OutboxMessage.id.in_(ids)))
    return len(ids)


def send_now(message: outbox.Outgoing) -> None:
    """Send one message of the outbox through the configured backend."""
    cfg = current_app.config
    backend = cfg["MAIL_BACKEND"]
    if backend == "file":
        folder = Path(current_app.instance_path) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{clock.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        (folder / name).write_bytes(message.raw)
    elif backend == "smtp":
        with connection() as send:
            send(message)
    elif backend == "blocked":
        raise MailBlocked(
            f"e-mail to {message.to_address} blocked: tests that send mail use the smtp_server fixture"
        )
    else:
        raise ValueError(f"unknown MAIL_BACKEND {backend!r}")


def _envelope_sender() -> str:
    return parseaddr(current_app.config["MAIL_SENDER"])[1]


@contextmanager
def connection():
    """A send function for many messages over one SMTP connection (the scheduler's batches: thousands
    of reminders at one moment), opened by the first message: a pass with nothing to send opens none.
    A server that cannot be reached fails each message with the reason, so that the outbox counts
    the try and keeps the words."""
    cfg = current_app.config
    if cfg["MAIL_BACKEND"] != "smtp":
        yield send_now
        return
    opened: list[smtplib.SMTP] = []
    refused: list[BaseException] = []
    sender = _envelope_sender()

    def send(message: outbox.Outgoing) -> None:
        if refused:
            raise refused[0]
        if not opened:
            try:
                opened.append(_connect(cfg))
            except (smtplib.SMTPException, OSError) as exc:
                refused.append(exc)
                raise
        opened[0].sendmail(sender, [message.to_address], message.raw)

    try:
        yield send
    finally:
        for smtp in opened:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _connect(cfg) -> smtplib.SMTP:
    smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"])
    try:
        if cfg["MAIL_USE_STARTTLS"]:
            smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
    except (smtplib.SMTPException, OSError):
        smtp.close()
        raise
    return smtp


@event.listens_for(Session, "after_commit")
def _send_queued(session: Session) -> None:
    """Deliver the rows this transaction wrote, on a session of its own (the committed one may not
    run SQL here). A row the mail server refuses stays queued, with its reason, for the scheduler."""
    ids = session.info.pop(_OUTBOX, [])
    if not ids:
        return
    with Session(session.get_bind()) as own:
        outbox.deliver(send_now, ids, session=own)


@event.listens_for(Session, "after_rollback")
def _drop_queued(session: Session) -> None:
    session.info.pop(_OUTBOX, None)
