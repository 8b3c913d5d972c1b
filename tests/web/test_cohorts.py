"""The cohort pages: create, edit, see who takes part, import people from CSV; and who may not."""

from __future__ import annotations

import html
import io
import re
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from projectflow.cohorts.models import Cohort, CohortStaff, Enrolment
from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from projectflow.people.models import User
from tests.forms import get_form
from tests.html import field_error, flashes, main_text


def form(**overrides) -> dict[str, str]:
    values = {
        "programme_name": "Applied Machine Learning", "programme_code": "i460", "academic_year": "2026",
        "timezone": "Europe/London",
        "part_time_start": "2027-01-11", "part_time_end": "2027-05-28",
        "full_time_start": "2027-05-31", "full_time_end": "2027-09-10",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def input_value(page: str, name: str) -> str | None:
    """The value an <input name=...> of the page shows."""
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0)) if tag else None
    return html.unescape(value.group(1)) if value else None


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Cohort, CohortStaff, Enrolment, User, AuditEvent)}


def upload(client, cohort_id: int, content: bytes | None, filename: str = "people.csv"):
    """Send the import page's form with this file (None: none chosen)."""
    form = get_form(client, f"/cohorts/{cohort_id}/import", has_field="file")
    return form.submit(client, files={} if content is None else {"file": (content, filename)})


