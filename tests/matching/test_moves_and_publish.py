"""Hand moves with their checks, and publication: assignments, notifications, audit, one published run."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.matching import services
from projectflow.matching.models import PUBLISHED, SUPERSEDED
from projectflow.proposals import services as proposal_services

from .conftest import solve


def placed(run):
    return {a.student.name: a.project.title for a in run.allocations}


def unplaced_student(round_, run):
    names = {a.student_id for a in run.allocations}
    return next(s for s in round_.students if s.id not in names)


def test_the_check_of_a_move_refuses_a_full_project_and_a_full_supervisor(round_):
    run = solve(round_.cohort, round_.coordinator)
    left_out = unplaced_student(round_, run)
    check = services.check_move(run, left_out, round_.p3)
    assert not check.ok and any("Protein folding” is full: 1 of 1" in p for p in check.problems)
    # Lee has two students (limit 2) whichever way the engine placed them.
    check = services.check_move(run, left_out, round_.p2)
    assert not check.ok and any("Dr Lee already has 2 students" in p for p in check.problems)
    assert check.after is None


def test_a_move_that_keeps_the_rules_shows_the_new_figures_and_is_audited(round_):
    run = solve(round_.cohort, round_.coordinator)
    dan = round_.students[3]
    assert placed(run)["Dan"] == "Protein folding"
    check = services.check_move(run, dan, None)
    assert check.ok and check.after is not None
    assert len(check.after.assignments) == len(check.before.assignments) - 1
    services.move_student(run, dan, None, by=round_.coordinator)
    db.session.commit()
    # Kim's place is free now: the student left out can take it (whether they ranked it or not).
    target = next(s for s in round_.students if s.id not in {a.student_id for a in run.allocations} and s != dan)
    check = services.check_move(run, target, round_.p3)
    assert check.ok
    services.move_student(run, target, round_.p3, by=round_.coordinator)
    db.session.commit()
    db.session.refresh(run)
    assert run.moves == 2 and run.is_valid
    moved = next(a for a in run.allocations if a.student_id == target.id)
    assert moved.is_moved and moved.project_id == round_.p3.id
    assert moved.rank == {"Ann": 3, "Ben": 2, "Cat": None}[target.name]
    assert (moved.rank is None) == any("did not rank" in w for w in check.warnings)
    standing = services.standing_result(run)
    assert standing.status == "adjusted" and standing.verdict.ok
    events = db.session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action == "allocation.student_moved"))
    assert events == 2


def test_a_move_the_check_refuses_is_refused_and_changes_nothing(round_):
    run = solve(round_.cohort, round_.coordinator)
    before = placed(run)
    with pytest.raises(InvalidState, match="is full"):
        services.move_student(run, unplaced_student(round_, run), round_.p3, by=round_.coordinator)
    db.session.rollback()
    db.session.refresh(run)
    assert placed(run) == before and run.moves == 0


def test_a_student_on_their_own_proposal_stays_there(round_, make):
    eve = make.student(round_.cohort, name="Eve")
    make.proposal(round_.cohort, student=eve, supervisor=round_.kim, state="approved")
    run = solve(round_.cohort, round_.coordinator)
    own = next(a for a in run.allocations if a.student_id == eve.id)
    assert own.is_fixed and own.rank is None
    check = services.check_move(run, eve, round_.p2)
    assert any("own approved proposal" in p for p in check.problems)


def test_publishing_tells_everyone_closes_preferences_and_is_audited(round_, smtp_server):
    run = solve(round_.cohort, round_.coordinator)
    services.publish_run(run, by=round_.coordinator)
    db.session.commit()
    assert run.state == PUBLISHED and run.published_by_id == round_.coordinator.id
    assert round_.cohort.allocation_published_at is not None
    assert not round_.cohort.preferences_open(clock.now())
    # Each person's latest notice (in the order written: rows come back in no set order otherwise).
    told = {n.user_id: n.message for n in db.session.scalars(select(Notification).order_by(Notification.id))}
    for s in round_.students:
        mine = services.allocation_of(round_.cohort, s)
        if mine:
            assert mine.project.title in told[s.id] and mine.supervisor.name in told[s.id]
        else:
            assert "could not give you a project" in told[s.id]
    assert "Your students" in told[round_.lee.id] and "Your students" in told[round_.kim.id]
    assert {a.student_id for a in services.students_of(round_.cohort, round_.lee)} \
        == {a.student_id for a in run.allocations if a.supervisor_id == round_.lee.id}
    mails = smtp_server.wait_for(len(round_.students) + 2)
    assert {m["To"] for m in mails} == {s.email for s in round_.students} | {round_.lee.email, round_.kim.email}
    assert all(m["Subject"].startswith("projectflow: your") for m in mails)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "allocation.published"))
    assert event.actor_id == round_.coordinator.id and event.after["published_run"] == run.number


def test_publishing_again_replaces_the_run_and_tells_only_those_affected(round_, smtp_server):
    first = solve(round_.cohort, round_.coordinator)
    services.publish_run(first, by=round_.coordinator)
    db.session.commit()
    db.session.execute(Notification.__table__.delete())
    second = solve(round_.cohort, round_.coordinator, "greedy")
    dan = round_.students[3]
    services.move_student(second, dan, None, by=round_.coordinator)
    services.publish_run(second, by=round_.coordinator)
    db.session.commit()
    assert first.state == SUPERSEDED and second.state == PUBLISHED
    told = {n.user_id for n in db.session.scalars(select(Notification))}
    changed = {s.id for s in round_.students
               if ({a.student_id: a.project_id for a in first.allocations}.get(s.id)
                   != {a.student_id: a.project_id for a in second.allocations}.get(s.id))}
    assert dan.id in changed and changed <= told
    assert told - changed <= {round_.lee.id, round_.kim.id} and round_.kim.id in told


def test_a_run_with_stale_inputs_cannot_be_published(round_, make):
    run = solve(round_.cohort, round_.coordinator)
    make.preferences(round_.cohort, round_.students[3], [round_.p1, round_.p3])
    assert services.inputs_changed(run)
    with pytest.raises(InvalidState, match="changed since Run 1"):
        services.publish_run(run, by=round_.coordinator)


def test_only_a_solved_run_is_published_or_changed(round_, smtp_server):
    run = solve(round_.cohort, round_.coordinator)
    services.publish_run(run, by=round_.coordinator)
    db.session.commit()
    with pytest.raises(InvalidState):
        services.publish_run(run, by=round_.coordinator)
    with pytest.raises(InvalidState, match="only a run under review"):
        services.check_move(run, round_.students[0], None)


def test_only_coordinators_publish(round_):
    run = solve(round_.cohort, round_.coordinator)
    with pytest.raises(NotAllowed):
        services.publish_run(run, by=round_.lee)


def test_projects_cannot_be_withdrawn_after_publication(round_, smtp_server):
    run = solve(round_.cohort, round_.coordinator)
    services.publish_run(run, by=round_.coordinator)
    db.session.commit()
    with pytest.raises(InvalidState, match="published"):
        proposal_services.withdraw_project(round_.p2, by=round_.lee, reason="Going on leave.")
