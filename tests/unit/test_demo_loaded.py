"""The demo installation, built once for this module (it takes a while): who is in it, what each
area shows, and that its logins work."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from flask import request_started
from sqlalchemy import func, select

from projectflow import create_app, demo
from projectflow.cohorts.models import Cohort, Enrolment
from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from projectflow.matching.models import AllocationRun
from projectflow.people.models import ADMIN, COORDINATOR, STAFF, STUDENT, User, UserRole
from projectflow.solvers import allocate
from projectflow.solvers.problem_io import problem_from_dict
from tests.conftest import _empty_all_tables, _fresh_g
from tests.conftest import test_config as app_config  # (not named test_*: pytest would collect it)
from tests.factories import Factories
from tests.html import main_text
from tests.unit.test_demo import PROGRAMME_KEYWORDS


@pytest.fixture(scope="module")
def loaded(database_url, _schema, tmp_path_factory):
    """The demo, built in November 2026 (academic year 2026-27) beside one real account, on its own
    app and a clean database, emptied again when the module is done."""
    app = create_app(app_config(database_url, tmp_path_factory.mktemp("demo-instance")))
    request_started.connect(_fresh_g, app)
    with app.app_context():
        real = Factories().admin(email="real.person@university.ac.uk", name="Real Person")
        steps = []
        with clock.frozen(datetime(2026, 11, 2, 9, tzinfo=timezone.utc)):
            stats = demo.load_demo(seed=2026, progress=steps.append)
        db.session.commit()
        yield SimpleNamespace(stats=stats, steps=steps, real=real, client=app.test_client())
        _empty_all_tables()
        db.engine.dispose()


def test_the_demo_has_this_years_cohort_last_years_its_staff_coordinator_and_an_admin(loaded):
    cohort, previous = db.session.scalars(select(Cohort).order_by(Cohort.academic_year.desc())).all()
    assert cohort.title == "Applied Machine Learning (I460) 2026-27"
    assert previous.title == "Applied Machine Learning (I460) 2025-26"
    assert loaded.stats.startswith(f"cohort {cohort.title}: 120 students, 41 staff (including the coordinator)")
    assert f"cohort {previous.title}: 80 students, allocation published" in loaded.stats
    assert sum(loaded.steps) == 100  # the CLI's progress bar ends full
    assert demo.has_demo_data()

    students = [e.student for e in cohort.enrolments]
    assert len(students) == demo.N_STUDENTS == 120
    assert all(s.roles == {STUDENT} and s.email.endswith("26@example.ac.uk") for s in students)
    assert len({e.candidate_number for e in cohort.enrolments}) == 120
    earlier = [e.student for e in previous.enrolments]
    assert len(earlier) == demo.PREVIOUS_STUDENTS
    assert all(s.email.endswith("25@example.ac.uk") for s in earlier)

    staff = [s for s in cohort.staff if not s.is_coordinator]
    assert len(staff) == demo.N_STAFF == 40
    assert all(s.member.roles == {STAFF} for s in staff)
    # The same people taught last year: their accounts are reused, not duplicated.
    assert {s.user_id for s in previous.staff} == {s.user_id for s in cohort.staff}
    [coordinator] = [s.member for s in cohort.staff if s.is_coordinator]
    assert coordinator.email == demo.COORDINATOR_EMAIL
    assert coordinator.roles == {STAFF, COORDINATOR}

    admins = db.session.scalars(select(User.email).where(User.role_rows.any(UserRole.role == ADMIN))).all()
    assert sorted(admins) == sorted([demo.ADMIN_EMAIL, loaded.real.email])
    assert db.session.scalar(select(func.count()).select_from(User)) == 120 + 80 + 40 + 2 + 1

    # Built through the coordinator's own services, so the audit log shows how: last year's cohort
    # first, with the clock moved back a year.
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[1:5] == ["user.created", "user.created", "cohort.created", "cohort.people_imported"]
    imported = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "cohort.people_imported")
                                  .order_by(AuditEvent.id)).all()
    assert [e.after["file"] for e in imported] == ["i460-2025-people.csv", "i460-2026-people.csv"]
    assert all(e.actor.email == demo.COORDINATOR_EMAIL for e in imported)
    assert imported[0].at.year == 2025 and imported[1].at.year == 2026

    # Every member of staff, the coordinator too, works in the programme's areas; between them
    # they cover every area.
    for member in cohort.staff:
        expertise = member.member.staff_profile.expertise
        assert expertise and set(expertise) <= PROGRAMME_KEYWORDS, member.member.email
        assert 3 <= member.effective_load_limit <= 6
    assert set(demo.AREAS) <= {k for m in cohort.staff for k in m.member.staff_profile.expertise}


def test_the_demo_allocations_last_year_published_with_a_hand_move_this_year_a_trial(loaded):
    cohort, previous = db.session.scalars(select(Cohort).order_by(Cohort.academic_year.desc())).all()
    runs = {(r.cohort_id, r.number): r for r in db.session.scalars(select(AllocationRun))}
    published, compared = runs[(previous.id, 1)], runs[(previous.id, 2)]
    assert (published.state, published.objective, compared.state, compared.objective) == \
        ("published", "min-cost", "solved", "greedy")
    assert published.moves == 1 and published.is_valid and compared.is_valid
    assert any(a.is_moved for a in published.allocations)
    assert previous.allocation_published_at is not None and cohort.allocation_published_at is None
    trial = runs[(cohort.id, 1)]
    assert trial.state == "solved" and trial.note.startswith("Trial")
    assert all(r.job.state == "done" for r in runs.values())
    # Last year's timeline was lived through: submissions on time and late, a missing one or two, and
    # extensions in every state (the open request is this year's).
    from projectflow.milestones.models import Extension, Milestone
    from projectflow.submissions.models import Submission
    assert db.session.scalar(select(func.count()).select_from(Milestone).where(Milestone.cohort_id == previous.id)) == 5
    assert db.session.scalar(select(func.count()).select_from(Milestone).where(Milestone.cohort_id == cohort.id)) == 5
    late = db.session.scalar(select(func.count()).select_from(Submission).where(Submission.is_late))
    assert 0 < late < db.session.scalar(select(func.count()).select_from(Submission))
    assert set(db.session.scalars(select(Extension.state))) == {"requested", "granted", "refused", "referred"}
    assert db.session.scalar(select(func.max(Submission.version))) == 2
    from projectflow.supervision.models import Meeting
    confirmed = db.session.scalar(select(func.count()).select_from(Meeting).where(Meeting.confirmed_at.is_not(None)))
    assert 0 < confirmed < db.session.scalar(select(func.count()).select_from(Meeting))
    disputed = db.session.scalars(select(Meeting).where(Meeting.disputed_at.is_not(None))).all()
    assert len(disputed) == 1 and disputed[0].dispute_comment  # the log shows a disputed record
    assert disputed[0].student.email == dict(demo.demo_logins())["student (last year, allocated)"]
    # The published run is reproducible from its kept inputs.
    again = allocate(problem_from_dict(compared.problem), compared.objective)
    assert list(again.profile) == compared.profile


def test_the_demo_logins_sign_in_through_the_real_form_and_real_accounts_keep_their_passwords(loaded):
    client = loaded.client
    logins = dict(demo.demo_logins())
    assert set(logins) == {"student", "student (last year, allocated)", "staff", "coordinator", "admin"}
    homes = {"student": "/student", "student (last year, allocated)": "/student", "staff": "/staff",
             "coordinator": "/coordinator", "admin": "/admin"}
    for role, email in logins.items():
        response = client.post("/login", data={"email": email, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, f"{role} {email} cannot sign in"
        assert client.get("/").headers["Location"] == homes[role]
        assert client.get(homes[role]).status_code == 200
        assert client.post("/logout").status_code == 302
    student = User.by_email(logins["student"])
    assert db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.user_id == student.id)) == 1
    # Last year's demo student did not get their 1st choice, so their page explains why.
    client.post("/login", data={"email": logins["student (last year, allocated)"], "password": demo.DEMO_PASSWORD})
    previous = db.session.scalar(select(Cohort).order_by(Cohort.academic_year).limit(1))
    page = client.get(f"/cohorts/{previous.id}/allocation/mine").get_data(as_text=True)
    assert re.search(r"You got your [2-9](nd|rd|th) choice: your 1st", main_text(page)), main_text(page)
    client.post("/logout")

    # The demo password opens the demo's accounts only.
    refused = client.post("/login", data={"email": loaded.real.email, "password": demo.DEMO_PASSWORD})
    assert refused.status_code == 401
    assert client.post("/login", data={"email": loaded.real.email, "password": "correct horse battery"}
                       ).status_code == 302


def test_exactly_one_student_proposal_waits_for_the_demo_staff_login(loaded):
    # As the README says; last year's round is long over, so nothing of it waits (found: two did).
    from projectflow.proposals.models import Project

    staff = User.by_email(f"staff@{demo.DOMAIN}")
    waiting = db.session.scalars(select(Project).where(Project.owner_id == staff.id,
                                                       Project.proposed_by_id.is_not(None),
                                                       Project.state == "with_supervisor")).all()
    assert [p.cohort.academic_year for p in waiting] == [2026]


def test_the_demo_people_list_shows_every_invitation_state_and_a_held_import(loaded):
    from projectflow.cohorts import held
    from projectflow.people import invitations

    cohort = db.session.scalars(select(Cohort).order_by(Cohort.academic_year.desc())).first()
    people = [e.student for e in cohort.enrolments] + [s.member for s in cohort.staff]
    with clock.frozen(datetime(2026, 11, 2, 10, tzinfo=timezone.utc)):  # as the demo was built
        kinds = [s.kind for s in invitations.invitation_states(people, cohort.zone).values()]
    assert {"signed_in", "password_set", "invited", "expired", "not_invited"} <= set(kinds)
    assert (kinds.count("invited"), kinds.count("expired"), kinds.count("not_invited")) == (1, 1, 1)
    [waiting] = held.open_imports(cohort)
    [change] = held.review(waiting).changes
    assert change.sentence().endswith("a student in I460 2025-26 — would also become staff")
    # A browser nobody signed in to (the shared client may be signed in by an earlier test): the page
    # itself is checked in tests/web.
    page = loaded.client.application.test_client().get(f"/cohorts/{cohort.id}")
    assert page.status_code == 302


def test_the_demo_poster_days_are_set_with_availability_open_and_a_declaration_waiting(loaded):
    # As the README says: two days in September of the cohort's second year, a morning and an afternoon
    # session each; staff answers, and the demo student's declaration waiting for the coordinator.
    from projectflow.posters import availability as poster_availability
    from projectflow.posters import services as posters
    from projectflow.posters.models import DECLARED

    cohort = db.session.scalar(select(Cohort).order_by(Cohort.academic_year.desc()).limit(1))
    sessions = posters.sessions_of(cohort)
    assert [posters.session_label(s, cohort.zone) for s in sessions] == [
        "Tue 14 Sep 2027, 10:00–12:30", "Tue 14 Sep 2027, 14:00–16:30",
        "Wed 15 Sep 2027, 10:00–12:30", "Wed 15 Sep 2027, 14:00–16:30"]
    assert [len(s.rooms) for s in sessions] == [2, 1, 2, 1]
    assert poster_availability.window_is_open(posters.settings_of(cohort),
                                              datetime(2026, 11, 2, 9, tzinfo=timezone.utc))
    counts = poster_availability.counts(cohort)
    assert counts.waiting == 1 and sum(counts.staff_unavailable.values()) + sum(counts.staff_if_needed.values()) >= 5
    student, staff = (User.by_email(dict(demo.demo_logins())[role]) for role in ("student", "staff"))
    assert [a.state for a in poster_availability.answers_of(cohort, student).values()] == [DECLARED]
    assert poster_availability.answers_of(cohort, staff)
