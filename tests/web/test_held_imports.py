"""A people import whose rows would give existing accounts a new role is held: the coordinator sees exactly
those rows and confirms (the roles are added, the whole file imported) or abandons it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from projectflow.cohorts import held
from projectflow.cohorts.models import CohortStaff, Enrolment, PeopleImport
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState
from projectflow.core.jobs import Job
from projectflow.extensions import db
from projectflow.people.models import STAFF, STUDENT, User, UserRole
from tests.forms import get_form
from tests.html import flashes, main_text

FILE = (b"email,name,role\n"
        b"new@example.ac.uk,New Person,student\n"
        b"ann@example.ac.uk,Ann Other,staff\n"
        b"admin@example.ac.uk,The Admin,student\n")


@pytest.fixture
def world(make):
    coordinator = make.coordinator(name="Cora Ordinator")
    cohort = make.cohort(coordinator=coordinator, code="I460")
    last_year = make.cohort(code="AML", year=2025)
    ann = make.student(last_year, email="ann@example.ac.uk", name="Ann Other")
    admin = make.admin(email="admin@example.ac.uk", name="The Admin")
    return cohort, coordinator, ann, admin


def counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
            for m in (User, UserRole, Enrolment, CohortStaff, Job)}


def upload(client, cohort, data: bytes = FILE, filename: str = "people.csv"):
    form = get_form(client, f"/cohorts/{cohort.id}/import", has_field="file")
    return form.submit(client, files={"file": (data, filename)})


def actions() -> list[str]:
    return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_the_file_is_held_and_the_confirmation_page_lists_exactly_the_role_changes(client, login, world):
    cohort, coordinator, ann, admin = world
    login(coordinator)
    before = counts()

    response = upload(client, cohort)

    assert response.status_code == 302
    [waiting] = db.session.scalars(select(PeopleImport)).all()
    assert response.headers["Location"] == f"/cohorts/{cohort.id}/imports/{waiting.id}"
    assert (waiting.filename, waiting.content, waiting.uploaded_by_id) == ("people.csv", FILE, coordinator.id)
    assert counts() == before  # nothing imported, no job, no role
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nothing is imported yet" in flashes(page)[0]
    start = page.index(">", page.index('id="role-changes"')) + 1
    table = main_text(page[start:page.index("</table>", start)])
    assert table == ("Line E-mail The account now Would also become "
                     "3 ann@example.ac.uk a student in AML 2025-26 staff "
                     "4 admin@example.ac.uk an admin a student")
    assert "new@example.ac.uk" not in table
    assert actions()[-1] == "cohort.people_import_held"
    # The cohort's page says an import waits.
    show = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert "Review the role changes of people.csv" in show


def test_confirming_adds_the_roles_imports_the_whole_file_and_invites_its_new_accounts(client, login, world):
    cohort, coordinator, ann, admin = world
    login(coordinator)
    location = upload(client, cohort).headers["Location"]

    response = get_form(client, location, action=location + "/confirm").submit(client)

    assert response.status_code == 302 and response.headers["Location"] == f"/cohorts/{cohort.id}"
    page = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert flashes(page)[0].startswith("Imported people.csv: 2 students enrolled, 1 staff added, 1 new account, "
                                       "2 existing accounts given a new role.")
    db.session.expire_all()
    assert User.by_email("ann@example.ac.uk").roles == {STUDENT, STAFF}
    assert User.by_email("admin@example.ac.uk").roles == {"admin", STUDENT}
    assert cohort.is_student(admin) and cohort.staff_member(ann) is not None
    [job] = db.session.scalars(select(Job)).all()
    assert job.params["user_ids"] == [User.by_email("new@example.ac.uk").id]
    [imported] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "cohort.people_imported")).all()
    assert imported.actor_id == coordinator.id
    assert imported.after["roles_added"] == ["ann@example.ac.uk: a student in AML 2025-26 — would also become staff",
                                             "admin@example.ac.uk: an admin — would also become a student"]
    assert db.session.scalars(select(PeopleImport)).one().confirmed_at is not None
    assert "cohort.people_import_confirmed" in actions()
    assert "Review the role changes" not in page


def test_confirming_twice_imports_once_and_says_it_was_done(client, login, world):
    cohort, coordinator, ann, admin = world
    login(coordinator)
    location = upload(client, cohort).headers["Location"]
    form = get_form(client, location, action=location + "/confirm")
    assert form.submit(client).status_code == 302
    after_first = counts()

    again = form.submit(client)

    assert again.status_code == 409
    assert "This import was already confirmed" in main_text(again.get_data(as_text=True))
    assert counts() == after_first
    # The page no longer offers to confirm.
    assert "/confirm" not in client.get(location).get_data(as_text=True)


def test_abandoning_imports_nothing(client, login, world):
    cohort, coordinator, ann, admin = world
    login(coordinator)
    before = counts()
    location = upload(client, cohort).headers["Location"]

    response = get_form(client, location, action=location + "/abandon").submit(client)

    assert response.status_code == 302
    assert "Abandoned the import of people.csv: nothing from it was imported." in flashes(
        client.get(response.headers["Location"]).get_data(as_text=True))
    assert counts() == before
    assert actions()[-1] == "cohort.people_import_abandoned"
    refused = client.post(location + "/confirm", data={"changes": "x"})
    assert refused.status_code == 409 and "This import was abandoned" in main_text(refused.get_data(as_text=True))


def test_a_confirmation_after_the_accounts_changed_shows_the_list_again_and_imports_nothing(client, login, world):
    cohort, coordinator, ann, admin = world
    login(coordinator)
    location = upload(client, cohort).headers["Location"]
    form = get_form(client, location, action=location + "/confirm")
    # Meanwhile an admin gives the admin account the student role: one change fewer than shown.
    admin.set_roles(admin.roles | {STUDENT})
    db.session.commit()
    before = counts()

    response = form.submit(client)

    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed since the list was shown, so nothing was imported" in main_text(page)
    assert "admin@example.ac.uk" not in page[page.index('id="role-changes"'):]
    assert counts() == before
    # Confirming the list as it is now works.
    assert get_form(client, location, action=location + "/confirm").submit(client).status_code == 302
    assert db.session.scalars(select(PeopleImport)).one().confirmed_at is not None


def test_an_account_deactivated_since_makes_the_held_file_a_refusal(client, login, world):
    cohort, coordinator, ann, admin = world
    login(coordinator)
    location = upload(client, cohort).headers["Location"]
    form = get_form(client, location, action=location + "/confirm")
    ann.is_active = False
    db.session.commit()
    before = counts()

    response = form.submit(client)

    assert response.status_code == 422
    assert "ann@example.ac.uk belongs to a deactivated account" in response.get_data(as_text=True)
    assert counts() == before
    page = client.get(location).get_data(as_text=True)
    assert "/confirm" not in page and "/abandon" in page


def test_malformed_rows_and_deactivated_accounts_stay_refusals_and_nothing_is_held(client, login, world, make):
    cohort, coordinator, ann, admin = world
    make.staff(email="gone@example.ac.uk", active=False)
    login(coordinator)
    deactivated = upload(client, cohort, FILE + b"gone@example.ac.uk,Gone,staff\n")
    assert deactivated.status_code == 422
    assert "gone@example.ac.uk belongs to a deactivated account" in deactivated.get_data(as_text=True)
    malformed = upload(client, cohort, FILE + b"bad-address,X,student\n")
    assert malformed.status_code == 422
    assert "Invalid e-mail address &#39;bad-address&#39;" in malformed.get_data(as_text=True)
    assert db.session.scalars(select(PeopleImport)).all() == []


def test_the_same_file_uploaded_again_while_held_is_the_same_held_import(client, login, world):
    cohort, coordinator, ann, admin = world
    login(coordinator)
    first = upload(client, cohort).headers["Location"]
    assert upload(client, cohort).headers["Location"] == first
    assert len(db.session.scalars(select(PeopleImport)).all()) == 1


def test_only_the_cohort_s_coordinators_and_admins_see_or_decide_a_held_import(client, login, world, make):
    cohort, coordinator, ann, admin = world
    login(coordinator)
    location = upload(client, cohort).headers["Location"]
    client.post("/logout")
    other = make.cohort()
    other_coordinator = next(s.member for s in other.staff if s.is_coordinator)
    for person in (make.staff(cohort), make.student(cohort), other_coordinator):
        login(person)
        assert client.get(location).status_code == 403
        assert client.post(location + "/confirm", data={"changes": "x"}).status_code == 403
        assert client.post(location + "/abandon").status_code == 403
        client.post("/logout")
    login(other_coordinator)
    waiting_id = location.rsplit("/", 1)[1]
    assert client.get(f"/cohorts/{other.id}/imports/{waiting_id}").status_code == 404
    client.post("/logout")
    login(admin)
    assert client.get(location).status_code == 200


def test_deciding_a_held_import_is_refused_once_decided(world):
    cohort, coordinator, ann, admin = world
    outcome = held.import_or_hold(cohort, FILE, by=coordinator, filename="people.csv")
    assert isinstance(outcome, PeopleImport)
    held.abandon_import(outcome, by=coordinator)
    with pytest.raises(InvalidState, match="abandoned"):
        held.abandon_import(outcome, by=coordinator)
    with pytest.raises(InvalidState, match="abandoned"):
        held.confirm_import(outcome, seen=held.review(outcome).digest, by=coordinator)
