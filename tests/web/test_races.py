"""Gate 5, races: every state-changing form, posted three times at once by the same person.

For each POST route of ``app.url_map`` the table ``CASES`` says who may use it, which page renders its
form and what that person fills in. The test builds a small world with the real services, signs the
person in on a live server, reads the form from the page as a browser would, and sends it three
times at once (three threads released together, one session cookie). Then:

- no answer is a server error;
- the effect (rows per table, audit events by action, e-mails) is exactly the effect of sending
  the form once, measured on an identical world built beforehand;
- every answer is the same as the single send's (status and redirect), or tells the person what
  happened: 409 (or a status the case names) with a sentence inside the site's layout.

A POST route without an entry fails ``test_every_state_changing_route_has_an_entry``: a new form
declares here who uses it and what they send. The races need PostgreSQL (SQLite lets one writer in
at a time): on SQLite they are skipped with the reason; CI runs them in its PostgreSQL pass.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from projectflow.assessment import services as assessment
from projectflow.assessment.models import MarkSheet
from projectflow.cohorts import held
from projectflow.core import clock, jobs, mail
from projectflow.core.notifications import Notification
from projectflow.reminders.notices import notify
from projectflow.extensions import db
from projectflow.matching import second_markers
from projectflow.matching import services as matching
from projectflow.milestones import extensions
from projectflow.milestones import services as timeline_services
from projectflow.people.models import PasswordReset, User
from projectflow.posters import availability as poster_availability
from projectflow.posters import schedules as poster_schedules
from projectflow.posters import services as posters
from projectflow.supervision import services as meetings
from tests.conftest import TEST_DATABASE_URL
from tests.factories import Factories
from tests.html import has_layout, main_text
from tests.milestones.conftest import pdf_bytes
from tests.forms import Form, parse_forms
from tests.web.race_kit import Answer, CapturedPost, LiveClient, effect, fingerprint

NOW = datetime(2027, 2, 15, 10, tzinfo=timezone.utc)  # the part-time phase; the project plan is due ahead
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql"))


# --- a small cohort, built on demand -----------------------------------------------------------------

class World:
    """The people and objects a case asks for, made through the real services when first asked."""

    def __init__(self, make: Factories):
        self.make = make

    @cached_property
    def coordinator(self) -> User:
        return self.make.coordinator(name="Cora Ordinator")

    @cached_property
    def cohort(self):
        cohort = self.make.cohort(coordinator=self.coordinator)
        cohort.min_preferences = 1
        db.session.commit()
        return cohort

    @cached_property
    def last_year(self):
        """A second cohort of the coordinator's, a year older: the navigation offers a cohort switcher."""
        cohort = self.make.cohort(coordinator=self.coordinator, year=self.cohort.academic_year - 1)
        db.session.commit()
        return cohort

    @cached_property
    def admin(self) -> User:
        return self.make.admin(name="Ada Admin")

    @cached_property
    def lee(self) -> User:
        return self.make.staff(self.cohort, name="Dr Lee", max_load=3, expertise=("graphs",))

    @cached_property
    def kim(self) -> User:
        return self.make.staff(self.cohort, name="Dr Kim", max_load=3, expertise=("graphs",))

    @cached_property
    def poe(self) -> User:
        return self.make.staff(self.cohort, name="Dr Poe", max_load=3, expertise=("graphs",))

    @cached_property
    def projects(self) -> list:
        return [self.make.project(self.cohort, owner=self.lee, title="Graph transformers", capacity=2,
                                  keywords=["graphs"]),
                self.make.project(self.cohort, owner=self.kim, title="Protein folding", capacity=2,
                                  keywords=["graphs"])]

    @cached_property
    def students(self) -> list[User]:
        students = [self.make.student(self.cohort, name=n) for n in ("Ann Student", "Ben Student")]
        first, second = self.projects
        self.make.preferences(self.cohort, students[0], [first, second])
        self.make.preferences(self.cohort, students[1], [second, first])
        return students

    @property
    def student(self) -> User:
        return self.students[0]

    @cached_property
    def run(self):
        """A solved allocation run, under review."""
        self.students, self.poe  # noqa: B018 (everyone is in the cohort before it is solved)
        run = matching.start_run(self.cohort, objective="min-cost", by=self.coordinator)
        db.session.commit()
        assert jobs.run_pending() >= 1
        db.session.refresh(run)
        assert run.state == "solved", run.error
        return run

    @cached_property
    def published(self):
        matching.publish_run(self.run, by=self.coordinator)
        db.session.commit()
        return self.run

    @cached_property
    def markers(self):
        self.published  # noqa: B018
        second_markers.assign_second_markers(self.cohort, by=self.coordinator)
        db.session.commit()
        return self.published

    @cached_property
    def timeline(self) -> dict:
        created = timeline_services.create_timeline(self.cohort, by=self.coordinator)
        db.session.commit()
        return {m.kind: m for m in created}

    @cached_property
    def meeting(self):
        self.published  # noqa: B018
        meeting = meetings.record_meeting(self.cohort, self.student, met_on=NOW.date() - timedelta(days=3),
                                          notes="We planned the literature review.", by=self.student)
        db.session.commit()
        return meeting

    @cached_property
    def extension(self):
        request = extensions.request_extension(self.timeline["project_plan"], self.student,
                                               reason="I was ill for a week.", by=self.student)
        db.session.commit()
        return request

    @cached_property
    def submitted_project(self):
        return self.make.project(self.cohort, owner=self.lee, state="submitted", title="Awaiting approval")

    @cached_property
    def draft_project(self):
        return self.make.project(self.cohort, owner=self.lee, state="draft", title="A draft")

    @cached_property
    def reset_token(self) -> str:
        token = "a-reset-token-for-the-race-" + "x" * 20
        db.session.add(PasswordReset(user_id=self.student.id, token_hash=PasswordReset.hash_token(token),
                                     created_at=NOW, expires_at=NOW + timedelta(hours=1)))
        db.session.commit()
        return token

    @cached_property
    def invitee(self) -> User:
        """A student imported into the cohort who has not set a password yet."""
        return self.make.student(self.cohort, name="Ivy Invitee", password=None)

    @cached_property
    def held_import(self):
        """A people file held because it would make the admin a student of the cohort."""
        waiting = held.import_or_hold(self.cohort, f"email,name,role\n{self.admin.email},Ada Admin,student\n"
                                      "new.one@example.ac.uk,New One,student\n".encode(), by=self.coordinator,
                                      filename="people.csv")
        db.session.commit()
        return waiting

    @cached_property
    def components(self) -> dict:
        self.timeline, self.markers  # noqa: B018 (milestones and second markers first)
        second_markers.publish_second_markers(self.cohort, by=self.coordinator)
        made = {c.key: c for c in assessment.set_up_marking(self.cohort, by=self.coordinator)}
        db.session.commit()
        return made

    @cached_property
    def sheet(self):
        """The first marker's report sheet of the first allocated student, not started."""
        assessment.open_marking(self.components["report"], by=self.coordinator)
        db.session.commit()
        return db.session.scalars(select(MarkSheet).where(MarkSheet.role == "first")
                                  .order_by(MarkSheet.id)).first()

    @cached_property
    def submitted_sheet(self):
        """A supervisor's sheet of independence, submitted."""
        assessment.open_marking(self.components["independence"], by=self.coordinator)
        sheet = db.session.scalars(select(MarkSheet).where(
            MarkSheet.component_id == self.components["independence"].id).order_by(MarkSheet.id)).first()
        assessment.save_sheet(sheet, [assessment.CriterionEntry(c.id, None, 70, "Independent.")
                                      for c in sheet.rubric.criteria_for("first")],
                              overall_comment="Worked well.", private_note="", by=sheet.marker)
        assessment.submit_sheet(sheet, by=sheet.marker)
        db.session.commit()
        return sheet

    @cached_property
    def disagreement(self):
        """A report marked 60 by the first marker and 67 by the second: in reconciliation."""
        from projectflow.assessment.models import Agreement

        sheet = self.sheet
        second = db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == sheet.student_id,
                                                            MarkSheet.component_id == sheet.component_id,
                                                            MarkSheet.role == "second")).one()
        for s, mark in ((sheet, 60), (second, 67)):
            assessment.save_sheet(s, [assessment.CriterionEntry(c.id, None, mark, "Seen.")
                                      for c in s.rubric.criteria_for(s.role)],
                                  overall_comment="Overall.", private_note="", by=s.marker)
            assessment.submit_sheet(s, by=s.marker)
        db.session.commit()
        return db.session.scalars(select(Agreement).where(Agreement.student_id == sheet.student_id)).one()

    @cached_property
    def proposal(self):
        """The disagreement with 63 proposed by the first marker."""
        from projectflow.assessment import reconciliation

        reconciliation.propose(self.disagreement, 63, "Between the two.", by=self.sheet.marker)
        db.session.commit()
        return self.disagreement

    @cached_property
    def second_sheet(self):
        self.disagreement  # noqa: B018
        return db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == self.sheet.student_id,
                                                          MarkSheet.component_id == self.sheet.component_id,
                                                          MarkSheet.role == "second")).one()

    @cached_property
    def needs_third(self):
        from projectflow.assessment import reconciliation

        reconciliation.cannot_agree(self.disagreement, "We read it differently.", by=self.sheet.marker)
        db.session.commit()
        return self.disagreement

    @cached_property
    def results(self) -> list:
        """Every component marked for every allocated student (65 and 66): final marks, provisional; the
        exam board met in January, so results may be released."""
        from datetime import date

        from projectflow.assessment.models import MarkingRules, Result

        for component in self.components.values():
            assessment.open_marking(component, by=self.coordinator)
        for s in db.session.scalars(select(MarkSheet).order_by(MarkSheet.id)):
            assessment.save_sheet(s, [assessment.CriterionEntry(c.id, None, 65 if s.role == "first" else 66, "Seen.")
                                      for c in s.rubric.criteria_for(s.role)],
                                  overall_comment="Overall.", private_note="", by=s.marker)
            assessment.submit_sheet(s, by=s.marker)
        db.session.get(MarkingRules, self.cohort.id).exam_board_on = date(2027, 1, 20)
        db.session.commit()
        return list(db.session.scalars(select(Result).where(Result.final.is_not(None)).order_by(Result.id)))

    @property
    def to_moderate(self):
        """A student with a final mark whom the coordinator did not mark."""
        marked = set(db.session.scalars(select(MarkSheet.student_id).where(MarkSheet.marker_id == self.coordinator.id)))
        return next(r.student for r in self.results if r.student_id not in marked)

    @cached_property
    def poster_session(self):
        """A poster session in September with one room."""
        session = posters.add_session(self.cohort, posters.SessionValues(
            date(2027, 9, 14), time(10), time(12), (posters.RoomValues(None, "Atrium", 20),)), by=self.coordinator)
        db.session.commit()
        return session

    @cached_property
    def poster_window(self):
        """The poster session, the availability window open (the cohort told, by e-mail: not in the race)."""
        session = self.poster_session
        poster_availability.open_window(self.cohort, closes_at=None, by=self.coordinator)
        mail.discard_queued()
        db.session.commit()
        return session

    @cached_property
    def poster_declaration(self):
        """Ann's declaration that she cannot come to the poster session, waiting for a decision."""
        session = self.poster_window
        poster_availability.save_student_declarations(self.cohort, self.student, {
            session.id: poster_availability.StudentAnswer(True, "My sister's wedding.")}, by=self.student)
        db.session.commit()
        return poster_availability.answers_of(self.cohort, self.student)[session.id]

    @cached_property
    def poster_schedule(self):
        """A poster schedule of the published allocation, made by the job runner, ready for review."""
        self.published, self.poster_session  # noqa: B018
        schedule = poster_schedules.start_schedule(self.cohort, by=self.coordinator, seconds=5)
        db.session.commit()
        assert jobs.run_pending() == 1
        db.session.refresh(schedule)
        assert schedule.state == "solved", schedule.error
        return schedule

    @cached_property
    def panel_member(self):
        """Dr Poe (who supervises nobody) on Ann's poster panel."""
        self.published  # noqa: B018
        member = posters.add_panel_member(self.cohort, self.student, self.poe, by=self.coordinator)
        db.session.commit()
        return member

    @cached_property
    def failed_message(self) -> int:
        """A reminder to Ann in the cohort's outbox, failed (the mail server refused it six times)."""
        from projectflow.core import outbox

        row_id = outbox.put(mail.build(self.student.email, "Your project plan is due", "notification",
                                       person=self.student, message="Your project plan is due.", link=None),
                            key="race:failed-reminder", kind="deadline", user_id=self.student.id,
                            cohort_id=self.cohort.id, state=outbox.FAILED)
        db.session.commit()
        return row_id

    @cached_property
    def failed_reset(self) -> int:
        """A password-reset e-mail to Ann, of no cohort, failed: the administrator's outbox lists it."""
        from projectflow.core import outbox

        self.admin  # noqa: B018 (signs in below)
        row_id = outbox.put(mail.build(self.student.email, "Set a new password", "notification",
                                       person=self.student, message="Open the link to set a new password.", link=None),
                            key="race:failed-reset", kind="message", user_id=self.student.id, state=outbox.FAILED)
        db.session.commit()
        return row_id

    @cached_property
    def unread(self) -> int:
        told = notify([self.student], "Your supervisor left a comment.", email=False)
        db.session.commit()
        return told


