"""Digests: a supervisor's weekly one (due soon, missed, late, no recent meeting), once per week from
Monday 08:00 in the cohort's zone, none when there is nothing to say; the messages a person holds for
their digest carried once and marked digested (and not by a scheduler whose digest lost its key); a
coordinator's daily one; students named to their supervisor in an anonymous cohort; the same
queries for a small and a larger cohort. Real SMTP, the clock moved."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from projectflow.assessment.models import MarkSheet, Result
from projectflow.core import clock, mail, outbox
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.matching.models import Allocation
from projectflow.matching.services import published_run
from projectflow.milestones import extensions
from projectflow.reminders import digests, rules
from projectflow.reminders.kinds import KINDS
from projectflow.reminders.models import DIGEST, IN_APP, NotificationPreference
from projectflow.submissions.models import Submission
from projectflow.supervision.models import Meeting
from tests.assessment.conftest import SEPTEMBER, marking  # noqa: F401 (fixture)
from tests.milestones.conftest import timeline  # noqa: F401 (fixture)
from tests.page_tour import StatementLog, statements_of
from tests.posters.conftest import build_allocated

from .conftest import add_milestone, hand_in
from .test_delivery import REPO
from .test_marking import _disagree, number_of

# Mon 1 Mar 2027, 08:00 in London (GMT): ISO week 9. The part-time phase began on Mon 11 Jan, so a
# student with no meeting since has gone seven weeks (the gap is three).
MONDAY = datetime(2027, 3, 1, 8, tzinfo=timezone.utc)
DUE = datetime(2027, 3, 3, 16, tzinfo=timezone.utc)  # the Wednesday after


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    return smtp_server


@pytest.fixture
def team(make, cohort, coordinator):
    """Lee supervises Ann and Ben, Kim supervises Cat and Dan, Poe nobody; an interim report due on
    the Wednesday."""
    built = build_allocated(make, cohort, coordinator)
    with clock.frozen(datetime(2027, 2, 1, 9, tzinfo=timezone.utc)):
        built.milestone = add_milestone(cohort, "Interim report", DUE)
    return built


def run_at(moment):
    with clock.frozen(moment):
        made, sent, failed = rules.send_reminders()
    assert failed == 0
    return made


def digests_to(smtp_server, person):
    return [m for m in smtp_server.messages if m["To"] == person.email and "your students" in str(m["Subject"])]


def text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def met(cohort, student, supervisor, on: date):
    db.session.add(Meeting(cohort_id=cohort.id, student_id=student.id, supervisor_id=supervisor.id, met_on=on,
                           notes="Talked", recorded_at=clock.now()))
    db.session.commit()


def hold(person, subject: str, said: str, link: str) -> int:
    """A message the person chose to take in their digest, as ``rules.remind`` leaves it."""
    message = mail.build(person.email, subject, "notification", person=person, message=said, link=link,
                         kind=KINDS["notice"])
    row_id = outbox.put(message, key=f"notice:test:u{person.id}:{subject}", kind="notice", user_id=person.id,
                        state=outbox.HELD)
    db.session.commit()
    return row_id


def test_one_digest_a_week_from_monday_eight(team, smtp_server):
    lee, kim, poe = team.lee, team.kim, team.poe
    run_at(MONDAY - timedelta(minutes=1))  # Monday 07:59: week 9 has not started for digests
    assert digests_to(smtp_server, lee) == []
    run_at(MONDAY)
    for later in (timedelta(minutes=1), timedelta(hours=5), timedelta(days=1), timedelta(days=6, hours=15)):
        run_at(MONDAY + later)
    (first,) = digests_to(smtp_server, lee)
    assert len(digests_to(smtp_server, kim)) == 1
    assert digests_to(smtp_server, poe) == []  # no students, nothing held: nothing to say
    assert first["Subject"] == "projectflow: your students, week 9 of 2027"
    body = text(first)
    assert "Due in the next 7 days, not yet submitted" in body
    assert "Ann Student: “Interim report”, due Wed 03 Mar 16:00" in body and "Ben Student" in body
    assert "Cat Student" not in body  # Kim's
    assert "No recent meeting" in body and "7 weeks (no meeting recorded; the gap is 3 weeks)" in body
    assert f"http://127.0.0.1:5000/cohorts/{team.cohort.id}/progress" in body
    assert "/account/messages" in body
    assert "Interim report" in first.get_body(preferencelist=("html",)).get_content()
    # The next Monday: week 10, the report now missed by both.
    run_at(MONDAY + timedelta(days=7))
    run_at(MONDAY + timedelta(days=7, hours=1))
    first, second = digests_to(smtp_server, lee)
    assert second["Subject"] == "projectflow: your students, week 10 of 2027"
    assert "Deadline passed, nothing submitted" in text(second) and "Due in the next 7 days" not in text(second)
    # Each with its in-app notification.
    assert db.session.scalar(select(db.func.count(Notification.id)).where(
        Notification.user_id == lee.id, Notification.message.like("Your students, week%"))) == 2


def test_no_digest_when_nothing_to_say(team, smtp_server):
    ann, ben = team.students[:2]
    with clock.frozen(MONDAY - timedelta(days=3)):
        for s in (ann, ben):
            hand_in(team.milestone, s, clock.now())
            met(team.cohort, s, team.lee, date(2027, 2, 22))
    run_at(MONDAY)
    run_at(MONDAY + timedelta(days=2))
    assert digests_to(smtp_server, team.lee) == []
    assert len(digests_to(smtp_server, team.kim)) == 1
    # A late submission is said in the week after it came.
    cat = team.students[2]
    db.session.add(Submission(milestone_id=team.milestone.id, student_id=ben.id, version=2, file_name="r.pdf",
                              storage_key=uuid.uuid4().hex, size=100, sha256="0" * 64, page_count=3,
                              submitted_at=DUE + timedelta(hours=2), submitted_by_id=ben.id,
                              deadline_at=DUE, is_late=True, late_seconds=7200, declaration="own-work",
                              form_token=uuid.uuid4().hex))  # a second version, late
    db.session.commit()
    run_at(MONDAY + timedelta(days=7))
    (late,) = digests_to(smtp_server, team.lee)
    assert "Submitted late this week" in text(late) and "Ben Student" in text(late)
    assert "Ann Student" not in text(late) and cat.name not in text(late)


@pytest.mark.parametrize("gap_days, told", [(21, False), (22, True)])
def test_the_meeting_gap_boundary(team, smtp_server, gap_days, told):
    ann, ben = team.students[:2]
    hand_in(team.milestone, ann, MONDAY - timedelta(days=1))
    hand_in(team.milestone, ben, MONDAY - timedelta(days=1))
    met(team.cohort, ann, team.lee, date(2027, 3, 1) - timedelta(days=gap_days))
    met(team.cohort, ben, team.lee, date(2027, 2, 26))
    run_at(MONDAY)
    got = digests_to(smtp_server, team.lee)
    assert len(got) == int(told)
    if told:
        assert "Ann Student: 3 weeks 1 day (last meeting 07 Feb; the gap is 3 weeks)" in text(got[0])


def test_held_messages_are_carried_once_and_marked_digested(team, smtp_server):
    lee, poe = team.lee, team.poe
    held = hold(lee, "projectflow: your project was approved", "“Graph transformers” was approved.", "/projects/1")
    alone = hold(poe, "projectflow: poster panel", "You are on a poster panel.", "/cohorts/1/posters")
    run_at(MONDAY)
    (digest,) = digests_to(smtp_server, lee)
    assert "Messages you chose to receive in your digest" in text(digest)
    assert "“Graph transformers” was approved." in text(digest) and "/projects/1" in text(digest)
    # Poe has no students but a held message: a weekly digest carries it.
    (poe_digest,) = [m for m in smtp_server.messages if m["To"] == poe.email and "your digest, week 9" in m["Subject"]]
    assert "You are on a poster panel." in text(poe_digest) and "Due in the next" not in text(poe_digest)
    rows = {r.id: r for r in db.session.scalars(select(outbox.OutboxMessage)).all()}
    lee_digest = next(r for r in rows.values() if r.kind == "supervisor_digest" and r.user_id == lee.id)
    assert (rows[held].state, rows[held].digest_id) == (outbox.DIGESTED, lee_digest.id)
    assert lee_digest.cohort_id == team.cohort.id  # listed in the cohort's outbox, so a failed one can be resent
    assert rows[held].sent_at == MONDAY and rows[alone].state == outbox.DIGESTED
    # Never carried again: the next week's digest does not have it.
    run_at(MONDAY + timedelta(days=7))
    assert "was approved" not in text(digests_to(smtp_server, lee)[1])
    assert len([m for m in smtp_server.messages if m["To"] == poe.email]) == 1
    assert [m for m in smtp_server.messages if "was approved" in str(m["Subject"])] == []  # not on its own


def test_the_preview_lists_the_digests_and_changes_nothing(team, smtp_server):
    """At Monday 08:00 the preview lists the supervisors' digests and Poe's weekly one carrying his held
    message, each by e-mail (and the students' reminders of Wednesday's deadline); nothing is written or
    marked; the pass then writes exactly what was listed."""
    poe = team.poe
    held = hold(poe, "projectflow: poster panel", "You are on a poster panel.", "/cohorts/1/posters")
    with clock.frozen(MONDAY):
        listed = rules.preview(MONDAY)
    assert sorted((d.kind, d.user.id, channel) for d, channel in listed if "digest" in d.kind) == sorted(
        [("supervisor_digest", team.lee.id, "email"), ("supervisor_digest", team.kim.id, "email"),
         ("digest", poe.id, "email")])
    assert db.session.get(outbox.OutboxMessage, held, populate_existing=True).state == outbox.HELD
    assert db.session.scalar(select(func.count(outbox.OutboxMessage.id))) == 1
    run_at(MONDAY)
    written = db.session.scalars(select(outbox.OutboxMessage.key).where(outbox.OutboxMessage.id != held)).all()
    assert sorted(written) == sorted(d.key for d, _ in listed)
    assert db.session.get(outbox.OutboxMessage, held, populate_existing=True).state == outbox.DIGESTED


def test_the_next_digest_is_tomorrow_morning_for_a_coordinator_and_next_monday_for_others(team):
    """What ``rules.remind`` weighs a held reminder's deadline against: a coordinator's daily digest
    (08:00), anyone else's weekly one (Monday 08:00), in the cohort's zone."""
    cohort, coordinator, poe = team.cohort, team.coordinator, team.poe
    people = {coordinator.id: cohort, poe.id: cohort}
    assert digests.next_digests(MONDAY - timedelta(minutes=1), people) == {coordinator.id: MONDAY, poe.id: MONDAY}
    assert digests.next_digests(MONDAY + timedelta(hours=2), people) == {
        coordinator.id: MONDAY + timedelta(days=1), poe.id: MONDAY + timedelta(days=7)}
    assert digests.next_digests(MONDAY + timedelta(days=6, hours=23), people) == {
        coordinator.id: MONDAY + timedelta(days=7), poe.id: MONDAY + timedelta(days=7)}


def test_a_scheduler_whose_digest_lost_its_key_marks_nothing(team, smtp_server):
    """Another scheduler wrote Lee's digest of week 9 a moment ago (its row is there); a message held
    since then is not in that digest, so this pass must leave it held, for next week's."""
    lee = team.lee
    with clock.frozen(MONDAY):
        other = mail.build(lee.email, "projectflow: your students, week 9 of 2027", "notification", person=lee,
                           message="written by the other scheduler", link="", kind=KINDS["supervisor_digest"])
        outbox.put(other, key=f"supervisor-digest:u{lee.id}:2027-W09", kind="supervisor_digest", user_id=lee.id)
        db.session.commit()
    held = hold(lee, "projectflow: later news", "Something later.", "/projects/1")
    run_at(MONDAY + timedelta(minutes=1))
    assert db.session.get(outbox.OutboxMessage, held, populate_existing=True).state == outbox.HELD
    run_at(MONDAY + timedelta(days=7))
    assert db.session.get(outbox.OutboxMessage, held, populate_existing=True).state == outbox.DIGESTED


