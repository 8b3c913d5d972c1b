"""Importing a cohort's students and staff from CSV: encodings, headers, row checks, all-or-nothing."""

from __future__ import annotations

from collections import Counter

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from projectflow.cohorts.importing import ImportRejected, RolesWouldChange, import_people
from projectflow.cohorts.models import CohortStaff, Enrolment
from projectflow.core.audit import AuditEvent
from projectflow.core.jobs import Job
from projectflow.extensions import db
from projectflow.people.models import DEFAULT_MAX_LOAD, STAFF, STUDENT, StaffProfile, User, UserRole

HEADER = "email,name,role,expertise,max_load"


def csv_file(*rows: str, header: str = HEADER, newline: str = "\n") -> bytes:
    return newline.join([header, *rows, ""]).encode("utf-8")


def counts() -> dict[str, int]:
    """How many rows every table an import writes to holds."""
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, UserRole, StaffProfile, Enrolment, CohortStaff, AuditEvent)}


def rejected(cohort, data: bytes, **kw) -> ImportRejected:
    """Import ``data``, expect a refusal, and check that nothing at all was written."""
    before = counts()
    with pytest.raises(ImportRejected) as info:
        import_people(cohort, data, by=None, **kw)
    db.session.rollback()
    assert counts() == before
    return info.value


def messages(exc: ImportRejected) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in exc.problems]


@pytest.fixture
def cohort(make):
    return make.cohort()


GOOD = csv_file(
    "ada.student@example.ac.uk,Ada Student,student,,",
    "Bo.Student@Example.AC.UK , Bo   Student ,Student,,",
    'j.smith@example.ac.uk,"Smith, Dr Jane",staff,Robotics; reinforcement learning ;robotics,6',
    "k.lee@example.ac.uk,Prof Kim Lee,staff,vision,",
)


def test_a_good_file_enrols_students_and_adds_staff_with_new_accounts_and_no_passwords(cohort):
    report = import_people(cohort, GOOD, by=None, filename="people.csv")
    db.session.commit()

    assert (report.new_accounts, report.students_enrolled, report.staff_added, report.already_in_cohort) == (4, 2, 2, 0)
    assert report.summary() == "2 students enrolled, 2 staff added, 4 new accounts"
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id)).all()
    assert sorted(e.student.email for e in enrolments) == ["ada.student@example.ac.uk", "bo.student@example.ac.uk"]
    numbers = [e.candidate_number for e in enrolments]
    assert all(len(n) == 6 and n.isdigit() and n[0] != "0" for n in numbers)
    assert len(set(numbers)) == len(numbers)

    bo = User.by_email("bo.student@example.ac.uk")
    assert bo.name == "Bo Student" and bo.roles == {STUDENT} and bo.staff_profile is None
    smith = User.by_email("j.smith@example.ac.uk")
    assert smith.name == "Smith, Dr Jane"
    assert smith.roles == {STAFF}
    assert smith.staff_profile.expertise == ["robotics", "reinforcement learning"]
    assert smith.staff_profile.max_load == 6
    lee = User.by_email("k.lee@example.ac.uk")
    assert lee.staff_profile.expertise == ["vision"] and lee.staff_profile.max_load == DEFAULT_MAX_LOAD
    # Imported people set their own password through a reset link.
    assert all(u.password_hash is None for u in (bo, smith, lee))
    staff = db.session.scalars(select(CohortStaff).where(CohortStaff.cohort_id == cohort.id,
                                                         CohortStaff.is_coordinator.is_(False))).all()
    assert sorted(s.member.email for s in staff) == ["j.smith@example.ac.uk", "k.lee@example.ac.uk"]
    assert {s.effective_load_limit for s in staff} == {6, DEFAULT_MAX_LOAD}


