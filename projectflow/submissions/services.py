"""Submitting a milestone's file: checked, stored, versioned, marked late against the student's
effective deadline, with a receipt.

Unlike other services, ``submit`` commits: the file and its row must land together (the protocol
of ``core.storage``), so the commit and the removal of the file when it fails belong in one place.
"""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..cohorts.models import Cohort
from ..core import audit, clock, mail
from ..core.calendar import lateness
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..core.storage import file_store, max_upload_bytes
from ..extensions import db
from ..milestones.models import Milestone
from ..milestones.services import effective_deadline, working_calendar
from ..people.models import User
from .models import Submission

# The programme's integrity declaration, versioned so that a receipt says which one was ticked.
DECLARATION_VERSION = "2026-integrity-genai-v1"
DECLARATION = (
    "I declare that this work is my own and that I have acknowledged every source I used. Where I used "
    "generative AI tools, I used them only as the programme's statement on generative AI allows (for "
    "example for language and grammar checks, or for ideas I then developed and verified myself), and I "
    "have described that use in the report. I understand that submitting work that is not my own is "
    "academic misconduct.")


def latest_submission(milestone: Milestone, student: User) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.milestone_id == milestone.id,
                                                      Submission.student_id == student.id)
                             .order_by(Submission.version.desc()).limit(1))


def versions(milestone: Milestone, student: User) -> list[Submission]:
    return list(db.session.scalars(select(Submission).where(Submission.milestone_id == milestone.id,
                                                            Submission.student_id == student.id)
                                   .order_by(Submission.version.desc())))


def on_time_version_a_late_one_would_replace(milestone: Milestone, student: User) -> Submission | None:
    """The student's latest on-time version, when their deadline has passed: a new version now would be
    late, would count instead of it and would carry the late penalty, so the student confirms first."""
    if effective_deadline(milestone, student).due_at >= clock.now():
        return None
    return db.session.scalar(select(Submission).where(Submission.milestone_id == milestone.id,
                                                      Submission.student_id == student.id,
                                                      Submission.is_late.is_(False))
                             .order_by(Submission.version.desc()).limit(1))


def check_open(milestone: Milestone, student: User) -> None:
    """InvalidState when the student can no longer submit (past the cut-off, or no file needed)."""
    if not milestone.needs_file:
        raise InvalidState(f"“{milestone.title}” does not take a file.")
    deadline = effective_deadline(milestone, student)
    now = clock.now()
    cutoff = milestone.cutoff_at
    if cutoff is not None and deadline.due_at > cutoff:
        cutoff = deadline.due_at  # an extension beyond the cut-off moves it for this student
    if cutoff is not None and now > cutoff:
        zone = milestone.cohort.zone
        raise InvalidState(f"Submissions for “{milestone.title}” closed at its cut-off, "
                           f"{cutoff.astimezone(zone):%d %b %Y %H:%M}. Contact the coordinator.")