@pytest.mark.parametrize("channel, mailed", [(DIGEST, True), (IN_APP, False)])
def test_the_digest_kind_channel(team, smtp_server, channel, mailed):
    """"In my digest" for the digest itself means e-mail; "in the app only" keeps it in the app."""
    db.session.add(NotificationPreference(user_id=team.lee.id, kind="supervisor_digest", channel=channel))
    db.session.commit()
    run_at(MONDAY)
    assert len(digests_to(smtp_server, team.lee)) == int(mailed)
    row = db.session.scalar(select(outbox.OutboxMessage).where(outbox.OutboxMessage.user_id == team.lee.id,
                                                              outbox.OutboxMessage.kind == "supervisor_digest"))
    assert row.state == (outbox.SENT if mailed else outbox.IN_APP)


def test_an_in_app_digest_carrying_held_messages_is_mailed(team, smtp_server):
    db.session.add(NotificationPreference(user_id=team.lee.id, kind="supervisor_digest", channel=IN_APP))
    db.session.commit()
    hold(team.lee, "projectflow: marking", "A sheet is yours to mark.", "/marking")
    run_at(MONDAY)
    assert "A sheet is yours to mark." in text(digests_to(smtp_server, team.lee)[0])


def test_supervisors_read_their_students_names_in_an_anonymous_cohort(team, smtp_server):
    assert team.cohort.marks_anonymously
    run_at(MONDAY)
    body = text(digests_to(smtp_server, team.lee)[0])
    assert "Ann Student" in body and "Candidate" not in body