# --- the table: every state-changing route, who uses it and what they send ----------------------------

Persona = Callable[[World], User | None]


@dataclass(frozen=True)
class Case:
    persona: Persona  # who signs in (None: nobody)
    page: Callable[[World], str]  # the page that renders the form
    action: Callable[[World], str] | None = None  # the form's address, when not the page itself
    fill: Callable[[World, Form], None] = lambda w, form: None  # what the person types or chooses
    files: Callable[[World], dict] | None = None  # the files they choose: {input name: (bytes, filename, type)}
    press: str | None = None  # the submit button (its text), when not the form's first
    having: Callable[[World], dict] | None = None  # picks one form among several to the same address
    told: tuple[int, ...] = (409,)  # how a repeat may be told, besides answering as the first did
    final: Callable[[World], None] | None = None  # a check of the state after the race
    # The change leaves no row, audit event or e-mail (a session, a time stamp): the single send is
    # not required to show an effect. Everything else must, so that a case never passes for nothing.
    traceless: bool = False


def as_(name: str) -> Persona:
    return lambda w: getattr(w, name)


def nobody(w: World) -> None:
    return None


def cohort_page(path: str) -> Callable[[World], str]:
    return lambda w: f"/cohorts/{w.cohort.id}{path}"


def sets(**values) -> Callable[[World, Form], None]:
    """Fill fields as a person does (type into a field, choose an offered option, tick a box), each value
    a constant or a function of the world."""
    def fill(w, form):
        for name, value in values.items():
            value = str(value(w) if callable(value) else value)
            kinds = {c.kind for c in form.controls if c.name == name}
            if kinds == {"select"}:
                form.select(name, value)
            elif kinds <= {"checkbox", "radio"} and kinds:
                form.check(name, value)
            else:
                form.set(name, value)
    return fill


