"""Invitations: the set-your-password link e-mailed to a new account (imported, or created by an admin).

An invitation is a ``PasswordReset`` with the purpose ``INVITATION``: the same one-time, hashed,
expiring link and the same page as a reset someone asks for, so there is one way a password is set
by e-mail. It lasts ``INVITATION_DAYS`` (the person did not ask for it and may read it days later);
sending a new one makes every earlier link of the account stop working.

Who has been invited is read from the links themselves (``invitation_states``), not kept in a column.
A big import invites its new accounts through the job runner (``queue_invitations``): thousands of
e-mails are not sent inside a web request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select, update

from ..core import audit, clock, jobs, mail
from ..core.errors import InvalidState
from ..extensions import db
from .models import INVITATION, RESET, PasswordReset, User

JOB_KIND = "invitations"
BATCH = 200  # the job commits (and so mails) this many invitations at a time, reporting progress


@dataclass(frozen=True)
class InvitationState:
    """Where an account stands with setting its password, in the coordinator's words."""

    kind: str  # deactivated, signed_in, password_set, not_invited, invited, expired, reset_asked, reset_expired
    label: str
    can_invite: bool  # an invitation (or a new one) may be sent


def why_not_invitable(user: User) -> str | None:
    """Why ``user`` cannot be sent an invitation, in a sentence, or None when they can."""
    if not user.is_active:
        return (f"{user.email} is deactivated: an admin must reactivate the account before it can be "
                "sent an invitation.")
    if user.password_hash is not None:
        return (f"{user.email} has already set a password, so no invitation was sent: they sign in with it "
                "(a forgotten one is reset with “Forgotten your password?” on the sign-in page).")
    return None


def invite(user: User, *, by: User | None, base_url: str, cohort=None) -> PasswordReset:
    """E-mail ``user`` a link to set their password; any earlier link of theirs stops working.

    Refused (InvalidState) for a deactivated account or one that has set its password already."""
    refusal = why_not_invitable(user)
    if refusal is not None:
        raise InvalidState(refusal)
    now = clock.now()
    invited_before = db.session.scalar(select(func.count()).select_from(PasswordReset).where(
        PasswordReset.user_id == user.id, PasswordReset.purpose == INVITATION)) > 0
    db.session.execute(update(PasswordReset)
                       .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                       .values(used_at=now))
    token = secrets.token_urlsafe(32)
    days = current_app.config["INVITATION_DAYS"]
    link = PasswordReset(user_id=user.id, token_hash=PasswordReset.hash_token(token), created_at=now,
                         expires_at=now + timedelta(days=days), purpose=INVITATION)
    db.session.add(link)
    # Named by type and id rather than passed as an object: a 10,000-person import invites in batches,
    # and passing the object would flush the session once per person.
    audit.record("user.invitation_resent" if invited_before else "user.invited", actor=by, cohort=cohort,
                 object_type="users", object_id=user.id,
                 summary=f"{'Sent a new invitation' if invited_before else 'Invited'} {user.email} "
                         f"to set a password (link valid for {days} days)",
                 after={"expires_at": link.expires_at})
    mail.queue(mail.build(user.email, "Welcome to projectflow: set your password", "invitation",
                          user=user, link=f"{base_url.rstrip('/')}/password/reset/{token}", days=days,
                          cohort=cohort, by=by))
    return link


def invite_many(user_ids: list[int], *, by: User | None, base_url: str, cohort=None,
                after_batch=lambda done, total: None) -> int:
    """Invite every account of ``user_ids`` that can still be invited (the others are skipped: they
    set a password, or were deactivated, since); returns how many were invited. ``after_batch`` is
    called after each batch of ``BATCH`` (the job commits there, so the mail goes out as it goes)."""
    invited = 0
    total = len(user_ids)
    for start in range(0, total, BATCH):
        chunk = user_ids[start:start + BATCH]
        for user in db.session.scalars(select(User).where(User.id.in_(chunk)).order_by(User.id)):
            if why_not_invitable(user) is None:
                invite(user, by=by, base_url=base_url, cohort=cohort)
                invited += 1
        after_batch(min(start + BATCH, total), total)
    return invited


def queue_invitations(user_ids: list[int], *, by: User | None, cohort=None) -> jobs.Job | None:
    """Record a job that invites these accounts; the scheduler sends the e-mails once this commits."""
    if not user_ids:
        return None
    return jobs.enqueue(JOB_KIND, {"user_ids": list(user_ids)}, cohort=cohort, by=by)


def _run_job(job: jobs.Job, progress: jobs.Progress) -> str:
    from ..cohorts.models import Cohort  # cohorts build on people, not the other way round

    by = db.session.get(User, job.created_by_id) if job.created_by_id else None
    cohort = db.session.get(Cohort, job.cohort_id) if job.cohort_id else None

    def after_batch(done: int, total: int) -> None:
        db.session.commit()  # this batch's links are stored and its e-mails sent
        progress(100 * done // max(total, 1), f"Invited {done} of {total} new accounts")

    ids = list(job.params.get("user_ids", []))
    invited = invite_many(ids, by=by, base_url=current_app.config["BASE_URL"], cohort=cohort,
                          after_batch=after_batch)
    skipped = len(ids) - invited
    return (f"Invited {invited} new account{'s' if invited != 1 else ''}"
            + (f"; {skipped} had set a password or been deactivated meanwhile" if skipped else "") + ".")


jobs.register(JOB_KIND, _run_job)


def _day(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b}"


def state_of(user: User, latest: PasswordReset | None, now: datetime, zone: ZoneInfo) -> InvitationState:
    """The account's state from its newest password link (``latest``) and its own fields."""
    if not user.is_active:
        return InvitationState("deactivated", "Deactivated", False)
    if user.last_login_at is not None:
        return InvitationState("signed_in", "Signed in", False)
    if user.password_hash is not None:
        return InvitationState("password_set", "Password set", False)
    if latest is None or latest.used_at is not None:
        return InvitationState("not_invited", "Not invited", True)
    live = latest.expires_at > now
    if latest.purpose == RESET:  # the person asked for a link themselves, after or instead of one
        return (InvitationState("reset_asked", f"Asked for a password link {_day(latest.created_at, zone)}", True)
                if live else InvitationState("reset_expired", "Password link expired", True))
    if live:
        return InvitationState("invited", f"Invited {_day(latest.created_at, zone)}, "
                                          f"expires {_day(latest.expires_at, zone)}", True)
    return InvitationState("expired", f"Invitation expired {_day(latest.expires_at, zone)}", True)


def invitation_states(users, zone: ZoneInfo | str = "Europe/London", among=None) -> dict[int, InvitationState]:
    """Each user's ``InvitationState`` by id, from their newest links: one query per 500 people, or one
    query in all when ``among`` is a SELECT of their ids (a cohort's people, however many)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    users = list(users)
    ids = [u.id for u in users]
    groups = [among] if among is not None else [ids[i:i + 500] for i in range(0, len(ids), 500)]
    latest: dict[int, PasswordReset] = {}
    for group in groups:  # lists well below every database's parameter limit
        newest = (select(func.max(PasswordReset.id)).where(PasswordReset.user_id.in_(group))
                  .group_by(PasswordReset.user_id))
        latest.update((r.user_id, r) for r in db.session.scalars(
            select(PasswordReset).where(PasswordReset.id.in_(newest))))
    now = clock.now()
    return {u.id: state_of(u, latest.get(u.id), now, zone) for u in users}
