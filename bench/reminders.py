"""One pass of the reminders scheduler (issue 14) at faculty scale: the quiet minute, a cohort's
reminder, Monday's digests, and delivering them over SMTP.

``python -m bench.reminders [--students 1200] [--repeats 7] [--bursts 3] [--database-url URL]`` builds
an installation like the demo's with ``tests.cohort_builder`` (1,200 students this year, 800 last year,
400 staff) on SQLite in a temporary directory (or in the empty database ``--database-url`` names), then
lives through this year's cohort's spring with the clock helper:

- in December the trial run is published (every student has a supervisor), and every fifth student
  chooses to take their deadline reminders "in my digest";
- catch-up passes at the cohort's earlier reminder (14 days before) and the minute after it, and just
  before each moment below, as a scheduler running every minute would have made them; their e-mails
  are marked sent without a mail server, and they are not measured;
- *a cohort's reminder*: the moment the 7-day reminder before the cohort's first deadline (the project
  plan) falls due for every student; then *the minute after* (the reminders held for a digest wait
  for Monday's: nothing is due);
- *quiet minutes* after that, where nothing new is due: what the scheduler pays every minute, the
  day's and the week's digests being written already; also as the whole pass (``send_reminders``: the
  delivery's look for queued rows and its SMTP connection included);
- *Monday 08:00* in the cohort's zone, when the supervisors' weekly digests (every supervisor of this
  year's students), the weekly digests of those who hold messages, and the coordinator's daily digest
  are written; and the quiet minutes just before it, when no digest is due yet, and just after;
- *delivering* the reminders and the digests with ``MAIL_BACKEND = "smtp"`` to an aiosmtpd server (its
  ``Sink``: accepts and discards) started here in a process of its own: the loop of
  ``rules.send_reminders``, a batch of ``outbox.BATCH`` rows over one connection at a time; and the
  reminders once more with each message dropped instead of sent (the outbox's claims and marks alone).

Each pass is ``rules.remind(now)`` and the commit, in an application context of its own as the
scheduler runs it. A burst needs the state before it: after each repeat but the last, what the pass
wrote is taken back (its outbox rows and notifications deleted, the held messages its digests carried
held again) and the same pass runs again; a delivery is repeated by queueing its rows again. Quiet
passes run one minute apart. *statements* are the SQL statements of one pass (commits not counted);
*messages* the outbox rows it wrote (e-mails queued, held for a digest, in the app only) or, for a
delivery, the e-mails sent. The second table splits each pass by rule; the rest (*known keys and
writing*) drops what the outbox has already and writes the new rows with their e-mails and
notifications.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as wall_time
from pathlib import Path

from sqlalchemy import delete, func, insert, select, update

from projectflow import create_app
from projectflow.core import clock, mail, outbox
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.matching import services as matching
from projectflow.milestones.models import Milestone
from projectflow.reminders import rules
from projectflow.reminders.models import DIGEST, NotificationPreference

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the builder and the statement log live with the tests
    sys.path.insert(0, str(ROOT))

from tests.cohort_builder import Installation, Scale, build  # noqa: E402
from tests.page_tour import StatementLog  # noqa: E402

Row = outbox.OutboxMessage
WRITING = "known keys and writing"


@dataclass
class Pass:
    """One timed pass: remind + commit, or a delivery."""

    seconds: float
    statements: int
    messages: Counter  # outbox rows written, by state; for a delivery {"sent": n, "not sent": n}
    by_rule: dict[str, tuple[float, int]] = field(default_factory=dict)  # rule -> (seconds, statements)
    size: float = 0.0  # a delivery: mean KiB a message
    cpu: float = 0.0  # seconds of this process's CPU (not the database server's, nor the mail server's)


@dataclass
class Scenario:
    name: str
    short: str  # its column in the table by rule
    moment: datetime
    passes: list[Pass]

    @property
    def best(self) -> float:
        return min(p.seconds for p in self.passes)

    @property
    def median(self) -> float:
        return statistics.median(p.seconds for p in self.passes)

    @property
    def cpu(self) -> float:
        return statistics.median(p.cpu for p in self.passes)


# --- the mail server --------------------------------------------------------------------------------

@contextmanager
def mail_server():
    """aiosmtpd's Sink on a free local port, in its own process (a mail server is not the scheduler's
    process; in this one it would take the scheduler's interpreter lock)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the SMTP server did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


# --- the spring of this year's cohort ---------------------------------------------------------------