def _all_read(w: World) -> None:
    assert not db.session.scalars(select(Notification).where(Notification.user_id == w.student.id,
                                                             Notification.read_at.is_(None))).all()


def _resent_once(w: World) -> None:
    from projectflow.core import outbox

    row = db.session.get(outbox.OutboxMessage, w.failed_message, populate_existing=True)
    # Queued again once, and tried once right after the commit (the race's mail goes to files).
    assert (row.state, row.tries) == (outbox.SENT, 1)


def _reset_resent_once(w: World) -> None:
    from projectflow.core import outbox

    row = db.session.get(outbox.OutboxMessage, w.failed_reset, populate_existing=True)
    assert (row.state, row.tries) == (outbox.SENT, 1)


def _disputed_once(w: World) -> None:
    db.session.refresh(w.meeting)
    assert w.meeting.dispute_comment == "We met a day later." and w.meeting.confirmed_at is None


def _held_import_page(w: World) -> str:
    return f"/cohorts/{w.cohort.id}/imports/{w.held_import.id}"


def _imported_once(w: World) -> None:
    db.session.expire_all()
    assert w.held_import.confirmed_at is not None and w.admin.roles == {"admin", "student"}
    assert w.cohort.is_student(w.admin)


def _import_csv(w) -> dict:
    return {"file": (b"email,name,role\nnew.one@example.ac.uk,New One,student\n"
                     b"new.two@example.ac.uk,New Two,staff\n", "people.csv", "text/csv")}


def _ann_allocation(w):
    return next(a for a in w.markers.allocations if a.student_id == w.student.id)


def _other_marker(w):
    allocation = _ann_allocation(w)
    current = db.session.scalar(select(second_markers.MarkerAssignment.marker_id)
                                .where(second_markers.MarkerAssignment.allocation_id == allocation.id))
    return next(u.id for u in (w.poe, w.kim, w.lee) if u.id not in (current, allocation.supervisor_id))


def _schedule_page(w) -> str:
    return f"/cohorts/{w.cohort.id}/posters/schedules/{w.poster_schedule.id}"


