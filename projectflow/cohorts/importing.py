"""Importing a cohort's students and staff from a CSV file.

Every row is checked before anything is written; one bad row rejects the whole file, with each
problem reported by line number. The same function serves the web page and the CLI command.

Columns (header row required, any order, case-insensitive): ``email``, ``name``, ``role``
(``student`` or ``staff``); optional ``expertise`` (keywords separated by ``;`` or, in a quoted cell, ``,``) and ``max_load``
(staff). People who already have an account keep it and are added to the cohort; people already in the
cohort are left as they are, so importing an updated list again is safe.

A row that would give an existing account a role it does not hold (a student of another cohort listed as
staff, the admin listed as a student) is not imported silently: ``import_people`` raises
``RolesWouldChange`` unless told ``add_roles``, and the web page holds the file for the coordinator to
confirm (``held.py``). New accounts are invited to set a password by the job runner (``invite``).
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from ..core import audit, clock, once
from ..core.errors import InvalidState, ValidationFailed
from ..core.text import counted, split_keywords
from ..extensions import db
from ..people import invitations
from ..people.models import (ADMIN, COORDINATOR, STAFF, STUDENT, StaffProfile, User, UserRole,
                             normalise_email)
from ..people.services import clean_keywords, user_snapshot
from .models import Cohort, CohortStaff, Enrolment
from .services import new_candidate_numbers

REQUIRED_COLUMNS = ("email", "name", "role")
OPTIONAL_COLUMNS = ("expertise", "max_load")
IMPORT_ROLES = (STUDENT, STAFF)
MAX_LOAD_LIMIT = 50


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str
    email: str = ""


@dataclass(frozen=True)
class PersonRow:
    line: int
    email: str
    name: str
    role: str
    expertise: tuple[str, ...] = ()
    max_load: int | None = None


@dataclass(frozen=True)
class RoleChange:
    """A row whose existing account does not hold the row's role: importing it would add the role."""

    line: int
    email: str
    role: str
    user_id: int
    holds: str  # what the account is now, e.g. "a student in I460 2025-26"

    @property
    def becomes(self) -> str:
        return "a student" if self.role == STUDENT else "staff"

    def sentence(self) -> str:
        return f"{self.email}: {self.holds} — would also become {self.becomes}"


@dataclass
class ImportReport:
    new_accounts: int = 0
    students_enrolled: int = 0
    staff_added: int = 0
    already_in_cohort: int = 0
    emails: dict[str, list[str]] = field(default_factory=lambda: {"students": [], "staff": []})
    new_user_ids: list[int] = field(default_factory=list)
    roles_added: list[RoleChange] = field(default_factory=list)
    invitations_queued: int = 0

    def summary(self) -> str:
        parts = [counted(self.students_enrolled, "student enrolled"), f"{self.staff_added} staff added",
                 counted(self.new_accounts, "new account", "new accounts")]
        if self.roles_added:
            parts.append(counted(len(self.roles_added), "existing account given a new role",
                                 "existing accounts given a new role"))
        if self.already_in_cohort:
            parts.append(f"{self.already_in_cohort} already in the cohort (unchanged)")
        return ", ".join(parts)


class RolesWouldChange(InvalidState):
    """The file is good, but some rows would give existing accounts a role they do not hold: nothing
    was imported; ``changes`` lists those rows for the coordinator to confirm."""

    def __init__(self, changes: list[RoleChange]):
        super().__init__(f"Nothing was imported: {counted(len(changes), 'row')} would give an existing account "
                         "a new role. Confirm those changes, or remove the rows.")
        self.changes = changes


class ImportRejected(ValidationFailed):
    """The file was not imported; ``problems`` says why, line by line."""

    def __init__(self, problems: list[RowProblem]):
        first = problems[0]
        super().__init__(f"Nothing was imported: {len(problems)} problem(s), the first on line "
                         f"{first.line}: {first.message}")
        self.problems = problems