def _grow(team, make, n: int):
    """``n`` more students allocated to Lee's and Kim's projects, as a larger cohort."""
    run = published_run(team.cohort)
    projects = {a.supervisor_id: a.project_id for a in run.allocations}
    for i in range(n):
        student = make.student(team.cohort, name=f"Extra Student {i}")
        supervisor = team.lee if i % 2 else team.kim
        db.session.add(Allocation(run_id=run.id, student_id=student.id, project_id=projects[supervisor.id],
                                  supervisor_id=supervisor.id))
    db.session.commit()


def _statements(moment, rule=None) -> tuple[int, int]:
    """Statements a digest rule runs at ``moment``, and the items its digests list."""
    found = []
    with clock.frozen(moment):
        count = statements_of(lambda: found.extend((rule or digests.supervisor_digests)(moment)))
    db.session.rollback()
    return count, sum(len(s.items) + s.more for d in found for s in d.sections)


def test_the_same_queries_for_a_small_and_a_larger_cohort(team, make):
    small, items_small = _statements(MONDAY)
    _grow(team, make, 12)
    large, items_large = _statements(MONDAY)
    assert items_large > items_small  # the larger cohort does say more
    assert large == small


def test_once_the_weeks_digests_are_written_a_pass_reads_no_progress(team):
    """The scheduler looks every minute: after Monday's supervisors' digests the digest rule reads no
    student's allocation, submissions or meetings again that week."""
    run_at(MONDAY)
    log = StatementLog(db.engine)
    try:
        with clock.frozen(MONDAY + timedelta(minutes=1)), log.recording() as seen:
            assert list(digests.digests(MONDAY + timedelta(minutes=1))) == []
    finally:
        log.close()
    db.session.rollback()
    read = " ".join(seen).lower()
    assert seen and not any(f"from {table}" in read for table in ("submissions", "meetings"))
    assert "allocations.student_id" not in read  # who supervises, not every allocation with its student