def test_columns_may_come_in_any_order_and_case_and_the_optional_ones_may_be_left_out(cohort):
    data = csv_file("Student,ada@example.ac.uk,Ada", "staff,jo@example.ac.uk,Jo", header=" ROLE ,Email,Name")
    report = import_people(cohort, data, by=None)
    assert (report.students_enrolled, report.staff_added) == (1, 1)
    assert User.by_email("jo@example.ac.uk").staff_profile.expertise == []


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["utf-8", "utf-8 with BOM"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_utf8_with_or_without_a_byte_order_mark_is_accepted(cohort, bom, newline):
    data = bom + csv_file("zoe@example.ac.uk,Zoë Müller-Łukasiewicz,student,,",
                          "o@example.ac.uk,Seán O’Brien 王芳,student,,", newline=newline)
    report = import_people(cohort, data, by=None)
    assert report.students_enrolled == 2
    assert User.by_email("zoe@example.ac.uk").name == "Zoë Müller-Łukasiewicz"
    assert User.by_email("o@example.ac.uk").name == "Seán O’Brien 王芳"


@pytest.mark.parametrize("encoding, name", [("latin-1", "José Núñez"), ("cp1252", "Seán O’Brien")])
def test_latin1_and_windows_1252_files_are_refused_with_the_line_of_the_first_bad_byte(cohort, encoding, name):
    data = "\n".join([HEADER, "ada@example.ac.uk,Ada,student,,", f"x@example.ac.uk,{name},student,,", ""])
    exc = rejected(cohort, data.encode(encoding))
    [(line, message)] = messages(exc)
    assert line == 3
    assert "not UTF-8" in message and "on line 3" in message and "CSV UTF-8" in message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_are_refused_with_or_without_a_byte_order_mark(cohort, encoding):
    data = "\n".join([HEADER, "ada@example.ac.uk,Ada,student,,", ""]).encode(encoding)
    [(line, message)] = messages(rejected(cohort, data))
    assert line == 1
    assert "UTF-16" in message and "CSV UTF-8" in message


def test_semicolon_delimited_files_from_european_excel_are_accepted(cohort):
    data = csv_file("ada@example.ac.uk;Ada Student;student;;",
                    'j@example.ac.uk;Dr Jo Bloggs, PhD;staff;"robotics;vision";4',
                    header="email;name;role;expertise;max_load")
    report = import_people(cohort, data, by=None)
    assert (report.students_enrolled, report.staff_added) == (1, 1)
    jo = User.by_email("j@example.ac.uk")
    assert jo.name == "Dr Jo Bloggs, PhD"
    assert (jo.staff_profile.expertise, jo.staff_profile.max_load) == (["robotics", "vision"], 4)


@pytest.mark.parametrize("header, expected", [
    ("email,name", ["missing column(s): role"]),
    ("e-mail,name,role", ["missing column(s): email", "unknown column(s): e-mail"]),
    ("email,name,role,phone,max_load", ["unknown column(s): phone"]),
    ("email,name,role,email,name", ["repeated column(s): email, name"]),
    ("name,role,expertise,expertise,office", ["missing column(s): email", "unknown column(s): office",
                                              "repeated column(s): expertise"]),
])
def test_a_wrong_header_row_is_refused_with_every_wrong_column_named(cohort, header, expected):
    [(line, message)] = messages(rejected(cohort, csv_file("ada@example.ac.uk,Ada,student", header=header)))
    assert line == 1
    assert message.startswith("Wrong header row")
    for bit in expected:
        assert bit in message
    assert "The columns are email, name, role and optionally expertise, max_load." in message


def test_a_blank_column_heading_is_named_as_such(cohort):
    [(_, message)] = messages(rejected(cohort, csv_file("ada@example.ac.uk,Ada,student,x", header="email,name,role,")))
    assert "unknown column(s): (blank)" in message


@pytest.mark.parametrize("data, problem", [
    (b"", "The file is empty."),
    (b" \n\n", "The file is empty."),
    (csv_file(), "The file has a header but no people."),
    (csv_file(",,,,", ""), "The file has a header but no people."),
])
def test_empty_files_are_refused(cohort, data, problem):
    assert messages(rejected(cohort, data)) == [(1, problem)]


@pytest.mark.parametrize("row, expected", [
    ("ada@example.ac.uk,,student,,", "Missing name."),
    ("ada@example.ac.uk,   ,student,,", "Missing name."),
    ("ada@example.ac.uk," + "A" * 201 + ",student,,", "The name is longer than 200 characters."),
    (",Ada,student,,", "Missing e-mail address."),
    ("ada.example.ac.uk,Ada,student,,", "Invalid e-mail address 'ada.example.ac.uk'"),
    ("ada@@example.ac.uk,Ada,student,,", "Invalid e-mail address 'ada@@example.ac.uk'"),
    ("ada@example.ac.uk,Ada,teacher,,", "Unknown role 'teacher': use student or staff."),
    ("ada@example.ac.uk,Ada,coordinator,,", "Unknown role 'coordinator': use student or staff."),
    ("ada@example.ac.uk,Ada,,,", "Missing role: use student or staff."),
    ("ada@example.ac.uk,Ada,student,,3", "max_load applies to staff only."),
    ("ada@example.ac.uk,Ada,student,robotics,", "Expertise applies to staff only."),
    ("jo@example.ac.uk,Jo,staff,,four", "max_load must be a whole number from 0 to 50, not 'four'."),
    ("jo@example.ac.uk,Jo,staff,,-1", "max_load must be a whole number from 0 to 50, not '-1'."),
    ("jo@example.ac.uk,Jo,staff,,2.5", "max_load must be a whole number from 0 to 50, not '2.5'."),
    ("jo@example.ac.uk,Jo,staff,,51", "max_load must be a whole number from 0 to 50, not '51'."),
    # Digits that are not 0-9: str.isdigit() says yes, int() says no.
    ("jo@example.ac.uk,Jo,staff,,²", "max_load must be a whole number from 0 to 50, not '²'."),
    ("jo@example.ac.uk,Jo,staff,,٣", "max_load must be a whole number from 0 to 50, not '٣'."),
    ("ada@example.ac.uk,Ada,student,,,surplus", "The row has 1 more cell(s) than the header."),
    ("ada@example.ac.uk,Ada,student,,,,", "The row has 2 more cell(s) than the header."),
])
def test_each_problem_of_a_row_is_reported_with_its_line_number(cohort, row, expected):
    data = csv_file("good.one@example.ac.uk,Good One,student,,", row, "good.two@example.ac.uk,Good Two,staff,,")
    problems = messages(rejected(cohort, data))
    assert len(problems) == 1
    line, message = problems[0]
    assert line == 3
    assert message.startswith(expected)


@pytest.mark.parametrize("load", ["0", "50", " 7 "])
def test_max_load_boundaries_are_accepted(cohort, load):
    import_people(cohort, csv_file(f"jo@example.ac.uk,Jo,staff,,{load}"), by=None)
    assert User.by_email("jo@example.ac.uk").staff_profile.max_load == int(load)


def test_every_problem_of_every_row_is_listed_not_just_the_first(cohort):
    data = csv_file(
        "ok@example.ac.uk,Fine,student,,",
        "not-an-address,,wizard,,",
        "",
        "jo@example.ac.uk,Jo,staff,,lots",
    )
    exc = rejected(cohort, data)
    problems = messages(exc)
    assert [line for line, _ in problems] == [3, 3, 3, 5]
    assert problems[0][1].startswith("Invalid e-mail address 'not-an-address'")
    assert problems[1][1] == "Missing name."
    assert problems[2][1].startswith("Unknown role 'wizard'")
    assert problems[3][1].startswith("max_load must be a whole number")
    assert all(p.email for p in exc.problems)


def test_a_duplicate_email_in_the_file_names_both_lines(cohort):
    data = csv_file(
        "ada@example.ac.uk,Ada,student,,",
        "bo@example.ac.uk,Bo,student,,",
        " ADA@Example.ac.uk ,Ada again,staff,,",
    )
    [(line, message)] = messages(rejected(cohort, data))
    assert line == 4
    assert message == "Duplicate e-mail ada@example.ac.uk (also on line 2)."


def test_quoted_fields_across_lines_keep_the_line_numbers_of_the_file(cohort):
    data = csv_file(
        'ada@example.ac.uk,"Ada\nLovelace",student,,',       # lines 2-3
        'jo@example.ac.uk,Jo,staff,"robotics;\nvision\n",x',  # lines 4-6: bad max_load
        "broken-address,Bo,student,,",                       # line 7
    )
    problems = messages(rejected(cohort, data))
    assert [line for line, _ in problems] == [4, 7]

    ok = csv_file('ada@example.ac.uk,"Ada\nLovelace",student,,', "bo@example.ac.uk,Bo,student,,")
    import_people(cohort, ok, by=None)
    assert User.by_email("ada@example.ac.uk").name == "Ada Lovelace"


def test_an_unclosed_quote_is_refused_rather_than_swallowing_the_rest_of_the_file(cohort):
    # Read leniently, the quote would turn every later row into Jo's expertise and import only Jo.
    data = csv_file('jo@example.ac.uk,Jo,staff,"robotics', "ada@example.ac.uk,Ada,student,",
                    "bo@example.ac.uk,Bo,student,", header="email,name,role,expertise")
    assert messages(rejected(cohort, data)) == [(2, "A quoted cell that starts on this line is never closed: a \" "
                                                     "is missing, so the rest of the file would be read into it.")]


def test_text_after_a_closing_quote_is_reported_on_its_line(cohort):
    data = csv_file("ada@example.ac.uk,Ada,student,,", 'bo@example.ac.uk,"Bo" Jones,student,,')
    [(line, message)] = messages(rejected(cohort, data))
    assert line == 3
    assert message.startswith("The CSV cannot be read here") and "quotes" in message


def test_a_nul_byte_is_refused_with_its_line(cohort):
    # PostgreSQL cannot store NUL in text: without this check the import would fail there with a 500.
    data = csv_file("ada@example.ac.uk,Ada,student,,", "bo@example.ac.uk,Bo\x00,student,,")
    assert messages(rejected(cohort, data)) == [
        (3, "The file contains a NUL byte on line 3: it is not a CSV text file. Save it as “CSV UTF-8” and try again.")]


@pytest.mark.parametrize("start", [b"PK\x03\x04\x14\x00\x06\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"],
                         ids=["xlsx", "xls"])
def test_an_excel_workbook_is_refused_with_the_way_to_save_it_as_csv(cohort, start):
    [(line, message)] = messages(rejected(cohort, start + b"\x00" * 100))
    assert line == 1 and "Excel workbook" in message and "CSV UTF-8" in message


def test_one_bad_row_among_good_ones_writes_nothing_at_all(cohort, make):
    existing_staff = make.staff(make.cohort())
    rows = [f"s{i}@example.ac.uk,Student {i},student,," for i in range(50)]
    rows.insert(10, f"{existing_staff.email},{existing_staff.name},staff,,")
    rows.insert(30, "s999@example.ac.uk,Bad Role,professor,,")
    exc = rejected(cohort, csv_file(*rows))
    assert messages(exc) == [(32, "Unknown role 'professor': use student or staff.")]
    assert str(exc).startswith("Nothing was imported: 1 problem(s), the first on line 32")
    assert not db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id)).all()
    assert User.by_email("s0@example.ac.uk") is None


