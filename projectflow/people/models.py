"""People: accounts, the roles they hold, staff profiles and password-reset links."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..core.types import UTCDateTime
from ..extensions import db

STUDENT, STAFF, COORDINATOR, ADMIN = "student", "staff", "coordinator", "admin"
ROLES = (STUDENT, STAFF, COORDINATOR, ADMIN)
ROLE_LABELS = {STUDENT: "Student", STAFF: "Staff", COORDINATOR: "Coordinator", ADMIN: "Admin"}

DEFAULT_MAX_LOAD = 5


def normalise_email(email: str) -> str:
    """E-mail addresses are unique case-insensitively: they are stored lower-cased and trimmed."""
    return email.strip().lower()


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Imported accounts have no password until the person sets one through a reset link.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of what the session cookie carries (see get_id): raising it ends every session of the
    # account at once, wherever it was signed in, including a cookie someone captured.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    # Pages load users by the hundred (students, supervisors, authors): their roles are read only for
    # the signed-in person and on the admin's list (which asks for them with selectinload), so they
    # load when read; a staff profile comes in the same query as its user (one row at most). Eager
    # "selectin" loading here cost two extra queries each time any user was loaded, wherever that was.
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="select"
    )
    staff_profile: Mapped[StaffProfile | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="joined"
    )

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id and the session generation it was signed
        in under (see ``load_signed_in``)."""
        return f"{self.id}.{self.session_generation}"

    def end_sessions(self) -> None:
        """Every session of this account, on every device, stops working at its next request."""
        self.session_generation = (self.session_generation or 0) + 1

    @classmethod
    def load_signed_in(cls, session_id: str) -> User | None:
        """The active account a session cookie's id names, if that session was not ended since."""
        user_id, _, generation = session_id.partition(".")
        if not (user_id.isdigit() and generation.isdigit()) or len(user_id) > 18:
            return None
        user = db.session.get(cls, int(user_id))
        if user is None or not user.is_active or user.session_generation != int(generation):
            return None
        return user

    @validates("email")
    def _normalise_email(self, _key, value: str) -> str:
        return normalise_email(value)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def ordered_roles(self) -> list[str]:
        return [r for r in ROLES if r in self.roles]

    def set_roles(self, roles) -> None:
        wanted = set(roles)
        unknown = wanted - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        self.role_rows = [r for r in self.role_rows if r.role in wanted] + [
            UserRole(role=r) for r in ROLES if r in wanted and r not in self.roles
        ]

    @classmethod
    def by_email(cls, email: str) -> User | None:
        return db.session.scalar(select(cls).where(cls.email == normalise_email(email)))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="role_known"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class StaffProfile(db.Model):
    """What a member of staff works on and how many students they can supervise in a cohort."""

    __tablename__ = "staff_profiles"
    __table_args__ = (CheckConstraint("max_load >= 0", name="max_load_not_negative"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # Lower-cased keywords, e.g. ["robotics", "reinforcement learning"]; matched against projects later.
    expertise: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_load: Mapped[int] = mapped_column(default=DEFAULT_MAX_LOAD)

    user: Mapped[User] = relationship(back_populates="staff_profile")


RESET = "reset"
INVITATION = "invitation"


class PasswordReset(db.Model):
    """A one-time, expiring link to set a password: a reset someone asked for, or the invitation a
    new account is sent. Only a hash of the token is stored."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(String(20), default=RESET, server_default=RESET)

    user: Mapped[User] = relationship()

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


def active_users_with_role(role: str):
    return (select(User).join(UserRole).where(UserRole.role == role, User.is_active.is_(True))
            .order_by(func.lower(User.name)))
