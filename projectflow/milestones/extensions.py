"""Extensions: a student asks before their deadline; the coordinator grants (a number of working days,
up to the cohort's limit), refuses, or refers the case to mitigating circumstances; or grants one
directly. A granted extension moves that student's deadline only."""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import select

from ..cohorts.models import Cohort
from ..core import audit, clock
from ..core.calendar import extend_deadline
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..reminders.notices import notify
from ..core.storage import file_store, max_upload_bytes
from ..extensions import db
from ..people.models import User
from .models import GRANTED, REFERRED, REFUSED, REQUESTED, Extension, Milestone
from .services import effective_deadline, working_calendar


def _link(milestone: Milestone) -> str:
    return f"/milestones/{milestone.id}"


def open_request(milestone: Milestone, student: User) -> Extension | None:
    return db.session.scalar(select(Extension).where(Extension.milestone_id == milestone.id,
                                                     Extension.student_id == student.id,
                                                     Extension.state == REQUESTED))


def why_no_request(milestone: Milestone, student: User) -> str | None:
    """Why the student cannot ask for an extension of this milestone now, or None when they can."""
    if clock.now() >= effective_deadline(milestone, student).due_at:
        return ("The deadline has passed, so an extension can no longer be requested here. Contact the "
                "coordinator about mitigating circumstances.")
    if open_request(milestone, student) is not None:
        return "You already have a request waiting for this milestone."
    granted = db.session.scalar(select(Extension.id).where(Extension.milestone_id == milestone.id,
                                                           Extension.student_id == student.id,
                                                           Extension.state == GRANTED).limit(1))
    if granted is not None:
        # A second request would let extensions add up past the cohort's longest extension.
        return "You were granted an extension of this milestone already: for more time, contact the coordinator."
    return None


def history(milestone: Milestone, student: User) -> list[Extension]:
    return list(db.session.scalars(select(Extension).where(Extension.milestone_id == milestone.id,
                                                           Extension.student_id == student.id)
                                   .order_by(Extension.requested_at.desc())))


def request_extension(milestone: Milestone, student: User, *, reason: str, evidence: BinaryIO | None = None,
                      evidence_name: str = "", by: User) -> Extension:
    """The student asks for more time, before their (effective) deadline, with a reason."""
    cohort: Cohort = milestone.cohort
    if by.id != student.id or not cohort.is_student(student):
        raise NotAllowed("Students ask for their own extensions.")
    if not reason.strip():
        raise ValidationFailed("Say why you need more time: the coordinator decides on your reason.", field="reason")
    refusal = why_no_request(milestone, student)
    if refusal:
        raise InvalidState(refusal)
    extension = Extension(milestone=milestone, student=student, state=REQUESTED, reason=reason.strip(),
                          requested_at=clock.now(), requested_by_id=by.id)
    if evidence is not None:
        store = file_store()
        received = store.receive(evidence, max_bytes=max_upload_bytes())
        # An orphan file (if the commit that follows fails) is removed by the store's sweep.
        stored = store.commit(received, key_prefix=f"evidence/c{cohort.id}/s{student.id}")
        extension.evidence_key, extension.evidence_name = stored.key, (evidence_name or "evidence.pdf")[-255:]
    db.session.add(extension)
    audit.record("extension.requested", extension, actor=by, cohort=cohort,
                 summary=f"{student.name} asked for an extension of “{milestone.title}”",
                 after={"reason": extension.reason, "evidence": bool(extension.evidence_key)})
    coordinators = [s.member for s in cohort.staff if s.is_coordinator]
    notify(coordinators, f"{student.name} asks for an extension of “{milestone.title}”.",
           link=f"/cohorts/{cohort.id}/extensions", cohort=cohort)
    return extension


def new_deadline(milestone: Milestone, working_days: int) -> object:
    """The milestone's deadline moved by ``working_days`` working days (same local time)."""
    cohort = milestone.cohort
    return extend_deadline(milestone.due_at, working_days, cohort.zone, working_calendar(cohort))


