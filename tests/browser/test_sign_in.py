"""The first steps of each role in a real browser: sign in, see one's home page, switch role, and the
coordinator's cohort set-up (create a cohort, import its people from CSV). Screenshots of every page
are saved under artifacts/screenshots/ to be looked at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import Factories

pytestmark = [pytest.mark.browser, pytest.mark.csrf]


def sign_in(page, live_server, user, password: str = Factories.PASSWORD) -> None:
    """Through the sign-in form, as a person would: the site sends a stranger to it."""
    page.goto(live_server("/"))
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(password)
    # Wait for the answer: a page.goto() straight after would cancel the sign-in on a slow machine.
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def nav_links(page) -> list[str]:
    return [t.strip() for t in page.locator("#main-nav .navbar-nav.me-auto .nav-link").all_inner_texts()]


def make_people(make):
    """A cohort with a coordinator (who is also staff), a supervisor and a student; and an admin."""
    coordinator = make.coordinator(name="Dr Cora Ordinator")
    cohort = make.cohort(coordinator=coordinator, code="AML", year=2026)
    return {
        "student": make.student(cohort=cohort, name="Sam Student"),
        "staff": make.staff(cohort=cohort, name="Dr Stella Staff", expertise=("robotics", "vision")),
        "coordinator": coordinator,
        "admin": make.admin(name="Ada Admin"),
    }


# role -> (home path, main heading, navigation links it must have, links it must not have)
HOMES = {
    "student": ("/student", "Hello, Sam Student", ["Home"], ["Users", "Cohorts", "Audit log"]),
    "staff": ("/staff", "Hello, Dr Stella Staff", ["Home"], ["Users", "Cohorts", "Audit log"]),
    "coordinator": ("/coordinator", "Your cohorts", ["Home", "Cohorts", "Audit log"], ["Users"]),
    "admin": ("/admin", "Administration", ["Home", "Users", "Cohorts", "Audit log"], []),
}
COORDINATOR_ONLY = ["Cohorts", "Audit log"]


def assert_navigation(page, has: list[str], has_not: list[str]) -> None:
    page.wait_for_load_state()  # the whole navigation bar is there, not the part parsed so far
    links = nav_links(page)
    assert links[0] == "Home", links
    assert [x for x in has if x not in links] == [], f"missing from the navigation {links}"
    assert [x for x in has_not if x in links] == [], f"should not be in the navigation {links}"


@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_signs_in_and_sees_its_own_home_page(page, live_server, make, browser_problems,
                                                       screenshot, role):
    user = make_people(make)[role]
    path, heading, has, has_not = HOMES[role]

    sign_in(page, live_server, user)

    expect(page).to_have_url(live_server(path))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("nav[aria-label=Main]")).to_contain_text(user.name)
    assert_navigation(page, has, has_not)
    expect(page.locator("#main-nav .nav-link.active")).to_have_text("Home")
    if role == "student":
        expect(page.get_by_text("Applied Machine Learning")).to_be_visible()
        expect(page.get_by_text("Candidate number")).to_be_visible()
    elif role == "staff":
        expect(page.get_by_role("link", name=re.compile("Applied Machine Learning"))).to_be_visible()
        expect(page.get_by_text("robotics")).to_be_visible()
    elif role == "coordinator":
        expect(page.get_by_role("link", name=re.compile("Applied Machine Learning"))).to_be_visible()
        expect(page.locator("#role-switcher")).to_have_text("Viewing as Coordinator")
    else:
        expect(page.get_by_role("link", name="New user")).to_be_visible()
    # Bootstrap's stylesheet is applied (the navbar is the primary colour, not an unstyled list).
    assert page.locator("nav.navbar").evaluate("e => getComputedStyle(e).display") == "flex"
    screenshot(page, f"home-{role}")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("alert")).to_contain_text("You are signed out.")
    browser_problems.assert_clean()


def test_a_person_with_two_roles_switches_view_through_the_navbar(page, live_server, make, browser_problems,
                                                                  screenshot):
    person = make_people(make)["coordinator"]  # holds staff and coordinator
    sign_in(page, live_server, person)
    expect(page).to_have_url(live_server("/coordinator"))
    assert_navigation(page, has=COORDINATOR_ONLY, has_not=[])

    # The menu is Bootstrap's dropdown: closed until its button is clicked (needs Bootstrap's JS).
    staff_choice = page.locator(".dropdown-menu").get_by_role("button", name="Staff")
    expect(staff_choice).to_be_hidden()
    page.locator("#role-switcher").click()
    expect(staff_choice).to_be_visible()
    screenshot(page, "role-switcher-open")
    staff_choice.click()

    expect(page).to_have_url(live_server("/staff"))
    expect(page.locator("#role-switcher")).to_have_text("Viewing as Staff")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Dr Cora Ordinator")
    assert_navigation(page, has=[], has_not=COORDINATOR_ONLY)
    # The staff view shows the cohort they coordinate, with their badge.
    expect(page.locator("main").get_by_text("Coordinator", exact=True)).to_be_visible()
    screenshot(page, "home-coordinator-viewing-as-staff")

    page.locator("#role-switcher").click()
    page.locator(".dropdown-menu").get_by_role("button", name="Coordinator").click()
    expect(page).to_have_url(live_server("/coordinator"))
    assert_navigation(page, has=COORDINATOR_ONLY, has_not=[])
    browser_problems.assert_clean()


GOOD_CSV = (
    "email,name,role,expertise,max_load\n"
    "li.wei@example.ac.uk,Li Wei,student,,\n"
    "ORLA.KENNEDY@example.ac.uk,Orla Kennedy,student,,\n"
    "j.smith@example.ac.uk,Dr Jane Smith,staff,robotics;reinforcement learning,6\n"
)

BAD_CSV = (
    "email,name,role\n"
    "not-an-email,Nobody,student\n"
    "fine.person@example.ac.uk,Fine Person,student\n"
    "x.y@example.ac.uk,X Y,wizard\n"
)

# A 4xx answer to the import form is logged by Chromium as a failed resource: that one is expected.
UNPROCESSABLE = (r"Failed to load resource: the server responded with a status of 422",)


def test_coordinator_creates_a_cohort_and_imports_its_people(page, live_server, make, browser_problems,
                                                              screenshot):
    coordinator = make.coordinator(name="Dr Cora Ordinator")
    sign_in(page, live_server, coordinator)
    expect(page.get_by_text("You coordinate no cohort yet.")).to_be_visible()

    page.get_by_role("link", name="New cohort").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New cohort")
    page.get_by_label("Programme name").fill("Applied Machine Learning")
    page.get_by_label("Programme code").fill("I460")
    page.get_by_label("Academic year starting in").fill("2027")
    # The phase dates come pre-filled with the defaults for the current year; set this year's.
    page.get_by_label("Part-time phase starts").fill("2028-01-10")
    page.get_by_label("Part-time phase ends").fill("2028-05-21")
    page.get_by_label("Full-time phase starts").fill("2028-05-22")
    page.get_by_label("Full-time phase ends").fill("2028-09-08")
    expect(page.get_by_label("Timezone")).to_have_value("Europe/London")
    screenshot(page, "cohort-new-form")
    page.get_by_role("button", name="Create cohort").click()

    expect(page.get_by_role("alert")).to_contain_text("created. Next: import its students and staff.")
    title = page.get_by_role("heading", level=1).inner_text()
    assert "Applied Machine Learning" in title
    expect(page.get_by_text("No students yet")).to_be_visible()

    page.get_by_role("link", name="Import people").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import students and staff")

    # A file with problems: nothing is imported and each problem is listed by line.
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV.encode()}])
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was imported: 2 problems in the file.")
    problems = page.locator("#import-problems tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0).locator("td").first).to_have_text("2")
    expect(problems.nth(1).locator("td").first).to_have_text("4")
    expect(page.locator("#import-problems")).to_contain_text("wizard")
    screenshot(page, "cohort-import-problems")

    # The corrected file goes in; the students and staff are listed on the cohort page.
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": GOOD_CSV.encode()}])
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Imported people.csv: 2 students enrolled, 1 staff added, 3 new accounts")
    students = page.locator("#students-h + .table-responsive tbody tr")
    expect(students).to_have_count(2)
    expect(page.locator("section[aria-labelledby=students-h]")).to_contain_text("Li Wei")
    expect(page.locator("section[aria-labelledby=students-h]")).to_contain_text("orla.kennedy@example.ac.uk")
    expect(page.locator("section[aria-labelledby=staff-h]")).to_contain_text("Dr Jane Smith")
    expect(page.locator("section[aria-labelledby=staff-h]")).to_contain_text("robotics, reinforcement learning")
    screenshot(page, "cohort-after-import")

    # The flash message can be dismissed (Bootstrap's alert JS).
    page.get_by_role("alert").get_by_role("button", name="Close").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    browser_problems.assert_clean(allow=UNPROCESSABLE)


def test_the_layout_is_responsive_on_a_phone(page, live_server, make, browser_problems, screenshot):
    people = make_people(make)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, people["coordinator"])
    expect(page).to_have_url(live_server("/coordinator"))

    # The navigation folds behind the toggler button.
    toggler = page.get_by_role("button", name="Show navigation")
    expect(toggler).to_be_visible()
    expect(page.locator("#main-nav").get_by_role("link", name="Audit log")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    # Nothing sticks out sideways.
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "mobile-home-coordinator")

    toggler.click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    expect(page.locator("#main-nav").get_by_role("link", name="Audit log")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    screenshot(page, "mobile-home-coordinator-menu-open")

    page.locator("#main-nav").get_by_role("link", name="Cohorts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cohorts")
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "mobile-cohorts")
    browser_problems.assert_clean()


def test_the_sign_in_page_reports_a_wrong_password_without_browser_errors(page, live_server, make,
                                                                           browser_problems, screenshot):
    student = make.student()
    sign_in(page, live_server, student, password="not the password")
    expect(page.get_by_text("That e-mail address and password do not match an active account.")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "sign-in-failed")
    browser_problems.assert_clean(allow=(r"status of 401",))


@pytest.mark.own_app  # adds a route of its own
def test_the_watch_on_the_browser_catches_csp_violations_and_script_errors(app, page, live_server,
                                                                          browser_problems):
    """A check of the check: a page breaking the site's Content-Security-Policy is noticed."""
    app.add_url_rule("/_probe", "probe", lambda: (
        "<!doctype html><title>probe</title><p style='color: red'>inline style</p>"
        "<script>document.title = 'inline ran'</script>"
        "<script src='/static/no-such-file.js'></script>"))
    page.goto(live_server("/_probe"))
    expect(page.locator("p")).to_have_text("inline style")
    assert page.title() == "probe"  # the inline script was blocked
    with pytest.raises(AssertionError, match="Content-Security-Policy violations"):
        browser_problems.assert_clean()
    text = "\n".join(browser_problems.messages)
    assert "script-src" in text and "style-src" in text
    assert "404 for " + live_server("/static/no-such-file.js") in text


@pytest.mark.parametrize("width", [1280, 1024])
def test_the_navigation_fits_on_one_line_on_a_laptop(page, live_server, make, browser_problems, screenshot,
                                                     width):
    """The coordinator has the longest menu: on a laptop screen it must neither wrap nor push the page
    sideways (below Bootstrap's breakpoint it folds behind the toggler instead)."""
    people = make_people(make)
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, live_server, people["coordinator"])
    expect(page).to_have_url(live_server("/coordinator"))
    page.wait_for_load_state()  # styles applied before the toggler's visibility is read
    screenshot(page, f"home-coordinator-{width}px")
    navbar = page.locator("nav.navbar")
    if page.get_by_role("button", name="Show navigation").is_visible():
        return  # folded: nothing to wrap
    height = navbar.evaluate("e => e.offsetHeight")
    assert height <= 64, f"the navigation wraps onto several lines at {width} px ({height} px high)"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for item in page.locator("#main-nav .nav-link, #main-nav .btn").all():
        assert item.evaluate("e => e.getClientRects().length <= 1"), f"{item.inner_text()!r} wraps"
    browser_problems.assert_clean()
