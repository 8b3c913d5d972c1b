"""An installation like the demo's at any size: last year's cohort allocated, second-marked and lived
through (submissions, extensions, meetings), this year's in its preference round with a trial run.

The demo (``projectflow.demo``) goes through a service call per row and takes about a minute per few
hundred students; the query-count gate and the page benchmark need the same kind of data at 40, 400
and 1,200 students in seconds. So the structure goes through the real services (cohorts, CSV import,
timelines, allocation runs solved by the job runner, publication, second markers, an extension
request) and the rows that grow with the cohort (projects, preferences, bookmarks, submissions,
extensions, meetings, notifications and their audit events) are inserted in bulk, consistent with
what the services would have written (states, lateness in working days, versions, audit trail).
The same seed and size always give the same installation.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import insert, select, update

from projectflow.cohorts import importing, services as cohort_services
from projectflow.cohorts.models import Cohort
from projectflow.core import clock, jobs, mail, outbox
from projectflow.core.audit import AuditEvent
from projectflow.core.calendar import extend_deadline, lateness
from projectflow.core.notifications import Notification
from projectflow.core.passwords import hash_password
from projectflow.demo import AREAS, FAMILY_NAMES, GIVEN_NAMES, TITLES
from projectflow.demo.projects import DESCRIPTION, KEYWORDS, TOPICS
from projectflow.extensions import db
from projectflow.assessment import services as assessment
from projectflow.assessment.models import Agreement, MarkSheet
from projectflow.matching import second_markers, services as matching
from projectflow.matching.models import Allocation, AllocationRun, MarkerAssignment
from projectflow.milestones import extensions as extension_services, services as milestone_services
from projectflow.milestones.models import Extension, Milestone
from projectflow.people import services as people_services
from projectflow.people.models import ADMIN, COORDINATOR, STAFF, User
from projectflow.posters import availability as poster_availability
from projectflow.posters import schedules as poster_schedules
from projectflow.posters import services as poster_services
from projectflow.posters.models import (ACCEPTED, DECLARED, IF_NEEDED, REFUSED, UNAVAILABLE, Availability, PosterSchedule,
                                        PosterSession)
from projectflow.proposals.models import (Bookmark, Preference, PreferenceList, Project, ProjectComment,
                                          project_co_supervisors)
from projectflow.submissions.models import Submission
from projectflow.submissions.services import DECLARATION_VERSION
from projectflow.supervision.models import Meeting

DOMAIN = "example.ac.uk"
PASSWORD = "correct horse battery"
# Staff projects by position in a cycle of 48: most approved, a few in every other state (as the demo).
FATES = {5: "draft", 11: "submitted", 17: "submitted", 23: "submitted", 29: "changes_requested",
         35: "rejected", 41: "withdrawn"}
PROPOSAL_FATES = ["draft", "with_supervisor", "declined", "submitted", "changes_requested", "approved",
                  "approved", "rejected"]


@dataclass(frozen=True)
class Scale:
    students: int  # this year's cohort
    previous: int  # last year's cohort
    staff: int

    @classmethod
    def of(cls, students: int) -> Scale:
        """The demo's proportions: last year's cohort two thirds of this year's, a member of staff per
        three students."""
        return cls(students, max(6, round(students * 2 / 3)), max(6, round(students / 3)))


@dataclass
class Installation:
    """The people and objects whose pages the gate and the benchmark open."""

    scale: Scale
    now: datetime  # when the pages are looked at
    admin: User
    coordinator: User
    supervisor: User  # of ``student_before``; projects this year and a student's proposal waiting
    second_marker: User  # second-marks and supervises last year's students
    student_now: User  # this year: a preference list, bookmarks, an extension request waiting
    student_before: User  # last year: allocated, submissions, meetings
    cohort: Cohort
    previous: Cohort
    trial_run: AllocationRun  # this year's, under review
    published_run: AllocationRun
    compared_run: AllocationRun  # last year's second run, kept for comparison
    milestone_now: Milestone
    milestone_before: Milestone
    project: Project  # one of the supervisor's approved projects this year
    sheet: MarkSheet | None = None  # the first marker's report sheet of the first allocated student last year
    agreement: Agreement | None = None  # that report's marks, 7 apart: in reconciliation
    coordinators_sheet: MarkSheet | None = None  # the same for a student the coordinator does not mark
    coordinators_agreement: Agreement | None = None
    poster_session: PosterSession | None = None  # the first of last year's poster sessions
    poster_schedule: PosterSchedule | None = None  # last year's, published


def build(scale: Scale, *, seed: int = 2026, year: int = 2026) -> Installation:
    """Build the installation on the app's (empty) database and commit it."""
    rng = random.Random(seed)
    with clock.frozen(datetime(year - 1, 9, 15, 9, tzinfo=timezone.utc)):
        admin = people_services.create_user(email=f"admin@{DOMAIN}", name="Alex Morgan", roles=[ADMIN], by=None)
        coordinator = people_services.create_user(
            email=f"coordinator@{DOMAIN}", name="Prof Helen Carter", roles=[STAFF, COORDINATOR], by=admin,
            expertise=["computer vision", "deep learning", "robot learning"], max_load=3)
    people = _People(rng, scale)

    with clock.frozen(datetime(year - 1, 10, 6, 9, tzinfo=timezone.utc)):
        previous = _cohort(year - 1, coordinator, people.csv(year - 1, scale.previous), seed)
    with clock.frozen(datetime(year - 1, 11, 3, 9, tzinfo=timezone.utc)):
        _proposal_round(previous, coordinator, random.Random(seed + 2))
    db.session.commit()
    published, compared = _allocate(previous, coordinator, datetime(year - 1, 12, 15, 10, tzinfo=timezone.utc))
    with clock.frozen(datetime(year - 1, 11, 25, 10, tzinfo=timezone.utc)):
        milestone_services.set_closures(previous, f"{year - 1}-12-24, {year}-01-01, Christmas closure", by=coordinator)
        past = milestone_services.create_timeline(previous, by=coordinator)
    _history(previous, published, past, random.Random(seed + 3))
    poster_session = _poster_days(previous, coordinator, random.Random(seed + 5),
                                  datetime(year, 6, 1, 9, tzinfo=timezone.utc))
    _panel_members(previous, coordinator, datetime(year, 7, 1, 9, tzinfo=timezone.utc))
    poster_schedule = _poster_schedule(previous, coordinator, datetime(year, 8, 3, 9, tzinfo=timezone.utc))
    marked_sheet, coordinators_sheet = _marking(previous, coordinator, datetime(year, 9, 20, 9, tzinfo=timezone.utc))

    with clock.frozen(datetime(year, 10, 5, 9, tzinfo=timezone.utc)):
        cohort = _cohort(year, coordinator, people.csv(year, scale.students), seed)
    student_before = db.session.scalar(select(User).join(Allocation, Allocation.student_id == User.id)
                                       .where(Allocation.run_id == published.id).order_by(User.id).limit(1))
    supervisor = db.session.scalar(select(User).join(Allocation, Allocation.supervisor_id == User.id)
                                   .where(Allocation.run_id == published.id,
                                          Allocation.student_id == student_before.id))
    with clock.frozen(datetime(year, 10, 20, 9, tzinfo=timezone.utc)):
        _proposal_round(cohort, coordinator, random.Random(seed + 1), waiting_for=supervisor)
        milestone_services.set_closures(cohort, f"{year}-12-24, {year + 1}-01-01, Christmas closure", by=coordinator)
        ahead = milestone_services.create_timeline(cohort, by=coordinator)
    first_student = min((e.student for e in cohort.enrolments), key=lambda u: u.id)
    with clock.frozen(datetime(year, 10, 28, 11, tzinfo=timezone.utc)):
        extension_services.request_extension(
            ahead[0], first_student, by=first_student,
            reason="I start a part-time job in January and would like two more weeks.")
    mail.discard_queued()
    db.session.commit()
    with clock.frozen(datetime(year, 11, 1, 10, tzinfo=timezone.utc)):
        [trial] = _solve(cohort, coordinator, [("min-cost", "Trial run before the deadline")])
    _news(cohort, previous, random.Random(seed + 4), datetime(year, 11, 1, 12, tzinfo=timezone.utc))
    _outbox(cohort, datetime(year, 11, 1, 13, tzinfo=timezone.utc))

    # A member of staff who second-marks and supervises (as most do), neither the coordinator nor the
    # supervisor above: the same situation at every size.
    supervising = select(Allocation.supervisor_id).where(Allocation.run_id == published.id)
    second_marker = db.session.scalar(
        select(User).join(MarkerAssignment, MarkerAssignment.marker_id == User.id)
        .join(Allocation, Allocation.id == MarkerAssignment.allocation_id)
        .where(Allocation.run_id == published.id, User.id.not_in([coordinator.id, supervisor.id]),
               User.id.in_(supervising))
        .order_by(User.id).limit(1))
    project = db.session.scalar(select(Project).where(Project.cohort_id == cohort.id, Project.owner_id == supervisor.id,
                                                      Project.state == "approved").order_by(Project.id).limit(1))
    def agreement_of(sheet: MarkSheet) -> Agreement:
        return db.session.scalar(select(Agreement).where(Agreement.student_id == sheet.student_id,
                                                         Agreement.component_id == sheet.component_id))
    installation = Installation(
        scale=scale, now=datetime(year, 11, 2, 9, tzinfo=timezone.utc), admin=admin, coordinator=coordinator,
        supervisor=supervisor, second_marker=second_marker, student_now=first_student,
        student_before=student_before, cohort=cohort, previous=previous, trial_run=trial,
        published_run=published, compared_run=compared, milestone_now=ahead[0], milestone_before=past[3],
        project=project, sheet=marked_sheet, agreement=agreement_of(marked_sheet), coordinators_sheet=coordinators_sheet,
        coordinators_agreement=agreement_of(coordinators_sheet), poster_session=poster_session,
        poster_schedule=poster_schedule)
    shared = hash_password(PASSWORD)
    for user in (admin, coordinator, supervisor, second_marker, first_student, student_before):
        user.password_hash = shared
    mail.discard_queued()
    db.session.commit()
    return installation