# --- coordinators -------------------------------------------------------------------------------------

def coordinator_digests_to(smtp_server, person):
    return [m for m in smtp_server.messages if m["To"] == person.email and "what needs you today" in str(m["Subject"])]


def _waiting_for_the_coordinator(marking, make, *, proposals: int = 1, requests: int = 1):
    """Proposals awaiting approval, extension requests, one reconciliation, one result in the sample."""
    cohort = marking.cohort
    one, _two, agreement = _disagree(marking, marking.coordinator)
    for i in range(proposals):
        make.project(cohort, owner=marking.lee, title=f"Waiting project {i}", state="submitted")
    later = add_milestone(cohort, f"Reflection {requests}", SEPTEMBER + timedelta(days=20))
    for student in marking.students[:requests]:
        extensions.request_extension(later, student, reason="Ill", by=student)
    result = db.session.scalar(select(Result).where(Result.cohort_id == cohort.id, Result.student_id == one.student_id))
    result.final, result.in_sample = Decimal("64"), True  # as the engine and the sample draw leave it
    db.session.commit()
    return one, agreement


def test_a_coordinator_digest_says_each_kind_of_waiting_once_a_day(marking, make, smtp_server):
    coordinator, cohort = marking.coordinator, marking.cohort
    one, agreement = _waiting_for_the_coordinator(marking, make)
    due = db.session.scalars(select(MarkSheet.due_at).where(MarkSheet.due_at.is_not(None))).first()
    morning = due + timedelta(days=1)
    morning = morning.replace(hour=7, minute=0)  # 08:00 in London (BST)
    run_at(morning - timedelta(minutes=1))
    assert coordinator_digests_to(smtp_server, coordinator) == []
    run_at(morning)
    run_at(morning + timedelta(hours=3))
    (digest,) = coordinator_digests_to(smtp_server, coordinator)
    body = text(digest)
    for heading, link in (("Proposals awaiting your approval", "/projects/"),
                          ("Extension requests awaiting a decision", f"/cohorts/{cohort.id}/extensions"),
                          ("Marking overdue", f"/cohorts/{cohort.id}/marking"),
                          ("Reconciliations and third markings waiting", f"/marking/agreements/{agreement.id}"),
                          ("Moderation waiting", f"/cohorts/{cohort.id}/moderation")):
        assert f"{heading} ({cohort.title})" in body and link in body
    assert "“Waiting project 0”" in body and "1 result on the moderation list not moderated yet" in body
    # An anonymous cohort: the coordinator supervises nobody, so reads candidate numbers.
    assert cohort.marks_anonymously and one.student.name not in body
    assert f"Candidate {number_of(cohort, one.student)}" in body
    run_at(morning + timedelta(days=1))
    assert len(coordinator_digests_to(smtp_server, coordinator)) == 2


