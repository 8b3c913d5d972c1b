"""The cohort's timeline: the typical year, edits and their checks, and the student's view of it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.extensions import db
from projectflow.milestones import progress, services
from projectflow.milestones.models import FULL_TIME, PART_TIME
from tests.forms import get_form
from tests.html import field_error, main_text, nav_links

LONDON = ZoneInfo("Europe/London")


def test_the_typical_year_lands_on_the_cohorts_dates_at_16_00_london(timeline, cohort):
    plan, final = timeline["project_plan"], timeline["final_report"]
    assert plan.due_at.astimezone(LONDON) == datetime(2027, 3, 5, 16, 0, tzinfo=LONDON)  # first Friday of March
    assert final.due_at.astimezone(LONDON) == datetime(2027, 9, 3, 16, 0, tzinfo=LONDON)  # 15:00 UTC in summer
    assert final.due_at.utcoffset() == timedelta(0) and final.due_at.hour == 15
    assert timeline["interim_report"].due_at.astimezone(LONDON).date() == cohort.part_time_end
    assert [m.phase for m in services.milestones_of(cohort)] == [PART_TIME] * 3 + [FULL_TIME] * 2
    assert final.is_assessed and final.components == ["report"] and not plan.is_assessed
    # Assessed work closes 5 working days after its deadline, at the same time of day; the rest stays open.
    assert final.cutoff_at.astimezone(LONDON) == datetime(2027, 9, 10, 16, 0, tzinfo=LONDON)
    assert timeline["poster"].cutoff_at.astimezone(LONDON) == datetime(2027, 9, 17, 16, 0, tzinfo=LONDON)
    assert plan.cutoff_at is None and timeline["interim_report"].cutoff_at is None
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "timeline.created"))


def test_a_timeline_is_created_once_and_by_a_coordinator(timeline, cohort, coordinator, supervisor):
    with pytest.raises(InvalidState):
        services.create_timeline(cohort, by=coordinator)
    with pytest.raises(NotAllowed):
        services.create_timeline(cohort, by=supervisor)


def values(milestone, **changes):
    data = {k: getattr(milestone, k) for k in services.FIELDS}
    data.update(changes)
    return data


@pytest.mark.parametrize("change, field, message", [
    ({"due_at": datetime(2026, 1, 1, 16, tzinfo=timezone.utc)}, "due_at", "in the past"),
    ({"cutoff_at": datetime(2027, 3, 1, 16, tzinfo=timezone.utc)}, "cutoff_at", "before the deadline"),
    ({"title": "Final report"}, "title", "Another milestone"),
    ({"title": "  "}, "title", "title"),
    ({"components": ["essay"]}, "components", "Components"),
    # Deadlines stay inside their phase and the cohort (found: a milestone in 2030 was accepted).
    ({"due_at": datetime(2030, 3, 1, 16, tzinfo=timezone.utc)}, "due_at", "after the cohort's end"),
    ({"due_at": datetime(2027, 9, 10, 15, 1, tzinfo=timezone.utc) + timedelta(days=1)}, "due_at",
     "after the cohort's end"),
    ({"due_at": datetime(2027, 6, 4, 15, tzinfo=timezone.utc)}, "due_at", "outside the part-time phase"),
    ({"phase": FULL_TIME, "due_at": datetime(2027, 4, 2, 15, tzinfo=timezone.utc)}, "due_at",
     "outside the full-time phase"),
    ({"due_at": datetime(2027, 3, 6, 16, tzinfo=timezone.utc)}, "due_at", "Sat 06 Mar 2027 is not a working day"),
    ({"due_at": datetime(2027, 3, 26, 16, tzinfo=timezone.utc)}, "due_at", "Good Friday"),
])
def test_bad_milestone_values_are_refused_with_the_field(timeline, coordinator, february, change, field, message):
    with pytest.raises(ValidationFailed, match=message) as caught:
        services.update_milestone(timeline["project_plan"], values(timeline["project_plan"], **change), by=coordinator)
    assert caught.value.field == field


@pytest.mark.parametrize("phase, day", [(PART_TIME, datetime(2027, 1, 11, 16, tzinfo=timezone.utc)),
                                        (PART_TIME, datetime(2027, 5, 28, 15, tzinfo=timezone.utc)),
                                        (FULL_TIME, datetime(2027, 5, 31, 15, tzinfo=timezone.utc) + timedelta(days=1)),
                                        (FULL_TIME, datetime(2027, 9, 10, 15, tzinfo=timezone.utc))])
def test_a_deadline_on_the_first_or_last_working_day_of_its_phase_is_accepted(timeline, coordinator, phase, day):
    plan = timeline["project_plan"]
    with clock.frozen(datetime(2026, 12, 1, tzinfo=timezone.utc)):
        services.update_milestone(plan, values(plan, phase=phase, due_at=day), by=coordinator)
    assert plan.due_at == day


def test_a_deadline_on_a_non_working_day_needs_confirming_in_the_form(client, login, timeline, cohort,
                                                                      coordinator, february):
    plan = timeline["project_plan"]
    c = login(coordinator, role="coordinator")
    form = get_form(c, f"/milestones/{plan.id}/edit", has_field="title")
    response = form.set("due", "2027-03-06T16:00").submit(c)  # a Saturday
    assert response.status_code == 422
    assert "is not a working day (Saturday)" in field_error(response.get_data(as_text=True), "due")
    db.session.refresh(plan)
    assert plan.due_at.astimezone(LONDON).day == 5

    form = get_form(c, f"/milestones/{plan.id}/edit", has_field="title")
    response = form.set("due", "2027-03-06T16:00").check("non_working_day_confirmed", "y").submit(c)
    assert response.status_code == 302
    db.session.refresh(plan)
    assert plan.due_at.astimezone(LONDON) == datetime(2027, 3, 6, 16, tzinfo=LONDON)


def test_a_cutoff_equal_to_the_deadline_is_allowed_and_an_unchanged_past_deadline_is_kept(timeline, coordinator):
    plan = timeline["project_plan"]
    with clock.frozen(plan.due_at + timedelta(days=1)):
        services.update_milestone(plan, values(plan, cutoff_at=plan.due_at, description="Changed."), by=coordinator)
    assert plan.cutoff_at == plan.due_at and plan.description == "Changed."


def test_closures_are_parsed_checked_and_counted_as_non_working_days(cohort, coordinator):
    services.set_closures(cohort, "2026-12-24, 2027-01-01, Christmas closure\n\n", by=coordinator)
    assert cohort.closures == [["2026-12-24", "2027-01-01", "Christmas closure"]]
    calendar = services.working_calendar(cohort)
    assert not calendar.is_working_day(datetime(2026, 12, 30).date())  # a Wednesday inside the closure
    for bad, message in [("2026-12-24", "first day, last day"), ("24/12/2026, 2027-01-01", "2026-12-24"),
                         ("2027-01-01, 2026-12-24", "before the first"), ("2026-01-01, 2026-06-01, x", "two months")]:
        with pytest.raises(ValidationFailed, match=message):
            services.set_closures(cohort, bad, by=coordinator)


def test_the_students_states_follow_the_clock(timeline, cohort, student):
    plan = timeline["project_plan"]
    with clock.frozen(plan.due_at - timedelta(days=30)):
        assert progress.student_rows(cohort, student)[0].state == progress.NOT_DUE
    with clock.frozen(plan.due_at - timedelta(days=6)):
        assert progress.student_rows(cohort, student)[0].state == progress.DUE_SOON_STATE
    with clock.frozen(plan.due_at + timedelta(seconds=1)):
        assert progress.student_rows(cohort, student)[0].state == progress.MISSING


def test_the_coordinator_edits_the_timeline_in_the_browser_forms(client, login, cohort, coordinator, february):
    c = login(coordinator, role="coordinator")
    page = c.get(f"/cohorts/{cohort.id}/timeline").get_data(as_text=True)
    assert "Create the timeline from the typical year" in page
    assert nav_links(page)["Timeline"].endswith(f"/cohorts/{cohort.id}/timeline")
    from_template = get_form(c, f"/cohorts/{cohort.id}/timeline", submit="Create the timeline from the typical year")
    assert from_template.submit(c).status_code == 302
    body = main_text(c.get(f"/cohorts/{cohort.id}/timeline").get_data(as_text=True))
    assert "Project plan" in body and "Fri 05 Mar 2027 16:00" in body
    response = c.post(f"/cohorts/{cohort.id}/timeline/new", data={
        "title": "Literature review", "kind": "custom", "phase": "part_time", "due": "2027-03-19T16:00",
        "cutoff": "2027-03-12T16:00", "needs_file": "y", "description": ""})
    assert response.status_code == 422
    assert "cannot be before the deadline" in field_error(response.get_data(as_text=True), "cutoff")
    new = get_form(c, f"/cohorts/{cohort.id}/timeline/new", has_field="title")
    new.set("title", "Literature review").select("kind", "custom").select("phase", "part_time")
    new.set("due", "2027-03-19T16:00").check("needs_file")
    response = new.submit(c, submit="Save")
    assert response.status_code == 302
    review = next(m for m in services.milestones_of(cohort) if m.title == "Literature review")
    assert review.due_at == datetime(2027, 3, 19, 16, 0, tzinfo=timezone.utc)  # GMT in March before the change


def test_who_may_not_edit_the_timeline_and_who_sees_their_own(client, login, timeline, cohort, student, supervisor,
                                                              february):
    for person in (student, supervisor):
        c = login(person)
        assert c.get(f"/cohorts/{cohort.id}/timeline").status_code == 403
        assert c.post(f"/cohorts/{cohort.id}/timeline/from-template").status_code == 403
        assert c.get(f"/milestones/{timeline['final_report'].id}/edit").status_code == 403
        c.post("/logout")
    c = login(student)
    page = c.get(f"/cohorts/{cohort.id}/my-timeline").get_data(as_text=True)
    assert "Next: Project plan" in main_text(page) and 'id="timeline-chart"' in page
    c.post("/logout")
    assert login(supervisor).get(f"/cohorts/{cohort.id}/my-timeline").status_code == 403


def test_moving_a_deadline_tells_the_students(timeline, cohort, coordinator, student, smtp_server, february):
    from projectflow.core.notifications import Notification

    plan = timeline["project_plan"]
    services.update_milestone(plan, values(plan, due_at=plan.due_at + timedelta(days=7)), by=coordinator)
    db.session.commit()
    told = db.session.scalars(select(Notification.message).where(Notification.user_id == student.id)).all()
    assert any("Fri 12 Mar 2027 16:00" in m for m in told)
    assert smtp_server.wait_for(1)[0]["To"] == student.email


def test_the_settings_form_saves_the_limits_and_refuses_bad_ones(client, login, cohort, coordinator):
    c = login(coordinator, role="coordinator")
    data = {"closures": "", "extension_max_working_days": "15", "meeting_gap_part_time_weeks": "4",
            "meeting_gap_full_time_weeks": "2"}
    settings = get_form(c, f"/cohorts/{cohort.id}/timeline", action=f"/cohorts/{cohort.id}/timeline/closures")
    for name, value in data.items():
        settings.set(name, value)
    assert settings.submit(c).status_code == 302
    db.session.refresh(cohort)
    assert (cohort.extension_max_working_days, cohort.meeting_gap_part_time_weeks) == (15, 4)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "timeline.settings_changed"))
    bad = c.post(f"/cohorts/{cohort.id}/timeline/closures", data={**data, "extension_max_working_days": "0"})
    assert bad.status_code == 422 and field_error(bad.get_data(as_text=True), "extension_max_working_days")
    db.session.refresh(cohort)
    assert cohort.extension_max_working_days == 15  # nothing lost
    services.set_closures(cohort, "2026-12-24, 2027-01-01, Christmas closure", by=coordinator)
    db.session.commit()
    page = c.get(f"/cohorts/{cohort.id}/timeline").get_data(as_text=True)
    assert re.search(r">\s*2026-12-24, 2027-01-01, Christmas closure</textarea>", page)


def test_a_milestone_is_removed_only_while_unused(client, login, timeline, cohort, coordinator, student, february,
                                                  smtp_server):
    from projectflow.milestones import extensions

    c = login(coordinator, role="coordinator")
    poster = timeline["poster"]
    remove = get_form(c, f"/milestones/{poster.id}/edit", submit="Remove this milestone")
    assert remove.submit(c).status_code == 302
    assert "Poster" not in [m.title for m in services.milestones_of(cohort)]
    plan = timeline["project_plan"]
    extensions.request_extension(plan, student, reason="Ill.", by=student)
    db.session.commit()
    # A used milestone's page offers no Remove button (it once ended on a bare 409 page), and says why.
    page = c.get(f"/milestones/{plan.id}/edit").get_data(as_text=True)
    assert "Remove this milestone" not in page
    assert "already has submissions or extension requests, so it cannot be removed" in main_text(page)
    response = c.post(f"/milestones/{plan.id}/delete")
    assert response.status_code == 409 and "cannot be removed" in response.get_data(as_text=True)
    assert plan in services.milestones_of(cohort)
    c.post("/logout")
    assert login(student).post(f"/milestones/{plan.id}/delete").status_code == 403