def events(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


PEOPLE = (b"email,name,role,expertise,max_load\n"
          b"ada@example.ac.uk,Ada Lovelace,student,,\n"
          b"bo@example.ac.uk,Bo Student,student,,\n"
          b"jo@example.ac.uk,Dr Jo Bloggs,staff,robotics;vision,4\n")


# Creating ------------------------------------------------------------------------------------------

def test_a_coordinator_creates_a_cohort_and_becomes_its_coordinator(login, make):
    coordinator = make.coordinator(name="Prof Helen Carter")
    client = login(coordinator)

    new = get_form(client, "/cohorts/new", has_field="programme_code")
    for name, value in form().items():
        new.set(name, value)
    response = new.submit(client, submit="Create cohort")

    cohort = db.session.scalars(select(Cohort)).one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cohorts/{cohort.id}"
    assert (cohort.programme_code, cohort.academic_year, cohort.full_time_start) == ("I460", 2026, date(2027, 5, 31))
    assert cohort.coordinator_ids() == {coordinator.id}
    [event] = events("cohort.created")
    assert (event.actor_id, event.cohort_id, event.object_id) == (coordinator.id, cohort.id, cohort.id)
    assert event.before is None
    assert event.after == {
        "programme_name": "Applied Machine Learning", "programme_code": "I460", "academic_year": 2026,
        "timezone": "Europe/London", "part_time_start": "2027-01-11", "part_time_end": "2027-05-28",
        "full_time_start": "2027-05-31", "full_time_end": "2027-09-10", "marks_anonymously": True,
        "reminder_days": [14, 7, 2, 1],
    }
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("Cohort Applied Machine Learning (I460) 2026-27 created. Next: import its students and staff."
            in flashes(page))
    assert "Prof Helen Carter" in page


@pytest.mark.parametrize("query, year, dates", [
    ("?year=2027", "2027", ("2028-01-10", "2028-05-26", "2028-05-29", "2028-09-08")),
    ("?year=2026", "2026", ("2027-01-11", "2027-05-28", "2027-05-31", "2027-09-10")),
    ("", "2026", ("2027-01-11", "2027-05-28", "2027-05-31", "2027-09-10")),       # this year by the clock
    ("?year=nonsense", "2026", ("2027-01-11", "2027-05-28", "2027-05-31", "2027-09-10")),
    ("?year=99999", "2026", ("2027-01-11", "2027-05-28", "2027-05-31", "2027-09-10")),
    ("?year=-3", "2026", ("2027-01-11", "2027-05-28", "2027-05-31", "2027-09-10")),
])
def test_the_new_cohort_form_prefills_the_phase_dates_of_the_year(login, make, query, year, dates):
    client = login(make.coordinator())
    with clock.frozen(datetime(2026, 3, 2, 12, tzinfo=timezone.utc)):
        response = client.get("/cohorts/new" + query)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert input_value(page, "academic_year") == year
    names = ("part_time_start", "part_time_end", "full_time_start", "full_time_end")
    assert tuple(input_value(page, name) for name in names) == dates
    assert '<option selected value="Europe/London">' in page


@pytest.mark.parametrize("overrides, field, message", [
    ({"part_time_end": "2027-01-11"}, "part_time_end", "The part-time phase must end after it starts."),
    ({"full_time_start": "2027-05-27"}, "full_time_start",
     "The full-time phase starts once the part-time phase has ended."),
    ({"full_time_end": "2027-05-31"}, "full_time_end", "The full-time phase must end after it starts."),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Unknown timezone 'Mars/Olympus_Mons'"),
    ({"programme_name": ""}, "programme_name", "This field is required."),
    ({"programme_code": None}, "programme_code", "This field is required."),
    ({"programme_code": "I 460"}, "programme_code", "Letters, digits, - and _ only, e.g. I460."),
    ({"academic_year": ""}, "academic_year", "This field is required."),
    ({"academic_year": "1999"}, "academic_year", "Number must be between 2000 and 2199."),
    ({"academic_year": "twenty"}, "academic_year", "Not a valid integer value."),
    ({"part_time_start": "11/01/2027"}, "part_time_start", "Not a valid date value."),
    ({"full_time_end": None}, "full_time_end", "This field is required."),
])
def test_bad_values_are_refused_with_the_message_next_to_the_field_and_nothing_saved(
        login, make, overrides, field, message):
    client = login(make.coordinator())
    before = counts()

    sent = form(**overrides)
    response = client.post("/cohorts/new", data=sent)

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Please correct the fields marked below; nothing was saved." in page
    assert message in (field_error(page, field) or "")
    assert counts() == before
    # What was typed is kept, so nothing needs typing again.
    assert input_value(page, "programme_name") == sent["programme_name"]
    assert input_value(page, "part_time_start") == sent["part_time_start"]


def test_a_programme_code_and_year_that_exist_already_are_refused(login, make):
    coordinator = make.coordinator()
    make.cohort(code="I460", year=2026, coordinator=make.coordinator())
    client = login(coordinator)
    before = counts()

    response = client.post("/cohorts/new", data=form(programme_code=" i460 "))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(page, "programme_code") == "Applied Machine Learning (I460) 2026-27 already exists."
    assert counts() == before
    # The same programme in another year is a different cohort.
    assert client.post("/cohorts/new", data=form(academic_year="2027", part_time_start="2028-01-10",
                                                 part_time_end="2028-05-26", full_time_start="2028-05-29",
                                                 full_time_end="2028-09-08")).status_code == 302


# Editing -------------------------------------------------------------------------------------------

def test_editing_a_cohort_records_the_values_before_and_after(login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator, code="I460")
    client = login(coordinator)
    edit = get_form(client, f"/cohorts/{cohort.id}/edit", has_field="programme_code")
    assert (edit.get("programme_code"), edit.get("full_time_end")) == ("I460", "2027-09-10")

    edit.set("programme_name", "Applied ML").set("full_time_end", "2027-09-17").select("timezone", "Europe/Dublin")
    response = edit.submit(client, submit="Save")

    assert response.status_code == 302 and response.headers["Location"] == f"/cohorts/{cohort.id}"
    [event] = events("cohort.updated")
    assert (event.actor_id, event.cohort_id) == (coordinator.id, cohort.id)
    assert event.changes() == [
        ("full_time_end", "2027-09-10", "2027-09-17"),
        ("programme_name", "Applied Machine Learning", "Applied ML"),
        ("timezone", "Europe/London", "Europe/Dublin"),
    ]
    db.session.refresh(cohort)
    assert (cohort.programme_name, cohort.full_time_end, cohort.timezone) == (
        "Applied ML", date(2027, 9, 17), "Europe/Dublin")
    assert "Cohort saved." in flashes(client.get(response.headers["Location"]).get_data(as_text=True))


def test_saving_a_cohort_unchanged_writes_no_audit_event(login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator, code="I460")
    client = login(coordinator)
    response = get_form(client, f"/cohorts/{cohort.id}/edit", has_field="programme_code").submit(client)
    assert response.status_code == 302
    assert events("cohort.updated") == []


@pytest.mark.parametrize("overrides, field", [
    ({"programme_code": "I999"}, "programme_code"),          # taken by another cohort that year
    ({"full_time_start": "2027-05-01"}, "full_time_start"),
    ({"timezone": "Europe/Londres"}, "timezone"),
])
def test_a_bad_edit_is_refused_and_the_cohort_is_left_as_it_was(login, make, overrides, field):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator, code="I460")
    make.cohort(code="I999")
    client = login(coordinator)
    before = counts()

    response = client.post(f"/cohorts/{cohort.id}/edit", data=form(**{
        "programme_code": "I460", "programme_name": "Changed name", **overrides}))

    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field)
    assert counts() == before
    db.session.expire_all()
    assert (cohort.programme_name, cohort.programme_code) == ("Applied Machine Learning", "I460")