def _free_slot(w) -> str:
    """A room and slot of the session where Ann's poster may go (the change form's value)."""
    room = w.poster_session.rooms[0]
    for k in range(7, -1, -1):
        target = poster_schedules.target_from(w.poster_schedule, f"{room.id}-{k}")
        mine = next(s for s in poster_schedules.slots_of(w.poster_schedule) if s.student_id == w.student.id)
        if target.starts_at != mine.starts_at and poster_schedules.check_change(w.poster_schedule, w.student,
                                                                                target).ok:
            return f"{room.id}-{k}"
    raise AssertionError("no free slot for Ann's poster")


def _moved_once(w) -> None:
    slots = poster_schedules.slots_of(w.poster_schedule)
    assert [s.is_moved for s in slots if s.student_id == w.student.id] == [True]
    assert poster_schedules.standing(w.poster_schedule).problems == []


def _move_target(w):
    current = next(a.project_id for a in w.run.allocations if a.student_id == w.student.id)
    return next(p.id for p in w.projects if p.id != current)


def _poster_session_page(w) -> str:
    return f"/cohorts/{w.cohort.id}/posters/sessions/{w.poster_session.id}"


def _earlier_marking(w) -> str:
    """This year's marking set up, and last year's with a poster of its own to copy from: the rules page."""
    w.components  # noqa: B018
    made = {c.key: c for c in assessment.set_up_marking(w.last_year, by=w.coordinator)}
    made["poster"].title = "Poster and demonstration"
    db.session.commit()
    return f"/cohorts/{w.cohort.id}/marking/rules"


