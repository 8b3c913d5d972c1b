"""Two saves of one preference list racing: the database's version check has the last word.

The page's version number catches a list changed before the form was sent; this catches the narrower
window where two requests both pass that check and write at the same moment."""

from __future__ import annotations

import pytest
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from projectflow.extensions import db
from projectflow.proposals import preferences, services
from projectflow.proposals.models import PreferenceList


@pytest.fixture
def ranked_cohort(make, smtp_server):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    cohort.min_preferences = 1
    supervisors = [make.staff(cohort=cohort) for _ in range(2)]
    projects = []
    for i, owner in enumerate(supervisors * 2):
        project = services.create_project(cohort, owner=owner, by=owner, values={
            "title": f"Project {i}", "description": "d", "keywords": [], "prerequisites": "",
            "capacity": 1, "is_external": False})
        services.submit_project(project, by=owner)
        services.approve_project(project, by=coordinator)
        projects.append(project)
    student = make.student(cohort=cohort)
    db.session.commit()
    return cohort, student, projects


def test_the_second_of_two_simultaneous_saves_is_refused_and_the_first_is_kept(ranked_cohort):
    cohort, student, projects = ranked_cohort
    first = preferences.save_preferences(cohort, student, [projects[0].id], expected_version=None, by=student)
    db.session.commit()
    version = first.version

    # Another request commits its save of the same list at the worst moment: after this request
    # has checked the version, just before it writes.
    def other_request_saves(conn, cursor, statement, *args):
        if statement.startswith("DELETE FROM preferences") and not done:
            done.append(True)
            with Session(db.engine) as other:
                other.execute(update(PreferenceList).where(PreferenceList.id == first.id)
                              .values(version=PreferenceList.version + 1))
                other.commit()

    done: list[bool] = []
    event.listen(db.engine, "before_cursor_execute", other_request_saves)
    try:
        with pytest.raises(preferences.StaleList, match="at the same moment"):
            preferences.save_preferences(cohort, student, [projects[1].id, projects[0].id],
                                         expected_version=version, by=student)
    finally:
        event.remove(db.engine, "before_cursor_execute", other_request_saves)
    assert done, "the competing save never ran"
    db.session.rollback()

    # Nothing of the refused save is left: the list is as the other request left it.
    kept = preferences.preference_list(cohort, student)
    assert kept.version == version + 1
    assert [c.project_id for c in kept.choices] == [projects[0].id]
