"""Who can come to which poster session: the availability window the coordinator opens and closes,
staff's answers (kept at once), students' declarations with their reasons and the coordinator's
decision on each, and what the coordinator's pages count of them. Every change takes the cohort's
poster lock first (``services._lock``), as every change of the cohort's poster set-up does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..cohorts.models import Cohort, Enrolment
from ..core import audit, clock
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..reminders.notices import notify
from ..core.text import counted
from ..extensions import db
from ..people.models import User
from .models import (ACCEPTED, DECLARED, IF_NEEDED, REFUSED, UNAVAILABLE, Availability, PosterSession,
                     PosterSettings)
from .services import _lock, _require_coordinator, _still_there, session_label, sessions_of

REASON_LENGTH = 2000
# Staff's three answers per session; "available" is no row at all.
AVAILABLE = "available"
STAFF_ANSWERS = (AVAILABLE, IF_NEEDED, UNAVAILABLE)


# --- the availability window ----------------------------------------------------------------------

def window_is_open(settings: PosterSettings, now: datetime) -> bool:
    return window_closed_because(settings, now, zone=None) is None


def window_closed_because(settings: PosterSettings, now: datetime, *, zone) -> str | None:
    """Why nobody can give their availability now, in a sentence, or None while the window is open."""
    if settings.availability_opened_at is None or settings.availability_opened_at > now:
        return "The coordinator has not opened the poster availability yet: nothing can be given or changed."
    if settings.availability_closes_at is not None and now >= settings.availability_closes_at:
        closed = settings.availability_closes_at.astimezone(zone) if zone else settings.availability_closes_at
        return (f"Availability for the poster sessions closed on {closed:%a %d %b %Y %H:%M}: ask the coordinator "
                "if something has changed.")
    return None


def open_window(cohort: Cohort, *, closes_at: datetime | None, by: User) -> PosterSettings:
    """Let staff and students say which sessions they cannot come to, until ``closes_at`` (or until the
    window is closed by hand). Opening tells everyone in the cohort; moving the closing time of an open
    window tells nobody."""
    _require_coordinator(cohort, by)
    now = clock.now()
    sessions = sessions_of(cohort)
    if not sessions:
        raise InvalidState("Add the poster sessions first: people answer for each session.")
    if closes_at is not None and closes_at <= now:
        raise ValidationFailed("That closing time has passed: choose one still to come, or leave it empty.",
                               field="closes_at")
    if closes_at is not None and closes_at > sessions[0].starts_at:
        first = sessions[0].starts_at.astimezone(cohort.zone)
        raise ValidationFailed(f"Close the window before the first session ({first:%a %d %b %Y %H:%M}): the "
                               "schedule is made from the answers.", field="closes_at")
    settings = _lock(cohort)
    if window_is_open(settings, now):
        if settings.availability_closes_at == closes_at:
            return settings  # the same form sent twice: nothing to change
        before = {"closes_at": settings.availability_closes_at}
        settings.availability_closes_at, settings.updated_at = closes_at, now
        audit.record("posters.window_changed", settings, actor=by, cohort=cohort, object_id=cohort.id,
                     summary=f"Poster availability now closes {_when(closes_at, cohort)}", before=before,
                     after={"closes_at": closes_at})
        return settings
    settings.availability_opened_at, settings.availability_closes_at, settings.updated_at = now, closes_at, now
    audit.record("posters.window_opened", settings, actor=by, cohort=cohort, object_id=cohort.id,
                 summary=f"Opened poster availability, closing {_when(closes_at, cohort)}",
                 after={"opened_at": now, "closes_at": closes_at})
    people = [s.member for s in cohort.staff] + [e.student for e in cohort.enrolments]
    deadline = f" by {closes_at.astimezone(cohort.zone):%a %d %b %Y %H:%M}" if closes_at else ""
    notify(people, f"The poster sessions of {cohort.title} are set: say{deadline} which of them you cannot "
                   "come to.", link=f"/cohorts/{cohort.id}/posters/availability", cohort=cohort,
           subject="projectflow: the poster sessions, and when you cannot come")
    return settings


def close_window(cohort: Cohort, *, by: User) -> PosterSettings:
    """Close the availability window now: answers stay as they are."""
    _require_coordinator(cohort, by)
    now = clock.now()
    settings = _lock(cohort)
    if not window_is_open(settings, now):
        return settings  # closed already (the same form sent twice): nothing to change
    before = {"closes_at": settings.availability_closes_at}
    settings.availability_closes_at, settings.updated_at = now, now
    audit.record("posters.window_closed", settings, actor=by, cohort=cohort, object_id=cohort.id,
                 summary="Closed poster availability", before=before, after={"closes_at": now})
    return settings


def _when(moment: datetime | None, cohort: Cohort) -> str:
    return f"on {moment.astimezone(cohort.zone):%a %d %b %Y %H:%M}" if moment else "when closed by hand"


def window_state(cohort: Cohort, settings: PosterSettings, now: datetime) -> str:
    """The availability window in a sentence, for the coordinator."""
    zone = cohort.zone
    if settings.availability_opened_at is None:
        return "Not opened yet: staff and students cannot give their availability."
    opened = settings.availability_opened_at.astimezone(zone)
    closes = settings.availability_closes_at.astimezone(zone) if settings.availability_closes_at else None
    if window_is_open(settings, now):
        return (f"Open since {opened:%a %d %b %Y %H:%M}, "
                + (f"closing {closes:%a %d %b %Y %H:%M}." if closes else "until you close it."))
    return f"Closed on {closes:%a %d %b %Y %H:%M} (opened {opened:%a %d %b %Y %H:%M})."


# --- staff's answers and students' declarations ---------------------------------------------------

def answers_of(cohort: Cohort, person: User) -> dict[int, Availability]:
    """The person's availability rows for the cohort's sessions, by session id."""
    return {a.session_id: a for a in db.session.scalars(
        select(Availability).join(PosterSession).where(PosterSession.cohort_id == cohort.id,
                                                       Availability.user_id == person.id))}


def _require_window(cohort: Cohort, settings: PosterSettings) -> None:
    reason = window_closed_because(settings, clock.now(), zone=cohort.zone)
    if reason:
        raise InvalidState(reason)


def _sessions_by_id(cohort: Cohort, answers: dict[int, object]) -> dict[int, PosterSession]:
    sessions = {s.id: s for s in sessions_of(cohort)}
    unknown = set(answers) - set(sessions)
    if unknown:
        raise ValidationFailed("A session of the form is no longer on the poster days (it was removed meanwhile): "
                               "reload the page.")
    return sessions


def save_staff_availability(cohort: Cohort, person: User, answers: dict[int, str], *, by: User) -> int:
    """A member of staff's answer per session ("available", "if_needed" or "unavailable"), kept at once
    (staff's word needs no decision). Sessions not in ``answers`` keep their answer. How many changed."""
    if by.id != person.id or cohort.staff_member(person) is None:
        raise NotAllowed("Each member of the cohort's staff gives their own availability.")
    settings = _lock(cohort)
    _require_window(cohort, settings)
    sessions = _sessions_by_id(cohort, answers)
    if any(a not in STAFF_ANSWERS for a in answers.values()):
        raise ValidationFailed("Choose one of the answers offered for each session.")
    current = answers_of(cohort, person)
    now = clock.now()
    before, after = {}, {}
    for session_id, answer in sorted(answers.items()):
        row = current.get(session_id)
        was = row.kind if row is not None else AVAILABLE
        if was == answer:
            continue
        label = session_label(sessions[session_id], cohort.zone)
        before[label], after[label] = was, answer
        if answer == AVAILABLE:
            db.session.delete(row)
        elif row is None:
            db.session.add(Availability(session_id=session_id, user_id=person.id, kind=answer, state=ACCEPTED,
                                        decided_at=now, decided_by_id=person.id, created_at=now, updated_at=now))
        else:
            row.kind, row.updated_at = answer, now
    if after:
        db.session.flush()
        audit.record("posters.availability_given", person, actor=by, cohort=cohort,
                     summary=f"{person.name} changed their poster availability ({counted(len(after), 'session')})",
                     before=before, after=after)
    return len(after)


@dataclass(frozen=True)
class StudentAnswer:
    cannot_come: bool
    reason: str = ""


def save_student_declarations(cohort: Cohort, student: User, answers: dict[int, StudentAnswer], *, by: User) -> int:
    """A student declares the sessions they cannot come to, each with a reason the coordinator accepts
    or refuses. A new or changed reason waits for a decision; "I can come" withdraws a declaration; an
    accepted declaration keeps its reason. How many changed."""
    if by.id != student.id or not cohort.is_student(student):
        raise NotAllowed("Each student declares their own sessions.")
    settings = _lock(cohort)
    _require_window(cohort, settings)
    sessions = _sessions_by_id(cohort, answers)
    current = answers_of(cohort, student)
    for session_id, answer in answers.items():
        reason = answer.reason.strip()
        kept = session_id in current and current[session_id].state == ACCEPTED
        if answer.cannot_come and not reason and not kept:
            raise ValidationFailed(f"Say why you cannot come to the session of "
                                   f"{session_label(sessions[session_id], cohort.zone)}: the coordinator decides "
                                   "on your reason.", field=f"reason_{session_id}")
        if len(reason) > REASON_LENGTH:
            raise ValidationFailed(f"A reason has at most {REASON_LENGTH} characters.", field=f"reason_{session_id}")
    now = clock.now()
    changes = {}
    for session_id, answer in sorted(answers.items()):
        row, reason = current.get(session_id), answer.reason.strip()
        label = session_label(sessions[session_id], cohort.zone)
        if not answer.cannot_come:
            if row is not None:
                changes[label] = {"withdrawn": row.reason, "was": row.state}
                db.session.delete(row)
        elif row is None:
            db.session.add(Availability(session_id=session_id, user_id=student.id, kind=UNAVAILABLE, state=DECLARED,
                                        reason=reason, created_at=now, updated_at=now))
            changes[label] = {"declared": reason}
        elif row.state != ACCEPTED and row.reason != reason:
            # A new reason (after a refusal, say) asks the coordinator again.
            changes[label] = {"declared": reason, "was": row.state}
            row.reason, row.state, row.updated_at = reason, DECLARED, now
            row.decided_at, row.decided_by_id, row.decision_note = None, None, ""
    if changes:
        db.session.flush()
        audit.record("posters.declarations_changed", student, actor=by, cohort=cohort,
                     summary=f"{student.name} changed their poster session declarations "
                             f"({counted(len(changes), 'session')})", after=changes)
    return len(changes)


def decide_declaration(declaration: Availability, *, accept: bool, note: str, by: User) -> Availability:
    """The coordinator accepts a student's declaration (the scheduler then keeps their poster out of
    that session) or refuses it; the student is told in the app."""
    session = declaration.session
    cohort = session.cohort
    _require_coordinator(cohort, by)
    if len(note) > REASON_LENGTH:
        raise ValidationFailed(f"A note has at most {REASON_LENGTH} characters.", field="note")
    _lock(cohort)
    declaration = _still_there(declaration)
    if declaration.state != DECLARED:
        when = declaration.decided_at.astimezone(cohort.zone)
        raise InvalidState(f"This declaration was already {declaration.state} on {when:%a %d %b %Y %H:%M}.")
    now = clock.now()
    declaration.state = ACCEPTED if accept else REFUSED
    declaration.decided_at, declaration.decided_by_id, declaration.decision_note = now, by.id, note.strip()
    declaration.updated_at = now
    student = declaration.user
    label = session_label(session, cohort.zone)
    audit.record(f"posters.declaration_{declaration.state}", declaration, actor=by, cohort=cohort,
                 summary=f"{'Accepted' if accept else 'Refused'} {student.name}'s declaration for the poster session "
                         f"of {label}", before={"state": DECLARED},
                 after={"state": declaration.state, "note": declaration.decision_note})
    outcome = ("accepted: your poster will be scheduled in another session" if accept else
               "refused: you may be scheduled in that session")
    notify([student], f"Your declaration that you cannot come to the poster session of {label} was {outcome}."
                      + (f" Note: {declaration.decision_note}" if declaration.decision_note else ""),
           link=f"/cohorts/{cohort.id}/posters/availability", cohort=cohort, email=False)
    return declaration


# --- what the coordinator's pages count -----------------------------------------------------------

def _student_ids(cohort: Cohort):
    return select(Enrolment.user_id).where(Enrolment.cohort_id == cohort.id)


def declarations_query(cohort: Cohort, show: str = "waiting"):
    """Students' declarations of the cohort: those waiting for a decision (oldest first), those
    decided (latest first), or all of them."""
    query = (select(Availability).join(PosterSession)
             .where(PosterSession.cohort_id == cohort.id, Availability.user_id.in_(_student_ids(cohort)))
             .options(selectinload(Availability.session)))
    if show == "waiting":
        return query.where(Availability.state == DECLARED).order_by(Availability.created_at, Availability.id)
    if show == "decided":
        query = query.where(Availability.state != DECLARED)
    return query.order_by(Availability.state != DECLARED, Availability.updated_at.desc(), Availability.id.desc())


@dataclass(frozen=True)
class Counts:
    waiting: int  # students' declarations waiting for a decision
    accepted: int
    refused: int
    staff_unavailable: dict[int, int]  # session id -> staff who cannot come
    staff_if_needed: dict[int, int]
    students_away: dict[int, int]  # session id -> students whose declaration was accepted


def counts(cohort: Cohort) -> Counts:
    """The answers per session and the students' declarations by state, in one query."""
    student = Availability.user_id.in_(_student_ids(cohort))
    rows = db.session.execute(
        select(Availability.session_id, Availability.kind, Availability.state, student.label("is_student"),
               func.count(Availability.id))
        .join(PosterSession).where(PosterSession.cohort_id == cohort.id)
        .group_by(Availability.session_id, Availability.kind, Availability.state, student)).all()
    states = {DECLARED: 0, ACCEPTED: 0, REFUSED: 0}
    unavailable: dict[int, int] = {}
    if_needed: dict[int, int] = {}
    away: dict[int, int] = {}
    for session_id, kind, state, is_student, n in rows:
        if is_student:
            states[state] += n
            if state == ACCEPTED:
                away[session_id] = away.get(session_id, 0) + n
        elif state == ACCEPTED:
            target = unavailable if kind == UNAVAILABLE else if_needed
            target[session_id] = target.get(session_id, 0) + n
    return Counts(states[DECLARED], states[ACCEPTED], states[REFUSED], unavailable, if_needed, away)
