"""Batch generation: the feedback forms of a cohort (or of a filtered set of its students) as one zip
or a folder of PDFs, from the web (a background job) or the command line.

How a batch works, and why:

- ``plan`` lists the forms: one combined form per allocated student, or, filtered to one milestone,
  a form per component marked on it; only released results, or one supervisor's students, on
  request. Each form has a fixed file name, ``<candidate number>-<component key or combined>.pdf``.
- ``generate`` loads what every form needs at once (``FormSource.load``: a fixed number of queries),
  builds each form's HTML in this process and names it by ``core.pdf.content_hash``. A PDF printed
  before from the same content is in the cache (``<instance>/feedback/cache/<ab>/<hash>.pdf``) and is
  reused; the others are printed by a pool of worker processes, one per core, which need no app and
  no database (``core.pdf.html_to_pdf``). So a batch run again after one mark changed prints one form.
- The form's "Generated on" line is left out of the hash: a cached PDF keeps the time it was really
  printed, and the same marks never print twice because a minute has passed.
- Every file is written to a temporary name and renamed into place, the cache's and the batch's:
  a batch stopped half-way leaves whole files or none, and two batches at once may print the same
  form (they write the same bytes). Running a batch again is always safe.

The workers are started with ``forkserver`` where the platform has it (``spawn`` elsewhere), never
``fork``: the job runner and the command hold database connections and the scheduler's threads, which
a forked child would share. The fork server is started once per process with WeasyPrint loaded, so
each later pool starts in about half a second (``spawn``: five, re-importing everything per worker).
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..assessment import results as results_service
from ..assessment.models import RELEASED, Component, Result
from ..cohorts.models import Cohort, CohortStaff, Enrolment
from ..core import audit, jobs, pdf
from ..core.errors import NotAllowed, ValidationFailed
from ..core.sheets import SafeCSVWriter
from ..extensions import db
from ..matching.models import Allocation
from ..matching.services import published_run
from ..milestones.models import Milestone
from ..people.models import ADMIN, User
from .feedback_form import STAFF, STUDENT, FeedbackForm, FormSource, feedback_form, form_html

JOB_KIND = "feedback-pdfs"
COPIES = {STUDENT: "Student copies", STAFF: "Board copies"}
# In the hash instead of the real "generated on" time (see the module's docstring).
_UNDATED = datetime(2000, 1, 1, tzinfo=timezone.utc)
# Forms waiting in the pool's queue per worker: enough to keep the workers busy while this process
# builds the next forms' HTML, few enough that a thousand forms' HTML is never held at once.
_QUEUED_PER_WORKER = 4
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def _file_mode() -> int:
    # What open() would give a new file (mkstemp's 0600 would hide a folder of forms from the exam
    # board's group); the umask can only be read by setting it, so once, at import.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


# --- what a batch holds -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """Which forms of a cohort a batch makes (no filter: every allocated student's combined form)."""

    released: bool = False  # only students whose result is released
    supervisor_id: int | None = None  # only this supervisor's students
    milestone_id: int | None = None  # the forms of the components marked on this milestone

    def to_params(self) -> dict:
        return {"released": self.released, "supervisor_id": self.supervisor_id, "milestone_id": self.milestone_id}

    @classmethod
    def from_params(cls, params: dict) -> Filters:
        return cls(bool(params.get("released")), params.get("supervisor_id"), params.get("milestone_id"))


@dataclass(frozen=True)
class Item:
    """One form of a batch: whose, which component (None: the combined form) and its file name."""

    student: User
    component: Component | None
    candidate_number: str
    filename: str


@dataclass(frozen=True)
class Counts:
    forms: int
    printed: int  # printed by this batch
    reused: int  # taken from the cache: printed before from the same content

    def sentence(self) -> str:
        return (f"{self.forms} form{'s' if self.forms != 1 else ''}: {self.printed} printed, "
                f"{self.reused} reused unchanged from an earlier batch")


class BoardReader:
    """Who reads board copies printed from the command line: the exam board. It sees every name,
    every submitted sheet and every justification (as the cohort's coordinators do), and marks
    nobody, so no sheet is withheld from it as from a marker."""

    id = None
    name = "The exam board"
    is_authenticated = True

    def has_role(self, *roles: str) -> bool:
        return ADMIN in roles


def check_filters(cohort: Cohort, filters: Filters) -> Filters:
    """``filters`` if each names something of this cohort; otherwise ``ValidationFailed`` saying
    which does not (with its field: ``supervisor`` or ``milestone``)."""
    if filters.supervisor_id is not None and db.session.scalar(select(CohortStaff.id).where(
            CohortStaff.cohort_id == cohort.id, CohortStaff.user_id == filters.supervisor_id)) is None:
        raise ValidationFailed(f"{cohort.title} has no member of staff with id {filters.supervisor_id}.",
                               field="supervisor")
    if filters.milestone_id is not None:
        milestone = db.session.get(Milestone, filters.milestone_id)
        if milestone is None or milestone.cohort_id != cohort.id:
            raise ValidationFailed(f"{cohort.title} has no milestone with id {filters.milestone_id}.",
                                   field="milestone")
        if not _components_on(cohort, milestone.id):
            raise ValidationFailed(f"No component of the project mark is marked on “{milestone.title}”: "
                                   "choose a milestone that is marked, or none for the combined forms.",
                                   field="milestone")
    return filters


def _components_on(cohort: Cohort, milestone_id: int) -> list[Component]:
    return [c for c in results_service.components_of(cohort) if c.milestone_id == milestone_id]


def marked_milestones(cohort: Cohort) -> list[Milestone]:
    """The milestones a component of the project mark is marked on (what the milestone filter offers)."""
    ids = {c.milestone_id for c in results_service.components_of(cohort) if c.milestone_id is not None}
    if not ids:
        return []
    return list(db.session.scalars(select(Milestone).where(Milestone.id.in_(ids)).order_by(Milestone.due_at)))


def supervisors(cohort: Cohort) -> list[User]:
    """The supervisors of the cohort's published allocation (what the supervisor filter offers)."""
    run = published_run(cohort)
    if run is None:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(
        select(Allocation.supervisor_id).where(Allocation.run_id == run.id))).order_by(User.name)))


