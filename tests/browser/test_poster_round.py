"""The poster days in a real browser, from availability to the published schedule: the coordinator sets
a session up and opens the availability window, an assessor says they cannot come to the afternoon,
the coordinator makes a schedule (its progress followed while the job runner works), moves a poster
with the live check and publishes; then the assessor sees their own slots, all in the morning."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from projectflow.core import clock
from projectflow.extensions import db
from projectflow.posters import schedules, services
from projectflow.posters.models import PosterSchedule
from tests.browser.test_allocation_round import sign_out
from tests.browser.test_sign_in import sign_in
from tests.posters.conftest import build_allocated

pytestmark = [pytest.mark.browser, pytest.mark.csrf]

JUNE = datetime(2027, 6, 1, 10, tzinfo=timezone.utc)


def test_availability_to_a_published_schedule_and_an_assessors_own_slots(
        page, live_server, make, cohort, coordinator, smtp_server, job_runner, browser_problems, screenshot):
    c = build_allocated(make, cohort, coordinator)
    kim_posters = sum(1 for p in services.posters(c.cohort) if c.kim.id in {a.id for a in p.assessors})
    with clock.frozen(JUNE):
        sign_in(page, live_server, coordinator)
        page.goto(live_server(f"/cohorts/{cohort.id}/posters"))
        form = page.locator("form", has=page.get_by_role("button", name="Add the session"))
        form.get_by_label("Day").fill("2027-09-14")
        form.get_by_label("Starts").fill("10:00")
        form.get_by_label("Ends").fill("12:00")
        form.get_by_label("Name of room 1").fill("Atrium")
        form.get_by_label("Poster boards in room 1").fill("20")
        form.get_by_role("button", name="Add the session").click()
        expect(page.get_by_role("alert").or_(page.locator(".alert-success")).first).to_contain_text("added")
        form = page.locator("form", has=page.get_by_role("button", name="Add the session"))
        form.get_by_label("Day").fill("2027-09-14")
        form.get_by_label("Starts").fill("14:00")
        form.get_by_label("Ends").fill("16:00")
        form.get_by_label("Name of room 1").fill("Atrium")
        form.get_by_label("Poster boards in room 1").fill("20")
        form.get_by_role("button", name="Add the session").click()
        expect(page.locator("#session-list li")).to_have_count(2)
        page.get_by_role("button", name="Open the availability window").click()
        expect(page.get_by_text("The availability window is open")).to_be_visible()
        sign_out(page)

        # Dr Kim cannot come to the afternoon.
        sign_in(page, live_server, c.kim)
        page.goto(live_server(f"/cohorts/{cohort.id}/posters/availability"))
        afternoon = page.get_by_role("group", name=re.compile("14:00"))
        afternoon.get_by_label("I cannot come").check()
        page.get_by_role("button", name="Save my answers").click()
        expect(page.get_by_text("Your answers are saved.")).to_be_visible()
        sign_out(page)

        # The coordinator makes a schedule and follows it while the job runner works.
        sign_in(page, live_server, coordinator)
        page.goto(live_server(f"/cohorts/{cohort.id}/posters"))
        page.get_by_role("link", name="Schedules").click()
        page.get_by_label("Search for up to").select_option("5")
        page.get_by_role("button", name="Make a schedule").click()
        expect(page.locator("#run-message")).to_contain_text("Waiting for the job runner")
        screenshot(page, "poster-schedule-waiting")
        job_runner.start()
        expect(page.get_by_role("heading", name="How good it is")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("4 of 4 posters placed")).to_be_visible()
        # Dr Kim's posters are all in the morning: the afternoon's grid has none of them.
        page.get_by_role("link", name=re.compile("Tue 14 Sep 14:00")).click()
        grid = page.locator("table.poster-grid")
        expect(grid).to_be_visible()
        expect(grid.get_by_text("Dr Kim")).to_have_count(0)
        page.get_by_role("link", name=re.compile("Tue 14 Sep 10:00")).click()
        expect(page.locator("table.poster-grid").get_by_text(re.compile("Dr Kim"))).to_have_count(kim_posters)
        screenshot(page, "poster-schedule-grid")

        # Moving one of Kim's posters to the afternoon is refused by the live check, before sending.
        schedule = db.session.scalar(select(PosterSchedule))
        kims = [s for s in schedules.slots_of(schedule) if c.kim.id in schedules.assessors_of(schedule)[s.student_id]]
        student = kims[0].student
        change = page.locator("#change-form")
        change.get_by_label("Poster of").select_option(label=student.name)
        change.get_by_label("To", exact=True).select_option(label="Tue 14 Sep 14:45, Atrium")
        expect(page.locator("#change-check")).to_contain_text("This change is not allowed.")
        expect(page.locator("#change-check")).to_contain_text("Dr Kim")
        expect(change.get_by_role("button", name="Make the change")).to_be_disabled()
        # To a morning slot where all of that poster's people are free (the first the server allows): made.
        options = change.get_by_label("To", exact=True).locator("option")
        values = [v for v in options.evaluate_all("os => os.map(o => o.value)") if v]
        allowed = next(v for v in values if schedules.check_change(
            schedule, student, schedules.target_from(schedule, v)).ok
            and schedules.target_from(schedule, v).starts_at != kims[0].starts_at
            and schedules.target_from(schedule, v).session_id == kims[0].session_id)
        change.get_by_label("To", exact=True).select_option(value=allowed)
        expect(page.locator("#change-check")).to_contain_text("This change keeps every rule.")
        change.get_by_role("button", name="Make the change").click()
        expect(page.get_by_text(f"Moved {student.name}'s poster.")).to_be_visible()
        expect(page.locator(f"#poster-{student.id}")).to_contain_text("Moved by hand")
        screenshot(page, "poster-schedule-moved")
        page.get_by_role("button", name=re.compile("^Publish schedule")).click()
        expect(page.get_by_text("is published: students and assessors were told their slots")).to_be_visible()
        sign_out(page)

        # Dr Kim sees their own slots, from the home page.
        sign_in(page, live_server, c.kim)
        page.get_by_role("link", name="Posters you assess").first.click()
        expect(page.get_by_role("heading", name=re.compile("Posters you assess"))).to_be_visible()
        rows = page.locator("table tbody tr")
        expect(rows).to_have_count(kim_posters)
        db.session.expire_all()
        for slot in kims:  # each at its time (the student named as the cohort's anonymity rule allows)
            fresh = db.session.get(type(slot), slot.id)
            expect(page.locator("table tbody")).to_contain_text(
                f"{fresh.starts_at.astimezone(cohort.zone):%H:%M}–{fresh.ends_at.astimezone(cohort.zone):%H:%M}")
        expect(page.locator("table tbody")).not_to_contain_text("14:")
        screenshot(page, "poster-assessor-slots")
    browser_problems.assert_clean()