def prepare(installation: Installation) -> None:
    """The allocation published in December (nobody mailed: the history is not the benchmark's), and
    every fifth student taking their deadline reminders in their digest."""
    cohort = installation.cohort
    with clock.frozen(max(installation.now, cohort.preferences_deadline_at) + timedelta(days=10)), mail.suppressed():
        matching.publish_run(installation.trial_run, by=installation.coordinator)
    students = sorted(e.user_id for e in cohort.enrolments)
    db.session.execute(insert(NotificationPreference), [{"user_id": uid, "kind": "deadline", "channel": DIGEST}
                                                        for uid in students[::5]])
    db.session.commit()


def moments(installation: Installation) -> tuple[datetime, datetime, list[datetime], Milestone, int]:
    """The moment the cohort's 7-day reminder (or its earliest one) before its first deadline falls due;
    the Monday 08:00 (the cohort's zone) after it; and the moments of the cohort's earlier reminders
    and the minute after each, where the catch-up passes run (as a scheduler running every minute
    would have)."""
    cohort = installation.cohort
    first = db.session.scalar(select(Milestone).where(Milestone.cohort_id == cohort.id, Milestone.needs_file.is_(True))
                              .order_by(Milestone.due_at, Milestone.id).limit(1))
    days = 7 if 7 in cohort.reminder_days else max(cohort.reminder_days)
    reminder = first.due_at - timedelta(days=days)
    earlier = [first.due_at - timedelta(days=d, minutes=-k) for d in sorted(cohort.reminder_days, reverse=True)
               if d > days for k in (0, 1)]
    local = reminder.astimezone(cohort.zone).date()
    monday = local + timedelta(days=7 - local.weekday())
    return reminder, datetime.combine(monday, wall_time(8), cohort.zone), earlier, first, days


def settle(app, moment: datetime) -> int:
    """A pass at ``moment`` that catches up on what fell due before it, its e-mails marked sent (this
    pass is not measured). Returns how many rows it wrote."""
    with app.app_context(), clock.frozen(moment):
        top = _tops()
        rules.remind(moment)
        db.session.commit()
    mark_sent(app, moment)
    with app.app_context():
        return db.session.scalar(select(func.count(Row.id)).where(Row.id > top[0]))


def mark_sent(app, moment: datetime) -> None:
    """Mark every queued e-mail sent, without a mail server (what is not measured)."""
    with app.app_context(), clock.frozen(moment):
        while sum(outbox.deliver(lambda _message: None)) == outbox.BATCH:
            pass


def _tops() -> tuple[int, int]:
    return (db.session.scalar(select(func.max(Row.id))) or 0,
            db.session.scalar(select(func.max(Notification.id))) or 0)


def _take_back(app, top: tuple[int, int]) -> None:
    """Undo what a pass wrote: its rows and notifications, and the held messages its digests carried."""
    with app.app_context():
        db.session.execute(update(Row).where(Row.digest_id > top[0])
                           .values(state=outbox.HELD, digest_id=None, sent_at=None))
        db.session.execute(delete(Notification).where(Notification.id > top[1]))
        db.session.execute(delete(Row).where(Row.id > top[0]))
        db.session.commit()


def queue_again(app, after: int) -> None:
    """Queue again the e-mails sent from the rows written after id ``after``."""
    with app.app_context():
        db.session.execute(update(Row).where(Row.id > after, Row.state == outbox.SENT).values(
            state=outbox.QUEUED, sent_at=None, tries=0, claimed_at=None, last_error=None))
        db.session.commit()


# --- passes -----------------------------------------------------------------------------------------

@contextmanager
def rules_timed(seen: list):
    """Time each registered rule and count its statements (in ``seen``, the pass's statement list)."""
    registered = getattr(rules, "_rules", None)
    spent: dict[str, tuple[float, int]] = {}
    if registered is None:  # the registry moved: no split by rule
        yield spent
        return
    original = list(registered)

    def timed(function):
        def run(now):
            n, started = len(seen), time.perf_counter()
            found = list(function(now))
            spent[function.__name__] = (time.perf_counter() - started, len(seen) - n)
            return found
        return run

    registered[:] = [timed(f) for f in original]
    try:
        yield spent
    finally:
        registered[:] = original


def remind_pass(app, log: StatementLog, moment: datetime) -> Pass:
    """``remind(moment)`` and the commit, as one scheduler pass runs them."""
    with app.app_context():
        top = _tops()
    with app.app_context(), clock.frozen(moment), log.recording() as seen, rules_timed(seen) as by_rule:
        started, cpu = time.perf_counter(), time.process_time()
        rules.remind(moment)
        db.session.commit()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        statements = len(seen)
    with app.app_context():
        written = Counter(dict(db.session.execute(select(Row.state, func.count(Row.id)).where(Row.id > top[0])
                                                  .group_by(Row.state)).all()))
    spent = sum(s for s, _ in by_rule.values())
    by_rule[WRITING] = (seconds - spent, statements - sum(n for _, n in by_rule.values()))
    return Pass(seconds, statements, written, by_rule, cpu=cpu)