def test_importing_the_same_file_twice_adds_nobody_the_second_time(cohort):
    first = import_people(cohort, GOOD, by=None)
    db.session.commit()
    numbers = dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number)).all())
    before = counts()

    second = import_people(cohort, GOOD, by=None)
    db.session.commit()

    assert first.new_accounts == 4
    assert (second.new_accounts, second.students_enrolled, second.staff_added, second.already_in_cohort) == (0, 0, 0, 4)
    assert "4 already in the cohort (unchanged)" in second.summary()
    # Nothing changed, so nothing is recorded either (the same file sent twice at once is one import).
    assert counts() == before
    assert dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number)).all()) == numbers


def test_an_updated_list_adds_only_the_newcomers(cohort):
    import_people(cohort, GOOD, by=None)
    db.session.commit()
    report = import_people(cohort, GOOD + b"new@example.ac.uk,New Student,student,,\n", by=None)
    assert (report.new_accounts, report.students_enrolled, report.already_in_cohort) == (1, 1, 4)


def test_existing_accounts_are_reused_not_duplicated(cohort, make):
    last_year = make.cohort(year=2025)
    supervisor = make.staff(last_year, email="sup@example.ac.uk", name="Dr Sup", expertise=["nlp"], max_load=2)
    repeating = make.student(last_year, email="again@example.ac.uk", name="Al Again")
    users_before = counts()["User"]

    report = import_people(cohort, csv_file(
        "SUP@example.ac.uk,Someone Else,staff,robotics,9",
        "again@example.ac.uk,Al Again,student,,",
    ), by=None)
    db.session.commit()

    assert report.new_accounts == 0 and counts()["User"] == users_before
    assert (report.students_enrolled, report.staff_added) == (1, 1)
    # The account keeps its name and profile; the file does not overwrite them.
    db.session.refresh(supervisor)
    assert supervisor.name == "Dr Sup"
    assert (supervisor.staff_profile.expertise, supervisor.staff_profile.max_load) == (["nlp"], 2)
    cohorts_of_supervisor = db.session.scalars(select(CohortStaff.cohort_id).where(
        CohortStaff.user_id == supervisor.id)).all()
    assert sorted(cohorts_of_supervisor) == sorted([last_year.id, cohort.id])
    assert len(db.session.scalars(select(Enrolment).where(Enrolment.user_id == repeating.id)).all()) == 2


