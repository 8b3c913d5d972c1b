"""The admin's user management: create, edit, deactivate and reactivate accounts, each audited; the
rules that keep an admin in charge; finding people; and nobody else may see any of it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from projectflow.core.audit import AuditEvent
from projectflow.core.errors import NotAllowed
from projectflow.extensions import db
from projectflow.people import services
from projectflow.people.models import ADMIN, COORDINATOR, STAFF, STUDENT, User
from tests.forms import get_form
from tests.html import field_error, flashes, main_text


def user_form(**values) -> dict:
    form = {"email": "new.person@example.ac.uk", "name": "New Person", "roles": [STUDENT],
            "expertise": "", "max_load": ""}
    form.update(values)
    return form


def edit_form(user: User, **values) -> dict:
    """The form as the edit page shows it for ``user``, with ``values`` changed."""
    profile = user.staff_profile
    current = {"email": user.email, "name": user.name, "roles": user.ordered_roles(),
               "expertise": ", ".join(profile.expertise) if profile else "",
               "max_load": str(profile.max_load) if profile else ""}
    return user_form(**{**current, **values})


def events(user: User, action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.object_type == "users", AuditEvent.object_id == user.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return db.session.scalars(query.order_by(AuditEvent.id)).all()


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


@pytest.fixture
def admin(make):
    return make.admin(name="Alice Admin", email="alice.admin@example.ac.uk")


@pytest.fixture
def as_admin(login, admin):
    return login(admin)


# --- creating ------------------------------------------------------------------------------------

def test_admin_creates_a_student_and_the_creation_is_audited(as_admin, admin, smtp_server):
    form = get_form(as_admin, "/admin/users/new", has_field="email")
    form.set("email", " New.Student@Example.AC.uk ").set("name", "  Nora Student ").check("roles", STUDENT)
    response = form.submit(as_admin, submit="Create account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"

    user = User.by_email("new.student@example.ac.uk")
    assert user.name == "Nora Student"
    assert user.roles == {STUDENT}
    assert user.staff_profile is None
    assert user.is_active and user.password_hash is None
    # The account is created and its owner invited to set a password (see test_invitations.py).
    event, invited = events(user)
    assert (event.action, invited.action) == ("user.created", "user.invited")
    assert event.actor_id == admin.id
    assert event.before is None
    assert event.after == {"email": "new.student@example.ac.uk", "name": "Nora Student", "is_active": True,
                           "roles": [STUDENT], "expertise": None, "max_load": None}
    listing = as_admin.get("/admin/users").get_data(as_text=True)
    assert "Account created for new.student@example.ac.uk" in flashes(listing)[0]
    assert "Nora Student" in listing


def test_admin_creates_a_member_of_staff_with_a_profile(as_admin, smtp_server):
    response = as_admin.post("/admin/users/new", data=user_form(
        email="sam.staff@example.ac.uk", name="Sam Staff", roles=[STAFF, COORDINATOR],
        expertise="Robotics, reinforcement   Learning, robotics", max_load="3"))
    assert response.status_code == 302
    user = User.by_email("sam.staff@example.ac.uk")
    assert user.roles == {STAFF, COORDINATOR}
    assert user.staff_profile.expertise == ["robotics", "reinforcement learning"]
    assert user.staff_profile.max_load == 3
    assert events(user, "user.created")[0].after["expertise"] == ["robotics", "reinforcement learning"]


def test_a_member_of_staff_created_without_a_load_gets_the_default(as_admin, smtp_server):
    as_admin.post("/admin/users/new", data=user_form(roles=[STAFF]))
    assert User.by_email("new.person@example.ac.uk").staff_profile.max_load == 5


@pytest.mark.parametrize("existing, given", [
    ("taken@example.ac.uk", "taken@example.ac.uk"),
    ("taken@example.ac.uk", "TAKEN@Example.AC.UK"),
    ("taken@example.ac.uk", "  Taken@example.ac.uk  "),
])
def test_a_duplicate_email_is_refused_next_to_the_field_and_nothing_is_written(as_admin, make, existing, given):
    make.student(email=existing)
    before = counts()
    response = as_admin.post("/admin/users/new", data=user_form(email=given, name="Someone Else"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, "email") == "There is already an account for taken@example.ac.uk."
    assert "nothing was saved" in main_text(page)
    assert counts() == before


@pytest.mark.parametrize("values, field, message", [
    ({"roles": []}, "roles", "Choose at least one role."),
    ({"roles": ["wizard"]}, "roles", "'wizard' is not a valid choice for this field."),
    ({"email": "not-an-address"}, "email", "Invalid email address."),
    ({"name": ""}, "name", "This field is required."),
    ({"roles": [STAFF], "max_load": "-1"}, "max_load", "Number must be between 0 and 50."),
    ({"roles": [STAFF], "max_load": "many"}, "max_load", "Not a valid integer value"),
])
def test_bad_input_on_creation_gets_422_next_to_the_field_and_nothing_is_written(as_admin, values, field, message):
    before = counts()
    response = as_admin.post("/admin/users/new", data=user_form(**values))
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field).startswith(message)
    assert counts() == before


# --- editing -------------------------------------------------------------------------------------

def test_admin_edits_email_name_roles_expertise_and_load_with_an_audited_before_and_after(as_admin, admin, make):
    user = make.staff(email="old@example.ac.uk", name="Old Name", expertise=["vision"], max_load=4)
    page = as_admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert 'value="old@example.ac.uk"' in page and 'value="vision"' in page and 'value="4"' in page

    form = get_form(as_admin, f"/admin/users/{user.id}", has_field="email")
    form.set("email", "New@Example.ac.uk").set("name", "New Name").check("roles", COORDINATOR)
    form.set("expertise", "Vision, NLP").set("max_load", "6")
    response = form.submit(as_admin, submit="Save")
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.email, user.name, user.roles) == ("new@example.ac.uk", "New Name", {STAFF, COORDINATOR})
    assert (user.staff_profile.expertise, user.staff_profile.max_load) == (["vision", "nlp"], 6)

    [event] = events(user, "user.updated")
    assert event.actor_id == admin.id
    assert event.before == {"email": "old@example.ac.uk", "name": "Old Name", "is_active": True,
                            "roles": [STAFF], "expertise": ["vision"], "max_load": 4}
    assert event.after == {"email": "new@example.ac.uk", "name": "New Name", "is_active": True,
                           "roles": [COORDINATOR, STAFF], "expertise": ["vision", "nlp"], "max_load": 6}


def test_saving_without_changes_writes_no_audit_event(as_admin, make):
    user = make.staff()
    form = get_form(as_admin, f"/admin/users/{user.id}", has_field="email")
    assert form.submit(as_admin, submit="Save").status_code == 302
    assert events(user, "user.updated") == []


def test_giving_a_student_the_staff_role_creates_a_profile(as_admin, make):
    user = make.student()
    response = as_admin.post(f"/admin/users/{user.id}", data=edit_form(
        user, roles=[STUDENT, STAFF], expertise="robotics", max_load="2"))
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.staff_profile.expertise == ["robotics"]
    assert user.staff_profile.max_load == 2


def test_a_duplicate_email_on_edit_is_refused_next_to_the_email_field(as_admin, make):
    make.student(email="taken@example.ac.uk")
    user = make.student(email="mine@example.ac.uk")
    before = counts()
    response = as_admin.post(f"/admin/users/{user.id}", data=edit_form(user, email="Taken@Example.ac.uk"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, "email") == "There is already an account for taken@example.ac.uk."
    assert field_error(page, "roles") is None
    db.session.refresh(user)
    assert user.email == "mine@example.ac.uk"
    assert counts() == before


def test_an_edit_without_roles_is_refused_and_nothing_changes(as_admin, make):
    user = make.staff(name="Kept Name")
    response = as_admin.post(f"/admin/users/{user.id}", data=edit_form(user, roles=[], name="Changed"))
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "roles") == "Choose at least one role."
    db.session.refresh(user)
    assert (user.name, user.roles) == ("Kept Name", {STAFF})
    assert events(user, "user.updated") == []


def test_an_unknown_user_is_a_404(as_admin):
    assert as_admin.get("/admin/users/999999").status_code == 404
    assert as_admin.post("/admin/users/999999", data=user_form()).status_code == 404
    assert as_admin.post("/admin/users/999999/active", data={"active": "y"}).status_code == 404


# --- deactivating --------------------------------------------------------------------------------

def test_admin_deactivates_and_reactivates_an_account_each_audited(as_admin, admin, make):
    user = make.student()
    response = get_form(as_admin, f"/admin/users/{user.id}", submit="Deactivate").submit(as_admin)
    assert response.status_code == 302
    db.session.refresh(user)
    assert not user.is_active
    page = as_admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert f"{user.email} is now deactivated." in flashes(page)[0]
    assert "Reactivate" in page

    reactivate = get_form(as_admin, f"/admin/users/{user.id}", submit="Reactivate")
    assert reactivate.submit(as_admin).status_code == 302
    db.session.refresh(user)
    assert user.is_active

    deactivated, reactivated = events(user)[1:]
    assert (deactivated.action, reactivated.action) == ("user.deactivated", "user.reactivated")
    assert deactivated.actor_id == reactivated.actor_id == admin.id
    assert (deactivated.before["is_active"], deactivated.after["is_active"]) == (True, False)
    assert (reactivated.before["is_active"], reactivated.after["is_active"]) == (False, True)


def test_deactivating_an_account_that_is_already_deactivated_is_a_409(as_admin, make):
    user = make.student(active=False)
    response = as_admin.post(f"/admin/users/{user.id}/active", data={})
    assert response.status_code == 409
    assert "already deactivated" in main_text(response.get_data(as_text=True))


def test_a_deactivated_person_cannot_sign_in_and_their_open_session_ends(app, as_admin, make):
    student = make.student()
    theirs = app.test_client()
    assert theirs.post("/login", data={"email": student.email, "password": make.PASSWORD}).status_code == 302
    assert theirs.get("/student").status_code == 200

    as_admin.post(f"/admin/users/{student.id}/active", data={})

    response = theirs.get("/student")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert theirs.post("/login", data={"email": student.email, "password": make.PASSWORD}).status_code == 401


def test_an_admin_cannot_deactivate_themselves(as_admin, admin):
    before = counts()
    response = as_admin.post(f"/admin/users/{admin.id}/active", data={})
    assert response.status_code == 403
    assert "You cannot deactivate your own account." in main_text(response.get_data(as_text=True))
    db.session.refresh(admin)
    assert admin.is_active
    assert counts() == before


def test_an_admin_cannot_remove_their_own_admin_role(as_admin, admin):
    response = as_admin.post(f"/admin/users/{admin.id}", data=edit_form(admin, roles=[STAFF]))
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "roles") == \
        "You cannot remove your own admin role; ask another admin."
    db.session.refresh(admin)
    assert admin.roles == {ADMIN}
    assert events(admin, "user.updated") == []


def test_an_admin_may_remove_another_admin_while_one_remains(as_admin, make):
    other = make.admin()
    assert as_admin.post(f"/admin/users/{other.id}", data=edit_form(other, roles=[STAFF])).status_code == 302
    db.session.refresh(other)
    assert other.roles == {STAFF}
    second = make.admin()
    assert as_admin.post(f"/admin/users/{second.id}/active", data={}).status_code == 302


def test_the_last_active_admin_cannot_lose_the_role_or_be_deactivated(app, make):
    # Through the pages the acting admin always remains; the rule also guards the CLI and services.
    only = make.admin()
    make.admin(active=False)
    someone = make.coordinator()
    with pytest.raises(NotAllowed, match="At least one active admin must remain."):
        services.set_active(only, False, by=someone)
    with pytest.raises(NotAllowed, match="At least one active admin must remain."):
        services.update_user(only, by=someone, email=only.email, name=only.name, roles=[STAFF])
    db.session.rollback()
    db.session.refresh(only)
    assert only.is_active and only.roles == {ADMIN}


# --- finding people ------------------------------------------------------------------------------

def listed(client, **params) -> set[str]:
    response = client.get("/admin/users", query_string=params)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return {u.email for u in db.session.scalars(select(User)) if f"<td>{u.email}</td>" in page}


def test_the_list_filters_by_name_or_email_role_and_status(as_admin, make):
    make.student(name="Grace Hopper", email="g.hopper@example.ac.uk")
    make.staff(name="Alan Turing", email="alan@example.ac.uk")
    make.student(name="Ada Byron", email="countess@example.ac.uk", active=False)
    make.coordinator(name="Barbara Liskov", email="liskov@example.ac.uk")
    everyone = {"g.hopper@example.ac.uk", "alan@example.ac.uk", "countess@example.ac.uk",
                "liskov@example.ac.uk", "alice.admin@example.ac.uk"}

    assert listed(as_admin) == everyone
    assert listed(as_admin, q="HOPPER") == {"g.hopper@example.ac.uk"}
    assert listed(as_admin, q="countess") == {"countess@example.ac.uk"}
    assert listed(as_admin, q="  turing ") == {"alan@example.ac.uk"}
    assert listed(as_admin, role=STUDENT) == {"g.hopper@example.ac.uk", "countess@example.ac.uk"}
    assert listed(as_admin, role=STAFF) == {"alan@example.ac.uk", "liskov@example.ac.uk"}
    assert listed(as_admin, role=COORDINATOR) == {"liskov@example.ac.uk"}
    assert listed(as_admin, status="inactive") == {"countess@example.ac.uk"}
    assert listed(as_admin, status="active") == everyone - {"countess@example.ac.uk"}
    assert listed(as_admin, role=STUDENT, status="active") == {"g.hopper@example.ac.uk"}
    assert listed(as_admin, q="nobody") == set()
    assert "No user matches." in as_admin.get("/admin/users?q=nobody").get_data(as_text=True)
    # Unknown filter values are ignored rather than failing.
    assert listed(as_admin, role="wizard", status="sleeping") == everyone


def test_search_characters_are_taken_literally(as_admin, make):
    make.student(name="Percy Shelley", email="p_shelley@example.ac.uk")
    make.student(name="Mary Shelley", email="pxshelley@example.ac.uk")
    assert listed(as_admin, q="p_s") == {"p_shelley@example.ac.uk"}
    assert listed(as_admin, q="%") == set()


# --- who may not -------------------------------------------------------------------------------

ADMIN_PAGES = [
    ("get", "/admin/users"),
    ("get", "/admin/users/new"),
    ("post", "/admin/users/new"),
    ("get", "/admin/users/{id}"),
    ("post", "/admin/users/{id}"),
    ("post", "/admin/users/{id}/active"),
]


@pytest.mark.parametrize("roles", [(STUDENT,), (STAFF,), (STAFF, COORDINATOR)], ids=["student", "staff", "coordinator"])
@pytest.mark.parametrize("method, path", ADMIN_PAGES)
def test_only_admins_may_use_the_user_pages(login, make, roles, method, path):
    target = make.student(name="Target Person")
    client = login(make.user(*roles))
    before = counts()
    data = user_form(email="intruder@example.ac.uk", roles=[ADMIN])
    response = getattr(client, method)(path.format(id=target.id), data=data if method == "post" else None)
    assert response.status_code == 403
    assert "This page is for admins." in main_text(response.get_data(as_text=True))
    assert counts() == before
    db.session.refresh(target)
    assert target.is_active and target.roles == {STUDENT} and target.name == "Target Person"


@pytest.mark.parametrize("method, path", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, make, method, path):
    target = make.student()
    before = counts()
    response = getattr(client, method)(path.format(id=target.id))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert counts() == before
