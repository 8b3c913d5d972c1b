"""The world the access matrix walks: one cohort lived through to its supervision phase, a second
cohort beside it, and one signed-in test client per persona.

Built once per module through the factories and the real services (no rows written by hand except a
password-reset link, whose token the real service only e-mails). Everything of interest belongs to
one student, Sam; the other personas are defined by how they stand to Sam.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from projectflow.assessment import agreement as agreeing
from projectflow.assessment import services as assessment
from projectflow.assessment.models import MarkSheet
from projectflow.cohorts import held
from projectflow.core import clock, jobs, mail, outbox
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from projectflow.feedback import batch as feedback_batches
from projectflow.feeds import services as feeds
from projectflow.matching import second_markers
from projectflow.matching import services as matching
from projectflow.milestones import extensions
from projectflow.milestones import services as timeline
from projectflow.people.models import PasswordReset
from projectflow.posters import availability as poster_availability
from projectflow.posters import schedules as poster_schedules
from projectflow.posters import services as posters
from projectflow.submissions import services as submissions
from projectflow.supervision import services as meetings
from tests.factories import Factories
from tests.html import csrf_token

# Mid-February of the cohort's year: the part-time phase has begun, the project plan is due in March.
NOW = datetime(2027, 2, 15, 10, tzinfo=timezone.utc)

# The personas, in the order of the table's columns.
PERSONAS = ("anonymous", "student", "peer", "outsider", "supervisor", "co_supervisor", "second_marker",
            "staff", "coordinator", "other_coordinator", "admin")


def pdf_bytes() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass
class Scenario:
    people: dict            # persona -> User (no entry for anonymous)
    ids: dict               # what the table's URLs are filled with
    clients: dict = field(default_factory=dict)   # persona -> signed-in test client
    tokens: dict = field(default_factory=dict)    # persona -> CSRF token of their session


def build() -> Scenario:
    """Both cohorts and everything Sam has done, as of NOW."""
    make = Factories()
    coordinator = make.coordinator(name="Cora Ordinator")
    other_coordinator = make.coordinator(name="Otto Thercord")
    admin = make.admin(name="Ada Min")
    with clock.frozen(datetime(2026, 10, 1, 9, tzinfo=timezone.utc)):
        cohort = make.cohort(coordinator=coordinator, year=2026)
        other = make.cohort(coordinator=other_coordinator, year=2026)
        cohort.min_preferences = 1
        db.session.commit()
        supervisor = make.staff(cohort, name="Stella Supervisor", expertise=("vision",))
        co_supervisor = make.staff(cohort, name="Colin Cosupervisor", expertise=("vision",))
        marker = make.staff(cohort, name="Mira Marker", expertise=("vision",))
        staff = make.staff(cohort, name="Uma Unrelated", expertise=("speech",))
        student = make.student(cohort, name="Sam Student")
        peer = make.student(cohort, name="Pat Peer")
        outsider = make.student(other, name="Oscar Outsider")
        project = make.project(cohort, owner=supervisor, co_supervisors=[co_supervisor], keywords=["vision"],
                               title="Seeing in the dark")
        peers_project = make.project(cohort, owner=marker, title="Marked elsewhere")
        other_draft = make.project(other, state="draft", title="Draft of the other cohort")
        make.preferences(cohort, student, [project])
        make.preferences(cohort, peer, [peers_project])
        # Sam's own ideas, one rejected and one still a draft: visible to Sam, the supervisor they named
        # and the coordinators.
        rejected = make.proposal(cohort, student=student, supervisor=supervisor, state="rejected",
                                 title="Turned down on sonar")
        proposal = make.proposal(cohort, student=student, supervisor=supervisor, title="Quiet draft on lidar")
    with clock.frozen(datetime(2026, 11, 20, 9, tzinfo=timezone.utc)):
        timeline.create_timeline(cohort, by=coordinator)
        run = matching.start_run(cohort, objective="min-cost", by=coordinator)
        db.session.commit()
        assert jobs.run_pending() >= 1
        db.session.refresh(run)
        matching.publish_run(run, by=coordinator)
        mail.discard_queued()
        db.session.commit()
        allocation = matching.allocation_of(cohort, student)
        assert allocation is not None and allocation.project_id == project.id
        peers_allocation = matching.allocation_of(cohort, peer)
        second_markers.change_marker(allocation, marker, by=coordinator)
        second_markers.change_marker(peers_allocation, staff, by=coordinator)
        second_markers.publish_second_markers(cohort, by=coordinator)
        mail.discard_queued()
        db.session.commit()
        # A later run, solved and under review (never published): hand moves are checked against it.
        review = matching.start_run(cohort, objective="greedy", by=coordinator)
        db.session.commit()
        assert jobs.run_pending() >= 1
        db.session.refresh(review)
        assert review.state == "solved"
    with clock.frozen(NOW):
        milestones = {m.kind: m for m in timeline.milestones_of(cohort)}
        plan = milestones["project_plan"]
        submission, _ = submissions.submit(plan, student, io.BytesIO(pdf_bytes()), file_name="plan.pdf",
                                           declared=True, form_token="access-matrix-1", by=student, receipt=False)
        extension = extensions.request_extension(milestones["ethics"], student, reason="Fever in January",
                                                 evidence=io.BytesIO(pdf_bytes()), evidence_name="note.pdf",
                                                 by=student)
        meeting = meetings.record_meeting(cohort, student, met_on=date(2027, 2, 10), notes="Planned the lidar rig",
                                          by=student)
        feed_token = feeds.regenerate_feed(student)
        # A people file held for the coordinator: it would make the admin a student of the cohort.
        people_import = held.import_or_hold(cohort, f"email,name,role\n{admin.email},Ada Min,student\n".encode(),
                                            by=coordinator, filename="people.csv")
        # Marking of Sam's report is open; the supervisor's sheet is a draft the second marker must not see.
        components = {c.key: c for c in assessment.set_up_marking(cohort, by=coordinator)}
        assessment.open_marking(components["report"], by=coordinator)
        sheet = db.session.scalar(select(MarkSheet).where(MarkSheet.student_id == student.id,
                                                          MarkSheet.marker_id == supervisor.id))
        assessment.save_sheet(sheet, [], overall_comment="Supervisor's view of Sam", private_note="",
                              by=supervisor)
        agreement = agreeing.refresh(components["report"], student, by=None)  # awaiting both marks
        # A batch of the cohort's feedback forms, printed by the job runner: its page, status and zip.
        feedback_batch = feedback_batches.start_batch(cohort, feedback_batches.Filters(), "student", by=coordinator)
        mail.discard_queued()
        db.session.commit()
        assert jobs.run_pending() == 1
        db.session.refresh(feedback_batch)
        assert feedback_batch.state == jobs.DONE, feedback_batch.error
        # The poster days in September, the availability window open: Sam declared they cannot come.
        poster_session = posters.add_session(cohort, posters.SessionValues(
            date(2027, 9, 14), time(10), time(12), (posters.RoomValues(None, "Atrium", 20),)), by=coordinator)
        poster_availability.open_window(cohort, closes_at=None, by=coordinator)
        poster_availability.save_student_declarations(cohort, student, {
            poster_session.id: poster_availability.StudentAnswer(True, "Sam's cousin marries in Lisbon that day")},
            by=student)
        poster_declaration = poster_availability.answers_of(cohort, student)[poster_session.id]
        # A poster schedule made by the job runner and published: its programme (PDF) and its pages.
        poster_schedule = poster_schedules.start_schedule(cohort, by=coordinator)
        db.session.commit()
        assert jobs.run_pending() == 1
        db.session.refresh(poster_schedule)
        poster_schedules.publish_schedule(poster_schedule, by=coordinator)
        # Then Sam's co-supervisor joins Sam's poster panel (the published schedule was made without them).
        panel_member = posters.add_panel_member(cohort, student, co_supervisor, by=coordinator)
        reset_token = "access-matrix-reset-token-of-sam"
        db.session.add(PasswordReset(user_id=student.id, token_hash=PasswordReset.hash_token(reset_token),
                                     created_at=NOW, expires_at=NOW + timedelta(hours=2)))
        mail.discard_queued()
        # A reminder to Sam that the mail server refused six times: failed, in the cohort's outbox.
        outbox_message_id = outbox.put(mail.build(student.email, "Your project plan is due", "notification",
                                                  person=student, message="Your project plan is due.", link=None),
                                       key="access-matrix:failed-reminder", kind="deadline", user_id=student.id,
                                       cohort_id=cohort.id, state=outbox.FAILED)
        db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.cohort_id == cohort.id,
                                                       AuditEvent.action == "preferences.saved",
                                                       AuditEvent.actor_id == student.id))
    people = {"student": student, "peer": peer, "outsider": outsider, "supervisor": supervisor,
              "co_supervisor": co_supervisor, "second_marker": marker, "staff": staff,
              "coordinator": coordinator, "other_coordinator": other_coordinator, "admin": admin}
    ids = {"cohort_id": cohort.id, "user_id": student.id, "student_id": student.id, "project_id": project.id,
           "proposal_id": proposal.id, "rejected_id": rejected.id, "run_id": run.id, "review_run_id": review.id, "allocation_id": allocation.id,
           "milestone_id": plan.id, "submission_id": submission.id, "extension_id": extension.id,
           "meeting_id": meeting.id, "event_id": event.id, "feed_token": feed_token, "reset_token": reset_token,
           "people_import_id": people_import.id, "sheet_id": sheet.id, "component_id": components["report"].id,
           "agreement_id": agreement.id, "batch_id": feedback_batch.id,
           "poster_session_id": poster_session.id, "poster_declaration_id": poster_declaration.id,
           "poster_schedule_id": poster_schedule.id, "poster_room_id": poster_session.rooms[0].id,
           "panel_member_id": panel_member.id, "outbox_message_id": outbox_message_id,
           "other_cohort_id": other.id, "outsider_id": outsider.id, "other_draft_id": other_draft.id, "staff_id": staff.id}
    return Scenario(people=people, ids=ids)


def sign_in_everyone(app, scenario: Scenario) -> None:
    """One test client per persona, signed in once through the real form; each keeps the CSRF token
    of its own session (read from a page, as a browser would have it)."""
    for persona in PERSONAS:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        if persona != "anonymous":
            user = scenario.people[persona]
            response = client.post("/login", data={"email": user.email, "password": Factories.PASSWORD,
                                                   "csrf_token": csrf_token(page)})
            assert response.status_code == 302, f"{persona} could not sign in ({response.status_code})"
            page = client.get("/notifications").get_data(as_text=True)
        scenario.clients[persona] = client
        scenario.tokens[persona] = csrf_token(page)


def fingerprint() -> dict[str, int]:
    """Every row of every table, hashed per table: equal fingerprints mean nothing was written."""
    db.session.rollback()   # read what is committed, not what this session holds
    tables = {table.name: hash(tuple(sorted(map(repr, db.session.execute(select(table)).all()))))
              for table in db.metadata.sorted_tables}
    db.session.rollback()
    return tables