def _file_part(text: str) -> str:
    return _SAFE_NAME.sub("_", text).strip("_")


def plan(cohort: Cohort, filters: Filters) -> list[Item]:
    """The forms a batch with ``filters`` makes, in candidate-number order (filters are assumed
    checked: ``check_filters``)."""
    run = published_run(cohort)
    if run is None:
        return []
    query = (select(Allocation, Enrolment.candidate_number)
             .join(Enrolment, (Enrolment.user_id == Allocation.student_id) & (Enrolment.cohort_id == cohort.id))
             .where(Allocation.run_id == run.id))
    if filters.released:
        query = query.join(Result, (Result.student_id == Allocation.student_id) & (Result.cohort_id == cohort.id)) \
            .where(Result.state == RELEASED)
    if filters.supervisor_id is not None:
        query = query.where(Allocation.supervisor_id == filters.supervisor_id)
    rows = sorted(db.session.execute(query).all(), key=lambda row: (row[1] or "", row[0].student_id))
    components: list[Component | None] = [None]
    if filters.milestone_id is not None:
        components = sorted(_components_on(cohort, filters.milestone_id), key=lambda c: (c.position, c.id))
    items = []
    for allocation, number in rows:
        who = _file_part(number or "") or f"student-{allocation.student_id}"
        for component in components:
            what = _file_part(component.key) if component is not None else "combined"
            items.append(Item(allocation.student, component, number or "", f"{who}-{what}.pdf"))
    return items


def describe(cohort: Cohort, kind: str, filters: Filters) -> str:
    """What a batch holds, as the batches page lists it: "Student copies · released only · ..."."""
    parts = [COPIES[kind]]
    if filters.released:
        parts.append("released results only")
    if filters.supervisor_id is not None:
        supervisor = db.session.get(User, filters.supervisor_id)
        parts.append(f"students of {supervisor.name if supervisor else 'a former supervisor'}")
    if filters.milestone_id is not None:
        milestone = db.session.get(Milestone, filters.milestone_id)
        parts.append(f"forms of {milestone.title if milestone else 'a deleted milestone'}")
    else:
        parts.append("combined forms")
    return " · ".join(parts)