def test_no_coordinator_digest_when_nothing_waits(marking, smtp_server):
    run_at(SEPTEMBER + timedelta(hours=1))
    assert coordinator_digests_to(smtp_server, marking.coordinator) == []


def _coordinator_statements(moment) -> tuple[int, int]:
    return _statements(moment, digests.coordinator_digests)


def test_the_coordinator_digest_reads_the_same_queries_for_more_items(marking, make):
    _waiting_for_the_coordinator(marking, make)
    moment = SEPTEMBER + timedelta(hours=2)
    small, items_small = _coordinator_statements(moment)
    for i in range(4):
        make.project(marking.cohort, owner=marking.kim, title=f"More {i}", state="submitted")
    later = add_milestone(marking.cohort, "Another", SEPTEMBER + timedelta(days=30))
    for student in marking.students:
        extensions.request_extension(later, student, reason="Ill", by=student)
    db.session.commit()
    large, items_large = _coordinator_statements(moment)
    assert items_large > items_small and large == small


@pytest.mark.timeout(900)
def test_two_schedulers_at_once_carry_each_held_message_in_one_digest(team, make, smtp_server, database_url, tmp_path):
    """Two scheduler processes walk three weeks at once; the students took their deadline reminders in
    their digest, so messages are held and carried all along: each carried by exactly one digest,
    which says it, and every e-mail arrives once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("two scheduler processes need PostgreSQL (SQLite lets one writer in at a time)")
    cohort = team.cohort
    with clock.frozen(MONDAY - timedelta(days=30)):
        students = [make.student(cohort, name=f"Held Student {i}") for i in range(24)]
        for s in students:
            db.session.add(NotificationPreference(user_id=s.id, kind="deadline", channel=DIGEST))
        for k in range(3):
            add_milestone(cohort, f"Weekly log {k}", MONDAY + timedelta(days=4 + 7 * k, hours=8))
        db.session.commit()
    processes = [subprocess.Popen(
        [sys.executable, "-m", "tests.reminders.scheduler_process", database_url, str(smtp_server.port),
         (MONDAY - timedelta(hours=8)).isoformat(), str(21 * 24), str(180), str(tmp_path / f"instance{i}")],
        cwd=REPO, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for i in range(2)]
    for process in processes:
        output, _ = process.communicate(timeout=840)
        assert process.returncode == 0, output.decode()[-3000:]
    db.session.expire_all()
    rows = db.session.scalars(select(outbox.OutboxMessage)).all()
    queued = [r for r in rows if r.state in (outbox.QUEUED, outbox.SENDING)]
    smtp_server.wait_for(sum(1 for r in rows if r.state == outbox.SENT) + len(queued), timeout=30)
    ids = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert [i for i, n in ids.items() if n > 1] == []
    by_id = {r.id: r for r in rows}
    carried = [r for r in rows if r.state == outbox.DIGESTED]
    assert len(carried) >= len(students) * 2  # the reminders of at least two weeks went in digests
    for r in carried:
        digest = by_id[r.digest_id]
        assert digest.user_id == r.user_id and digest.kind in ("supervisor_digest", "digest")
        said = outbox.text_of(r).replace("\r\n", "\n").split("\n\n")[1]
        assert said.strip() in outbox.text_of(digest).replace("\r\n", "\n")
    # Each digest carries exactly the messages pointing at it (none twice, none in two digests).
    for digest in {by_id[r.digest_id] for r in carried}:
        said = outbox.text_of(digest).replace("\r\n", "\n").split("Messages you chose to receive in your digest")[1]
        assert said.count("\n- ") == sum(1 for r in carried if r.digest_id == digest.id)
