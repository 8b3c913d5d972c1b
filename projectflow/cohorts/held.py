"""People imports held for the coordinator: a file whose rows would give existing accounts a role they do
not hold (a student of another cohort listed as staff, the admin listed as a student) is kept as sent,
and nothing is imported until the coordinator confirms those role changes, or abandons the file.

Confirming checks the kept file again against the accounts as they are then: the coordinator confirms
exactly the changes the page showed, or is shown the list again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select

from ..core import audit, clock, once
from ..core.errors import InvalidState
from ..core.text import counted
from ..extensions import db
from ..people.models import User
from . import importing
from .importing import ImportRejected, ImportReport, RoleChange, RolesWouldChange, RowProblem
from .models import Cohort, PeopleImport


@dataclass
class Review:
    """What confirming a held import would do now: the role changes, or why it cannot be imported."""

    changes: list[RoleChange] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """Names the list of changes shown, so that a confirmation is of exactly that list."""
        listed = "\n".join(sorted(f"{c.email} {c.role}" for c in self.changes))
        return hashlib.sha256(listed.encode()).hexdigest()


class ChangedSinceShown(InvalidState):
    """The accounts changed between the page and the confirmation: ``review`` is the list as it is now."""

    def __init__(self, review: Review):
        super().__init__("The accounts in this file changed since the list was shown, so nothing was imported. "
                         "Check the list as it is now, then confirm again.")
        self.review = review


def import_or_hold(cohort: Cohort, data: bytes, *, by: User, filename: str) -> ImportReport | PeopleImport:
    """Import the file (inviting its new accounts), or hold it when rows would change existing
    accounts' roles. Malformed rows and deactivated accounts are refused (ImportRejected) either way."""
    try:
        return importing.import_people(cohort, data, by=by, filename=filename, invite=True)
    except RolesWouldChange as exc:
        return hold_import(cohort, data, by=by, filename=filename, changes=exc.changes)


def hold_import(cohort: Cohort, data: bytes, *, by: User | None, filename: str,
                changes: list[RoleChange]) -> PeopleImport:
    """Keep the file for the coordinator to confirm; the same file uploaded again while it waits is the
    same held import (the caller holds the cohort's lock, see ``import_people``)."""
    digest = hashlib.sha256(data).hexdigest()
    waiting = db.session.scalar(select(PeopleImport).where(
        PeopleImport.cohort_id == cohort.id, PeopleImport.sha256 == digest,
        PeopleImport.confirmed_at.is_(None), PeopleImport.abandoned_at.is_(None)))
    if waiting is not None:
        return waiting
    held = PeopleImport(cohort_id=cohort.id, uploaded_by_id=getattr(by, "id", None), filename=filename[:255],
                        content=data, sha256=digest, created_at=clock.now())
    db.session.add(held)
    audit.record("cohort.people_import_held", held, actor=by, cohort=cohort,
                 summary=f"Held {filename} for confirmation: {counted(len(changes), 'row')} would give an "
                         "existing account a new role",
                 after={"file": filename, "sha256": digest, "role_changes": [c.sentence() for c in changes]})
    return held


def open_imports(cohort: Cohort) -> list[PeopleImport]:
    """The cohort's held imports still waiting for a decision, oldest first."""
    return list(db.session.scalars(select(PeopleImport).where(
        PeopleImport.cohort_id == cohort.id, PeopleImport.confirmed_at.is_(None),
        PeopleImport.abandoned_at.is_(None)).order_by(PeopleImport.id)))


def review(held: PeopleImport) -> Review:
    """The kept file checked against the accounts as they are now."""
    try:
        rows = importing.parse(importing.decode(held.content))
        changes = importing.check_accounts(rows, importing._existing_users([r.email for r in rows]))
    except ImportRejected as exc:
        return Review(problems=exc.problems)
    return Review(changes=changes)


def _require_waiting(held: PeopleImport) -> None:
    zone = held.cohort.zone
    if held.confirmed_at is not None:
        raise InvalidState(f"This import was already confirmed ({held.confirmed_at.astimezone(zone):%d %b %Y %H:%M}): "
                           "its people are in the cohort.")
    if held.abandoned_at is not None:
        raise InvalidState(f"This import was abandoned ({held.abandoned_at.astimezone(zone):%d %b %Y %H:%M}): "
                           "nothing from it was imported. Upload the file again to start over.")


def confirm_import(held: PeopleImport, *, seen: str, by: User) -> ImportReport:
    """Add the roles the coordinator saw (``seen`` is the digest of that list), then import the whole
    file and invite its new accounts. Refused when it was decided already (InvalidState), when the
    file no longer imports (ImportRejected) or when the list changed since it was shown (ChangedSinceShown)."""
    once.lock(held)  # three confirmations at once: the second and third find it confirmed
    _require_waiting(held)
    if hashlib.sha256(held.content).hexdigest() != held.sha256:
        raise InvalidState("The kept file does not match what was uploaded: abandon it and upload the file again.")
    cohort = held.cohort
    once.lock(cohort)  # the accounts are checked and changed under the same lock the import takes
    now = review(held)
    if now.problems:
        raise ImportRejected(now.problems)
    if now.digest != seen:
        raise ChangedSinceShown(now)
    try:
        report = importing.import_people(cohort, held.content, by=by, filename=held.filename,
                                         add_roles=frozenset((c.email, c.role) for c in now.changes), invite=True)
    except RolesWouldChange:
        raise ChangedSinceShown(review(held)) from None
    held.confirmed_at = clock.now()
    audit.record("cohort.people_import_confirmed", held, actor=by, cohort=cohort,
                 summary=f"Confirmed the held import of {held.filename}: {report.summary()}",
                 after={"file": held.filename, "roles_added": [c.sentence() for c in report.roles_added]})
    return report


def abandon_import(held: PeopleImport, *, by: User) -> PeopleImport:
    """Drop a held import: nothing from it is imported."""
    once.lock(held)
    _require_waiting(held)
    held.abandoned_at = clock.now()
    audit.record("cohort.people_import_abandoned", held, actor=by, cohort=held.cohort,
                 summary=f"Abandoned the held import of {held.filename}: nothing was imported",
                 after={"file": held.filename})
    return held
