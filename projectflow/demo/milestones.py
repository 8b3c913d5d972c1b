"""The demo's milestones: last year's cohort went through its whole timeline (submissions on time,
late and missing, extensions in every state); this year's has its timeline ahead of it, with an
extension request waiting for the coordinator."""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from weasyprint import HTML

from ..cohorts.models import Cohort
from ..core import clock
from ..extensions import db
from ..matching import services as matching
from ..milestones import extensions, services
from ..milestones.models import Milestone
from ..people.models import User
from ..submissions import services as submissions
from ..supervision import services as meetings
from ..supervision.models import Meeting

PAGE = """<html><head><style>@page {{ size: A4; margin: 2.5cm }} body {{ font-family: sans-serif }}
h1 {{ font-size: 20pt }} p {{ line-height: 1.5 }}</style></head><body>
<h1>{title}</h1><p><strong>{programme}</strong></p>
<p>This is a file generated for the projectflow demo. A real {kind} would set out the aims, the work
done and the results here.</p></body></html>"""


class DemoFiles:
    """One rendered PDF per milestone, made distinct per student (cheaply)."""

    def __init__(self, cohort: Cohort):
        self.cohort = cohort
        self.rendered: dict[int, bytes] = {}

    def for_student(self, milestone: Milestone, candidate: str) -> io.BytesIO:
        if milestone.id not in self.rendered:
            self.rendered[milestone.id] = HTML(string=PAGE.format(
                title=milestone.title, programme=self.cohort.title, kind=milestone.kind_label.lower())).write_pdf()
        # A comment line after the end marker makes each student's file distinct (a PDF reader ignores it).
        return io.BytesIO(self.rendered[milestone.id] + f"% demo file of candidate {candidate}\n".encode())


def add_timeline_history(cohort: Cohort, coordinator: User, rng: random.Random) -> dict[str, int]:
    """Last year's timeline, lived through: the clock is moved to each event in turn."""
    with clock.frozen(datetime(cohort.academic_year, 11, 25, 10, tzinfo=timezone.utc)):
        services.set_closures(cohort, f"{cohort.academic_year}-12-24, {cohort.academic_year + 1}-01-01, "
                                      "Christmas closure", by=coordinator)
        milestones = services.create_timeline(cohort, by=coordinator)
        db.session.commit()
    run = matching.published_run(cohort)
    placed = sorted(run.allocations, key=lambda a: a.student.name)
    candidates = {e.user_id: e.candidate_number for e in cohort.enrolments}
    files = DemoFiles(cohort)
    counts = {"submissions": 0, "late": 0, "missing": 0, "extensions": 0}
    for m_index, milestone in enumerate(milestones):
        for s_index, allocation in enumerate(placed):
            student = allocation.student
            # A few students in each state, spread over the cohort: deterministic, not random.
            slot = (s_index * 7 + m_index * 3) % 40
            due = milestone.due_at
            if slot == 0:
                counts["missing"] += 1
                continue
            if slot in (1, 2) and m_index < 4:
                counts["extensions"] += 1
                due = _extension(milestone, student, coordinator, state=("granted", "refused", "referred")[
                    (s_index + m_index) % 3])
            if slot in (3, 4, 5):
                at = due + timedelta(hours=rng.choice([2, 20, 30, 75]))  # late, by hours or days
                counts["late"] += 1
            else:
                at = due - timedelta(hours=rng.randint(1, 96), minutes=rng.randint(0, 59))
            with clock.frozen(at):
                submissions.submit(milestone, student, files.for_student(milestone, candidates[student.id]),
                                   file_name=f"{milestone.kind}.pdf", declared=True,
                                   form_token=f"demo-{milestone.id}-{student.id}", by=student, receipt=False)
            counts["submissions"] += 1
            if slot == 6 and m_index == 3:  # resubmitted the final report a day later
                with clock.frozen(at + timedelta(hours=20)):
                    submissions.submit(milestone, student, files.for_student(milestone, candidates[student.id]),
                                       file_name="final_report_v2.pdf", declared=True,
                                       form_token=f"demo-{milestone.id}-{student.id}-2", by=student, receipt=False,
                                       late_confirmed=True)
                counts["submissions"] += 1
    counts["meetings"] = _meetings(cohort, placed, rng)
    return counts


