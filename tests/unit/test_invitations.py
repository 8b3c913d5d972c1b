"""Invitation rules: who can be invited, what state the people list reads from the links, and the job
that invites an import's new accounts in batches."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from projectflow.cohorts.importing import import_people
from projectflow.core import clock, jobs, mail
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState
from projectflow.extensions import db
from projectflow.people import invitations
from projectflow.people.models import INVITATION, RESET, PasswordReset, User

NOW = datetime(2026, 12, 3, 10, tzinfo=timezone.utc)
LONDON = ZoneInfo("Europe/London")


def link(purpose: str, created: timedelta, expires: timedelta, used: bool = False) -> PasswordReset:
    return PasswordReset(user_id=1, token_hash="x", purpose=purpose, created_at=NOW - created,
                         expires_at=NOW + expires, used_at=NOW if used else None)


def person(**fields) -> User:
    return User(email="p@example.ac.uk", name="P", is_active=fields.get("active", True),
                password_hash=fields.get("password"), last_login_at=fields.get("login"))


@pytest.mark.parametrize("user, latest, expected", [
    (person(), None, ("not_invited", "Not invited", True)),
    (person(), link(INVITATION, timedelta(0), timedelta(days=14)), ("invited", "Invited 3 Dec, expires 17 Dec", True)),
    (person(), link(INVITATION, timedelta(days=14), timedelta(seconds=1)), ("invited", "Invited 19 Nov, expires 3 Dec", True)),
    (person(), link(INVITATION, timedelta(days=14), timedelta(0)), ("expired", "Invitation expired 3 Dec", True)),
    (person(), link(RESET, timedelta(hours=1), timedelta(hours=1)), ("reset_asked", "Asked for a password link 3 Dec", True)),
    (person(), link(RESET, timedelta(hours=3), -timedelta(hours=1)), ("reset_expired", "Password link expired", True)),
    (person(), link(INVITATION, timedelta(days=1), timedelta(days=13), used=True), ("not_invited", "Not invited", True)),
    (person(password="$argon2id$x"), None, ("password_set", "Password set", False)),
    (person(password="$argon2id$x", login=NOW), None, ("signed_in", "Signed in", False)),
    (person(active=False), link(INVITATION, timedelta(0), timedelta(days=14)), ("deactivated", "Deactivated", False)),
], ids=["none", "invited", "last second", "expired", "reset asked", "reset expired", "replaced", "password set",
        "signed in", "deactivated"])
def test_the_state_is_read_from_the_newest_link_and_the_account(user, latest, expected):
    state = invitations.state_of(user, latest, NOW, LONDON)
    assert (state.kind, state.label, state.can_invite) == expected


def test_an_invitation_is_refused_to_an_account_with_a_password_or_deactivated(app, make):
    with_password = make.student()
    gone = make.student(password=None, active=False)
    with pytest.raises(InvalidState, match="has already set a password"):
        invitations.invite(with_password, by=None, base_url="http://x")
    with pytest.raises(InvalidState, match="is deactivated"):
        invitations.invite(gone, by=None, base_url="http://x")
    assert db.session.scalars(select(PasswordReset)).all() == []


def test_a_new_invitation_replaces_every_earlier_link_and_is_audited_as_resent(app, make):
    ada = make.student(password=None)
    with app.test_request_context():
        first = invitations.invite(ada, by=None, base_url="http://x")
        second = invitations.invite(ada, by=None, base_url="http://x")
    mail.discard_queued()
    db.session.flush()
    db.session.refresh(first)
    assert first.used_at is not None and second.used_at is None
    assert second.expires_at - second.created_at == timedelta(days=14)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == ada.id)
                                 .order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["user.invited", "user.invitation_resent"]


def test_the_job_invites_the_import_s_new_accounts_in_batches_skipping_those_who_set_a_password(
        app, make, smtp_server, monkeypatch):
    monkeypatch.setattr(invitations, "BATCH", 2)
    cohort = make.cohort()
    rows = "".join(f"s{i}@example.ac.uk,Student {i},student\n" for i in range(5))
    report = import_people(cohort, ("email,name,role\n" + rows).encode(), by=None, invite=True)
    db.session.commit()
    early = User.by_email("s3@example.ac.uk")
    early.password_hash = "$argon2id$set-by-another-link"
    db.session.commit()

    assert jobs.run_pending() == 1

    messages = smtp_server.wait_for(4)
    assert sorted(m["To"] for m in messages) == [f"s{i}@example.ac.uk" for i in (0, 1, 2, 4)]
    [job] = db.session.scalars(select(jobs.Job)).all()
    assert job.state == "done" and job.progress == 100
    assert job.message == "Invited 4 new accounts; 1 had set a password or been deactivated meanwhile."
    states = invitations.invitation_states(db.session.get(User, i) for i in report.new_user_ids)
    assert sorted(s.kind for s in states.values()) == ["invited"] * 4 + ["password_set"]
