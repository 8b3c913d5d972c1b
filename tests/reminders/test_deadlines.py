"""Students' deadline reminders: found by scanning, each sent once, the latest due only, never after
the deadline, stopped by a submission, following extensions and moved deadlines; an overdue notice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from projectflow.cli import cli
from projectflow.core import clock, outbox
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.milestones import extensions
from projectflow.reminders import rules
from projectflow.reminders.models import DIGEST, IN_APP, NotificationPreference

from .conftest import DUE, hand_in


def run_at(moment):
    with clock.frozen(moment):
        return rules.send_reminders()


def subjects(smtp_server, to):
    return [m["Subject"] for m in smtp_server.messages if m["To"] == to]


def test_each_reminder_is_sent_once_at_its_moment(round_, smtp_server):
    ann = round_.students[0]
    assert run_at(DUE - timedelta(days=15)) == (0, 0, 0)  # nothing due a fortnight and a day before
    made, sent, failed = run_at(DUE - timedelta(days=14) + timedelta(minutes=1))
    assert (made, sent, failed) == (3, 3, 0)  # one per student
    # The scheduler looks again a minute later, and an hour later: nothing new.
    assert run_at(DUE - timedelta(days=14) + timedelta(minutes=2)) == (0, 0, 0)
    assert run_at(DUE - timedelta(days=13)) == (0, 0, 0)
    run_at(DUE - timedelta(days=7))
    run_at(DUE - timedelta(days=2))
    run_at(DUE - timedelta(hours=23))
    got = subjects(smtp_server, ann.email)
    assert len(got) == 4 and all("“Interim report” is due Wed 10 Mar 2027 16:00" in s for s in got)
    keys = {r.key.split(":")[0] for r in db.session.scalars(select(outbox.OutboxMessage).where(
        outbox.OutboxMessage.user_id == ann.id))}
    assert keys == {"deadline-14d", "deadline-7d", "deadline-2d", "deadline-1d"}
    # Each with its in-app notification, pointing at the milestone.
    notes = db.session.scalars(select(Notification).where(Notification.user_id == ann.id)).all()
    assert len(notes) == 4 and {n.link for n in notes} == {f"/milestones/{round_.milestone.id}"}
    text = outbox.text_of(db.session.scalars(select(outbox.OutboxMessage)).first())
    assert "/account/messages" in text  # every e-mail links to the preferences


def test_a_scheduler_down_for_a_week_sends_only_the_latest_reminder(round_, smtp_server):
    ann = round_.students[0]
    run_at(DUE - timedelta(days=14))
    # Down from day -13 to day -2: the 7-day moment passed unseen; on return, the 2-day one only.
    run_at(DUE - timedelta(days=1, hours=12))
    got = [r.key.split(":")[0] for r in db.session.scalars(select(outbox.OutboxMessage).where(
        outbox.OutboxMessage.user_id == ann.id).order_by(outbox.OutboxMessage.id))]
    assert got == ["deadline-14d", "deadline-2d"]


def test_nothing_after_the_deadline_but_one_overdue_notice(round_, smtp_server):
    ann, ben = round_.students[:2]
    hand_in(round_.milestone, ben, DUE - timedelta(hours=1))
    run_at(DUE + timedelta(hours=1))
    assert subjects(smtp_server, ann.email) == ["projectflow: “Interim report” is overdue"]
    assert subjects(smtp_server, ben.email) == []  # submitted: nothing at all
    run_at(DUE + timedelta(days=3))
    run_at(DUE + timedelta(days=8))
    assert len(subjects(smtp_server, ann.email)) == 1


def test_a_submission_stops_the_reminders(round_, smtp_server):
    ann = round_.students[0]
    run_at(DUE - timedelta(days=7))
    hand_in(round_.milestone, ann, DUE - timedelta(days=6))
    run_at(DUE - timedelta(days=2))
    run_at(DUE - timedelta(hours=20))
    assert len(subjects(smtp_server, ann.email)) == 1


def test_an_extension_moves_the_reminders_to_the_new_deadline(round_, smtp_server):
    ann, ben = round_.students[:2]
    with clock.frozen(DUE - timedelta(days=5)):
        extensions.grant_directly(round_.milestone, ann, working_days=5, note="Illness", by=round_.coordinator)
        db.session.commit()
    db.session.refresh(round_.milestone)
    run_at(DUE - timedelta(hours=20))  # Ben's 1-day moment; Ann's deadline is a week later (five working days)
    assert len(subjects(smtp_server, ben.email)) == 1
    reminders = [s for s in subjects(smtp_server, ann.email) if " is due " in s]
    assert reminders == ["projectflow: “Interim report” is due Wed 17 Mar 2027 16:00"]
    run_at(DUE + timedelta(days=2))  # Ben is overdue; Ann is not (her deadline is ahead)
    assert subjects(smtp_server, ben.email)[-1] == "projectflow: “Interim report” is overdue"
    assert not any("overdue" in s for s in subjects(smtp_server, ann.email))
    run_at(DUE + timedelta(days=6))  # Ann's own 1-day moment
    reminders = [s for s in subjects(smtp_server, ann.email) if " is due " in s]
    assert len(reminders) == 3 and all("Wed 17 Mar 2027 16:00" in s for s in reminders)
    keys = [r.key.split(":")[0] for r in db.session.scalars(select(outbox.OutboxMessage).where(
        outbox.OutboxMessage.user_id == ann.id, outbox.OutboxMessage.kind == "deadline").order_by(
        outbox.OutboxMessage.id))]
    assert keys == ["deadline-14d", "deadline-7d", "deadline-1d"]  # each of the new deadline's moments


def test_a_deadline_moved_after_its_first_reminder(round_, smtp_server):
    ann = round_.students[0]
    run_at(DUE - timedelta(days=7))
    later = DUE + timedelta(days=7)
    round_.milestone.due_at = later
    db.session.commit()
    # A week before the old deadline nothing more; the moved deadline's own reminders follow it.
    run_at(DUE - timedelta(days=6))
    assert len(subjects(smtp_server, ann.email)) == 1
    run_at(later - timedelta(days=2))
    got = subjects(smtp_server, ann.email)
    assert len(got) == 2 and "Wed 17 Mar 2027" in got[-1]
    run_at(DUE + timedelta(hours=1))  # the old deadline passing is nothing to anyone
    assert len(subjects(smtp_server, ann.email)) == 2


def test_preferences_decide_the_channel_and_critical_kinds_still_reach_the_inbox(round_, smtp_server):
    ann, ben = round_.students[:2]
    db.session.add(NotificationPreference(user_id=ann.id, kind="deadline", channel=DIGEST))
    db.session.add(NotificationPreference(user_id=ben.id, kind="deadline", channel=IN_APP))  # not allowed
    db.session.commit()
    run_at(DUE - timedelta(days=7))
    rows = {r.user_id: r for r in db.session.scalars(select(outbox.OutboxMessage))}
    assert rows[ann.id].state == outbox.HELD  # for her digest, and in the app now
    assert rows[ben.id].state == outbox.SENT  # a deadline reminder cannot be "in the app only"
    assert subjects(smtp_server, ann.email) == []
    assert db.session.scalar(select(Notification).where(Notification.user_id == ann.id)) is not None


def test_the_preview_lists_without_writing(round_, smtp_server, app):
    with clock.frozen(DUE - timedelta(days=3)):
        found = rules.preview(clock.now())
    assert sorted(d.user.email for d, _channel in found) == sorted(s.email for s in round_.students)
    assert db.session.scalar(select(outbox.OutboxMessage)) is None
    at = (DUE - timedelta(days=3)).isoformat()
    result = app.test_cli_runner().invoke(cli, ["reminders", "--preview", "--at", at])
    assert result.exit_code == 0, result.output
    assert "3 message(s) due at 2027-03-07T16:00:00+00:00; nothing was sent." in result.output
    assert round_.students[0].email in result.output
    bad = app.test_cli_runner().invoke(cli, ["reminders", "--preview", "--at", "tomorrow"])
    assert bad.exit_code == 2 and "is not an ISO time" in bad.output
    assert db.session.scalar(select(outbox.OutboxMessage)) is None


def test_a_notice_follows_its_persons_channel(round_, smtp_server):
    from projectflow.reminders.notices import notify

    ann, ben, cat = round_.students
    db.session.add(NotificationPreference(user_id=ben.id, kind="notice", channel=IN_APP))
    db.session.add(NotificationPreference(user_id=cat.id, kind="notice", channel=DIGEST))
    db.session.commit()
    with clock.frozen(DUE - timedelta(days=20)):
        notify(round_.students, "Your allocation is published.", link="/", cohort=round_.cohort)
        db.session.commit()
    smtp_server.wait_for(1)
    assert [m["To"] for m in smtp_server.messages] == [ann.email]
    states = {r.user_id: r.state for r in db.session.scalars(select(outbox.OutboxMessage))}
    assert states == {ann.id: outbox.SENT, cat.id: outbox.HELD}  # Ben: in the app only, nothing mailed
    assert db.session.query(Notification).count() == 3


def test_a_reminder_the_digest_would_bring_too_late_is_mailed_on_its_own(round_, smtp_server):
    """Ann takes her deadline reminders in her digest (weekly, Monday 08:00): the 14- and 7-day ones
    wait for it; the 2- and 1-day ones would come after the deadline, so they are mailed at once."""
    ann = round_.students[0]
    db.session.add(NotificationPreference(user_id=ann.id, kind="deadline", channel=DIGEST))
    db.session.commit()
    plan = {}
    for moment in (DUE - timedelta(days=14), DUE - timedelta(days=7), DUE - timedelta(days=2)):
        with clock.frozen(moment):
            plan[moment] = {d.key.split(":")[0]: channel for d, channel in rules.preview(clock.now())
                            if d.user.id == ann.id}
    assert list(plan.values()) == [{"deadline-14d": DIGEST}, {"deadline-7d": DIGEST}, {"deadline-2d": "email"}]
    first_monday = DUE.replace(day=1, hour=8)  # Mon 1 Mar 2027 08:00 (GMT)
    run_at(DUE - timedelta(days=14))
    run_at(DUE - timedelta(days=14, minutes=-1))
    assert subjects(smtp_server, ann.email) == []  # held for Monday's digest, not a digest of one a minute later
    for moment in (first_monday, DUE - timedelta(days=7), DUE - timedelta(days=7, minutes=-1),
                   first_monday + timedelta(days=7), DUE - timedelta(days=2), DUE - timedelta(hours=23)):
        run_at(moment)
    rows = {r.key.split(":")[0]: r for r in db.session.scalars(select(outbox.OutboxMessage).where(
        outbox.OutboxMessage.user_id == ann.id))}
    assert {k: r.state for k, r in rows.items()} == {
        "deadline-14d": outbox.DIGESTED, "deadline-7d": outbox.DIGESTED, "deadline-2d": outbox.SENT,
        "deadline-1d": outbox.SENT, "digest": outbox.SENT}
    got = subjects(smtp_server, ann.email)
    assert got[0] == "projectflow: your digest, week 9 of 2027"
    assert got[1] == "projectflow: your digest, week 10 of 2027"
    assert got[2:] == ["projectflow: “Interim report” is due Wed 10 Mar 2027 16:00"] * 2
    week10 = next(m for m in smtp_server.messages if m["Subject"] == got[1])
    said = week10.get_body(preferencelist=("plain",)).get_content()
    assert "7 days from now" in said and "14 days" not in said
