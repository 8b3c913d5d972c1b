"""Each role's main path from the keyboard alone, in a real browser: Tab and Shift+Tab to move, Enter
and Space to act, typing into fields; never a mouse click. Every link, button or field that takes the
focus on the way must show it: the focused element looks visibly different from the unfocused one."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import expect

from projectflow.extensions import db
from projectflow.proposals.preferences import preference_list
from tests.factories import Factories

pytestmark = [pytest.mark.browser, pytest.mark.csrf]

FOCUSED = "e => e === document.activeElement"
# A pixel "changes" when one of its channels moves by more than this (of 255): Bootstrap's pale focus
# ring on white moves about 100, its blue ring on the blue navbar about 13 (not visible).
VISIBLE_CHANGE = 40


class Keyboard:
    """Moves through a page as a keyboard user does, checking each focus stop for a visible indicator."""

    def __init__(self, page):
        self.page = page
        self.invisible: list[str] = []

    def tab_to(self, target, *, back: bool = False, limit: int = 60) -> None:
        """Press Tab (Shift+Tab with ``back``) until ``target`` has the focus."""
        key = "Shift+Tab" if back else "Tab"
        for _ in range(limit):
            self.page.keyboard.press(key)
            self._check_focus_is_visible()
            if target.evaluate(FOCUSED):
                return
        pytest.fail(f"{target} was not reached with {limit} presses of {key} on {self.page.url}")

    def press(self, key: str, *, navigates: bool = True) -> None:
        """Press ``key`` on the focused element; wait for the next page if it leads to one."""
        if navigates:
            with self.page.expect_navigation():
                self.page.keyboard.press(key)
        else:
            self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def _check_focus_is_visible(self) -> None:
        focused = self.page.evaluate_handle("document.activeElement").as_element()
        if focused is None or focused.evaluate("e => e === document.body"):
            return  # the focus left the page (to the browser's own controls)
        box = focused.bounding_box()
        name = focused.evaluate("e => e.tagName.toLowerCase() + ' ' + JSON.stringify("
                                "(e.getAttribute('aria-label') || e.innerText || e.name || '').trim().slice(0, 50))")
        if box is None or box["width"] < 1 or box["height"] < 1:
            self.invisible.append(f"{name} has the focus but is not shown ({self.page.url})")
            return
        margin = 6  # the focus ring is drawn around the element
        clip = {"x": max(box["x"] - margin, 0), "y": max(box["y"] - margin, 0),
                "width": box["width"] + 2 * margin, "height": box["height"] + 2 * margin}
        with_focus = self.page.screenshot(clip=clip, animations="disabled")
        focused.evaluate("e => e.blur()")
        without_focus = self.page.screenshot(clip=clip, animations="disabled")
        focused.evaluate("e => e.focus()")
        changed = changed_pixels(with_focus, without_focus)
        if changed < (box["width"] + box["height"]):  # less than half a one-pixel ring around it
            self.invisible.append(f"{name}: no visible focus indicator ({changed} pixels change; {self.page.url})")

    def assert_focus_always_visible(self) -> None:
        if self.invisible:
            pytest.fail("the focus is not visible on:\n" + "\n".join(self.invisible))


def changed_pixels(png_a: bytes, png_b: bytes) -> int:
    a, b = (Image.open(BytesIO(png)).convert("RGB") for png in (png_a, png_b))
    if a.size != b.size:
        return a.size[0] * a.size[1]
    difference = ImageChops.difference(a, b).split()
    strongest = ImageChops.lighter(ImageChops.lighter(difference[0], difference[1]), difference[2])
    return sum(strongest.histogram()[VISIBLE_CHANGE + 1:])


def nav_link(page, name: str):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def sign_in_by_keyboard(page, keys: Keyboard, live_server, user) -> None:
    page.goto(live_server("/login"))
    keys.tab_to(page.get_by_label("E-mail address"))
    keys.type(user.email)
    keys.tab_to(page.get_by_label("Password"))
    keys.type(Factories.PASSWORD)
    keys.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.fixture
def people(make, smtp_server):
    """A cohort in its proposal round: two approved projects, one waiting for approval."""
    coordinator = make.coordinator(name="Dr Cora Ordinator")
    cohort = make.cohort(coordinator=coordinator, code="AML", year=2026)
    cohort.min_preferences = 2
    supervisor = make.staff(cohort=cohort, name="Dr Stella Staff", expertise=("robotics",))
    other = make.staff(cohort=cohort, name="Dr Otto Other", expertise=("speech",))
    grasping = make.project(cohort, owner=supervisor, title="Sim-to-real grasping for a low-cost arm")
    spotting = make.project(cohort, owner=other, title="Keyword spotting on a microcontroller")
    waiting = make.project(cohort, owner=supervisor, state="submitted", title="Tactile sensing for fruit picking")
    student = make.student(cohort=cohort, name="Sam Student")
    db.session.commit()
    return {"cohort": cohort, "coordinator": coordinator, "staff": supervisor, "student": student,
            "admin": make.admin(name="Ada Admin"), "grasping": grasping, "spotting": spotting, "waiting": waiting}


def test_a_student_bookmarks_ranks_and_saves_preferences_from_the_keyboard(page, live_server, people,
                                                                           browser_problems, screenshot):
    keys = Keyboard(page)
    sign_in_by_keyboard(page, keys, live_server, people["student"])

    keys.tab_to(nav_link(page, "Projects"))
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Projects")
    bookmark = page.get_by_role("button", name=re.compile("Bookmark Sim-to-real"))
    keys.tab_to(bookmark)
    keys.press("Space")
    expect(page.get_by_role("button", name=re.compile("Bookmarked Sim-to-real"))).to_have_attribute(
        "aria-pressed", "true")

    keys.tab_to(nav_link(page, "My preferences"))
    keys.press("Enter")
    keys.tab_to(page.get_by_role("button", name="Add Sim-to-real grasping for a low-cost arm"))
    keys.press("Enter")
    ranked = page.locator("#ranked-list .ranked-item a")
    expect(ranked).to_have_text(["Sim-to-real grasping for a low-cost arm"])
    keys.tab_to(page.get_by_role("button", name="Add Keyword spotting on a microcontroller"))
    keys.press("Enter")
    expect(ranked).to_have_text(["Sim-to-real grasping for a low-cost arm", "Keyword spotting on a microcontroller"])

    # The second choice goes up with its button; the focus stays on it, so it can go up again.
    move_up = page.get_by_role("button", name="Move Keyword spotting on a microcontroller up")
    keys.tab_to(move_up)
    keys.press("Enter", navigates=False)
    expect(ranked).to_have_text(["Keyword spotting on a microcontroller", "Sim-to-real grasping for a low-cost arm"])
    expect(move_up).to_be_focused()
    screenshot(page, "keyboard-student-preferences")
    keys.tab_to(page.get_by_role("button", name="Save preferences"))
    keys.press("Enter")
    expect(page.get_by_text("Your preferences are saved (2 projects).")).to_be_visible()

    keys.assert_focus_always_visible()
    browser_problems.assert_clean()
    db.session.expire_all()
    saved = preference_list(people["cohort"], people["student"])
    assert [c.project.title for c in saved.choices] == [
        "Keyword spotting on a microcontroller", "Sim-to-real grasping for a low-cost arm"]


def test_the_coordinator_approves_a_proposal_and_switches_to_staff_view_from_the_keyboard(
        page, live_server, people, browser_problems, screenshot):
    keys = Keyboard(page)
    sign_in_by_keyboard(page, keys, live_server, people["coordinator"])

    keys.tab_to(nav_link(page, "Proposals"))
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Proposals")
    keys.tab_to(page.get_by_role("link", name="Tactile sensing for fruit picking"))
    keys.press("Enter")
    keys.tab_to(page.get_by_role("button", name="Approve"))
    screenshot(page, "keyboard-coordinator-approve-focused")
    keys.press("Enter")
    expect(page.get_by_text("Approved.")).to_be_visible()

    # The role menu opens from the keyboard and its choices are reached with Tab.
    keys.tab_to(page.locator("#role-switcher"))
    keys.press("Enter", navigates=False)
    staff_view = page.locator(".dropdown-menu").get_by_role("button", name="Staff")
    expect(staff_view).to_be_visible()
    keys.tab_to(staff_view)
    keys.press("Enter")
    expect(page.locator("#role-switcher")).to_have_text("Viewing as Staff")

    keys.assert_focus_always_visible()
    browser_problems.assert_clean()
    db.session.expire_all()
    assert people["waiting"].state == "approved"


def test_a_supervisor_opens_their_project_and_returns_to_the_list_from_the_keyboard(
        page, live_server, people, browser_problems, screenshot):
    keys = Keyboard(page)
    sign_in_by_keyboard(page, keys, live_server, people["staff"])

    keys.tab_to(nav_link(page, "My projects"))
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("My projects")
    keys.tab_to(page.get_by_role("link", name="Sim-to-real grasping for a low-cost arm"))
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sim-to-real grasping for a low-cost arm")
    screenshot(page, "keyboard-staff-project")

    keys.tab_to(nav_link(page, "My projects"), back=True)
    screenshot(page, "keyboard-staff-navigation-focused")
    keys.press("Enter")
    expect(page.get_by_role("link", name="Tactile sensing for fruit picking")).to_be_visible()

    keys.assert_focus_always_visible()
    browser_problems.assert_clean()


def test_an_admin_finds_an_account_from_the_keyboard(page, live_server, people, browser_problems):
    keys = Keyboard(page)
    sign_in_by_keyboard(page, keys, live_server, people["admin"])

    keys.tab_to(nav_link(page, "Users"))
    keys.press("Enter")
    keys.tab_to(page.get_by_role("link", name="Sam Student"))
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sam Student")

    keys.assert_focus_always_visible()
    browser_problems.assert_clean()