CASES: dict[str, Case] = {
    # signing in and out, passwords, roles, notifications
    "/login": Case(nobody, lambda w: (w.student, "/login")[1],
                   fill=sets(email=lambda w: w.student.email, password=Factories.PASSWORD), traceless=True),
    "/logout": Case(as_("student"), lambda w: "/notifications", action=lambda w: "/logout", traceless=True),
    "/password/forgot": Case(nobody, lambda w: (w.student, "/password/forgot")[1],
                             fill=sets(email=lambda w: w.student.email)),
    "/password/reset/<token>": Case(nobody, lambda w: f"/password/reset/{w.reset_token}",
                                    fill=sets(password="a brand new password", confirm="a brand new password"),
                                    told=(409, 410)),
    "/switch-role": Case(as_("coordinator"), lambda w: "/notifications", action=lambda w: "/switch-role",
                         having=lambda w: {"role": "staff"}, traceless=True),
    "/switch-cohort": Case(as_("coordinator"), lambda w: (w.last_year, "/notifications")[1],
                           action=lambda w: "/switch-cohort", fill=sets(cohort_id=lambda w: str(w.last_year.id)),
                           traceless=True),
    "/notifications/read": Case(as_("student"), lambda w: (w.unread, "/notifications")[1],
                                action=lambda w: "/notifications/read", final=_all_read, traceless=True),
    "/calendar": Case(as_("student"), lambda w: "/calendar"),
    # message preferences (set, not toggled) and the outbox's Resend (a conditional update)
    "/account/messages": Case(as_("student"), lambda w: "/account/messages", fill=sets(notice="in_app", deadline="digest")),
    "/cohorts/<int:cohort_id>/outbox/<int:message_id>/resend": Case(
        as_("coordinator"), lambda w: (w.failed_message, f"/cohorts/{w.cohort.id}/outbox")[1],
        action=lambda w: f"/cohorts/{w.cohort.id}/outbox/{w.failed_message}/resend", final=_resent_once),
    "/admin/outbox/<int:message_id>/resend": Case(
        as_("admin"), lambda w: (w.failed_reset, "/admin/outbox")[1],
        action=lambda w: f"/admin/outbox/{w.failed_reset}/resend", final=_reset_resent_once),
    # the admin's users
    "/admin/users/new": Case(as_("admin"), lambda w: "/admin/users/new", told=(409, 422),
                             fill=sets(email="new.person@example.ac.uk", name="New Person", roles="student")),
    "/admin/users/<int:user_id>": Case(as_("admin"), lambda w: f"/admin/users/{w.student.id}",
                                       fill=sets(name="Ann Renamed")),
    "/admin/users/<int:user_id>/active": Case(as_("admin"), lambda w: f"/admin/users/{w.student.id}",
                                              action=lambda w: f"/admin/users/{w.student.id}/active"),
    "/admin/users/<int:user_id>/invitation": Case(as_("admin"), lambda w: f"/admin/users/{w.invitee.id}",
                                                  action=lambda w: f"/admin/users/{w.invitee.id}/invitation"),
    # cohorts
    "/cohorts/new": Case(as_("coordinator"), lambda w: "/cohorts/new", told=(409, 422),
                         fill=sets(programme_name="Data Science", programme_code="RACE1")),
    "/cohorts/<int:cohort_id>/edit": Case(as_("coordinator"), cohort_page("/edit"),
                                          fill=sets(programme_name="Applied Machine Learning (renamed)")),
    "/cohorts/<int:cohort_id>/import": Case(as_("coordinator"), cohort_page("/import"), files=_import_csv),
    "/cohorts/<int:cohort_id>/people/<int:user_id>/invitation": Case(
        as_("coordinator"), lambda w: (w.invitee, f"/cohorts/{w.cohort.id}")[1],
        action=lambda w: f"/cohorts/{w.cohort.id}/people/{w.invitee.id}/invitation"),
    "/cohorts/<int:cohort_id>/imports/<int:import_id>/confirm": Case(
        as_("coordinator"), _held_import_page, action=lambda w: _held_import_page(w) + "/confirm",
        final=_imported_once),
    "/cohorts/<int:cohort_id>/imports/<int:import_id>/abandon": Case(
        as_("coordinator"), _held_import_page, action=lambda w: _held_import_page(w) + "/abandon"),
    # proposals, preferences, bookmarks
    "/cohorts/<int:cohort_id>/projects/new": Case(as_("lee"), cohort_page("/projects/new"),
                                                  fill=sets(title="Graph neural networks for traffic",
                                                            description="Predict traffic.")),
    "/cohorts/<int:cohort_id>/proposal/new": Case(
        as_("student"), cohort_page("/proposal/new"),
        fill=sets(title="My own idea", supervisor=lambda w: w.lee.id, aims="Find out.", method="Measure.",
                  data_needed="Public data.", suitability="I know the area.")),
    "/projects/<int:project_id>/edit": Case(as_("lee"), lambda w: f"/projects/{w.draft_project.id}/edit",
                                            fill=sets(title="A draft, renamed")),
    "/projects/<int:project_id>/submit": Case(as_("lee"), lambda w: f"/projects/{w.draft_project.id}",
                                              action=lambda w: f"/projects/{w.draft_project.id}/submit"),
    "/projects/<int:project_id>/<any(\"approve\", \"request-changes\", \"reject\", \"accept\", \"decline\", "
    "\"withdraw\"):decision>": Case(as_("coordinator"), lambda w: f"/projects/{w.submitted_project.id}",
                                   action=lambda w: f"/projects/{w.submitted_project.id}/approve"),
    "/projects/<int:project_id>/bookmark": Case(as_("student"), lambda w: f"/projects/{w.projects[0].id}",
                                                action=lambda w: f"/projects/{w.projects[0].id}/bookmark"),
    "/cohorts/<int:cohort_id>/preferences": Case(as_("student"), lambda w: (w.students, f"/cohorts/{w.cohort.id}"
                                                                             "/preferences")[1],
                                                 press="Save preferences"),
    "/cohorts/<int:cohort_id>/preferences/<int:student_id>": Case(
        as_("coordinator"), lambda w: f"/cohorts/{w.cohort.id}/preferences/{w.student.id}", press="Save preferences"),
    "/cohorts/<int:cohort_id>/proposal-settings": Case(as_("coordinator"), cohort_page("/proposal-settings"),
                                                       fill=sets(max_preferences=6)),
    "/cohorts/<int:cohort_id>/supervisors": Case(as_("coordinator"), lambda w: (w.lee, f"/cohorts/{w.cohort.id}"
                                                                                 "/supervisors")[1],
                                                 having=lambda w: {"user_id": w.lee.id}, fill=sets(load_limit=2)),
    # allocation and second markers
    "/cohorts/<int:cohort_id>/allocation/": Case(as_("coordinator"),
                                                 lambda w: (w.students, f"/cohorts/{w.cohort.id}/allocation/")[1]),
    "/cohorts/<int:cohort_id>/allocation/runs/<int:run_id>/move": Case(
        as_("coordinator"), lambda w: f"/cohorts/{w.cohort.id}/allocation/runs/{w.run.id}",
        action=lambda w: f"/cohorts/{w.cohort.id}/allocation/runs/{w.run.id}/move",
        fill=sets(student=lambda w: w.student.id, project=_move_target)),
    "/cohorts/<int:cohort_id>/allocation/runs/<int:run_id>/publish": Case(
        as_("coordinator"), lambda w: f"/cohorts/{w.cohort.id}/allocation/runs/{w.run.id}",
        action=lambda w: f"/cohorts/{w.cohort.id}/allocation/runs/{w.run.id}/publish"),
    "/cohorts/<int:cohort_id>/allocation/markers/assign": Case(
        as_("coordinator"), lambda w: (w.published, f"/cohorts/{w.cohort.id}/allocation/markers")[1],
        action=cohort_page("/allocation/markers/assign")),
    "/cohorts/<int:cohort_id>/allocation/markers/<int:allocation_id>": Case(
        as_("coordinator"), lambda w: (w.markers, f"/cohorts/{w.cohort.id}/allocation/markers/"
                                                  f"{_ann_allocation(w).id}")[1],
        fill=sets(marker=_other_marker)),
    "/cohorts/<int:cohort_id>/allocation/markers/conflicts": Case(
        as_("coordinator"), lambda w: (w.published, f"/cohorts/{w.cohort.id}/allocation/markers")[1],
        action=cohort_page("/allocation/markers/conflicts"), told=(409, 422),
        fill=sets(staff=lambda w: w.poe.id, student=lambda w: w.student.id, reason="A relative.")),
    "/cohorts/<int:cohort_id>/allocation/markers/publish": Case(
        as_("coordinator"), lambda w: (w.markers, f"/cohorts/{w.cohort.id}/allocation/markers")[1],
        action=cohort_page("/allocation/markers/publish")),
    # the timeline
    "/cohorts/<int:cohort_id>/timeline/from-template": Case(as_("coordinator"), cohort_page("/timeline"),
                                                            action=cohort_page("/timeline/from-template")),
    "/cohorts/<int:cohort_id>/timeline/closures": Case(
        as_("coordinator"), lambda w: (w.timeline, f"/cohorts/{w.cohort.id}/timeline")[1],
        action=cohort_page("/timeline/closures"), fill=sets(extension_max_working_days=12)),
    "/cohorts/<int:cohort_id>/timeline/new": Case(as_("coordinator"), cohort_page("/timeline/new"), told=(409, 422),
                                                  fill=sets(title="Viva", kind="custom", phase="full_time",
                                                            due="2027-07-01T16:00")),
    "/milestones/<int:milestone_id>/edit": Case(as_("coordinator"),
                                                lambda w: f"/milestones/{w.timeline['poster'].id}/edit",
                                                fill=sets(title="Poster and demo")),
    "/milestones/<int:milestone_id>/delete": Case(as_("coordinator"),
                                                  lambda w: f"/milestones/{w.timeline['poster'].id}/edit",
                                                  action=lambda w: f"/milestones/{w.timeline['poster'].id}/delete",
                                                  told=(404, 409)),
    # submissions and extensions
    "/milestones/<int:milestone_id>/submit": Case(
        as_("student"), lambda w: f"/milestones/{w.timeline['project_plan'].id}",
        action=lambda w: f"/milestones/{w.timeline['project_plan'].id}/submit", fill=sets(declaration="y"),
        files=lambda w: {"file": (pdf_bytes(), "plan.pdf", "application/pdf")}),
    "/milestones/<int:milestone_id>/extension": Case(
        as_("student"), lambda w: f"/milestones/{w.timeline['project_plan'].id}",
        action=lambda w: f"/milestones/{w.timeline['project_plan'].id}/extension",
        fill=sets(reason="I was ill for a week.")),
    "/extensions/<int:extension_id>/decide": Case(
        as_("coordinator"), lambda w: (w.extension, f"/cohorts/{w.cohort.id}/extensions")[1],
        action=lambda w: f"/extensions/{w.extension.id}/decide",
        fill=sets(decision="grant", working_days=3, note="Get well soon.")),
    "/cohorts/<int:cohort_id>/extensions/direct": Case(
        as_("coordinator"), lambda w: (w.timeline, w.students, f"/cohorts/{w.cohort.id}/extensions")[2],
        action=cohort_page("/extensions/direct"),
        fill=sets(student=lambda w: w.student.id, milestone=lambda w: w.timeline["project_plan"].id,
                  working_days=3, note="Agreed by e-mail.")),
    # the supervision log
    "/cohorts/<int:cohort_id>/meetings": Case(as_("student"), lambda w: (w.published, f"/cohorts/{w.cohort.id}"
                                                                          "/meetings")[1],
                                              fill=sets(met_on=(NOW - timedelta(days=1)).date().isoformat(),
                                                        notes="We agreed the plan.")),
    "/meetings/<int:meeting_id>/confirm": Case(
        lambda w: w.meeting.supervisor, lambda w: f"/cohorts/{w.cohort.id}/meetings/supervision",
        action=lambda w: f"/meetings/{w.meeting.id}/confirm"),
    "/meetings/<int:meeting_id>/dispute": Case(
        lambda w: w.meeting.supervisor, lambda w: f"/cohorts/{w.cohort.id}/meetings/supervision",
        action=lambda w: f"/meetings/{w.meeting.id}/dispute", fill=sets(comment="We met a day later."),
        final=_disputed_once),
    "/cohorts/<int:cohort_id>/marking/set-up": Case(as_("coordinator"), cohort_page("/marking"),
                                                    action=lambda w: f"/cohorts/{w.cohort.id}/marking/set-up"),
    "/cohorts/<int:cohort_id>/marking/components/<int:component_id>/open": Case(
        as_("coordinator"), lambda w: (w.components, f"/cohorts/{w.cohort.id}/marking")[1],
        action=lambda w: f"/cohorts/{w.cohort.id}/marking/components/{w.components['report'].id}/open"),
    "/marking/sheets/<int:sheet_id>": Case(
        lambda w: w.sheet.marker, lambda w: f"/marking/sheets/{w.sheet.id}", press="Save draft",
        fill=lambda w, form: form.set(f"mark_{w.sheet.rubric.criteria[0].id}", "64.5")),
    "/marking/sheets/<int:sheet_id>/reopen": Case(
        as_("coordinator"), lambda w: f"/marking/sheets/{w.submitted_sheet.id}",
        action=lambda w: f"/marking/sheets/{w.submitted_sheet.id}/reopen",
        fill=sets(reason="Marks typed against the wrong criterion.")),
    # setting marking up
    "/cohorts/<int:cohort_id>/marking/rules": Case(
        as_("coordinator"), lambda w: (w.components, f"/cohorts/{w.cohort.id}/marking/rules")[1],
        fill=sets(agree_within="4", penalty_preset="ucl")),
    "/cohorts/<int:cohort_id>/marking/components": Case(
        as_("coordinator"), lambda w: (w.components, f"/cohorts/{w.cohort.id}/marking/rules")[1],
        action=cohort_page("/marking/components"),
        fill=lambda w, form: form.set(f"component_{w.components['report'].id}_title", "Dissertation")),
    "/cohorts/<int:cohort_id>/marking/components/<int:component_id>/rubric": Case(
        as_("coordinator"), lambda w: f"/cohorts/{w.cohort.id}/marking/components/{w.components['poster'].id}/rubric",
        fill=sets(c0_title="Content", new_title="Demonstration", new_weight="10", c1_weight="10")),
    "/cohorts/<int:cohort_id>/marking/copy": Case(
        as_("coordinator"), _earlier_marking, action=cohort_page("/marking/copy"),
        fill=sets(source=lambda w: w.last_year.id)),
    "/marking/sheets/<int:sheet_id>/reassign": Case(
        as_("coordinator"), lambda w: f"/marking/sheets/{w.sheet.id}",
        action=lambda w: f"/marking/sheets/{w.sheet.id}/reassign",
        # The coordinator gives the marking to themselves when they may (the repeats then find them a
        # marker of the student): the hardest case for a repeat's answer.
        fill=sets(marker=lambda w: next(s.user_id for s in sorted(w.cohort.staff, key=lambda s: (not s.is_coordinator,
                                                                                                s.user_id))
                                        if s.user_id not in {m.marker_id for m in db.session.scalars(select(MarkSheet).where(
                                            MarkSheet.student_id == w.sheet.student_id))}),
                  reason="Away on leave.")),
    "/marking/agreements/<int:agreement_id>/messages": Case(
        lambda w: w.sheet.marker, lambda w: f"/marking/agreements/{w.disagreement.id}",
        action=lambda w: f"/marking/agreements/{w.disagreement.id}/messages", fill=sets(body="Shall we meet?")),
    "/marking/agreements/<int:agreement_id>/propose": Case(
        lambda w: w.sheet.marker, lambda w: f"/marking/agreements/{w.disagreement.id}",
        action=lambda w: f"/marking/agreements/{w.disagreement.id}/propose",
        fill=sets(mark="64", justification="A fair middle.")),
    "/marking/agreements/<int:agreement_id>/confirm": Case(
        lambda w: w.second_sheet.marker, lambda w: f"/marking/agreements/{w.proposal.id}",
        action=lambda w: f"/marking/agreements/{w.proposal.id}/confirm"),
    "/marking/agreements/<int:agreement_id>/cannot-agree": Case(
        lambda w: w.sheet.marker, lambda w: f"/marking/agreements/{w.disagreement.id}",
        action=lambda w: f"/marking/agreements/{w.disagreement.id}/cannot-agree", fill=sets(reason="Too far apart.")),
    "/marking/agreements/<int:agreement_id>/third-marker": Case(
        as_("coordinator"), lambda w: f"/marking/agreements/{w.needs_third.id}",
        action=lambda w: f"/marking/agreements/{w.needs_third.id}/third-marker"),
    # results: release, the moderation sample, moderators, a moderator's decision
    "/cohorts/<int:cohort_id>/results/release": Case(
        as_("coordinator"), lambda w: (w.results, f"/cohorts/{w.cohort.id}/results")[1],
        action=cohort_page("/results/release")),
    "/cohorts/<int:cohort_id>/results/<int:student_id>/release": Case(
        as_("coordinator"), lambda w: (w.results, f"/cohorts/{w.cohort.id}/results")[1],
        action=lambda w: f"/cohorts/{w.cohort.id}/results/{w.results[0].student_id}/release"),
    "/cohorts/<int:cohort_id>/moderation/sample": Case(
        as_("coordinator"), lambda w: (w.results, f"/cohorts/{w.cohort.id}/moderation")[1],
        action=cohort_page("/moderation/sample")),
    "/cohorts/<int:cohort_id>/moderation/moderators": Case(
        as_("coordinator"), lambda w: (w.components, w.poe, f"/cohorts/{w.cohort.id}/moderation")[2],
        action=cohort_page("/moderation/moderators"), fill=sets(moderators=lambda w: w.poe.id)),
    "/cohorts/<int:cohort_id>/moderation/<int:student_id>": Case(
        as_("coordinator"), lambda w: f"/cohorts/{w.cohort.id}/moderation/{w.to_moderate.id}",
        fill=sets(mark="70", reason="The evaluation deserved more credit."), press="Adjust to the mark given"),
    # feedback forms in batches: the same form three times at once starts one batch
    "/cohorts/<int:cohort_id>/feedback": Case(
        as_("coordinator"), lambda w: (w.results, f"/cohorts/{w.cohort.id}/feedback")[1]),
    # poster sessions: set-up, the availability window, decisions, each person's availability
    "/cohorts/<int:cohort_id>/posters/settings": Case(as_("coordinator"), cohort_page("/posters"),
                                                      action=cohort_page("/posters/settings"), fill=sets(slot_minutes=20)),
    "/cohorts/<int:cohort_id>/posters/sessions": Case(
        as_("coordinator"), cohort_page("/posters"), action=cohort_page("/posters/sessions"), told=(409, 422),
        fill=sets(day="2027-09-15", starts="10:00", ends="12:00", room_name_0="Atrium", room_boards_0=20)),
    "/cohorts/<int:cohort_id>/posters/window": Case(
        as_("coordinator"), lambda w: (w.poster_session, f"/cohorts/{w.cohort.id}/posters")[1],
        action=cohort_page("/posters/window"), press="Open the availability window", fill=sets(closes="2027-07-30T17:00")),
    "/cohorts/<int:cohort_id>/posters/sessions/<int:session_id>": Case(
        as_("coordinator"), _poster_session_page, fill=sets(ends="12:30", room_boards_0=25, room_name_1="Library",
                                                            room_boards_1=6)),
    "/cohorts/<int:cohort_id>/posters/sessions/<int:session_id>/remove": Case(
        as_("coordinator"), _poster_session_page, action=lambda w: _poster_session_page(w) + "/remove",
        fill=sets(confirm="y"), told=(404, 409)),
    "/cohorts/<int:cohort_id>/posters/declarations/<int:declaration_id>": Case(
        as_("coordinator"), lambda w: (w.poster_declaration, f"/cohorts/{w.cohort.id}/posters/declarations")[1],
        action=lambda w: f"/cohorts/{w.cohort.id}/posters/declarations/{w.poster_declaration.id}", press="Accept",
        fill=sets(note="Enjoy the day.")),
    "/cohorts/<int:cohort_id>/posters/panels": Case(
        as_("coordinator"), lambda w: (w.published, f"/cohorts/{w.cohort.id}/posters/panels")[1],
        fill=sets(student=lambda w: w.student.id, member=lambda w: w.poe.id)),
    "/cohorts/<int:cohort_id>/posters/panels/<int:panel_member_id>/remove": Case(
        as_("coordinator"), lambda w: (w.panel_member, f"/cohorts/{w.cohort.id}/posters/panels")[1],
        action=lambda w: f"/cohorts/{w.cohort.id}/posters/panels/{w.panel_member.id}/remove"),
    "/cohorts/<int:cohort_id>/posters/schedules": Case(
        as_("coordinator"), lambda w: (w.published, w.poster_session, f"/cohorts/{w.cohort.id}/posters/schedules")[2]),
    "/cohorts/<int:cohort_id>/posters/schedules/<int:schedule_id>/change": Case(
        as_("coordinator"), lambda w: f"{_schedule_page(w)}?student={w.student.id}",
        action=lambda w: _schedule_page(w) + "/change", fill=sets(target=_free_slot), final=_moved_once),
    "/cohorts/<int:cohort_id>/posters/schedules/<int:schedule_id>/publish": Case(
        as_("coordinator"), _schedule_page, action=lambda w: _schedule_page(w) + "/publish"),
    "/cohorts/<int:cohort_id>/posters/availability": Case(
        as_("lee"), lambda w: (w.poster_window, f"/cohorts/{w.cohort.id}/posters/availability")[1],
        fill=lambda w, form: form.check(f"s{w.poster_session.id}", "unavailable")),
}