def _check_days(cohort: Cohort, working_days: int) -> None:
    limit = cohort.extension_max_working_days
    if not 1 <= working_days <= limit:
        raise ValidationFailed(f"An extension is between 1 and {limit} working days.", field="working_days")


def _require_coordinator(cohort: Cohort, by: User) -> None:
    if not cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators decide on extensions.")


def grant(extension: Extension, *, working_days: int, note: str = "", by: User) -> Extension:
    milestone = extension.milestone
    cohort = milestone.cohort
    _require_coordinator(cohort, by)
    if extension.state != REQUESTED:
        raise InvalidState(f"This request was already {extension.state_label.lower()}.")
    _check_days(cohort, working_days)
    extension.state, extension.new_due_at = GRANTED, new_deadline(milestone, working_days)
    return _decided(extension, note, by, "granted")


def refuse(extension: Extension, *, note: str, by: User) -> Extension:
    return _decide_without_date(extension, REFUSED, note, by, "refused")


def refer(extension: Extension, *, note: str, by: User) -> Extension:
    return _decide_without_date(extension, REFERRED, note, by, "referred to mitigating circumstances")


def _decide_without_date(extension: Extension, state: str, note: str, by: User, words: str) -> Extension:
    cohort = extension.milestone.cohort
    _require_coordinator(cohort, by)
    if extension.state != REQUESTED:
        raise InvalidState(f"This request was already {extension.state_label.lower()}.")
    if not note.strip():
        raise ValidationFailed("Say why: the student reads it.", field="note")
    extension.state = state
    return _decided(extension, note, by, words)


def grant_directly(milestone: Milestone, student: User, *, working_days: int, note: str, by: User) -> Extension:
    """The coordinator grants an extension nobody asked for through the app (an e-mail, a meeting)."""
    cohort = milestone.cohort
    _require_coordinator(cohort, by)
    if not cohort.is_student(student):
        raise ValidationFailed(f"{student.name} is not a student of this cohort.", field="student")
    _check_days(cohort, working_days)
    if not note.strip():
        raise ValidationFailed("Say why it is granted: the student and the audit log read it.", field="note")
    waiting = open_request(milestone, student)
    if waiting is not None:
        return grant(waiting, working_days=working_days, note=note, by=by)
    extension = Extension(milestone=milestone, student=student, state=GRANTED, reason="Granted directly.",
                          requested_at=clock.now(), requested_by_id=by.id,
                          new_due_at=new_deadline(milestone, working_days))
    db.session.add(extension)
    return _decided(extension, note, by, "granted")


def _decided(extension: Extension, note: str, by: User, words: str) -> Extension:
    milestone, student = extension.milestone, extension.student
    cohort = milestone.cohort
    extension.decided_at, extension.decided_by_id, extension.decision_note = clock.now(), by.id, note.strip()
    db.session.flush()
    when = (f" Your new deadline is {extension.new_due_at.astimezone(cohort.zone):%a %d %b %Y %H:%M}."
            if extension.new_due_at else "")
    audit.record(f"extension.{extension.state}", extension, actor=by, cohort=cohort,
                 summary=f"Extension of “{milestone.title}” for {student.name} {words}",
                 after={"state": extension.state, "new_due_at": extension.new_due_at, "note": extension.decision_note})
    notify([student], f"Your extension of “{milestone.title}” was {words}.{when}"
           + (f" {extension.decision_note}" if extension.decision_note else ""), link=_link(milestone), cohort=cohort)
    return extension


def queue(cohort: Cohort) -> list[Extension]:
    """Every extension of the cohort, open requests first."""
    rows = db.session.scalars(select(Extension).join(Milestone).where(Milestone.cohort_id == cohort.id)
                              .order_by(Extension.requested_at.desc())).all()
    return sorted(rows, key=lambda e: e.state != REQUESTED)