def test_rows_that_would_give_an_existing_account_a_new_role_are_listed_and_nothing_is_imported(cohort, make):
    # Found when the app was tried: a student of another cohort became staff, the admin a student.
    other_student = make.student(make.cohort(year=2025, code="AML"), email="other.student@example.ac.uk")
    admin = make.admin(email="admin.person@example.ac.uk")
    before = counts()

    with pytest.raises(RolesWouldChange) as info:
        import_people(cohort, csv_file(
            "ada@example.ac.uk,Ada,student,,",
            "other.student@example.ac.uk,Other Student,staff,vision,3",
            "admin.person@example.ac.uk,Admin Person,student,,",
        ), by=None)

    assert [(c.line, c.sentence()) for c in info.value.changes] == [
        (3, "other.student@example.ac.uk: a student in AML 2025-26 — would also become staff"),
        (4, "admin.person@example.ac.uk: an admin — would also become a student"),
    ]
    db.session.rollback()
    assert counts() == before
    db.session.refresh(other_student)
    db.session.refresh(admin)
    assert other_student.roles == {STUDENT} and admin.roles == {"admin"}


def test_confirmed_role_changes_are_made_with_the_import_and_audited(cohort, make):
    other_student = make.student(make.cohort(year=2025, code="AML"), email="other.student@example.ac.uk")
    admin = make.admin(email="admin.person@example.ac.uk")
    coordinator = make.coordinator()
    data = csv_file("ada@example.ac.uk,Ada,student,,", "other.student@example.ac.uk,Other Student,staff,vision,3",
                    "admin.person@example.ac.uk,Admin Person,student,,")

    report = import_people(cohort, data, by=coordinator, add_roles=frozenset({
        ("other.student@example.ac.uk", STAFF), ("admin.person@example.ac.uk", STUDENT)}))
    db.session.commit()

    assert (report.new_accounts, report.students_enrolled, report.staff_added) == (1, 2, 1)
    assert "2 existing accounts given a new role" in report.summary()
    db.session.refresh(other_student)
    db.session.refresh(admin)
    assert other_student.roles == {STUDENT, STAFF} and other_student.staff_profile.max_load == 3
    assert admin.roles == {"admin", STUDENT}
    assert cohort.is_student(admin)
    [imported] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "cohort.people_imported")).all()
    assert imported.after["roles_added"] == [
        "other.student@example.ac.uk: a student in AML 2025-26 — would also become staff",
        "admin.person@example.ac.uk: an admin — would also become a student"]
    changed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.updated")
                                 .order_by(AuditEvent.id)).all()
    assert [(e.object_id, e.actor_id, e.before["roles"], e.after["roles"]) for e in changed] == [
        (other_student.id, coordinator.id, ["student"], ["staff", "student"]),
        (admin.id, coordinator.id, ["admin"], ["admin", "student"])]