def state_changing_rules(app) -> set[str]:
    return {rule.rule for rule in app.url_map.iter_rules() if rule.methods & STATE_CHANGING}


def test_every_state_changing_route_has_an_entry(app):
    rules = state_changing_rules(app)
    missing, stale = sorted(rules - set(CASES)), sorted(set(CASES) - rules)
    assert not missing, ("these routes change state but have no entry in CASES of tests/web/test_races.py "
                         f"(say who posts what): {missing}")
    assert not stale, f"CASES names routes the app no longer has: {stale}"


@pytest.mark.own_app  # adds a route of its own
def test_a_unique_violation_anywhere_answers_409_in_the_layout_and_the_next_request_works(app, make, login):
    """The global handler: whatever route trips a constraint, the person reads a sentence in the site's
    layout (whose navigation reads the database, so the failed transaction must be rolled back first)."""
    taken = make.student(email="taken@example.ac.uk")

    def clash():
        db.session.add(User(email="taken@example.ac.uk", name="Copy", created_at=clock.now()))
        db.session.commit()
        return "saved"

    app.add_url_rule("/test-only/clash", "test_only_clash", clash, methods=["POST"])
    client = login(make.student())
    response = client.post("/test-only/clash")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert told_clearly(Answer(409, {}, page)) and "clashes with something saved at the same moment" in page
    assert client.get("/notifications").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == taken.email)) == 1