NOTES = ["Went through the literature list; agreed the baseline to reproduce first.",
         "Reviewed the first results: the baseline matches the paper within 1%.",
         "Discussed the data pipeline and how to split the data without leakage.",
         "Looked at the draft plan; the evaluation section needs a second metric.",
         "Talked about the poster layout and which figures to keep."]


def _meetings(cohort: Cohort, placed, rng: random.Random) -> int:
    """Meetings every two or three weeks through both phases, most confirmed; a few students with a
    long silence, so the log has gaps to show."""
    n = 0
    for index, allocation in enumerate(placed[:40]):
        student, day = allocation.student, cohort.part_time_start + timedelta(days=rng.randint(3, 10))
        quiet = index % 9 == 4  # a student who stops coming for a while
        while day < cohort.full_time_end:
            moment = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=14)
            with clock.frozen(moment):
                meeting = meetings.record_meeting(cohort, student, met_on=day, notes=rng.choice(NOTES),
                                                  actions="Send the updated plan by Friday.", by=student)
            if rng.random() < 0.85:
                with clock.frozen(moment + timedelta(days=1)):
                    meetings.confirm_meeting(meeting, by=allocation.supervisor)
            n += 1
            day += timedelta(days=rng.choice([14, 14, 21]) + (42 if quiet and n % 5 == 0 else 0))
        db.session.commit()
    _dispute_one(cohort)
    return n


def _dispute_one(cohort: Cohort) -> None:
    """One record the supervisor disputes: an unconfirmed meeting of the demo's last-year student (the
    one the README's logins name) when they have one, so their log shows it; else the cohort's first."""
    from .allocation import demo_student_with_explanation

    unconfirmed = (select(Meeting).join(User, Meeting.student_id == User.id)
                   .where(Meeting.cohort_id == cohort.id, Meeting.confirmed_at.is_(None))
                   .order_by(User.email != (demo_student_with_explanation() or ""), Meeting.met_on.desc(), Meeting.id))
    meeting = db.session.scalars(unconfirmed.limit(1)).first()
    if meeting is None:
        return
    moment = datetime.combine(meeting.met_on, datetime.min.time(), tzinfo=timezone.utc) + timedelta(days=2, hours=10)
    with clock.frozen(moment):
        meetings.dispute_meeting(meeting, "We met a day later than this, and agreed to drop the second data set "
                                          "rather than update the plan. Please record it again as it was.", by=meeting.supervisor)
    db.session.commit()


def _extension(milestone: Milestone, student: User, coordinator: User, *, state: str) -> datetime:
    """A request a week before the deadline, decided the next day; the student's deadline after it."""
    with clock.frozen(milestone.due_at - timedelta(days=7)):
        asked = extensions.request_extension(milestone, student, by=student, reason=(
            "I was ill for a week (a doctor's note is attached to my e-mail to the coordinator)."
            if state != "referred" else "A family emergency abroad; I may need longer than ten days."))
    with clock.frozen(milestone.due_at - timedelta(days=6)):
        if state == "granted":
            extensions.grant(asked, working_days=5, note="Granted: five working days.", by=coordinator)
        elif state == "refused":
            extensions.refuse(asked, note="The evidence covers two days only; please submit on time.", by=coordinator)
        else:
            extensions.refer(asked, note="Referred to the mitigating circumstances board, which meets on Monday.",
                             by=coordinator)
    db.session.commit()
    return asked.new_due_at or milestone.due_at


def add_current_timeline(cohort: Cohort, coordinator: User) -> None:
    """This year's timeline, ahead; one student already asks for more time for their project plan."""
    services.set_closures(cohort, f"{cohort.academic_year}-12-24, {cohort.academic_year + 1}-01-01, "
                                  "Christmas closure", by=coordinator)
    milestones = services.create_timeline(cohort, by=coordinator)
    student = min((e.student for e in cohort.enrolments), key=lambda u: u.id)
    extensions.request_extension(milestones[0], student, by=student,
                                 reason="I start a part-time job in January and would like two more weeks.")