# --- people --------------------------------------------------------------------------------------

class _People:
    """Unique names for everyone (3,600 given x family pairs, then with a middle initial)."""

    def __init__(self, rng: random.Random, scale: Scale):
        self.rng, self.scale, self.next = rng, scale, 0
        self.staff_rows = [self._staff_row(i) for i in range(scale.staff)]

    def _name(self) -> tuple[str, str]:
        i = self.next
        self.next += 1
        given, family = GIVEN_NAMES[i % 60], FAMILY_NAMES[(i // 60 + i) % 60]
        return (given if i < 3600 else f"{given} {chr(65 + (i // 3600) % 26)}."), family

    def _staff_row(self, i: int) -> str:
        given, family = self._name()
        main, other = self.rng.sample(sorted(AREAS), 2)
        keywords = [main] + self.rng.sample(AREAS[main], 2) + self.rng.sample(AREAS[other], 1)
        email = f"staff@{DOMAIN}" if i == 0 else f"staff{i}.{_slug(family)}@{DOMAIN}"
        name = f"{self.rng.choice(TITLES)} {given} {family}"
        return f'{email},"{name}",staff,{";".join(keywords)},{self.rng.choice([3, 4, 4, 5, 5, 6])}'

    def csv(self, year: int, students: int) -> bytes:
        lines = ["email,name,role,expertise,max_load", *self.staff_rows]
        for i in range(students):
            given, family = self._name()
            lines.append(f'{_slug(given)}.{_slug(family)}{i}.{year % 100}@{DOMAIN},"{given} {family}",student,,')
        return ("\n".join(lines) + "\n").encode()


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower().replace("ü", "u") if ch.isalnum())


def _cohort(year: int, coordinator: User, people_csv: bytes, seed: int) -> Cohort:
    cohort = cohort_services.create_cohort({
        "programme_name": "Applied Machine Learning", "programme_code": "I460", "academic_year": year,
        "timezone": "Europe/London", **cohort_services.default_phase_dates(year)}, by=coordinator)
    importing.import_people(cohort, people_csv, by=coordinator, filename=f"i460-{year}-people.csv",
                            rng=random.Random(seed + year))
    return cohort


# --- the proposal round --------------------------------------------------------------------------

def _titles(rng: random.Random):
    subjects = [f"{s} {t}" for area in sorted(TOPICS) for s in TOPICS[area][0] for t in TOPICS[area][1]]
    rng.shuffle(subjects)
    round_ = 0
    while True:
        for title in subjects:
            yield title if round_ == 0 else f"{title} ({round_ + 1})"
        round_ += 1


def _audit(at, actor_id, cohort_id, action, object_type, object_id, summary, after=None) -> dict:
    return {"at": at, "actor_id": actor_id, "cohort_id": cohort_id, "action": action, "object_type": object_type,
            "object_id": object_id, "summary": summary, "before": None, "after": after}


def _insert(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(model.__table__), rows[start:start + 2000])


def _proposal_round(cohort: Cohort, coordinator: User, rng: random.Random, waiting_for: User | None = None) -> None:
    """Staff projects (1.5 per student) in every state, students' own proposals, bookmarks and
    ranked lists whose popularity follows a Zipf-like law; each with its audit event."""
    now = clock.now()
    zone = cohort.zone
    cohort.preferences_deadline_at = datetime.combine(date(cohort.academic_year, 12, 4), time(14, 0), zone)
    cohort.project_keywords = KEYWORDS
    staff = sorted((s.member for s in cohort.staff if not s.is_coordinator), key=lambda u: u.id)
    students = sorted((e.student for e in cohort.enrolments), key=lambda u: u.id)
    titles = _titles(rng)
    projects, audits = [], []
    for i in range(round(1.5 * len(students))):
        owner = staff[i % len(staff)]
        expertise = owner.staff_profile.expertise
        area = next((k for k in expertise if k in TOPICS), "machine learning")
        title = next(titles)
        fate = FATES.get(i % 48, "approved")
        projects.append({
            "cohort_id": cohort.id, "owner_id": owner.id, "proposed_by_id": None, "title": title,
            "description": DESCRIPTION.format(
                opening=f"{title} is an open problem with practical impact; this project explores it with "
                        "modern machine learning.", aim=title[0].lower() + title[1:], topic_lower=title.lower(),
                area=area),
            "keywords": [area] + [k for k in expertise if k != area][:2],
            "prerequisites": "Python and PyTorch; the Deep Learning module.", "capacity": rng.choice([1, 1, 1, 2, 2, 3]),
            "is_external": i % 50 == 1, "external_organisation": "Thames Robotics Ltd" if i % 50 == 1 else None,
            "external_contact": "Dr Priya Natarajan" if i % 50 == 1 else None, "has_nda": False,
            "aims": None, "method": None, "data_needed": None, "suitability": None,
            "state": fate, "created_at": now, "updated_at": now, "version": 1 if fate == "draft" else 3})
    proposers = students[-max(8, len(students) // 15):]
    for k, student in enumerate(proposers):
        fate = PROPOSAL_FATES[k % len(PROPOSAL_FATES)]
        supervisor = (waiting_for or staff[0]) if fate == "with_supervisor" else staff[(k * 5) % len(staff)]
        title = next(titles)
        projects.append({
            "cohort_id": cohort.id, "owner_id": supervisor.id, "proposed_by_id": student.id, "title": title,
            "description": "", "keywords": ["machine learning"], "prerequisites": "", "capacity": 1,
            "is_external": False, "external_organisation": None, "external_contact": None, "has_nda": False,
            "aims": f"To find out whether {title.lower()} can match the state of the art at a fraction of the cost.",
            "method": "Reproduce a published baseline, then adapt it; evaluate on public benchmarks.",
            "data_needed": "Public data sets only; no personal data, so no ethics approval is needed.",
            "suitability": "I did a related final-year project and took the matching elective.",
            "state": {"declined": "declined"}.get(fate, fate), "created_at": now, "updated_at": now, "version": 2})
    _insert(Project, projects)
    rows = db.session.execute(select(Project.id, Project.owner_id, Project.proposed_by_id, Project.state,
                                     Project.title).where(Project.cohort_id == cohort.id).order_by(Project.id)).all()
    co_supervisors, comments = [], []
    for i, (pid, owner_id, proposer, state, title) in enumerate(rows):
        actor = proposer or owner_id
        audits.append(_audit(now, actor, cohort.id, "project.proposed" if proposer else "project.created",
                             "projects", pid, f"Created “{title}”"))
        if state not in ("draft",):
            audits.append(_audit(now, actor, cohort.id, "project.submitted", "projects", pid, f"Submitted “{title}”",
                                 {"state": "submitted"}))
        if state in ("approved", "withdrawn", "changes_requested", "rejected"):
            audits.append(_audit(now, coordinator.id, cohort.id, f"project.{state}" if state != "withdrawn"
                                 else "project.approved", "projects", pid, f"{state.title()} “{title}”",
                                 {"state": state}))
        if state in ("changes_requested", "rejected"):
            comments.append({"project_id": pid, "author_id": coordinator.id, "state": state, "created_at": now,
                             "body": "Please say which data set you will use and narrow the aims."})
        if proposer is None and i % 9 == 0:
            co = staff[(i + 7) % len(staff)].id
            if co != owner_id:
                co_supervisors.append({"project_id": pid, "user_id": co})
    _insert(ProjectComment, comments)
    if co_supervisors:
        db.session.execute(insert(project_co_supervisors), co_supervisors)

    rankable = [(pid, owner) for pid, owner, proposer, state, _t in rows if state == "approved" and proposer is None]
    rng.shuffle(rankable)
    weights = [1 / (k + 1) ** 0.9 for k in range(len(rankable))]
    fixed = {proposer for _p, _o, proposer, state, _t in rows if proposer is not None and state == "approved"}
    bookmarks, lists, ranked = [], [], {}
    for k, student in enumerate(s for s in students if s.id not in fixed):
        for pid, _owner in rng.sample(rankable, 3):
            bookmarks.append({"student_id": student.id, "project_id": pid, "created_at": now})
        if k % 9 == 4:  # about one in nine has not submitted yet
            continue
        # The first student (whose pages are opened) ranks 7 at every size; the others 5 to 10.
        wanted, chosen, per_owner = rng.randint(cohort.min_preferences, cohort.max_preferences), [], {}
        wanted = 7 if k == 0 else wanted
        while len(chosen) < wanted:
            pid, owner = rng.choices(rankable, weights)[0]
            if pid in chosen or per_owner.get(owner, 0) >= cohort.max_choices_per_supervisor:
                continue
            chosen.append(pid)
            per_owner[owner] = per_owner.get(owner, 0) + 1
        lists.append({"cohort_id": cohort.id, "student_id": student.id, "submitted_at": now,
                      "entered_by_id": student.id, "version": 1})
        ranked[student.id] = chosen
    _insert(Bookmark, bookmarks)
    _insert(PreferenceList, lists)
    list_ids = dict(db.session.execute(select(PreferenceList.student_id, PreferenceList.id)
                                       .where(PreferenceList.cohort_id == cohort.id)).all())
    _insert(Preference, [{"list_id": list_ids[sid], "project_id": pid, "rank": r}
                         for sid, chosen in ranked.items() for r, pid in enumerate(chosen, start=1)])
    audits += [_audit(now, sid, cohort.id, "preferences.saved", "preference_lists", list_ids[sid],
                      "Saved their preferences", {"projects": chosen}) for sid, chosen in ranked.items()]
    _insert(AuditEvent, audits)
    db.session.expire_all()


# --- the allocation ------------------------------------------------------------------------------

def _solve(cohort: Cohort, coordinator: User, objectives: list[tuple[str, str]]) -> list[AllocationRun]:
    runs = []
    for objective, note in objectives:
        run = matching.start_run(cohort, objective=objective, note=note, by=coordinator)
        db.session.commit()
        jobs.run_pending()
        db.session.refresh(run)
        runs.append(run)
    return runs


def _allocate(cohort: Cohort, coordinator: User, at: datetime) -> tuple[AllocationRun, AllocationRun]:
    """Two runs to compare, the first published a day later, then its second markers chosen (one
    declared conflict) and published."""
    with clock.frozen(at):
        best, other = _solve(cohort, coordinator, [("min-cost", "Main run after the deadline"),
                                                   ("greedy", "For comparison: most first choices")])
    with clock.frozen(at + timedelta(days=1)):
        matching.publish_run(best, by=coordinator)
        mail.discard_queued()
        db.session.commit()
    with clock.frozen(at + timedelta(days=3)):
        first = min(best.allocations, key=lambda a: a.id)
        other_staff = next(s.member for s in sorted(cohort.staff, key=lambda s: s.user_id)
                           if s.user_id not in first.project.supervisor_ids() and not s.is_coordinator)
        second_markers.declare_conflict(cohort, other_staff, first.student,
                                        "Was the student's line manager in industry.", by=coordinator)
        second_markers.assign_second_markers(cohort, by=coordinator)
        second_markers.publish_second_markers(cohort, by=coordinator)
        mail.discard_queued()
        db.session.commit()
    return best, other


# --- last year, lived through --------------------------------------------------------------------

NOTES = ["Went through the literature list; agreed the baseline to reproduce first.",
         "Reviewed the first results: the baseline matches the paper within 1%.",
         "Discussed the data pipeline and how to split the data without leakage.",
         "Looked at the draft plan; the evaluation section needs a second metric."]


def _history(cohort: Cohort, run: AllocationRun, milestones: list[Milestone], rng: random.Random) -> None:
    """Submissions on time, late, resubmitted and missing; extensions granted, refused and referred;
    meetings every two or three weeks for a third of the students, most confirmed (as the demo's
    pattern: a few students in each state, spread over the cohort)."""
    zone, calendar = cohort.zone, milestone_services.working_calendar(cohort)
    coordinator_id = min(cohort.coordinator_ids())
    placed = db.session.execute(select(Allocation.student_id, Allocation.supervisor_id)
                                .where(Allocation.run_id == run.id).order_by(Allocation.student_id)).all()
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_([s for s, _ in placed]))).all())
    submissions, extensions, audits, meetings, notes = [], [], [], [], []
    for m_index, milestone in enumerate(milestones):
        for s_index, (student_id, _supervisor_id) in enumerate(placed):
            slot = (s_index * 7 + m_index * 3) % 40
            due = milestone.due_at
            if slot == 0:
                continue
            if slot in (1, 2) and m_index < 4:
                state = ("granted", "refused", "referred")[(s_index + m_index) % 3]
                new_due = extend_deadline(due, 5, zone, calendar) if state == "granted" else None
                extensions.append({
                    "milestone_id": milestone.id, "student_id": student_id, "state": state,
                    "reason": "I was ill for a week (a doctor's note is attached to my e-mail to the coordinator).",
                    "requested_due_at": None, "evidence_key": None, "evidence_name": None,
                    "requested_at": due - timedelta(days=7), "requested_by_id": student_id, "new_due_at": new_due,
                    "decided_at": due - timedelta(days=6), "decided_by_id": coordinator_id,
                    "decision_note": "Decided on the evidence given.", "version": 2})
                due = new_due or due
            if slot in (3, 4, 5):
                at = due + timedelta(hours=rng.choice([2, 20, 30, 75]))
            else:
                at = due - timedelta(hours=rng.randint(1, 96), minutes=rng.randint(0, 59))
            versions = [at, at + timedelta(hours=20)] if slot == 6 and m_index == 3 else [at]
            for version, when in enumerate(versions, start=1):
                late = lateness(due, when, zone, calendar)
                key = f"submissions/c{cohort.id}/m{milestone.id}/s{student_id}/v{version}"
                submissions.append({
                    "milestone_id": milestone.id, "student_id": student_id, "version": version,
                    "file_name": f"{milestone.kind}.pdf", "storage_key": key, "size": 24_000,
                    "sha256": hashlib.sha256(key.encode()).hexdigest(), "page_count": 12, "submitted_at": when,
                    "submitted_by_id": student_id, "deadline_at": due, "is_late": late.late,
                    "late_seconds": late.seconds, "late_working_days": late.working_days,
                    "declaration": DECLARATION_VERSION, "form_token": f"build-{milestone.id}-{version}"})
                audits.append(_audit(when, student_id, cohort.id, "submission.received", "submissions", None,
                                     f"{names[student_id]} submitted “{milestone.title}” (version {version})"))
    for s_index, (student_id, supervisor_id) in enumerate(placed):
        if s_index % 3:
            continue
        day = cohort.part_time_start + timedelta(days=rng.randint(3, 10))
        while day < cohort.full_time_end:
            moment = datetime.combine(day, time(14), timezone.utc)
            confirmed = rng.random() < 0.85
            meetings.append({"cohort_id": cohort.id, "student_id": student_id, "supervisor_id": supervisor_id,
                             "met_on": day, "notes": rng.choice(NOTES), "actions": "Send the updated plan by Friday.",
                             "recorded_at": moment, "confirmed_at": moment + timedelta(days=1) if confirmed else None,
                             "confirmed_by_id": supervisor_id if confirmed else None})
            audits.append(_audit(moment, student_id, cohort.id, "meeting.recorded", "meetings", None,
                                 f"{names[student_id]} recorded a supervision meeting of {day:%d %b %Y}"))
            notes.append({"user_id": supervisor_id, "cohort_id": cohort.id, "link": None, "created_at": moment,
                          "read_at": moment + timedelta(days=1),
                          "message": f"{names[student_id]} recorded a supervision meeting of {day:%a %d %b %Y}."})
            if confirmed:
                audits.append(_audit(moment + timedelta(days=1), supervisor_id, cohort.id, "meeting.confirmed",
                                     "meetings", None, f"Confirmed the supervision meeting of {day:%d %b %Y}"))
            day += timedelta(days=rng.choice([14, 14, 21]) + (42 if s_index % 27 == 9 and day.day < 8 else 0))
    _insert(Extension, extensions)
    _insert(Submission, submissions)
    _insert(Meeting, meetings)
    _insert(AuditEvent, audits)
    _insert(Notification, notes)
    db.session.commit()


