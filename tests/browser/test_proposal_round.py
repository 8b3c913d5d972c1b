"""The proposal round in a real browser: a supervisor offers and submits a project, the coordinator
approves it, and a student finds it in the catalogue, bookmarks it and ranks it (reordering with the
keyboard-accessible buttons and by drag and drop)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from projectflow.extensions import db
from projectflow.proposals import services
from projectflow.proposals.preferences import preference_list
from tests.browser.test_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.csrf]


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


@pytest.fixture
def round_people(make, smtp_server):
    coordinator = make.coordinator(name="Dr Cora Ordinator")
    cohort = make.cohort(coordinator=coordinator, code="AML", year=2026)
    cohort.min_preferences = 2
    supervisor = make.staff(cohort=cohort, name="Dr Stella Staff", expertise=("robotics",))
    other = make.staff(cohort=cohort, name="Dr Otto Other", expertise=("speech",))
    student = make.student(cohort=cohort, name="Sam Student")
    # A project already approved, so the student has two to rank.
    existing = services.create_project(cohort, owner=other, by=other, values={
        "title": "Keyword spotting on a microcontroller", "description": "Tiny models.", "keywords": ["speech"],
        "prerequisites": "", "capacity": 1, "is_external": False})
    services.submit_project(existing, by=other)
    services.approve_project(existing, by=coordinator)
    db.session.commit()
    return {"cohort": cohort, "coordinator": coordinator, "supervisor": supervisor, "student": student,
            "existing": existing}


def test_a_project_goes_from_offer_to_approval_to_a_students_ranked_list(
        page, live_server, round_people, browser_problems, screenshot):
    people = round_people

    # The supervisor offers a project and submits it.
    sign_in(page, live_server, people["supervisor"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My projects").click()
    page.get_by_role("link", name="Offer a project").click()
    page.get_by_label("Title").fill("Sim-to-real grasping for a low-cost arm")
    page.get_by_label("Description").fill("Train in simulation, **transfer** to a real arm.\n\n- domain randomisation\n- evaluation")
    page.get_by_label("Keywords").fill("robotics, reinforcement learning")
    page.get_by_label("Students who can take it").fill("2")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved")).to_be_visible()
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator(".badge", has_text="Awaiting approval")).to_be_visible()
    screenshot(page, "proposals-supervisor-submitted")
    sign_out(page)

    # The coordinator finds it in the queue and approves it.
    sign_in(page, live_server, people["coordinator"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Proposals").click()
    expect(page.get_by_role("link", name="Awaiting approval 1")).to_be_visible()
    screenshot(page, "proposals-coordinator-queue")
    page.get_by_role("link", name="Sim-to-real grasping for a low-cost arm").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved.")).to_be_visible()
    expect(page.locator(".badge", has_text="Approved")).to_be_visible()
    sign_out(page)

    # The student finds it, bookmarks it and ranks both projects, the new one first.
    sign_in(page, live_server, people["student"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects", exact=True).click()
    page.get_by_role("textbox", name="Search").fill("grasping")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 project")).to_be_visible()
    page.get_by_role("button", name=re.compile("Bookmark Sim-to-real")).click()
    expect(page.get_by_role("button", name=re.compile("Bookmarked Sim-to-real"))).to_be_visible()
    screenshot(page, "proposals-student-catalogue")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My preferences").click()
    page.get_by_role("button", name="Add Sim-to-real grasping for a low-cost arm").click()
    expect(page.locator("#ranked-list .ranked-item a")).to_have_text(["Sim-to-real grasping for a low-cost arm"])
    # The other projects are searched in the page; Enter in the box searches (the list stays, unsaved).
    page.get_by_label("Search the other projects").fill("keyword spotting")
    page.get_by_label("Search the other projects").press("Enter")
    expect(page.locator("#candidates [role=status]")).to_contain_text("matching “keyword spotting”")
    expect(page.locator("#ranked-list .ranked-item a")).to_have_text(["Sim-to-real grasping for a low-cost arm"])
    page.get_by_role("button", name="Add Keyword spotting on a microcontroller").click()
    ranked = page.locator("#ranked-list .ranked-item a")
    expect(ranked).to_have_text(["Sim-to-real grasping for a low-cost arm", "Keyword spotting on a microcontroller"])
    # Keyboard path: the "up" button reorders in the page (no round trip), and says it is unsaved.
    page.get_by_role("button", name="Move Keyword spotting on a microcontroller up").press("Enter")
    expect(ranked).to_have_text(["Keyword spotting on a microcontroller", "Sim-to-real grasping for a low-cost arm"])
    expect(page.locator("#unsaved-note")).to_be_visible()
    # Drag and drop puts it back.
    page.locator(".ranked-item", has_text="Sim-to-real").drag_to(page.locator(".ranked-item", has_text="Keyword spotting"),
                                                              target_position={"x": 10, "y": 5})
    expect(ranked).to_have_text(["Sim-to-real grasping for a low-cost arm", "Keyword spotting on a microcontroller"])
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your preferences are saved (2 projects).")).to_be_visible()
    screenshot(page, "proposals-student-preferences")
    browser_problems.assert_clean()

    db.session.expire_all()
    saved = preference_list(people["cohort"], people["student"])
    assert [c.project.title for c in saved.choices] == [
        "Sim-to-real grasping for a low-cost arm", "Keyword spotting on a microcontroller"]