def burst(app, log: StatementLog, name: str, short: str, moment: datetime, repeats: int) -> Scenario:
    """The pass at ``moment``, ``repeats`` times from the same state; the last one's rows are kept."""
    with app.app_context():
        top = _tops()
    passes = []
    for i in range(repeats):
        passes.append(remind_pass(app, log, moment))
        if passes[-1].messages != passes[0].messages:
            raise RuntimeError(f"{name}: a repeat wrote {passes[-1].messages}, the first {passes[0].messages}: "
                               "the pass writes something _take_back does not undo")
        if i < repeats - 1:
            _take_back(app, top)
    return Scenario(name, short, moment, passes)


def quiet(app, log: StatementLog, name: str, short: str, start: datetime, repeats: int) -> Scenario:
    """Passes one minute apart from ``start`` (settled), where nothing new falls due."""
    passes = [remind_pass(app, log, start + timedelta(minutes=k)) for k in range(1, repeats + 1)]
    return Scenario(name, short, start + timedelta(minutes=1), passes)


def whole_pass(app, log: StatementLog, name: str, start: datetime, repeats: int) -> Scenario:
    """``send_reminders`` (remind, commit, deliver) once a minute from ``start``, nothing being due."""
    passes = []
    for k in range(1, repeats + 1):
        moment = start + timedelta(minutes=k)
        with app.app_context(), clock.frozen(moment), log.recording() as seen:
            started, cpu = time.perf_counter(), time.process_time()
            made, sent, failed = rules.send_reminders(moment)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            passes.append(Pass(seconds, len(seen), Counter({outbox.QUEUED: made}) if made else Counter(), cpu=cpu))
    return Scenario(name, "", start + timedelta(minutes=1), passes)


def delivery(app, log: StatementLog, name: str, moment: datetime, after: int, repeats: int, *,
             server: bool = True) -> Scenario:
    """Deliver every queued row (written after id ``after``) as ``send_reminders`` does, ``repeats``
    times: the rows are queued again between runs (the last run's stay sent). Without ``server``, each
    message is dropped instead of sent: what the outbox's claims and marks cost alone."""
    passes = []
    for i in range(repeats):
        with app.app_context():
            size = db.session.scalar(select(func.avg(func.length(Row.message)))
                                     .where(Row.id > after, Row.state == outbox.QUEUED)) or 0
        with app.app_context(), clock.frozen(moment), log.recording() as seen:
            started, cpu = time.perf_counter(), time.process_time()
            sent = failed = 0
            while True:  # the loop of rules.send_reminders, after its commit
                with mail.connection() if server else nullcontext(lambda _message: None) as send:
                    batch = outbox.deliver(send)
                sent, failed = sent + batch[0], failed + batch[1]
                if sum(batch) < outbox.BATCH:
                    break
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            statements = len(seen)
        passes.append(Pass(seconds, statements, Counter({"sent": sent, "not sent": failed}), size=float(size) / 1024,
                           cpu=cpu))
        if failed:
            raise RuntimeError(f"{name}: {failed} messages were not sent")
        if i < repeats - 1:
            queue_again(app, after)
    return Scenario(name, "", moment, passes)


# --- the run ----------------------------------------------------------------------------------------