def decode(data: bytes) -> str:
    """UTF-8 text with or without a byte-order mark; a clear refusal for anything else."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise ImportRejected([RowProblem(1, "This is an Excel workbook, not a CSV file. In Excel: File > Save As > "
                                            "CSV UTF-8, then import that file.")])
    # UTF-16 without a byte-order mark decodes as "UTF-8" full of NUL bytes, which no CSV contains
    # (and PostgreSQL cannot store), so NUL bytes are refused wherever they are.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:200].count(0) > len(data[:200]) // 4:
        raise ImportRejected([RowProblem(1, "The file is UTF-16 text. Save it as “CSV UTF-8” and try again.")])
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ImportRejected([RowProblem(line, f"The file contains a NUL byte on line {line}: it is not a "
                                               "CSV text file. Save it as “CSV UTF-8” and try again.")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRejected([RowProblem(
            line, f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}). "
                  "Save it as “CSV UTF-8” (in Excel: File > Save As > CSV UTF-8) and try again.")]) from None


def parse(text: str) -> list[PersonRow]:
    """Check every row; return them all, or raise ImportRejected listing every problem."""
    if not text.strip():
        raise ImportRejected([RowProblem(1, "The file is empty.")])
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    # strict: an unclosed quote is an error, not a cell that silently swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        raise ImportRejected([RowProblem(1, f"The header row cannot be read: {exc}.")]) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [h for h in header if h not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if missing or unknown or repeated:
        bits = []
        if missing:
            bits.append("missing column(s): " + ", ".join(missing))
        if unknown:
            bits.append("unknown column(s): " + ", ".join(h or "(blank)" for h in unknown))
        if repeated:
            bits.append("repeated column(s): " + ", ".join(repeated))
        raise ImportRejected([RowProblem(1, "Wrong header row (" + "; ".join(bits) + "). The columns are "
                                         + ", ".join(REQUIRED_COLUMNS) + " and optionally "
                                         + ", ".join(OPTIONAL_COLUMNS) + ".")])

    max_rows = current_app.config["IMPORT_MAX_ROWS"]
    rows: list[PersonRow] = []
    problems: list[RowProblem] = []
    first_seen: dict[str, int] = {}
    seen_rows = 0
    # A quoted cell may span lines: a row is reported on the line it starts on, as an editor shows it.
    start = reader.line_num + 1
    try:
        for values in reader:
            line, start = start, reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if seen_rows >= max_rows:
                problems.append(RowProblem(line, f"The file has more than {max_rows} rows; split it."))
                break
            seen_rows += 1
            row, row_problems = _check_row(line, dict(zip(header, values)), len(values) - len(header))
            if row is not None:
                if row.email in first_seen:
                    row_problems.append(RowProblem(
                        line, f"Duplicate e-mail {row.email} (also on line {first_seen[row.email]}).", row.email))
                else:
                    first_seen[row.email] = line
            if row_problems:
                problems.extend(row_problems)
            elif row is not None:
                rows.append(row)
    except csv.Error as exc:
        problems.append(RowProblem(start, _unreadable(exc)))
    if problems:
        raise ImportRejected(problems)
    if not rows:
        raise ImportRejected([RowProblem(1, "The file has a header but no people.")])
    return rows


def _unreadable(exc: csv.Error) -> str:
    if "unexpected end of data" in str(exc):
        return ("A quoted cell that starts on this line is never closed: a \" is missing, so the rest of "
                "the file would be read into it.")
    return f"The CSV cannot be read here ({exc}). Check the quotes (\") on this row."


def _check_row(line: int, cells: dict[str, str], extra_cells: int) -> tuple[PersonRow | None, list[RowProblem]]:
    problems = []
    raw_email = (cells.get("email") or "").strip()
    name = " ".join((cells.get("name") or "").split())
    role = (cells.get("role") or "").strip().lower()
    email = normalise_email(raw_email)
    if extra_cells > 0:
        problems.append(RowProblem(line, f"The row has {extra_cells} more cell(s) than the header.", email))
    if not raw_email:
        problems.append(RowProblem(line, "Missing e-mail address.", email))
    else:
        try:
            validate_email(raw_email, check_deliverability=False)
        except EmailNotValidError as exc:
            problems.append(RowProblem(line, f"Invalid e-mail address {raw_email!r}: {exc}", email))
    if not name:
        problems.append(RowProblem(line, "Missing name.", email))
    elif len(name) > 200:
        problems.append(RowProblem(line, "The name is longer than 200 characters.", email))
    if role not in IMPORT_ROLES:
        shown = f"unknown role {role!r}" if role else "missing role"
        problems.append(RowProblem(line, f"{shown.capitalize()}: use student or staff.", email))
    max_load = None
    raw_load = (cells.get("max_load") or "").strip()
    if raw_load:
        if role != STAFF:
            problems.append(RowProblem(line, "max_load applies to staff only.", email))
        elif not (raw_load.isascii() and raw_load.isdigit()) or int(raw_load) > MAX_LOAD_LIMIT:
            problems.append(RowProblem(
                line, f"max_load must be a whole number from 0 to {MAX_LOAD_LIMIT}, not {raw_load!r}.", email))
        else:
            max_load = int(raw_load)
    expertise = tuple(clean_keywords(split_keywords(cells.get("expertise") or "")))
    if expertise and role == STUDENT:
        problems.append(RowProblem(line, "Expertise applies to staff only.", email))
    if problems:
        return (PersonRow(line, email, name, role) if email else None), problems
    return PersonRow(line, email, name, role, expertise, max_load), []


def _existing_users(emails: list[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for start in range(0, len(emails), 500):  # stay well below every database's parameter limit
        chunk = emails[start:start + 500]
        found.update((u.email, u) for u in db.session.scalars(
            select(User).where(User.email.in_(chunk)).options(selectinload(User.role_rows))))
    return found


def check_accounts(rows: list[PersonRow], existing: dict[str, User]) -> list[RoleChange]:
    """Refuse rows of deactivated accounts (ImportRejected); return the rows that would give an
    existing account a role it does not hold, each saying what the account is now."""
    problems = [RowProblem(r.line, f"{r.email} belongs to a deactivated account; an admin must reactivate "
                                   "it first.", r.email)
                for r in rows if r.email in existing and not existing[r.email].is_active]
    if problems:
        raise ImportRejected(problems)
    changing = [r for r in rows if r.email in existing and r.role not in existing[r.email].roles]
    if not changing:
        return []
    described = describe_accounts([existing[r.email] for r in changing])
    return [RoleChange(r.line, r.email, r.role, existing[r.email].id, described[existing[r.email].id])
            for r in changing]


def describe_accounts(users: list[User]) -> dict[int, str]:
    """What each account is now, as a coordinator would say it: "a student in I460 2025-26",
    "staff in I460 2025-26; coordinator of I460 2025-26", "an admin"."""
    ids = [u.id for u in users]
    studies: dict[int, list[str]] = {}
    works: dict[int, list[tuple[str, bool]]] = {}
    for user_id, code, year in db.session.execute(
            select(Enrolment.user_id, Cohort.programme_code, Cohort.academic_year)
            .join(Cohort, Cohort.id == Enrolment.cohort_id).where(Enrolment.user_id.in_(ids))
            .order_by(Cohort.academic_year, Cohort.programme_code)):
        studies.setdefault(user_id, []).append(_cohort_name(code, year))
    for user_id, code, year, leads in db.session.execute(
            select(CohortStaff.user_id, Cohort.programme_code, Cohort.academic_year, CohortStaff.is_coordinator)
            .join(Cohort, Cohort.id == CohortStaff.cohort_id).where(CohortStaff.user_id.in_(ids))
            .order_by(Cohort.academic_year, Cohort.programme_code)):
        works.setdefault(user_id, []).append((_cohort_name(code, year), leads))
    described = {}
    for user in users:
        bits = []
        if STUDENT in user.roles:
            bits.append("a student" + (" in " + ", ".join(studies[user.id]) if user.id in studies else ""))
        if STAFF in user.roles:
            bits.append("staff" + (" in " + ", ".join(n for n, _ in works[user.id]) if user.id in works else ""))
        if COORDINATOR in user.roles:
            led = [n for n, leads in works.get(user.id, []) if leads]
            bits.append("coordinator of " + ", ".join(led) if led else "a coordinator")
        if ADMIN in user.roles:
            bits.append("an admin")
        described[user.id] = "; ".join(bits) or "an account with no role"
    return described


def _cohort_name(code: str, year: int) -> str:
    return f"{code} {year}-{(year + 1) % 100:02d}"


def import_people(cohort: Cohort, data: bytes, *, by: User | None, filename: str = "upload.csv",
                  rng: random.Random | None = None, add_roles: bool | frozenset[tuple[str, str]] = False,
                  invite: bool = False) -> ImportReport:
    """Validate the whole file, then enrol its students and add its staff in one go.

    Rows that would give an existing account a role it does not hold raise ``RolesWouldChange``
    (nothing imported) unless ``add_roles`` allows them: True allows any (the CLI's ``--add-roles``),
    a set of (e-mail, role) pairs exactly those the coordinator was shown. Each role added is audited.
    ``invite`` records a job that e-mails each new account an invitation to set its password.
    ``rng`` draws the candidate numbers (a seeded one makes the demo reproducible)."""
    rows = parse(decode(data))
    # The same file sent twice at once: the second waits here, then finds everyone in the cohort.
    once.lock(cohort)
    existing = _existing_users([r.email for r in rows])
    changes = check_accounts(rows, existing)
    allowed = add_roles if isinstance(add_roles, (set, frozenset)) else None
    if changes and (not add_roles or (allowed is not None and not {(c.email, c.role) for c in changes} <= allowed)):
        raise RolesWouldChange(changes)
    for change in changes:
        _add_role(existing[change.email], change, by=by, cohort=cohort)

    enrolled = set(db.session.scalars(select(Enrolment.user_id).where(Enrolment.cohort_id == cohort.id)))
    on_staff = set(db.session.scalars(select(CohortStaff.user_id).where(CohortStaff.cohort_id == cohort.id)))
    report = ImportReport()
    now = clock.now()
    # New accounts, their roles and staff profiles, enrolments and staff places are inserted a batch at
    # a time (INSERT ... RETURNING for the accounts' ids): one row at a time, 10,000 rows would be
    # 20,000 round trips to the database.
    ids = {email: user.id for email, user in existing.items()}
    fresh = list({r.email: r for r in rows if r.email not in existing}.values())
    for start in range(0, len(fresh), BATCH):
        chunk = fresh[start:start + BATCH]
        ids.update((email, uid) for uid, email in db.session.execute(
            insert(User).returning(User.id, User.email),
            [{"email": r.email, "name": r.name, "is_active": True, "created_at": now} for r in chunk]))
    _insert(UserRole, [{"user_id": ids[r.email], "role": r.role} for r in fresh])
    _insert(StaffProfile, [{"user_id": ids[r.email], "expertise": list(r.expertise),
                            **({"max_load": r.max_load} if r.max_load is not None else {})}
                           for r in fresh if r.role == STAFF])
    report.new_accounts = len(fresh)
    report.new_user_ids = [ids[r.email] for r in fresh]
    report.roles_added = changes

    students = [r.email for r in rows if r.role == STUDENT and ids[r.email] not in enrolled]
    students = list(dict.fromkeys(students))
    numbers = new_candidate_numbers(cohort, len(students), rng=rng)
    _insert(Enrolment, [{"cohort_id": cohort.id, "user_id": ids[email], "candidate_number": number, "created_at": now}
                        for email, number in zip(students, numbers)])
    report.emails["students"].extend(students)
    staff_rows = []
    for r in rows:
        uid = ids[r.email]
        if r.role != STAFF or uid in on_staff:
            continue
        user = existing.get(r.email)
        if user is not None and user.staff_profile is None:  # an existing account newly on staff
            user.staff_profile = StaffProfile(expertise=list(r.expertise),
                                              **({"max_load": r.max_load} if r.max_load is not None else {}))
        staff_rows.append({"cohort_id": cohort.id, "user_id": uid})
        on_staff.add(uid)
        report.emails["staff"].append(r.email)
    db.session.flush()
    _insert(CohortStaff, staff_rows)
    report.students_enrolled = len(report.emails["students"])
    report.staff_added = len(report.emails["staff"])
    report.already_in_cohort = len(rows) - report.students_enrolled - report.staff_added
    if not (report.new_accounts or report.students_enrolled or report.staff_added or changes):
        return report  # nothing changed: nothing to record
    audit.record("cohort.people_imported", cohort, actor=by, cohort=cohort,
                 summary=f"Imported {filename} into {cohort.title}: {report.summary()}",
                 after={"file": filename, "new_accounts": report.new_accounts,
                        "students_enrolled": report.students_enrolled, "staff_added": report.staff_added,
                        "already_in_cohort": report.already_in_cohort, **report.emails,
                        **({"roles_added": [c.sentence() for c in changes]} if changes else {})})
    if invite and report.new_user_ids:
        # One job, not thousands of e-mails inside this request: the scheduler sends them in batches.
        invitations.queue_invitations(report.new_user_ids, by=by, cohort=cohort)
        report.invitations_queued = len(report.new_user_ids)
    db.session.flush()
    # Rows were added by foreign key, not through the cohort's collections: reload those when next read.
    db.session.expire(cohort, ["enrolments", "staff"])
    return report


BATCH = 1000  # rows per INSERT: well below every database's parameter limit


def _insert(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start:start + BATCH])


def _add_role(user: User, change: RoleChange, *, by: User | None, cohort: Cohort) -> None:
    """Give an existing account the row's role, as the coordinator confirmed (audited on the account)."""
    before = user_snapshot(user)
    user.set_roles(user.roles | {change.role})
    audit.record("user.updated", actor=by, cohort=cohort, object_type="users", object_id=user.id,
                 summary=f"{user.email} became {change.becomes} through a people import into {cohort.title} "
                         f"(was {change.holds})",
                 before=before, after=user_snapshot(user))
