"""The demo's accounts as a real year has them: most people have signed in, a few imported late have
not yet set a password (one invited this week, one whose invitation expired, one not invited yet), and
a file of teaching assistants waits for the coordinator to confirm that a former student becomes staff.
The cohort's page shows each of those states."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from ..cohorts import held
from ..cohorts.models import Cohort, Enrolment
from ..core import clock
from ..core.audit import AuditEvent
from ..extensions import db
from ..people import invitations
from ..people.models import User


def add_account_states(cohort: Cohort, previous: Cohort, coordinator: User) -> dict:
    """Sign-ins, invitations in each state and a held import, as of the clock's now."""
    now = clock.now()
    # Whoever did something in the demo (ranked projects, offered one, decided) has signed in.
    acted = select(AuditEvent.actor_id).where(AuditEvent.actor_id.is_not(None))
    db.session.execute(update(User).where(User.id.in_(acted), User.last_login_at.is_(None))
                       .values(last_login_at=now - timedelta(days=1)))
    # Three students who never acted were imported late and have no password yet.
    late = db.session.scalars(
        select(User).join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.cohort_id == cohort.id, User.id.not_in(acted)).order_by(User.id.desc()).limit(3)).all()
    base_url = current_app.config["BASE_URL"]
    for user in late:
        user.password_hash = None
    expired, invited, _not_yet = late
    with clock.frozen(now - timedelta(days=20)):
        invitations.invite(expired, by=coordinator, base_url=base_url, cohort=cohort)
    with clock.frozen(now - timedelta(days=2)):
        invitations.invite(invited, by=coordinator, base_url=base_url, cohort=cohort)
    # A former student of last year's cohort, listed among this year's teaching assistants.
    former = db.session.scalar(select(User).join(Enrolment, Enrolment.user_id == User.id)
                               .where(Enrolment.cohort_id == previous.id).order_by(User.id).limit(1))
    people = ("email,name,role,expertise,max_load\n"
              f'{former.email},"{former.name}",staff,deep learning,2\n'
              f'ta.helper@example.ac.uk,"Dr Tariq Helper",staff,computer vision,2\n')
    with clock.frozen(now - timedelta(hours=3)):
        waiting = held.import_or_hold(cohort, people.encode(), by=coordinator,
                                      filename="i460-2026-teaching-assistants.csv")
    db.session.flush()
    return {"late": [u.email for u in late], "held_import": waiting.id}