def run(students: int, repeats: int, bursts: int, database_url: str | None) -> tuple[list[Scenario], dict]:
    with tempfile.TemporaryDirectory() as tmp, mail_server() as port:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench-" + "x" * 40,
                          "MAIL_BACKEND": "blocked", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port})
        with app.app_context():
            db.drop_all()
            db.create_all()
            log = StatementLog(db.engine)
        try:
            with app.app_context():
                started = time.perf_counter()
                installation = build(Scale.of(students))
                built = {"seconds": time.perf_counter() - started, "scale": installation.scale,
                         "database": db.engine.dialect.name}
                prepare(installation)
                reminder, monday, earlier, milestone, days = moments(installation)
                due = milestone.due_at.astimezone(installation.cohort.zone)
                built |= {"milestone": f"“{milestone.title}” due {due:%a %d %b %Y %H:%M}", "days": days}
            app.config["MAIL_BACKEND"] = "smtp"  # from here on, the scheduler's own configuration
            built["caught up"] = sum(settle(app, moment) for moment in [*earlier, reminder - timedelta(minutes=1)])
            with app.app_context():
                top = _tops()
            scenarios = [burst(app, log, f"a cohort's {days}-day reminder", f"{days}-day reminder", reminder,
                               bursts)]
            scenarios.append(delivery(app, log, f"delivering the {days}-day reminders, no mail server", reminder,
                                      top[0], bursts, server=False))
            queue_again(app, top[0])
            scenarios.append(delivery(app, log, f"delivering the {days}-day reminders", reminder, top[0], bursts))
            after = reminder + timedelta(minutes=1)
            scenarios.append(burst(app, log, "the minute after the reminder", "minute after",
                                   after, bursts))
            mark_sent(app, after)
            scenarios.append(quiet(app, log, "quiet minute, a weekday afternoon", "quiet afternoon", after,
                                   repeats))
            scenarios.append(whole_pass(app, log, "quiet minute, the whole pass (send_reminders)",
                                        after + timedelta(minutes=repeats), repeats))
            built["caught up"] += settle(app, monday - timedelta(minutes=repeats + 1))
            scenarios.append(quiet(app, log, "quiet minute, Monday before 08:00", "quiet before 08:00",
                                   monday - timedelta(minutes=repeats + 1), repeats))
            with app.app_context():
                top = _tops()
            scenarios.append(burst(app, log, "Monday 08:00: the digests", "Monday 08:00", monday, bursts))
            scenarios.append(delivery(app, log, "delivering the digests", monday, top[0], bursts))
            scenarios.append(quiet(app, log, "quiet minute, after Monday's digests", "quiet after 08:00", monday,
                                   repeats))
        finally:
            log.close()
            with app.app_context():
                db.drop_all()
                db.engine.dispose()
    return scenarios, built


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:,.0f}" if ms >= 10 else f"{ms:.1f}"


def _written(messages: Counter) -> str:
    if "sent" in messages:
        return f"{messages['sent']:,} sent"
    total = sum(messages.values())
    parts = [f"{messages[s]:,} {label}" for s, label in ((outbox.QUEUED, "e-mail"), (outbox.HELD, "held"),
                                                         (outbox.IN_APP, "in app")) if messages[s]]
    return f"{total:,}" + (f" ({', '.join(parts)})" if len(parts) > 1 else "")


def table(scenarios: list[Scenario]) -> str:
    lines = ["| pass | moment (UTC) | runs | best (ms) | median (ms) | CPU (ms) | statements | messages | messages/s |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|"]
    for s in scenarios:
        last = s.passes[-1]
        count = last.messages["sent"] if "sent" in last.messages else sum(last.messages.values())
        rate = f"{count / s.median:,.0f}" if count else "-"
        statements = sorted({p.statements for p in s.passes})
        shown = f"{statements[0]:,}" if len(statements) == 1 else f"{statements[0]:,}-{statements[-1]:,}"
        size = f" ({last.size:.1f} KiB each)" if last.size else ""
        lines.append(f"| {s.name} | {s.moment:%a %d %b %Y %H:%M} | {len(s.passes)} | {_ms(s.best)} | "
                     f"{_ms(s.median)} | {_ms(s.cpu)} | {shown} | {_written(last.messages)}{size} | {rate} |")
    return "\n".join(lines)


def by_rule_table(scenarios: list[Scenario]) -> str:
    split = [s for s in scenarios if s.passes[0].by_rule]
    if not split:
        return "(no split by rule: the rules' registry was not found)"
    names = list(dict.fromkeys(n for s in split for p in s.passes for n in p.by_rule))
    names.remove(WRITING)
    names.append(WRITING)
    lines = ["| rule: ms, statements | " + " | ".join(s.short for s in split) + " |",
             "|---|" + "---:|" * len(split)]
    for name in names:
        cells = []
        for s in split:
            seen = [p.by_rule[name] for p in s.passes if name in p.by_rule]
            cells.append(f"{_ms(statistics.median(t for t, _ in seen))}, {seen[-1][1]:,}" if seen else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=1200, help="this year's cohort (last year's is 2/3)")
    parser.add_argument("--repeats", type=int, default=7, help="quiet passes, a minute apart (at most 59)")
    parser.add_argument("--bursts", type=int, default=3, help="runs of each burst and each delivery")
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args(argv)
    if not 1 <= args.repeats <= 59 or args.bursts < 1:
        parser.error("--repeats is between 1 and 59, --bursts at least 1")
    scenarios, built = run(args.students, args.repeats, args.bursts, args.database_url)
    scale = built["scale"]
    print(f"Reminders at {scale.students} students this year, {scale.previous} last year, {scale.staff} staff, on "
          f"{built['database']} (built in {built['seconds']:.0f} s); this year's first deadline {built['milestone']}, "
          f"its {built['days']}-day reminder; {built['caught up']:,} rows written by the untimed catch-up passes.\n")
    print(table(scenarios))
    print()
    print(by_rule_table(scenarios))


if __name__ == "__main__":
    main()