# --- playing a case ------------------------------------------------------------------------------------

@pytest.fixture
def live(app):
    """The test app served on a free local port, with CSRF protection on and e-mails written to files."""
    app.config.update(WTF_CSRF_ENABLED=True, MAIL_BACKEND="file")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="race-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def read_form(client: LiveClient, path: str, action: str | None = None, having: dict | None = None) -> Form:
    """The POST form on the page at ``path`` that goes to ``action`` (default: the page itself); among
    several (a table's rows, the role switcher), the one holding the ``having`` values."""
    page = client.get(path)
    assert page.status == 200, f"{path} answered {page.status}"
    target = action or path
    forms = [f for f in parse_forms(page.body, path) if f.method == "post" and f.action.split("?")[0] == target
             and all(f.get(k) == str(v) for k, v in (having or {}).items())]
    assert forms, f"{path} renders no POST form to {target} with {having or {}}: {parse_forms(page.body, path)}"
    return forms[0]


def captured(form: Form, press: str | None = None, files: dict | None = None) -> CapturedPost:
    post = CapturedPost()
    form.submit(post, submit=press, files=files)
    return post


def sign_in(client: LiveClient, user: User) -> None:
    form = read_form(client, "/login")
    form.set("email", user.email)
    form.set("password", Factories.PASSWORD)
    post = captured(form)
    answer = client.request("POST", post.path, post.body, post.content_type)
    assert answer.status == 302, f"{user.email} could not sign in ({answer.status})"