def test_a_confirmation_of_other_changes_than_the_file_makes_imports_nothing(cohort, make):
    make.student(make.cohort(year=2025), email="other.student@example.ac.uk")
    make.admin(email="admin.person@example.ac.uk")
    data = csv_file("other.student@example.ac.uk,Other Student,staff,,", "admin.person@example.ac.uk,Admin,student,,")
    before = counts()
    with pytest.raises(RolesWouldChange):
        import_people(cohort, data, by=None, add_roles=frozenset({("other.student@example.ac.uk", STAFF)}))
    db.session.rollback()
    assert counts() == before


def test_an_import_that_invites_records_one_job_for_its_new_accounts_and_mails_nobody_yet(cohort, make):
    make.staff(email="k.lee@example.ac.uk")
    report = import_people(cohort, GOOD, by=None, invite=True)
    db.session.commit()  # the test suite blocks mail: an e-mail sent here would fail the commit

    [job] = db.session.scalars(select(Job)).all()
    assert (job.kind, job.state, job.cohort_id) == ("invitations", "queued", cohort.id)
    assert sorted(job.params["user_ids"]) == sorted(report.new_user_ids)
    assert sorted(db.session.get(User, i).email for i in report.new_user_ids) == [
        "ada.student@example.ac.uk", "bo.student@example.ac.uk", "j.smith@example.ac.uk"]
    assert report.invitations_queued == 3


