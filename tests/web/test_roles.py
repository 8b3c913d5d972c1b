"""Roles: each role's home page and navigation, switching between the roles one person holds, and
each home page refusing everybody else."""

from __future__ import annotations

import pytest

from projectflow.extensions import db
from projectflow.people.models import ADMIN, COORDINATOR, STAFF, STUDENT
from tests.forms import get_form
from tests.html import flashes, main_text, nav_links

HOMES = {STUDENT: "/student", STAFF: "/staff", COORDINATOR: "/coordinator", ADMIN: "/admin"}
# Navigation entries that belong to one role's work and must not show for the others.
ONLY_FOR = {"Users": {ADMIN}, "Cohorts": {COORDINATOR, ADMIN}, "Audit log": {COORDINATOR, ADMIN}}


def assert_navigation_of(page: str, role: str) -> None:
    links = nav_links(page)
    assert links["Home"] == HOMES[role]
    for label, roles in ONLY_FOR.items():
        assert (label in links) == (role in roles), f"{label!r} in the {role}'s navigation"


def home_of(client) -> str:
    response = client.get("/")
    assert response.status_code == 302
    return response.headers["Location"]


def switcher(page: str) -> str | None:
    """The role switcher's label ("Viewing as Staff"), or None when there is no switcher."""
    if 'id="role-switcher"' not in page:
        return None
    return main_text(page.split('id="role-switcher">', 1)[1].split("</button>", 1)[0])


@pytest.mark.parametrize("roles, role", [
    ((STUDENT,), STUDENT),
    ((STAFF,), STAFF),
    ((COORDINATOR,), COORDINATOR),
    ((ADMIN,), ADMIN),
])
def test_each_role_lands_on_its_own_home_page_with_its_navigation(login, make, roles, role):
    person = make.user(*roles, name="Robin Role")
    client = login(person)
    assert home_of(client) == HOMES[role]
    response = client.get(HOMES[role])
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert_navigation_of(page, role)
    assert switcher(page) is None  # one role, nothing to switch
    assert "Robin Role" in page


def test_a_person_with_several_roles_starts_in_the_most_powerful_one(login, make):
    client = login(make.user(STAFF, COORDINATOR))
    assert home_of(client) == "/coordinator"
    page = client.get("/coordinator").get_data(as_text=True)
    assert_navigation_of(page, COORDINATOR)
    assert switcher(page) == "Viewing as Coordinator"
    # The switcher offers every role the person holds, and only those.
    assert 'name="role" value="staff"' in page and 'name="role" value="coordinator"' in page
    assert 'name="role" value="admin"' not in page and 'name="role" value="student"' not in page


def test_switching_role_changes_the_home_page_and_the_navigation(login, make):
    client = login(make.user(STAFF, COORDINATOR, ADMIN))
    assert home_of(client) == "/admin"
    for role in (STAFF, COORDINATOR, ADMIN, STAFF):
        switch = get_form(client, home_of(client), action="/switch-role", submit=role.capitalize())
        response = switch.submit(client, submit=role.capitalize())
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
        assert home_of(client) == HOMES[role]
        page = client.get(HOMES[role]).get_data(as_text=True)
        assert_navigation_of(page, role)
        assert switcher(page) == f"Viewing as {role.capitalize()}"


def test_the_chosen_role_shows_on_every_page_not_only_the_home_page(login, make):
    client = login(make.user(STAFF, ADMIN))
    client.post("/switch-role", data={"role": STAFF})
    # An admin viewing as staff still holds the admin role, so the page opens; the navigation is staff's.
    page = client.get("/admin/users").get_data(as_text=True)
    assert_navigation_of(page, STAFF)


@pytest.mark.parametrize("role", [STUDENT, ADMIN])
def test_switching_to_a_role_you_do_not_hold_is_403(login, make, role):
    client = login(make.user(STAFF, COORDINATOR))
    client.post("/switch-role", data={"role": STAFF})
    response = client.post("/switch-role", data={"role": role})
    assert response.status_code == 403
    assert "You do not hold that role." in main_text(response.get_data(as_text=True))
    assert home_of(client) == "/staff"  # unchanged


@pytest.mark.parametrize("data", [{"role": "wizard"}, {"role": ""}, {}])
def test_an_unknown_role_is_refused_with_a_message(login, make, data):
    client = login(make.user(STAFF, COORDINATOR))
    response = client.post("/switch-role", data=data)
    assert response.status_code == 303
    assert "Choose one of your roles." in flashes(client.get("/coordinator").get_data(as_text=True))
    assert home_of(client) == "/coordinator"


def test_switching_role_needs_a_signed_in_person_and_a_post(client, login, make):
    response = client.post("/switch-role", data={"role": STAFF})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    login(make.user(STAFF, COORDINATOR))
    assert client.get("/switch-role").status_code == 405


def test_losing_the_role_one_was_viewing_as_falls_back_to_a_role_still_held(login, make):
    person = make.user(STAFF, COORDINATOR)
    client = login(person)
    client.post("/switch-role", data={"role": COORDINATOR})
    person.set_roles([STAFF])
    db.session.commit()
    assert home_of(client) == "/staff"
    assert client.get("/coordinator").status_code == 403
    assert switcher(client.get("/staff").get_data(as_text=True)) is None


@pytest.mark.parametrize("role, page", [(role, page) for role in HOMES for page in HOMES.values()
                                         if HOMES[role] != page])
def test_each_home_page_refuses_the_other_roles(login, make, role, page):
    client = login(make.user(role))
    response = client.get(page)
    assert response.status_code == 403
    owner = next(r for r, p in HOMES.items() if p == page)
    assert f"This page is for {owner}s." in main_text(response.get_data(as_text=True))


@pytest.mark.parametrize("page", list(HOMES.values()))
def test_home_pages_send_anonymous_visitors_to_sign_in(client, page):
    response = client.get(page)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={page.replace('/', '%2F')}"


def test_the_front_door_sends_anonymous_visitors_to_sign_in(client):
    assert client.get("/").headers["Location"] == "/login"


def test_a_person_with_no_role_is_told_so_and_sees_no_home_page(login, make):
    person = make.student()
    person.set_roles([])
    db.session.commit()
    client = login(person)
    response = client.get("/")
    assert response.status_code == 200
    assert "Your account has no role yet" in main_text(response.get_data(as_text=True))
    assert nav_links(response.get_data(as_text=True)) == {}
    for page in HOMES.values():
        assert client.get(page).status_code == 403