def test_the_coordinator_sets_the_reminder_days_of_the_cohort(login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator, code="I460")
    client = login(coordinator)
    edit = get_form(client, f"/cohorts/{cohort.id}/edit", has_field="reminder_days")
    assert edit.get("reminder_days") == "14, 7, 2, 1"
    response = edit.set("reminder_days", " 3, 10;3 ").submit(client, submit="Save")
    assert response.status_code == 302
    db.session.refresh(cohort)
    assert cohort.reminder_days == [10, 3]
    [event] = events("cohort.updated")
    assert event.changes() == [("reminder_days", [14, 7, 2, 1], [10, 3])]
    assert "reminders 10, 3 days before each deadline" in event.summary
    assert get_form(client, f"/cohorts/{cohort.id}/edit", has_field="reminder_days").get("reminder_days") == "10, 3"


@pytest.mark.parametrize("typed, message", [
    ("soon", "Type whole numbers of days"), ("", "Give at least one day"), ("0, 7", "between 1 and 60 days"),
    ("90", "between 1 and 60 days"), ("1, 2, 3, 4, 5, 6, 7", "At most 6 reminders"), ("7.5", "whole numbers"),
])
def test_reminder_days_that_make_no_sense_are_refused_next_to_the_field(login, make, typed, message):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator, code="I460")
    client = login(coordinator)
    edit = get_form(client, f"/cohorts/{cohort.id}/edit", has_field="reminder_days")
    response = edit.set("programme_name", "Changed name").set("reminder_days", typed).submit(client, submit="Save")
    assert response.status_code == 422
    assert message in field_error(response.get_data(as_text=True), "reminder_days")
    assert input_value(response.get_data(as_text=True), "reminder_days") == typed  # what was typed, to correct
    db.session.expire_all()
    assert (cohort.programme_name, cohort.reminder_days) == ("Applied Machine Learning", [14, 7, 2, 1])


# Who may not -------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["student", "staff"])
@pytest.mark.parametrize("method, path", [
    ("get", "/cohorts/"), ("get", "/cohorts/new"), ("post", "/cohorts/new"),
    ("get", "/cohorts/{id}/edit"), ("post", "/cohorts/{id}/edit"),
    ("get", "/cohorts/{id}/import"), ("post", "/cohorts/{id}/import"),
])
def test_students_and_staff_cannot_create_edit_or_import(login, make, who, method, path):
    cohort = make.cohort(code="I460")
    person = make.student(cohort) if who == "student" else make.staff(cohort)
    client = login(person)
    before = counts()
    data = form(programme_code="I460", programme_name="Hijacked") if "import" not in path else \
        {"file": (io.BytesIO(PEOPLE), "people.csv")}
    response = getattr(client, method)(path.format(id=cohort.id), data=data if method == "post" else None)
    assert response.status_code == 403
    assert counts() == before
    db.session.expire_all()
    assert cohort.programme_name == "Applied Machine Learning"


@pytest.mark.parametrize("path", ["/cohorts/", "/cohorts/new", "/cohorts/{id}", "/cohorts/{id}/edit",
                                  "/cohorts/{id}/import"])