def test_a_deactivated_account_is_refused_until_an_admin_reactivates_it(cohort, make):
    make.staff(email="gone@example.ac.uk", active=False)
    exc = rejected(cohort, csv_file("ada@example.ac.uk,Ada,student,,", "gone@example.ac.uk,Gone,staff,,"))
    assert messages(exc) == [(3, "gone@example.ac.uk belongs to a deactivated account; "
                                 "an admin must reactivate it first.")]


def test_ten_thousand_rows_import_in_one_go(cohort):
    rows = [f"staff{i}@example.ac.uk,Dr Staff {i},staff,robotics;vision,{i % 8}" if i % 10 == 0
            else f'student{i}@example.ac.uk,"Student {i}, Jr",student,,' for i in range(10_000)]
    # Speed is bench/import_people.py's to measure; what a test can hold on any machine is that the
    # import talks to the database in batches, not once (or more) per row.
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 (before_cursor_execute's statement)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        report = import_people(cohort, csv_file(*rows), by=None, filename="faculty.csv")
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)

    assert (report.new_accounts, report.students_enrolled, report.staff_added) == (10_000, 9_000, 1_000)
    numbers = db.session.scalars(select(Enrolment.candidate_number).where(Enrolment.cohort_id == cohort.id)).all()
    assert len(numbers) == 9_000 == len(set(numbers))
    assert all(len(n) == 6 and n.isdigit() for n in numbers)
    assert User.by_email("student9999@example.ac.uk").name == "Student 9999, Jr"
    assert User.by_email("staff9990@example.ac.uk").staff_profile.max_load == 9990 % 8
    kinds = Counter(st.split("(")[0][:60] for st in statements)
    assert len(statements) < 500, f"10,000 rows took {len(statements)} SQL statements: {kinds.most_common(6)}"


def test_a_file_over_the_row_limit_is_refused(app, cohort):
    app.config["IMPORT_MAX_ROWS"] = 5
    rows = [f"s{i}@example.ac.uk,Student {i},student,," for i in range(6)]
    [(line, message)] = messages(rejected(cohort, csv_file(*rows)))
    assert line == 7
    assert message == "The file has more than 5 rows; split it."
    # Exactly at the limit is fine, blank lines do not count.
    assert import_people(cohort, csv_file(*rows[:3], "", *rows[3:5]), by=None).students_enrolled == 5


