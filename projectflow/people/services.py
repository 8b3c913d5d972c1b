"""Accounts: signing in, password resets, and the admin's changes to users and their roles."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from ..core import audit, clock, mail, once
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..core.passwords import hash_password, needs_rehash, verify_password
from ..extensions import db
from . import invitations
from .models import ADMIN, INVITATION, STAFF, PasswordReset, StaffProfile, User, UserRole, normalise_email

USER_AUDIT_FIELDS = ["email", "name", "is_active", "roles", "expertise", "max_load"]


def user_snapshot(user: User) -> dict:
    profile = user.staff_profile
    return {
        "email": user.email, "name": user.name, "is_active": user.is_active,
        "roles": sorted(user.roles),
        "expertise": list(profile.expertise) if profile else None,
        "max_load": profile.max_load if profile else None,
    }


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None.

    Unknown addresses, wrong passwords and deactivated accounts all give None after the same amount
    of hashing work, so the answer does not reveal which accounts exist.
    """
    user = User.by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if not (ok and user and user.is_active):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock.now()
    return user


def check_password_rules(password: str) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise ValidationFailed(f"Choose a password of at least {minimum} characters.", field="password")


def create_user(*, email: str, name: str, roles, by: User | None, expertise=None,
                max_load: int | None = None, password: str | None = None,
                invite_from: str | None = None) -> User:
    """A new account. Staff get a profile (expertise, maximum load).

    ``invite_from`` (the site's base URL) e-mails an account created without a password an invitation
    to set one (the admin's form); scripts and tests that give a password, or invite later, leave it out."""
    email = normalise_email(email)
    if User.by_email(email):
        raise ValidationFailed(f"There is already an account for {email}.", field="email")
    user = User(email=email, name=name.strip(), is_active=True, created_at=clock.now())
    user.set_roles(roles)
    if password:
        check_password_rules(password)
        user.password_hash = hash_password(password)
    if STAFF in user.roles:
        user.staff_profile = StaffProfile(
            expertise=clean_keywords(expertise or []),
            **({"max_load": max_load} if max_load is not None else {}),
        )
    db.session.add(user)
    audit.record("user.created", user, actor=by, summary=f"Created account {email}",
                 after=user_snapshot(user))
    if invite_from is not None and user.password_hash is None:
        invitations.invite(user, by=by, base_url=invite_from)
    return user


def update_user(user: User, *, by: User, email: str, name: str, roles, expertise=None,
                max_load: int | None = None) -> User:
    """Change a user's details and roles (admin)."""
    once.lock(user)  # the same form sent twice at once: the second finds nothing to change
    before = user_snapshot(user)
    email = normalise_email(email)
    other = User.by_email(email)
    if other is not None and other.id != user.id:
        raise ValidationFailed(f"There is already an account for {email}.", field="email")
    roles = set(roles)
    if user.id == by.id and ADMIN in user.roles and ADMIN not in roles:
        raise NotAllowed("You cannot remove your own admin role; ask another admin.", field="roles")
    if ADMIN in user.roles and ADMIN not in roles:
        _keep_an_admin(user)
    user.email, user.name = email, name.strip()
    user.set_roles(roles)
    if STAFF in roles:
        if user.staff_profile is None:
            user.staff_profile = StaffProfile(expertise=[])
        if expertise is not None:
            user.staff_profile.expertise = clean_keywords(expertise)
        if max_load is not None:
            user.staff_profile.max_load = max_load
    after = user_snapshot(user)
    if after != before:
        audit.record("user.updated", user, actor=by, summary=f"Edited account {email}",
                     before=before, after=after)
    return user


def set_active(user: User, active: bool, *, by: User) -> User:
    """Deactivate (the person can no longer sign in; their history stays) or reactivate."""
    once.lock(user)  # of two requests at once, the second finds it done
    if user.is_active == active:
        raise InvalidState(f"{user.email} is already {'active' if active else 'deactivated'}.")
    if not active and user.id == by.id:
        raise NotAllowed("You cannot deactivate your own account.")
    if not active and ADMIN in user.roles:
        _keep_an_admin(user)
    before = user_snapshot(user)
    user.is_active = active
    # Reactivating does not revive the sessions that deactivation ended: the person signs in again.
    user.end_sessions()
    audit.record("user.reactivated" if active else "user.deactivated", user, actor=by,
                 summary=f"{'Reactivated' if active else 'Deactivated'} account {user.email}",
                 before=before, after=user_snapshot(user))
    return user