def test_signed_out_visitors_are_sent_to_sign_in(client, make, path):
    cohort = make.cohort()
    response = client.get(path.format(id=cohort.id))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


NOT_PART = "You are not part of this cohort."
NOT_COORDINATOR = "Only this cohort&#39;s coordinators can do that."


@pytest.mark.parametrize("method, path, message", [
    ("get", "/cohorts/{id}", NOT_PART),
    ("get", "/cohorts/{id}/edit", NOT_COORDINATOR), ("post", "/cohorts/{id}/edit", NOT_COORDINATOR),
    ("get", "/cohorts/{id}/import", NOT_COORDINATOR), ("post", "/cohorts/{id}/import", NOT_COORDINATOR),
])
def test_the_coordinator_of_another_cohort_is_refused(login, make, method, path, message):
    cohort = make.cohort(code="I460")
    other_coordinator = make.coordinator()
    make.cohort(coordinator=other_coordinator, code="I461")
    client = login(other_coordinator)
    before = counts()
    data = form(programme_code="I460") if "edit" in path else {"file": (io.BytesIO(PEOPLE), "people.csv")}
    response = getattr(client, method)(path.format(id=cohort.id), data=data if method == "post" else None)
    assert response.status_code == 403
    assert message in response.get_data(as_text=True)
    assert counts() == before


def test_the_cohort_list_shows_a_coordinator_only_their_own_cohorts_and_an_admin_all(login, make, client):
    coordinator = make.coordinator()
    make.cohort(coordinator=coordinator, code="MINE1")
    make.cohort(code="THEIRS")
    page = login(coordinator).get("/cohorts/").get_data(as_text=True)
    assert "(MINE1)" in page and "(THEIRS)" not in page
    client.post("/logout")
    page = login(make.admin()).get("/cohorts/").get_data(as_text=True)
    assert "(MINE1)" in page and "(THEIRS)" in page