# --- printing -----------------------------------------------------------------------------------------

def cache_dir() -> Path:
    return Path(current_app.instance_path) / "feedback" / "cache"


def batches_dir() -> Path:
    return Path(current_app.instance_path) / "feedback" / "batches"


def _write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path``, complete or not at all: written beside it, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _pool_context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        # Loaded once by the fork server (when it starts), then shared by every worker forked from it.
        context.set_forkserver_preload(["weasyprint", "projectflow.core.pdf"])
        return context
    return multiprocessing.get_context("spawn")


@dataclass
class _Pending:
    item: Item
    path: Path


Progress = Callable[[int, int, str], None]  # (forms ready, forms in all, a sentence)


def _forms(source: FormSource, items: list[Item], reader, kind: str) -> Iterator[tuple[Item, FeedbackForm, str]]:
    cohort = source.cohort
    for item in items:
        form = feedback_form(source, item.student, reader, kind, item.component)
        yield item, form, pdf.content_hash(form_html(replace(form, generated_at=_UNDATED), cohort))


def generate(cohort: Cohort, filters: Filters, reader, kind: str, output: Path,
             progress: Progress = lambda done, total, message: None, *, workers: int | None = None) -> Counts:
    """Make the forms of ``plan(cohort, filters)`` as ``reader`` reads them (``kind``: STUDENT or
    STAFF) into ``output``: a zip when its name ends in ``.zip``, else a folder (made if missing).
    Either holds the PDFs and ``manifest.csv`` (candidate number, name, component, file, SHA-256).
    Reports ``progress`` as forms are ready. Needs the app (for the templates), not a request."""
    if kind not in COPIES:
        raise ValueError(f"unknown kind of copy {kind!r}")
    items = plan(cohort, filters)
    total = len(items)
    progress(0, total, f"Reading the marks of {total} form{'s' if total != 1 else ''}")
    source = FormSource.load(cohort, sorted({i.student.id for i in items}))
    cache = cache_dir()
    printed = reused = 0
    files: list[tuple[Item, Path]] = []  # each form's cache file, in plan order
    pending: dict[Future, _Pending] = {}
    workers = workers or os.cpu_count() or 2
    pool: ProcessPoolExecutor | None = None

    def tell() -> None:
        progress(printed + reused, total, f"{printed + reused} of {total} forms ready ({printed} printed, "
                                          f"{reused} reused)")

    def collect(block: bool) -> None:
        nonlocal printed
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED, timeout=None if block else 0)
        for future in done:
            task = pending.pop(future)
            _write_atomically(task.path, future.result())
            printed += 1
            tell()

    try:
        for item, form, key in _forms(source, items, reader, kind):
            path = cache / key[:2] / f"{key}.pdf"
            files.append((item, path))
            if path.is_file():
                os.utime(path)  # recently used: what a sweep of the cache would keep
                reused += 1
                tell()
                continue
            if pool is None:
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context())
            while len(pending) >= workers * _QUEUED_PER_WORKER:
                collect(block=True)
            pending[pool.submit(pdf.html_to_pdf, form_html(form, cohort))] = _Pending(item, path)
            if pending:
                collect(block=False)
        while pending:
            collect(block=True)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    progress(total, total, f"Writing the {'zip' if output.suffix.lower() == '.zip' else 'folder'}")
    _write_output(output, files)
    return Counts(total, printed, reused)