def _poster_days(cohort: Cohort, coordinator: User, rng: random.Random, at: datetime) -> PosterSession:
    """Last year's poster days, set up in June through the services (two days of a morning and an
    afternoon session; the window open until the end of July), and the answers in bulk: a third of the
    staff cannot come to one session or would rather not, a tenth of the students declared a session
    (waiting, accepted or refused); each answer with its audit event."""
    year = cohort.academic_year + 1
    with clock.frozen(at):
        tuesday = date(year, 9, 14) + timedelta(days=(1 - date(year, 9, 14).weekday()) % 7)
        atrium = min(poster_services.BOARDS[1], max(30, len(cohort.enrolments) // 3))  # room for every poster
        sessions = [poster_services.add_session(cohort, poster_services.SessionValues(
            day, starts, ends, tuple(poster_services.RoomValues(None, name, boards) for name, boards in rooms)),
            by=coordinator)
            for day in (tuesday, tuesday + timedelta(days=1))
            for starts, ends, rooms in ((time(10), time(12, 30), (("Atrium", atrium), ("Room 2.14", 12))),
                                        (time(14), time(16, 30), (("Atrium", atrium),)))]
        poster_availability.open_window(cohort, closes_at=datetime(year, 7, 31, 16, tzinfo=timezone.utc),
                                        by=coordinator)
        mail.discard_queued()
        rows, audits = [], []
        for i, staff in enumerate(sorted(cohort.staff, key=lambda s: s.user_id)):
            if i % 3 == 0:
                rows.append({"session_id": rng.choice(sessions).id, "user_id": staff.user_id, "reason": "",
                             "kind": rng.choice([UNAVAILABLE, IF_NEEDED]), "state": ACCEPTED, "decided_at": at,
                             "decided_by_id": staff.user_id, "decision_note": "", "created_at": at, "updated_at": at})
                audits.append(_audit(at, staff.user_id, cohort.id, "posters.availability_given", "users",
                                     staff.user_id, "Changed their poster availability (1 session)"))
        for i, enrolment in enumerate(sorted(cohort.enrolments, key=lambda e: e.user_id)):
            if i % 10 == 0:
                state = (DECLARED, ACCEPTED, REFUSED)[(i // 10) % 3]
                rows.append({"session_id": rng.choice(sessions).id, "user_id": enrolment.user_id, "kind": UNAVAILABLE,
                             "state": state, "reason": "A family wedding abroad that day.",
                             "decided_at": None if state == DECLARED else at,
                             "decided_by_id": None if state == DECLARED else coordinator.id,
                             "decision_note": "" if state == DECLARED else "Decided on the reason given.",
                             "created_at": at, "updated_at": at})
                audits.append(_audit(at, enrolment.user_id, cohort.id, "posters.declarations_changed", "users",
                                     enrolment.user_id, "Changed their poster session declarations (1 session)"))
    _insert(Availability, rows)
    _insert(AuditEvent, audits)
    db.session.commit()
    return sessions[0]


def _panel_members(cohort: Cohort, coordinator: User, at: datetime) -> None:
    """A member of staff added to every twentieth poster's panel through the service (taken in turn
    from the staff, never the coordinator, skipping the poster's own assessors): the panels page lists
    them and the schedule includes them."""
    staff = sorted((s.member for s in cohort.staff if not s.is_coordinator), key=lambda u: u.id)
    with clock.frozen(at):
        for i, poster in enumerate(sorted(poster_services.posters(cohort), key=lambda p: p.student.id)[::20]):
            taken = {a.id for a in poster.assessors}
            member = next(u for k in range(len(staff)) if (u := staff[(i + k) % len(staff)]).id not in taken)
            poster_services.add_panel_member(cohort, poster.student, member, by=coordinator)
    db.session.commit()


def _poster_schedule(cohort: Cohort, coordinator: User, at: datetime) -> PosterSchedule:
    """Last year's poster schedule, made by the scheduler (a short search) and published in August."""
    with clock.frozen(at):
        schedule = poster_schedules.start_schedule(cohort, by=coordinator, seconds=5)
        db.session.commit()
        poster_schedules.make_schedule(schedule)
        db.session.commit()
        poster_schedules.publish_schedule(schedule, by=coordinator)
        mail.discard_queued()
        db.session.commit()
    return schedule


def _marking(cohort: Cohort, coordinator: User, at: datetime) -> tuple[MarkSheet, MarkSheet]:
    """Marking open for every component (a sheet per marker and student). Two reports marked 60 and
    67 by their two markers, in reconciliation: the first allocated student's, and the first whose
    markers do not include the coordinator (a coordinator who marks sees marking as a marker). Their
    first markers' sheets are returned."""
    with clock.frozen(at):
        components = assessment.set_up_marking(cohort, by=coordinator)
        for component in components:
            assessment.open_marking(component, by=coordinator)
        db.session.commit()
        report = next(c for c in components if c.key == "report")
        sheets = db.session.scalars(select(MarkSheet).where(MarkSheet.component_id == report.id)
                                    .join(MarkSheet.student).order_by(User.id, MarkSheet.role)).all()
        pairs: dict[int, dict[str, MarkSheet]] = {}
        for sheet in sheets:
            pairs.setdefault(sheet.student_id, {})[sheet.role] = sheet
        complete = [p for p in pairs.values() if "second" in p]
        chosen = [complete[0], next(p for p in complete if coordinator.id not in {s.marker_id for s in p.values()})]
        for pair in {id(p): p for p in chosen}.values():
            for role, mark in (("first", 60), ("second", 67)):
                sheet = pair[role]
                assessment.save_sheet(sheet, [assessment.CriterionEntry(c.id, None, mark, "Seen.")
                                              for c in sheet.rubric.criteria_for(sheet.role)],
                                      overall_comment="Overall.", private_note="A note.", by=sheet.marker)
                assessment.submit_sheet(sheet, by=sheet.marker)
        db.session.commit()
        return chosen[0]["first"], chosen[1]["first"]


def _outbox(cohort: Cohort, at: datetime) -> None:
    """A reminder to each student of the cohort in its outbox: most sent, every fifth held for a digest,
    every tenth failed with the mail server's words (the coordinator's outbox page lists them all)."""
    with clock.frozen(at):
        for n, e in enumerate(sorted(cohort.enrolments, key=lambda e: e.user_id)):
            person = e.student
            message = mail.build(person.email, "Your project plan is due in a week", "notification",
                                 person=person, message="Your project plan is due in a week.", link=None)
            state = outbox.FAILED if n % 10 == 0 else outbox.HELD if n % 5 == 0 else outbox.SENT
            row_id = outbox.put(message, key=f"builder:deadline-7d:u{person.id}", kind="deadline", user_id=person.id,
                                cohort_id=cohort.id)
            db.session.execute(update(outbox.OutboxMessage).where(outbox.OutboxMessage.id == row_id).values(
                state=state,
                tries=outbox.MAX_TRIES if state == outbox.FAILED else 1 if state == outbox.SENT else 0,
                sent_at=at if state == outbox.SENT else None,
                last_error="SMTPRecipientsRefused: 550 5.1.1 Recipient address rejected" if state == outbox.FAILED else None))
    db.session.commit()


def _news(cohort: Cohort, previous: Cohort, rng: random.Random, at: datetime) -> None:
    """What people have been told over the year: a few notifications each, most read."""
    rows = []
    for c in (previous, cohort):
        for e in c.enrolments:
            for k in range(3):
                rows.append({"user_id": e.user_id, "cohort_id": c.id, "created_at": at - timedelta(days=10 * k),
                             "read_at": None if k == 0 and rng.random() < 0.5 else at,
                             "link": f"/cohorts/{c.id}/catalogue",
                             "message": f"News of {c.title}: the catalogue of projects was updated ({k + 1})."})
    _insert(Notification, rows)
    db.session.execute(update(Notification).where(Notification.read_at.is_(None), Notification.created_at < at
                                                  - timedelta(days=5)).values(read_at=at))
    db.session.commit()
