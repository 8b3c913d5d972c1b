"""Delivery through the outbox: a mail server down then up (nothing lost, nothing doubled), retries
with backoff until failed, a resend, a sender that died mid-send, and two scheduler processes at once
over a simulated fortnight against PostgreSQL (every message arrives exactly once)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from projectflow.core import clock, mail, outbox
from projectflow.extensions import db
from projectflow.reminders import rules

from .conftest import DUE, add_milestone, hand_in

REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens there once the socket is closed


def rows(state: str | None = None) -> list[outbox.OutboxMessage]:
    query = select(outbox.OutboxMessage).order_by(outbox.OutboxMessage.id)
    if state is not None:
        query = query.where(outbox.OutboxMessage.state == state)
    db.session.expire_all()
    return list(db.session.scalars(query))


def test_a_mail_server_down_then_up_loses_nothing_and_doubles_nothing(round_, smtp_server, app):
    app.config["MAIL_PORT"] = closed_port()
    moment = DUE - timedelta(days=7)
    with clock.frozen(moment):
        assert rules.send_reminders() == (3, 0, 3)
    waiting = rows(outbox.QUEUED)
    assert len(waiting) == 3 and all(r.tries == 1 and "ConnectionRefused" in r.last_error for r in waiting)
    app.config["MAIL_PORT"] = smtp_server.port
    with clock.frozen(moment + timedelta(seconds=30)):  # before the first retry is due: nothing yet
        assert rules.send_reminders() == (0, 0, 0)
    with clock.frozen(moment + outbox.backoff(1)):
        assert rules.send_reminders() == (0, 3, 0)
    with clock.frozen(moment + timedelta(hours=2)):
        assert rules.send_reminders() == (0, 0, 0)
    assert len(smtp_server.messages) == 3
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(s.email for s in round_.students)
    assert all(r.state == outbox.SENT and r.last_error is None for r in rows())


def test_a_pass_with_nothing_to_send_opens_no_connection(round_, app):
    """The scheduler looks every minute: with nothing queued it does not knock on the mail server's
    door (a TLS handshake and a login every minute, against a real one). A listening socket counts who
    connects; one message makes exactly one connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.3)
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1],
                      MAIL_TIMEOUT=0.3)

    def connections() -> int:
        count = 0
        while True:
            try:
                accepted, _ = listener.accept()
            except OSError:  # timed out: nobody else is waiting
                return count
            accepted.close()
            count += 1

    try:
        with clock.frozen(DUE - timedelta(days=20)):
            assert rules.send_reminders() == (0, 0, 0)
        assert connections() == 0
        with clock.frozen(DUE - timedelta(days=7)):  # three reminders, refused by a server that never answers
            assert rules.send_reminders() == (3, 0, 3)
        assert connections() == 1
    finally:
        listener.close()


def test_retries_back_off_until_failed_with_the_reason_and_a_resend_delivers(round_, smtp_server, app):
    app.config["MAIL_PORT"] = closed_port()
    moment = DUE - timedelta(days=7)
    for attempt in range(1, outbox.MAX_TRIES + 1):
        with clock.frozen(moment):
            rules.send_reminders()
        found = rows()
        assert {r.tries for r in found} == {attempt}
        moment += outbox.backoff(attempt)
    assert {r.state for r in rows()} == {outbox.FAILED}
    assert all("ConnectionRefused" in r.last_error for r in rows())
    with clock.frozen(moment + timedelta(days=1)):  # failed rows are not tried again by themselves
        assert rules.send_reminders()[1:] == (0, 0)
    app.config["MAIL_PORT"] = smtp_server.port
    first = rows()[0]
    assert outbox.resend(first) is True and outbox.resend(first) is False  # the second finds nothing to do
    db.session.commit()
    with clock.frozen(moment + timedelta(days=1)):
        assert rules.send_reminders() == (0, 1, 0)
    assert len(smtp_server.messages) == 1


def test_a_sender_that_died_mid_send_leaves_its_rows_to_another_after_the_lease(round_, smtp_server):
    moment = DUE - timedelta(days=7)
    with clock.frozen(moment):
        rules.remind(moment)
        db.session.commit()
        claimed = outbox.claim()  # then the process died: the rows stay "sending"
    assert len(claimed) == 3 and {r.state for r in rows()} == {outbox.SENDING}
    # Within its lease nobody else takes them, whatever a sender's own clock says (a clock jumped ahead).
    with clock.frozen(moment + timedelta(hours=3)):
        assert outbox.deliver(mail.send_now) == (0, 0)
    # Its lease ran out on the database's clock: the rows are queued again and sent once.
    db.session.execute(update(outbox.OutboxMessage).values(
        claimed_at=outbox.database_now() - outbox.LEASE - timedelta(seconds=1)))
    db.session.commit()
    with clock.frozen(moment + timedelta(minutes=1)):
        assert outbox.deliver(mail.send_now) == (3, 0)
    assert len(smtp_server.messages) == 3 and {r.state for r in rows()} == {outbox.SENT}


@pytest.mark.timeout(900)
def test_two_schedulers_at_once_over_a_fortnight_send_every_message_exactly_once(
        make, cohort, coordinator, smtp_server, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("two scheduler processes need PostgreSQL (SQLite lets one writer in at a time); CI runs this "
                    "in its PostgreSQL pass")
    start = DUE - timedelta(days=10)
    with clock.frozen(start - timedelta(days=30)):
        cohort.reminder_days = [7, 2, 1]
        students = [make.student(cohort) for _ in range(150)]
        milestones = [add_milestone(cohort, f"Report {k}", DUE + timedelta(days=k)) for k in range(4)]
        db.session.commit()
    early = students[::5]
    for s in early:  # a fifth handed the first report in before the fortnight: no reminder of it at all
        hand_in(milestones[0], s, start - timedelta(days=1))
    # Each report not handed in: its 7-, 2- and 1-day reminders and its overdue notice, all within the
    # fortnight walked in steps of three hours (each moment falls on a step).
    expected = (len(students) - len(early)) * 4 + len(students) * 3 * 4
    processes = [subprocess.Popen(
        [sys.executable, "-m", "tests.reminders.scheduler_process", database_url, str(smtp_server.port),
         start.isoformat(), str(14 * 24), str(180), str(tmp_path / f"instance{i}")],
        cwd=REPO, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for i in range(2)]
    for process in processes:
        output, _ = process.communicate(timeout=840)
        assert process.returncode == 0, output.decode()[-3000:]
    smtp_server.wait_for(expected, timeout=30)
    ids = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert [i for i, n in ids.items() if n > 1] == []  # nothing twice
    assert len(smtp_server.messages) == expected  # nothing lost
    db.session.expire_all()
    states = dict(db.session.execute(select(outbox.OutboxMessage.state, func.count())
                                     .group_by(outbox.OutboxMessage.state)).all())
    assert states == {outbox.SENT: expected}