def _manifest(rows: list[tuple]) -> bytes:
    text = io.StringIO()
    writer = SafeCSVWriter(text, lineterminator="\n")
    writer.writerow(["candidate_number", "name", "component", "file", "sha256"])
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def _write_output(output: Path, files: list[tuple[Item, Path]]) -> None:
    rows = []
    if output.suffix.lower() == ".zip":
        output.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
        os.close(fd)
        try:
            # The PDFs are compressed already: stored, not deflated. Entries in plan order, dated
            # like the forms' content (not now), so the same forms make the same zip.
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
                for item, path in files:
                    data = path.read_bytes()
                    archive.writestr(zipfile.ZipInfo(item.filename, date_time=(2000, 1, 1, 0, 0, 0)), data)
                    rows.append(_row(item, data))
                info = zipfile.ZipInfo("manifest.csv", date_time=(2000, 1, 1, 0, 0, 0))
                archive.writestr(info, _manifest(rows), compress_type=zipfile.ZIP_DEFLATED)
            os.chmod(tmp, _FILE_MODE)
            os.replace(tmp, output)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return
    output.mkdir(parents=True, exist_ok=True)
    for item, path in files:
        data = path.read_bytes()
        _write_atomically(output / item.filename, data)
        rows.append(_row(item, data))
    _write_atomically(output / "manifest.csv", _manifest(rows))


def _row(item: Item, data: bytes) -> tuple:
    return (item.candidate_number, item.student.name, item.component.title if item.component else "Combined",
            item.filename, hashlib.sha256(data).hexdigest())


# --- the background job ---------------------------------------------------------------------------

def start_batch(cohort: Cohort, filters: Filters, kind: str, *, by: User) -> jobs.Job:
    """Record a batch of the cohort's feedback forms for the job runner (``by``: a coordinator)."""
    if not cohort.can_manage(by):
        raise NotAllowed("Only this cohort's coordinators generate its feedback forms.")
    if kind not in COPIES:
        raise ValidationFailed("Choose student copies or board copies.", field="copies")
    check_filters(cohort, filters)
    count = len(plan(cohort, filters))
    if not count:
        raise ValidationFailed("No feedback form matches these choices (no allocated student is left by the "
                               "filters): change them and try again.")
    job = jobs.enqueue(JOB_KIND, {"copies": kind, **filters.to_params(), "forms": count,
                                  "what": describe(cohort, kind, filters)}, cohort=cohort, by=by)
    audit.record("feedback.batch_started", job, actor=by, cohort=cohort,
                 summary=f"Started a batch of {count} feedback forms ({job.params['what']})",
                 after={"copies": kind, **filters.to_params(), "forms": count})
    return job


def batches_of(cohort: Cohort, limit: int = 20) -> list[jobs.Job]:
    return list(db.session.scalars(select(jobs.Job).where(jobs.Job.kind == JOB_KIND, jobs.Job.cohort_id == cohort.id)
                                   .order_by(jobs.Job.id.desc()).limit(limit)))


def zip_path(job: jobs.Job) -> Path:
    return batches_dir() / f"{job.id}.zip"


def counts_of(job: jobs.Job) -> Counts | None:
    """A finished batch's counts (kept in its parameters, beside what it was asked to make)."""
    found = (job.params or {}).get("counts")
    return Counts(**found) if found else None


class _JobProgress:
    """``generate``'s progress as the job's percentage and message, written at most once a percent
    (each write is a committed UPDATE that the batches page polls)."""

    def __init__(self, report: jobs.Progress):
        self.report, self.last = report, -1

    def __call__(self, done: int, total: int, message: str) -> None:
        percent = 2 + (done * 95 // total if total else 95)
        if percent != self.last or done == total:
            self.last = percent
            self.report(percent, message)


def _run_job(job: jobs.Job, progress: jobs.Progress) -> str:
    cohort = db.session.get(Cohort, job.cohort_id)
    by = db.session.get(User, job.created_by_id) if job.created_by_id else None
    if by is None or not cohort.can_manage(by):
        raise NotAllowed("The coordinator who asked for this batch no longer manages the cohort: ask again.")
    counts = generate(cohort, Filters.from_params(job.params), by, job.params.get("copies", STUDENT), zip_path(job),
                      _JobProgress(progress))
    job.params = {**job.params, "counts": {"forms": counts.forms, "printed": counts.printed, "reused": counts.reused}}
    return counts.sentence() + "."


jobs.register(JOB_KIND, _run_job)
