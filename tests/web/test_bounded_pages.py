"""What the pages of a large cohort read: one person's membership rather than the staff list, a
supervisor's own load rather than everyone's, the audit log's page of events without joining every
event to its people, and the allocation run's inputs checked by fingerprint (tests/matching)."""

from __future__ import annotations

from sqlalchemy import inspect

from projectflow.cohorts.models import Cohort, CohortStaff
from projectflow.extensions import db
from projectflow.people.models import User
from projectflow.proposals import services
from tests.page_tour import StatementLog, objects_loaded


def test_asking_who_may_see_or_run_a_cohort_reads_one_membership_not_the_staff_list(make, cohort, coordinator):
    staff = [make.staff(cohort) for _ in range(12)]
    student, outsider = make.student(cohort), make.staff()
    ids = {"coordinator": coordinator.id, "staff": staff[3].id, "student": student.id, "outsider": outsider.id}
    cohort_id = cohort.id
    db.session.remove()
    cohort = db.session.get(Cohort, cohort_id)
    people = {k: db.session.get(User, v) for k, v in ids.items()}

    with objects_loaded() as loaded:
        answers = {k: (cohort.can_view(u), cohort.can_manage(u)) for k, u in people.items()}

    assert answers == {"coordinator": (True, True), "staff": (True, False), "student": (True, False),
                       "outsider": (False, False)}
    assert "staff" not in cohort.__dict__  # the list of 14 members was never loaded
    assert loaded["CohortStaff"] <= 2  # the coordinator's membership and the member's


def test_a_membership_added_in_the_same_session_is_seen_at_once(make, cohort):
    newcomer = make.staff()
    assert not cohort.can_view(newcomer)
    db.session.add(CohortStaff(cohort_id=cohort.id, user_id=newcomer.id))
    db.session.flush()
    assert cohort.can_view(newcomer) and not cohort.can_manage(newcomer)
    db.session.rollback()
    assert not cohort.can_view(newcomer)


def test_my_projects_counts_a_supervisors_load_without_loading_the_cohort(make, cohort, login):
    supervisor = make.staff(cohort, max_load=4)
    for _ in range(6):
        make.staff(cohort, max_load=3)
    for _ in range(10):
        make.student(cohort)
    make.project(cohort, owner=supervisor, capacity=2)
    member = next(s for s in cohort.staff if s.user_id == supervisor.id)
    # The one member's figures are their row of the coordinator's table.
    assert services.supervisor_load(cohort, member) == next(
        r for r in services.supervisor_loads(cohort) if r.member.user_id == supervisor.id)
    client, cohort_id = login(supervisor, role="staff"), cohort.id
    db.session.remove()

    with objects_loaded() as loaded:
        page = client.get(f"/cohorts/{cohort_id}/my-projects")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Load limit: <strong>4</strong>" in text and "Places offered (approved or awaiting approval): <strong>2</strong>" in text
    assert loaded["Enrolment"] == 0 and loaded["CohortStaff"] <= 1  # their own membership only


def test_the_audit_log_sorts_its_events_before_reading_their_people(make, cohort, coordinator, login):
    for _ in range(3):
        make.project(cohort)
    client = login(coordinator, role="coordinator")
    log = StatementLog(db.engine)
    try:
        with log.recording() as statements:
            page = client.get(f"/audit/?cohort={cohort.id}")
    finally:
        log.close()
    assert page.status_code == 200 and "project.approved" in page.get_data(as_text=True)
    [main] = [s for s in statements if "ORDER BY audit_events.at DESC" in s and "count(" not in s]
    # Joined to users and cohorts, every matching event was joined before the sort kept 50 of them.
    assert "JOIN users" not in main and "JOIN cohorts" not in main
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(db.engine).get_indexes("audit_events")}
    assert indexes["ix_audit_events_cohort_id_action"] == ["cohort_id", "action"]
    assert indexes["ix_audit_events_cohort_id_object_type"] == ["cohort_id", "object_type"]
