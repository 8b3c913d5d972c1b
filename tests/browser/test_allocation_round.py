"""The allocation in a real browser: the coordinator starts a run and watches its progress while
the job runner solves it, reviews it, moves a student by hand with the live check, and publishes;
then a student sees their project with the explanation and a supervisor sees their students."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from projectflow.extensions import db
from projectflow.matching import services
from tests.browser.test_sign_in import sign_in
from tests.matching.conftest import build_round

pytestmark = [pytest.mark.browser, pytest.mark.csrf]


def choose(select, starting_with: str) -> None:
    """Pick the option of a <select> whose text starts with ``starting_with``."""
    label = next(t for t in select.locator("option").all_text_contents() if t.startswith(starting_with))
    select.select_option(label=label)


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_run_goes_from_start_to_publication_and_students_see_why(
        page, live_server, make, cohort, coordinator, smtp_server, job_runner, browser_problems, screenshot):
    r = build_round(make, cohort, coordinator)
    dan = r.students[3]

    sign_in(page, live_server, coordinator)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Allocation").click()
    expect(page.get_by_role("heading", name=re.compile("^Allocation"))).to_be_visible()
    page.get_by_label("Objective").select_option("min-cost")
    page.get_by_label("Note").fill("First look")
    page.get_by_role("button", name="Start the run").click()

    # Nothing runs the job yet: the page says so and keeps polling without hanging.
    expect(page.locator("#run-message")).to_contain_text("Waiting for the job runner")
    screenshot(page, "allocation-run-waiting")
    job_runner.start()
    # The page follows the job by itself and shows the result once it is solved.
    expect(page.get_by_role("heading", name=re.compile("Run 1"))).to_contain_text("Ready to review", timeout=20_000)
    expect(page.locator("#figure-placed")).to_contain_text("3 of 4")
    expect(page.get_by_text("Optimal (proven)")).to_be_visible()
    screenshot(page, "allocation-run-result")

    # A hand move, checked live before it is made.
    form = page.locator("#move-form")
    choose(form.get_by_label("Student"), "Dan ")
    form.get_by_label("New project").select_option(label="No project")
    expect(page.locator("#move-check")).to_contain_text("This move keeps every rule")
    expect(page.locator("#move-check")).to_contain_text("After the move: 2 placed")
    screenshot(page, "allocation-move-check")
    form.get_by_role("button", name="Move").click()
    expect(page.get_by_text("Moved Dan off their project.")).to_be_visible()
    expect(page.locator("#figure-placed")).to_contain_text("2 of 4")
    # A move the rules forbid is refused before it is sent: Dr Lee's two places are both taken.
    db.session.expire_all()
    run = services.runs_of(cohort)[0]
    someone = next(s for s in r.students if s.id not in {a.student_id for a in run.allocations} and s.id != dan.id)
    choose(form.get_by_label("Student"), f"{someone.name} ")
    choose(form.get_by_label("New project"), "Federated learning")
    expect(page.locator("#move-check")).to_contain_text("This move is not allowed")
    expect(page.locator("#move-check")).to_contain_text("Dr Lee already has 2 students")
    expect(form.get_by_role("button", name="Move")).to_be_disabled()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish Run 1").click()
    expect(page.get_by_text("Run 1 is published: students and supervisors have been told.")).to_be_visible()
    screenshot(page, "allocation-published")
    sign_out(page)

    # A student who got a project sees it and why not higher; the supervisor sees their students.
    db.session.expire_all()
    placed = {a.student_id: a for a in services.published_run(cohort).allocations}
    student = max((s for s in r.students if s.id in placed), key=lambda s: placed[s.id].rank or 0)
    mine = placed[student.id]
    sign_in(page, live_server, student)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My project").click()
    expect(page.locator("#my-allocation")).to_contain_text(mine.project.title)
    expect(page.locator("#my-allocation")).to_contain_text(mine.supervisor.name)
    expect(page.locator("#explanation")).to_contain_text("You got your")
    screenshot(page, "allocation-student-explanation")
    sign_out(page)

    sign_in(page, live_server, mine.supervisor)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My students").click()
    expect(page.get_by_role("cell", name=re.compile(student.name))).to_be_visible()
    browser_problems.assert_clean()
