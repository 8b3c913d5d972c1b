"""The ``projectflow`` commands, run through Flask's CLI runner against the test database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from projectflow.cli import cli
from projectflow.cohorts.models import CohortStaff, Enrolment
from projectflow.core.audit import AuditEvent
from projectflow.core.passwords import verify_password
from projectflow.extensions import db
from projectflow.people.models import User


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args: str, **kw):
        return runner.invoke(cli, list(args), **kw)

    return invoke


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Enrolment, CohortStaff, AuditEvent)}


def test_import_people_imports_the_file_and_prints_a_summary(run, make, tmp_path):
    cohort = make.cohort(code="I460")
    csv_file = tmp_path / "i460.csv"
    csv_file.write_text("email,name,role,expertise,max_load\n"
                        "ada@example.ac.uk,Ada Lovelace,student,,\n"
                        "jo@example.ac.uk,Dr Jo Bloggs,staff,robotics,4\n", encoding="utf-8-sig")

    result = run("import-people", str(cohort.id), str(csv_file), "--no-invite")

    assert result.exit_code == 0, result.output
    assert result.stdout == (f"Imported i460.csv into {cohort.title}: "
                             "1 student enrolled, 1 staff added, 2 new accounts.\n"
                             "No invitations sent (--no-invite): send them from the cohort's page.\n")
    db.session.expire_all()
    assert [e.student.email for e in cohort.enrolments] == ["ada@example.ac.uk"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "cohort.people_imported")).one()
    assert event.actor_id is None and event.after["file"] == "i460.csv"

    again = run("import-people", str(cohort.id), str(csv_file))
    assert again.exit_code == 0
    assert "0 new accounts, 2 already in the cohort (unchanged)" in again.stdout


def test_a_bad_file_prints_each_problem_as_file_line_message_and_imports_nothing(run, make, tmp_path):
    cohort = make.cohort()
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("email,name,role\n"
                        "ada@example.ac.uk,Ada,student\n"
                        "not-an-address,Bo,student\n"
                        "cy@example.ac.uk,,professor\n")
    before = counts()

    result = run("import-people", str(cohort.id), str(csv_file))

    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("people.csv:3: Invalid e-mail address 'not-an-address'")
    assert lines[1:] == [
        "people.csv:4: Missing name.",
        "people.csv:4: Unknown role 'professor': use student or staff.",
        "Nothing was imported (3 problem(s)).",
    ]
    assert counts() == before


def test_a_file_in_another_encoding_is_refused_with_its_line(run, make, tmp_path):
    cohort = make.cohort()
    csv_file = tmp_path / "latin.csv"
    csv_file.write_bytes("email,name,role\nzoe@example.ac.uk,Zoë,student\n".encode("latin-1"))
    result = run("import-people", str(cohort.id), str(csv_file))
    assert result.exit_code == 1
    assert result.stderr.startswith("latin.csv:2: The file is not UTF-8 text (byte 0xeb on line 2).")


def test_an_unknown_cohort_is_an_error(run, tmp_path):
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("email,name,role\nada@example.ac.uk,Ada,student\n")
    result = run("import-people", "999", str(csv_file))
    assert result.exit_code == 1
    assert "Error: There is no cohort with id 999." in result.stderr
    assert counts()["User"] == 0


def test_a_missing_file_is_a_usage_error(run, make, tmp_path):
    cohort = make.cohort()
    result = run("import-people", str(cohort.id), str(tmp_path / "nowhere.csv"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_create_user_creates_an_account_that_can_sign_in(run, client):
    result = run("create-user", "--email", "First.Admin@Example.ac.uk", "--name", "First Admin",
                 "--role", "admin", "--role", "staff", input="a long enough password\na long enough password\n")

    assert result.exit_code == 0, result.output
    assert "Created first.admin@example.ac.uk (staff, admin)." in result.stdout
    user = User.by_email("first.admin@example.ac.uk")
    assert user.roles == {"admin", "staff"} and user.staff_profile is not None
    assert verify_password(user.password_hash, "a long enough password")
    response = client.post("/login", data={"email": "first.admin@example.ac.uk", "password": "a long enough password"})
    assert response.status_code == 302


def test_create_user_refuses_a_duplicate_and_a_short_password(run, make):
    make.student(email="taken@example.ac.uk")
    before = counts()

    duplicate = run("create-user", "--email", "TAKEN@example.ac.uk", "--name", "Again", "--role", "admin",
                    "--password", "a long enough password")
    short = run("create-user", "--email", "new@example.ac.uk", "--name", "New", "--role", "admin",
                "--password", "short")
    unknown_role = run("create-user", "--email", "new@example.ac.uk", "--name", "New", "--role", "wizard",
                       "--password", "a long enough password")

    assert duplicate.exit_code == 1
    assert "Error: There is already an account for taken@example.ac.uk." in duplicate.stderr
    assert short.exit_code == 1 and "Choose a password of at least 10 characters." in short.stderr
    assert unknown_role.exit_code == 2 and "'wizard' is not one of" in unknown_role.stderr
    db.session.rollback()
    assert counts() == before


def test_import_people_invites_the_new_accounts_from_the_terminal(run, make, tmp_path, smtp_server):
    cohort = make.cohort()
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("email,name,role\nada@example.ac.uk,Ada Lovelace,student\njo@example.ac.uk,Jo,staff\n")

    result = run("import-people", str(cohort.id), str(csv_file))

    assert result.exit_code == 0, result.output
    assert "Invited 2 new account(s) to set a password." in result.stdout
    assert sorted(m["To"] for m in smtp_server.wait_for(2)) == ["ada@example.ac.uk", "jo@example.ac.uk"]


def test_import_people_lists_rows_that_would_change_roles_and_adds_them_only_when_told(run, make, tmp_path):
    cohort = make.cohort()
    admin = make.admin(email="admin.person@example.ac.uk")
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("email,name,role\nadmin.person@example.ac.uk,Admin Person,student\n")
    before = counts()

    refused = run("import-people", str(cohort.id), str(csv_file))

    assert refused.exit_code == 1
    assert "people.csv:2: admin.person@example.ac.uk: an admin — would also become a student" in refused.stderr
    assert "Run again with --add-roles" in refused.stderr
    assert counts() == before
    added = run("import-people", str(cohort.id), str(csv_file), "--add-roles", "--no-invite")
    assert added.exit_code == 0, added.output
    assert "1 existing account given a new role" in added.stdout
    db.session.expire_all()
    assert admin.roles == {"admin", "student"} and cohort.is_student(admin)