def submit(milestone: Milestone, student: User, stream: BinaryIO, *, file_name: str, declared: bool,
           form_token: str, by: User, receipt: bool = True, late_confirmed: bool = False) -> tuple[Submission, bool]:
    """Store a new version of the student's file and commit it; returns (submission, created).

    The same form sent twice (``form_token`` already used) returns the first submission instead of
    a second version. A late version over an on-time one needs ``late_confirmed``: it would count,
    penalised, instead of the on-time one. ``receipt=False`` sends no e-mail (the demo's history)."""
    cohort: Cohort = milestone.cohort
    if by.id != student.id or not cohort.is_student(student):
        raise NotAllowed("Only the student submits their own work.")
    if not declared:
        raise ValidationFailed("Tick the declaration: work cannot be submitted without it.", field="declaration")
    if not form_token or len(form_token) > 64:
        raise ValidationFailed("The form was incomplete: reload the page and send it again.", field="file")
    again = db.session.scalar(select(Submission).where(Submission.student_id == student.id,
                                                       Submission.form_token == form_token))
    if again is not None:
        return again, False
    check_open(milestone, student)
    on_time = on_time_version_a_late_one_would_replace(milestone, student)
    if on_time is not None and not late_confirmed:
        raise ValidationFailed(
            f"Your version {on_time.version} was on time. This one would be late: it would count instead, with "
            "the late penalty. Tick “Submit it late anyway” to send it, or keep your on-time version.",
            field="late_confirmed")

    store = file_store()
    received = store.receive(stream, max_bytes=max_upload_bytes())  # UploadRejected (422) on bad files
    stored = store.commit(received, key_prefix=f"submissions/c{cohort.id}/m{milestone.id}/s{student.id}")
    try:
        now = clock.now()
        deadline = effective_deadline(milestone, student)
        late = lateness(deadline.due_at, now, cohort.zone, working_calendar(cohort))
        version = (db.session.scalar(select(func.max(Submission.version)).where(
            Submission.milestone_id == milestone.id, Submission.student_id == student.id)) or 0) + 1
        submission = Submission(
            milestone_id=milestone.id, student_id=student.id, version=version, file_name=_display_name(file_name),
            storage_key=stored.key, size=stored.size, sha256=stored.sha256, page_count=received.page_count,
            submitted_at=now, submitted_by_id=by.id, deadline_at=deadline.due_at, is_late=late.late,
            late_seconds=late.seconds, late_working_days=late.working_days, declaration=DECLARATION_VERSION,
            form_token=form_token)
        db.session.add(submission)
        audit.record("submission.received", submission, actor=by, cohort=cohort,
                     summary=f"{student.name} submitted “{milestone.title}” (version {version}"
                             + (f", {late.working_days} working day(s) late)" if late.late else ")"),
                     after={"version": version, "size": stored.size, "sha256": stored.sha256,
                            "late_seconds": late.seconds, "late_working_days": late.working_days})
        if receipt:
            mail.queue(mail.build(student.email, f"projectflow: receipt for “{milestone.title}”", "submission_receipt",
                                  submission=submission, milestone=milestone, student=student, cohort=cohort))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        store.delete(stored.key)
        again = db.session.scalar(select(Submission).where(Submission.student_id == student.id,
                                                           Submission.form_token == form_token))
        if again is not None:  # the double click's other half won the race
            return again, False
        raise InvalidState("Another submission of yours arrived at the same moment: reload the page to see it.")
    except BaseException:
        db.session.rollback()
        store.delete(stored.key)
        raise
    return submission, True


def _display_name(name: str) -> str:
    """The client's file name, for showing back only: no path, at most 255 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip() or "report.pdf"
    return base[-255:]


def can_see_work(cohort: Cohort, student: User, user: User) -> bool:
    """The student, their supervisor and co-supervisors, their second marker, and the coordinators."""
    from ..matching.models import MarkerAssignment
    from ..matching.services import allocation_of

    if not user.is_authenticated:
        return False
    if user.id == student.id or cohort.can_manage(user):
        return True
    allocation = allocation_of(cohort, student)
    if allocation is None:
        return False
    if user.id in allocation.project.supervisor_ids():
        return True
    return cohort.second_markers_published_at is not None and db.session.scalar(
        select(MarkerAssignment.id).where(MarkerAssignment.allocation_id == allocation.id,
                                          MarkerAssignment.marker_id == user.id)) is not None


def sweep_uploads(older_than) -> list[str]:
    """Remove stored files no row refers to (left by a crash between moving a file into place and
    committing its row) and abandoned temporary files, older than ``older_than``."""
    from ..milestones.models import Extension

    known = set(db.session.scalars(select(Submission.storage_key)))
    known |= {k for k in db.session.scalars(select(Extension.evidence_key)) if k}
    return file_store().sweep_orphans(known, older_than=older_than)
