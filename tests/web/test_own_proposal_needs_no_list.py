"""A student whose own proposal is approved has their project: the preference page says so and no
list can be saved for them, by them or on their behalf."""

from __future__ import annotations

from sqlalchemy import func, select

from projectflow.extensions import db
from projectflow.proposals.models import PreferenceList


def test_the_preference_page_is_closed_once_the_students_own_proposal_is_approved(login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    cohort.min_preferences = 1
    db.session.commit()
    student = make.student(cohort=cohort)
    other = make.student(cohort=cohort)
    approved = make.proposal(cohort, student=student, state="approved", title="My own robot project")
    offered = make.project(cohort)

    client = login(student)
    page = client.get(f"/cohorts/{cohort.id}/preferences").get_data(as_text=True)
    assert "My own robot project" in page and "no preference list is needed" in page
    assert 'id="preferences-form"' not in page
    refused = client.post(f"/cohorts/{cohort.id}/preferences",
                          data={"choice": [str(offered.id)], "version": "", "action": "save"})
    assert refused.status_code == 409
    assert "no preference list is needed" in refused.get_data(as_text=True)
    client.post("/logout")

    # Not on their behalf either; another student of the cohort still ranks as usual.
    coordinator_client = login(coordinator, role="coordinator")
    on_behalf = coordinator_client.post(f"/cohorts/{cohort.id}/preferences/{student.id}",
                                        data={"choice": [str(offered.id)], "version": "", "action": "save"})
    assert on_behalf.status_code == 409
    saved = coordinator_client.post(f"/cohorts/{cohort.id}/preferences/{other.id}",
                                    data={"choice": [str(offered.id)], "version": "", "action": "save"})
    assert saved.status_code == 302
    lists = db.session.scalars(select(PreferenceList.student_id)).all()
    assert lists == [other.id]
    assert approved.state == "approved"
    assert db.session.scalar(select(func.count()).select_from(PreferenceList)) == 1