@dataclass
class Played:
    answers: list
    effect: dict[str, int]
    world: World = field(repr=False)


def play(case: Case, app, live_url: str, times: int) -> Played:
    world = World(Factories())
    person = case.persona(world)
    client = LiveClient(live_url)
    if person is not None:
        sign_in(client, person)
    form = read_form(client, case.page(world), case.action(world) if case.action else None,
                     case.having(world) if case.having else None)
    case.fill(world, form)
    post = captured(form, case.press, case.files(world) if case.files else None)
    mail_folder = Path(app.instance_path) / "mail"
    before = fingerprint(mail_folder)
    if times == 1:
        answers = [client.request("POST", post.path, post.body, post.content_type)]
    else:
        answers = client.race(post.path, post.body, post.content_type, times)
    return Played(answers, effect(before, fingerprint(mail_folder)), world)


def empty_the_database(app) -> None:
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


def same_result(answer, first) -> bool:
    return answer.status == first.status and re.sub(r"\d+", "N", answer.location) == re.sub(r"\d+", "N",
                                                                                            first.location)


def told_clearly(answer) -> bool:
    """A refusal inside the site's layout with at least one sentence saying what happened."""
    text = main_text(answer.body)
    return has_layout(answer.body) and re.search(r"[A-Z][^.!?]{10,}[.!?]", text) is not None


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="races need PostgreSQL (SQLite admits one writer at a time): "
                                             "set PROJECTFLOW_TEST_DATABASE_URL, as CI's PostgreSQL pass does")
@pytest.mark.parametrize("rule", sorted(CASES))
def test_three_identical_posts_at_once_have_the_effect_of_one(rule, app, live):
    case = CASES[rule]
    with clock.frozen(NOW):
        once = play(case, app, live, 1)
        first = once.answers[0]
        assert first.status < 400, f"the single send of the form was refused ({first.status}): fix the case"
        assert once.effect or case.traceless, "the single send changed nothing: fix the case (or mark it traceless)"
        empty_the_database(app)
        raced = play(case, app, live, 3)
    statuses = [a.status for a in raced.answers]
    assert all(s < 500 for s in statuses), f"server error among {statuses}"
    assert raced.effect == once.effect, (f"three posts at once had another effect than one:\n"
                                         f"  one:   {once.effect}\n  three: {raced.effect}\n  answers: {statuses}")
    for answer in raced.answers:
        if not same_result(answer, first):
            assert answer.status in case.told, (f"answered {answer.status} (the first send: {first.status}); "
                                                f"a repeat is told with {case.told}")
            assert told_clearly(answer), f"the {answer.status} answer says nothing clear: {main_text(answer.body)!r}"
    if case.final:
        case.final(raced.world)