def _keep_an_admin(leaving: User) -> None:
    others = db.session.scalar(
        select(func.count()).select_from(User).join(UserRole)
        .where(UserRole.role == ADMIN, User.is_active.is_(True), User.id != leaving.id)
    )
    if not others:
        raise NotAllowed("At least one active admin must remain.", field="roles")


def clean_keywords(keywords) -> list[str]:
    """Lower-case, trimmed, de-duplicated keywords in the order given."""
    seen: dict[str, None] = {}
    for k in keywords:
        k = " ".join(k.strip().lower().split())
        if k:
            seen.setdefault(k, None)
    return list(seen)


def request_password_reset(email: str, *, base_url: str) -> None:
    """E-mail a one-time reset link if an active account has this address; say nothing otherwise.

    Earlier unused links of that person stop working: only the newest one counts.
    """
    user = User.by_email(email)
    if user is None or not user.is_active:
        return
    now = clock.now()
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    db.session.add(PasswordReset(user_id=user.id, token_hash=PasswordReset.hash_token(token),
                                 created_at=now, expires_at=now + timedelta(hours=hours)))
    audit.record("user.password_reset_requested", user, actor=user,
                 summary=f"Password reset link sent to {user.email}")
    mail.queue(mail.build(user.email, "Reset your projectflow password", "password_reset",
                          user=user, link=f"{base_url.rstrip('/')}/password/reset/{token}",
                          hours=hours))


USED_LINK = ("This password reset link has already been used or replaced by a newer one. Ask for a new link "
             "if you still need to reset your password.")
USED_INVITATION = ("This invitation link has already been used or replaced by a newer one. If you have not set "
                   "your password yet, use the newest invitation, or ask for a new link below.")


def _used(reset: PasswordReset) -> str:
    return USED_INVITATION if reset.purpose == INVITATION else USED_LINK


def find_reset(token: str) -> PasswordReset:
    """The reset a token belongs to, if it can still be used; a clear refusal otherwise."""
    reset = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == PasswordReset.hash_token(token))
    )
    if reset is None:
        raise LinkInvalid("This password reset link is not valid. Check it was copied whole, "
                          "or ask for a new one.", status_code=404)
    if reset.used_at is not None:
        raise LinkInvalid(_used(reset))
    if reset.expires_at <= clock.now():
        if reset.purpose == INVITATION:
            raise LinkInvalid("This invitation has expired: invitations work for "
                              f"{current_app.config['INVITATION_DAYS']} days. Ask your programme coordinator "
                              "to send a new one, or ask for a link to set your password below.")
        raise LinkInvalid("This password reset link has expired. Ask for a new one; links work "
                          f"for {current_app.config['PASSWORD_RESET_HOURS']} hours.")
    if not reset.user.is_active:
        raise LinkInvalid("This account is deactivated. Contact the programme administrator.")
    return reset


def reset_password(token: str, password: str) -> User:
    """Set a new password through a reset link or an invitation; the link cannot be used again.

    An invitation's link also signs the person in (it is their first visit, and the link has just
    proved they read the invitation's mailbox): it counts as a sign-in here, and the view signs them in."""
    reset = find_reset(token)
    check_password_rules(password)
    # A conditional update: of two requests using the link at once, only one finds it unused.
    used = db.session.execute(update(PasswordReset).where(PasswordReset.id == reset.id,
                                                          PasswordReset.used_at.is_(None))
                              .values(used_at=clock.now()))
    if used.rowcount != 1:
        raise LinkInvalid(_used(reset))
    user = reset.user
    user.password_hash = hash_password(password)
    # Whoever knew the old password (or held a session cookie) is signed out everywhere.
    user.end_sessions()
    if reset.purpose == INVITATION:
        user.last_login_at = clock.now()
        audit.record("user.invitation_accepted", user, actor=user,
                     summary=f"{user.email} set a password through their invitation")
    else:
        audit.record("user.password_reset", user, actor=user, summary=f"{user.email} set a new password")
    return user


class LinkInvalid(InvalidState):
    """A reset link that is unknown (404), used or expired (410)."""

    def __init__(self, message: str, status_code: int = 410):
        super().__init__(message)
        self.status_code = status_code