def test_a_student_of_the_cohort_sees_its_summary_but_not_who_else_is_in_it(login, make):
    cohort = make.cohort(code="I460")
    me = make.student(cohort, name="Ada Lovelace")
    classmate = make.student(cohort, name="Bo Classmate", email="bo.classmate@example.ac.uk")
    make.staff(cohort, name="Dr Jo Supervisor")

    response = login(me).get(f"/cohorts/{cohort.id}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Applied Machine Learning (I460) 2026-27" in page and "11 Jan 2027" in page
    assert "Bo Classmate" not in page and classmate.email not in page and "Dr Jo Supervisor" not in page
    assert "Candidate no." not in page
    numbers = db.session.scalars(select(Enrolment.candidate_number)).all()
    assert not any(n in page for n in numbers)
    assert "/import" not in page and "/edit" not in page


@pytest.mark.parametrize("who", ["student", "staff"])
def test_students_and_staff_outside_the_cohort_cannot_see_it(login, make, who):
    cohort = make.cohort()
    outsider = make.student(make.cohort()) if who == "student" else make.staff(make.cohort())
    response = login(outsider).get(f"/cohorts/{cohort.id}")
    assert response.status_code == 403
    assert "You are not part of this cohort." in response.get_data(as_text=True)


def test_staff_of_the_cohort_see_the_summary_only(login, make):
    cohort = make.cohort()
    make.student(cohort, name="Ada Lovelace")
    page = login(make.staff(cohort)).get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert cohort.title in page and "Ada Lovelace" not in page


def test_the_coordinator_sees_every_student_with_their_candidate_number_and_the_staff(login, make):
    coordinator = make.coordinator(name="Prof Helen Carter")
    cohort = make.cohort(coordinator=coordinator)
    ada = make.student(cohort, name="Ada Lovelace")
    make.staff(cohort, name="Dr Jo Bloggs", expertise=["robotics", "vision"], max_load=4)
    page = main_text(login(coordinator).get(f"/cohorts/{cohort.id}").get_data(as_text=True))
    number = db.session.scalar(select(Enrolment.candidate_number).where(Enrolment.user_id == ada.id))
    assert f"{number} Ada Lovelace {ada.email}" in page
    assert "Dr Jo Bloggs robotics, vision 4" in page
    assert "Prof Helen Carter coordinator" in page


def test_an_unknown_cohort_is_a_404(login, make):
    assert login(make.coordinator()).get("/cohorts/9999/edit").status_code == 404


def test_an_admin_manages_any_cohort(login, make):
    cohort = make.cohort(code="I460")
    make.student(cohort, name="Ada Lovelace")
    admin = make.admin()
    client = login(admin)

    assert "Ada Lovelace" in client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert client.get(f"/cohorts/{cohort.id}/edit").status_code == 200
    assert client.post(f"/cohorts/{cohort.id}/edit", data=form(programme_code="I460", programme_name="Renamed")
                       ).status_code == 302
    assert events("cohort.updated")[0].actor_id == admin.id
    assert upload(client, cohort.id, PEOPLE).status_code == 302
    assert events("cohort.people_imported")[0].actor_id == admin.id


# Importing ---------------------------------------------------------------------------------------

def test_uploading_a_good_file_imports_it_and_says_how_many(login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    client = login(coordinator)
    assert "Check and import" in client.get(f"/cohorts/{cohort.id}/import").get_data(as_text=True)

    response = upload(client, cohort.id, PEOPLE, filename="i460.csv")

    assert response.status_code == 302 and response.headers["Location"] == f"/cohorts/{cohort.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert flashes(page) == ["Imported i460.csv: 2 students enrolled, 1 staff added, 3 new accounts. 3 invitations to "
                             "set a password will be e-mailed by the job runner in the next minutes; the Account "
                             "column shows each one once sent."]
    assert "Ada Lovelace" in page and "Dr Jo Bloggs" in page
    [event] = events("cohort.people_imported")
    assert event.actor_id == coordinator.id and event.after["file"] == "i460.csv"

    again = upload(client, cohort.id, PEOPLE, filename="i460.csv")
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "0 new accounts, 3 already in the cohort (unchanged)." in flashes(page)[0]


def test_uploading_a_bad_file_lists_every_problem_by_line_and_imports_nothing(login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    client = login(coordinator)
    before = counts()
    bad = PEOPLE + b"<b>x</b>@example,Eve,student,,\nbo@example.ac.uk,Bo Again,staff,,\n"

    response = upload(client, cohort.id, bad)

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported: 2 problems in the file." in page
    table = page[page.index('id="import-problems"'):]
    assert "<td>5</td>" in table and "&lt;b&gt;x&lt;/b&gt;@example" in table and "<b>x</b>" not in table
    assert "<td>6</td>" in table and "Duplicate e-mail bo@example.ac.uk (also on line 3)." in table
    assert counts() == before


def test_a_file_in_the_wrong_encoding_is_refused_on_the_page(login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    latin1 = "email,name,role\njosé@example.ac.uk,José,student\n".encode("latin-1")
    response = upload(login(coordinator), cohort.id, latin1)
    assert response.status_code == 422
    assert "not UTF-8 text (byte 0xe9 on line 2)" in response.get_data(as_text=True)


def test_sending_no_file_asks_for_one(login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    before = counts()
    response = upload(login(coordinator), cohort.id, None)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "file") == "Choose a CSV file to import."
    assert counts() == before


def test_an_oversize_upload_gets_a_413_page_that_says_what_to_do(app, login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    client = login(coordinator)
    app.config["MAX_CONTENT_LENGTH"] = 2048
    before = counts()
    big = PEOPLE + b"".join(b"s%d@example.ac.uk,Student %d,student,,\n" % (i, i) for i in range(200))

    response = upload(client, cohort.id, big)

    page = response.get_data(as_text=True)
    assert response.status_code == 413
    # A way back to the form (found when the app was tried: a bare 413 page with no way back).
    assert f'<a href="/cohorts/{cohort.id}/import">Back to the page you were on</a>' in page
    assert "File too large" in page
    assert "The file is larger than this site accepts. Split it or make it smaller, then try again." in page
    assert counts() == before
    # A file under the limit still goes through.
    assert upload(client, cohort.id, PEOPLE).status_code == 302