def test_the_row_limit_counts_rows_not_problems(app, cohort):
    app.config["IMPORT_MAX_ROWS"] = 3
    exc = rejected(cohort, csv_file("bad,,,,", "x@example.ac.uk,X,student,,", "y@example.ac.uk,Y,student,,"))
    assert all("more than" not in m for _, m in messages(exc))


def test_one_audit_event_per_import_names_the_file_and_the_counts(cohort, make):
    coordinator = make.coordinator()
    make.staff(email="k.lee@example.ac.uk")
    events_before = counts()["AuditEvent"]
    report = import_people(cohort, GOOD, by=coordinator, filename="i460-2026.csv")
    db.session.commit()

    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[events_before:]
    [event] = events
    assert (event.action, event.actor_id, event.cohort_id) == ("cohort.people_imported", coordinator.id, cohort.id)
    assert (event.object_type, event.object_id) == ("cohorts", cohort.id)
    assert "i460-2026.csv" in event.summary and report.summary() in event.summary
    assert event.after["file"] == "i460-2026.csv"
    assert event.after["new_accounts"] == 3
    assert event.after["students_enrolled"] == 2 and event.after["staff_added"] == 2
    assert sorted(event.after["students"]) == ["ada.student@example.ac.uk", "bo.student@example.ac.uk"]
    assert sorted(event.after["staff"]) == ["j.smith@example.ac.uk", "k.lee@example.ac.uk"]


# Names as people write them: commas, quotes, apostrophes, accents, scripts, line breaks inside a cell.
names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x00") | st.sampled_from(
        [",", '"', "'", ";", "\n", " ", "é", "ß", "王", "ا"]),
    min_size=1, max_size=60,
)


def _written(rows: list[list[str]], delimiter: str = ",") -> tuple[bytes, list[int]]:
    """The CSV text as a spreadsheet writes it, and the line each row starts on."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["email", "name", "role", "expertise", "max_load"])
    starts = []
    for row in rows:
        starts.append(out.getvalue().count("\n") + 1)
        writer.writerow(row)
    return out.getvalue().encode("utf-8-sig"), starts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(names.filter(lambda n: n.split()), min_size=1, max_size=8),
       delimiter=st.sampled_from([",", ";"]))
def test_any_name_round_trips_through_a_csv_writer(cohort, people, delimiter):
    rows = [[f"p{i}@example.ac.uk", name, "student", "", ""] for i, name in enumerate(people)]
    data, _ = _written(rows, delimiter)
    try:
        report = import_people(cohort, data, by=None)
        assert report.students_enrolled == len(people)
        for i, name in enumerate(people):
            assert User.by_email(f"p{i}@example.ac.uk").name == " ".join(name.split())
    finally:
        db.session.rollback()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(names.filter(lambda n: n.split()), min_size=1, max_size=8), data=st.data())
def test_a_bad_row_is_reported_on_the_line_it_starts_on_whatever_comes_before(cohort, people, data):
    bad = data.draw(st.integers(0, len(people) - 1))
    rows = [[f"p{i}@example.ac.uk", name, "wizard" if i == bad else "student", "", ""]
            for i, name in enumerate(people)]
    content, starts = _written(rows)
    problems = messages(rejected(cohort, content))
    assert problems == [(starts[bad], "Unknown role 'wizard': use student or staff.")]


def test_expertise_in_the_import_takes_commas_as_the_project_form_does(cohort):
    report = import_people(cohort, csv_file('k.staff@example.ac.uk,Dr K Staff,staff,"robotics, vision;nlp",3'),
                           by=None)
    db.session.commit()
    assert report.staff_added == 1
    staff = User.by_email("k.staff@example.ac.uk")
    assert staff.staff_profile.expertise == ["robotics", "vision", "nlp"]

