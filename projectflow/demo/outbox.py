"""The demo's outbox: the welcome reminders this year's cohort received a week ago, two of which the
mail server refused (an address mistyped in the people file, a full mailbox), so that the coordinator's
outbox page shows sent and failed messages, and its Resend button."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from ..cohorts.models import Cohort
from ..core import clock, mail, outbox
from ..extensions import db
from ..reminders.kinds import KINDS

REFUSALS = ("SMTPRecipientsRefused: {{'{email}': (550, b'5.1.1 Recipient address rejected: User unknown')}}",
            "SMTPDataError: (552, b'5.2.2 Mailbox full')")


def add_outbox(cohort: Cohort) -> int:
    """A message to each student of ``cohort`` a week ago, all sent but two, failed after six tries.
    Written straight to the outbox (not queued): the demo mails nobody."""
    at = clock.now() - timedelta(days=7)
    students = sorted((e.student for e in cohort.enrolments), key=lambda u: u.id)
    failed = {s.id: REFUSALS[k] for k, s in enumerate(students[-4::2])}  # on the first page, newest first
    with clock.frozen(at):
        for person in students:
            message = mail.build(person.email, "Welcome to your project year: the timeline is published",
                                 "notification", person=person, link=f"/cohorts/{cohort.id}/my-timeline",
                                 message="The timeline of your project year is published: every deadline is on it.",
                                 kind=KINDS["notice"])
            row_id = outbox.put(message, key=f"demo:welcome:u{person.id}", kind="notice", user_id=person.id,
                                cohort_id=cohort.id)
            refusal = failed.get(person.id)
            db.session.execute(update(outbox.OutboxMessage).where(outbox.OutboxMessage.id == row_id).values(
                state=outbox.FAILED if refusal else outbox.SENT, tries=outbox.MAX_TRIES if refusal else 1,
                sent_at=None if refusal else at + timedelta(seconds=2),
                last_error=refusal.format(email=person.email) if refusal else None))
    return len(students)
