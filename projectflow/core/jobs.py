"""Background jobs: the web app records a job, the ``projectflow scheduler`` process runs it.

Long work (an allocation at faculty scale, batch PDFs, big imports) must not hold a web worker, and
must not run in a thread inside one either (DESIGN.md section 2). A request calls ``enqueue`` in its
transaction; the scheduler claims queued jobs one at a time and calls the handler registered for the
job's kind. Pages poll ``Job.progress``/``Job.message``, which the handler updates through its
``Progress`` as it goes.

Claiming is a conditional UPDATE (``state = 'queued'`` in the WHERE clause), so two scheduler
processes never run the same job, on SQLite and PostgreSQL alike. A job whose scheduler died keeps
``running`` with a stale heartbeat; the next claim marks it failed, and its handler's ``on_failure``
puts its domain object in a state the coordinator can act on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from . import clock
from .types import UTCDateTime

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)
# A running job reports at least this often (every Progress call is a heartbeat); one silent for
# longer lost its scheduler.
STALE_AFTER = timedelta(minutes=10)
# A job still queued after this long suggests nobody runs `projectflow scheduler`: pages say so.
WAITING_TOO_LONG = timedelta(seconds=30)


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES!r}", name="state_known"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_percent"),
        CheckConstraint("(state IN ('done', 'failed')) = (finished_at IS NOT NULL)", name="finished_when_ended"),
        Index("ix_jobs_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default=QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="Waiting for the job runner")
    error: Mapped[str | None] = mapped_column(Text)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_finished(self) -> bool:
        return self.state in (DONE, FAILED)

    @property
    def seems_stuck(self) -> bool:
        """Queued for a while and not picked up: the scheduler is probably not running."""
        return self.state == QUEUED and clock.now() - self.created_at > WAITING_TOO_LONG

    def as_status(self) -> dict:
        """What a polling page needs."""
        return {"id": self.id, "state": self.state, "progress": self.progress, "message": self.message,
                "error": self.error, "finished": self.is_finished, "stuck": self.seems_stuck}


class Progress:
    """Reports a running job's progress on a connection of its own, committed at once, so the page
    that polls sees it while the handler's own transaction is still open."""

    def __init__(self, job_id: int):
        self.job_id = job_id

    def __call__(self, percent: int, message: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(update(Job).where(Job.id == self.job_id, Job.state == RUNNING).values(
                progress=max(0, min(100, int(percent))), message=message, heartbeat_at=clock.now()))


@dataclass(frozen=True)
class Handler:
    run: Callable[[Job, Progress], str]  # does the work (without committing); returns the final message
    on_failure: Callable[[Job, str], None] | None = None  # called in a fresh transaction


_handlers: dict[str, Handler] = {}


def register(kind: str, run: Callable[[Job, Progress], str],
             on_failure: Callable[[Job, str], None] | None = None) -> None:
    """Declare how jobs of ``kind`` run (domain packages register theirs when imported)."""
    _handlers[kind] = Handler(run, on_failure)


def enqueue(kind: str, params: dict | None = None, *, cohort=None, by=None) -> Job:
    """Record a job in the caller's transaction; the scheduler starts it once that commits."""
    if kind not in _handlers:
        raise ValueError(f"No job handler is registered for {kind!r}.")
    job = Job(kind=kind, params=params or {}, cohort_id=getattr(cohort, "id", None),
              created_by_id=getattr(by, "id", None), created_at=clock.now())
    db.session.add(job)
    db.session.flush()
    return job


def fail_stale_jobs() -> int:
    """Mark failed every running job whose scheduler stopped reporting; returns how many."""
    cutoff = clock.now() - STALE_AFTER
    stale = db.session.scalars(select(Job).where(Job.state == RUNNING, Job.heartbeat_at < cutoff)).all()
    for job in stale:
        _fail(job, "The job runner stopped while this job was running. Start it again.")
    return len(stale)


def claim_next() -> Job | None:
    """Take the oldest queued job for this process, or None when there is nothing to do."""
    while True:
        job_id = db.session.scalar(select(Job.id).where(Job.state == QUEUED).order_by(Job.id).limit(1))
        db.session.rollback()  # end the read before the write: SQLite locks the file for the UPDATE
        if job_id is None:
            return None
        now = clock.now()
        claimed = db.session.execute(
            update(Job).where(Job.id == job_id, Job.state == QUEUED)
            .values(state=RUNNING, started_at=now, heartbeat_at=now, message="Started")).rowcount
        db.session.commit()
        if claimed == 1:
            return db.session.get(Job, job_id)
        # Another scheduler took it first: look again.


def run_job(job: Job) -> None:
    """Run one claimed job to the end: its handler's work is committed with the job's ``done``
    state, or rolled back and the job marked failed with the reason."""
    handler = _handlers.get(job.kind)
    job_id = job.id
    if handler is None:
        _fail(job, f"No handler for jobs of kind {job.kind!r}: is this the same projectflow version?")
        return
    try:
        message = handler.run(job, Progress(job_id))
        job.state, job.progress, job.message, job.finished_at = DONE, 100, message or "Done", clock.now()
        db.session.commit()
    except Exception as exc:  # the runner's boundary: any failure is recorded on the job, never lost
        log.exception("Job %s (%s) failed", job_id, job.kind)
        db.session.rollback()
        _fail(db.session.get(Job, job_id), f"{type(exc).__name__}: {exc}")


def _fail(job: Job, error: str) -> None:
    handler = _handlers.get(job.kind)
    job.state, job.error, job.message, job.finished_at = FAILED, error, "Failed", clock.now()
    if handler is not None and handler.on_failure is not None:
        handler.on_failure(job, error)
    db.session.commit()


def run_pending(limit: int | None = None, on_job: Callable[[Job], None] | None = None) -> int:
    """Run queued jobs until none is left (or ``limit`` have run); returns how many ran."""
    fail_stale_jobs()
    done = 0
    while limit is None or done < limit:
        job = claim_next()
        if job is None:
            break
        run_job(job)
        done += 1
        if on_job is not None:
            on_job(job)
    return done
