"""Digests (issue 14): a supervisor's weekly one about their students, a coordinator's daily one about
what waits for them, each carrying the messages its person chose to take "in my digest".

- *Supervisors*, once per ISO week (``supervisor-digest:u<id>:<year>-W<week>``), from Monday 08:00 in
  the cohort's zone (a scheduler down on Monday sends it when it comes back, that week): for each cohort
  whose published allocation gives them students, the deadlines due in the next 7 days not yet
  submitted, the deadlines of the last ``MISSING_WITHIN`` passed without a submission, the submissions
  handed in late in the last week, and the students who went longer than the phase's gap without a
  meeting (``supervision.services.overdue``, the coordinator's report). A supervisor reads their own
  students' names (the anonymity rule: a student's supervisors always see the name).
- *Coordinators*, once per day (``coordinator-digest:u<id>:<date>``), from 08:00 in the cohort's zone:
  see ``coordinator_digests``.
- *Anyone else holding messages* for their digest (a marker, a student who chose it): a weekly one
  (``digest:u<id>:<year>-W<week>``) from Monday 08:00, carrying just those.

Nothing is sent when every list is empty (held messages count: a digest carrying them is sent). A
person's held messages are carried by the first of their digests written in a pass, in that order,
and marked ``digested`` (with ``digest_id``) by ``Due.after_put`` in the transaction that writes it,
only when this process's insert won the digest's key; the rows are locked as the digest is made
(PostgreSQL), so a second scheduler making the same digest waits, then finds them carried. When a
held message would come too late in the next digest, ``rules.remind`` mails it on its own: see
``next_digests``.

*Channels.* "In my digest" chosen for a digest kind itself means e-mail. "In the app only" keeps the
digest in the app, unless it carries held messages: those include deadline-critical kinds, which must
reach the inbox, so such a digest is mailed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import func, select, update

from ..cohorts.models import Cohort
from ..core import outbox
from ..extensions import db
from ..people.models import User
from .kinds import KINDS, channels_of
from .models import IN_APP
from .naming import naming
from .rules import Due, rule

FROM_HOUR = 8  # digests go out from 08:00 in the cohort's zone
DUE_WITHIN = timedelta(days=7)
MISSING_WITHIN = timedelta(days=28)  # a deadline missed longer ago is the coordinator's, not a weekly line
LATE_WITHIN = timedelta(days=7)  # a late submission is said once: in the week after it came
SHOWN = 8  # items named per list; the rest are counted ("and 3 more")


@dataclass(frozen=True)
class Item:
    text: str
    link: str  # a path on this site


@dataclass
class Section:
    heading: str
    items: list[Item] = field(default_factory=list)
    more: int = 0  # how many were not named

    def add(self, item: Item) -> None:
        if len(self.items) < SHOWN:
            self.items.append(item)
        else:
            self.more += 1


@dataclass
class Digest:
    """A digest being made for one person (its sections, before the held messages join them)."""

    user: User
    kind: str
    key: str
    subject: str
    cohort_id: int | None  # the cohort whose outbox lists it (the first it speaks of)
    sections: list[Section] = field(default_factory=list)

    def section(self, heading: str) -> Section:
        for s in self.sections:
            if s.heading == heading:
                return s
        self.sections.append(Section(heading))
        return self.sections[-1]


def _started(now: datetime, cohort: Cohort) -> bool:
    """Whether today's 08:00 (the cohort's wall clock) has passed."""
    return now.astimezone(cohort.zone).hour >= FROM_HOUR


SUPERVISING_AFTER = timedelta(days=31)  # after the full-time phase: late hand-ins still come
COORDINATING_AFTER = timedelta(days=183)  # marking, moderation and the exam board come months later


def _live_cohorts(now: datetime, after: timedelta = SUPERVISING_AFTER) -> list[Cohort]:
    """Cohorts still running (``after`` the end of their full-time phase), in id order."""
    return list(db.session.scalars(select(Cohort).where(Cohort.full_time_end >= now.date() - after)
                                   .order_by(Cohort.id)))


def _when(moment: datetime, cohort: Cohort) -> str:
    return f"{moment.astimezone(cohort.zone):%a %d %b %H:%M}"


# --- supervisors --------------------------------------------------------------------------------------

def supervisor_digests(now: datetime) -> list[Digest]:
    """The supervisors' digests due at ``now``, one per supervisor of a running cohort (``_dues`` drops
    those with nothing to say and no held message), in a fixed number of queries per cohort, however
    many students and supervisors. Once a cohort's are written for the week, it reads only who
    supervises there (the scheduler looks every minute)."""
    from ..matching.models import PUBLISHED, Allocation, AllocationRun
    from ..milestones.progress import statuses
    from ..supervision.services import overdue

    # Monday before 08:00 in a cohort's zone: last week's digest was the latest.
    cohorts = {c.id: c for c in _live_cohorts(now) if not (now.astimezone(c.zone).weekday() == 0
                                                           and not _started(now, c))}
    if not cohorts:
        return []
    runs = dict(db.session.execute(select(AllocationRun.id, AllocationRun.cohort_id).where(
        AllocationRun.cohort_id.in_(list(cohorts)), AllocationRun.state == PUBLISHED)).all())
    supervising: dict[int, set[int]] = {}  # cohort id -> its supervisors' ids
    for run_id, sid in db.session.execute(select(Allocation.run_id, Allocation.supervisor_id).where(
            Allocation.run_id.in_(list(runs)), Allocation.supervisor_id.is_not(None)).distinct()):
        supervising.setdefault(runs[run_id], set()).add(sid)
    if not supervising:
        return []
    weeks = {cid: now.astimezone(cohorts[cid].zone).isocalendar()[:2] for cid in supervising}

    def key(sid: int, cohort: Cohort) -> str:
        return f"supervisor-digest:u{sid}:{weeks[cohort.id][0]}-W{weeks[cohort.id][1]:02d}"

    written = _taken([key(sid, cohorts[cid]) for cid, sids in supervising.items() for sid in sids])
    fresh = {cid for cid, sids in supervising.items() if any(key(sid, cohorts[cid]) not in written for sid in sids)}
    digests: dict[int, Digest] = {}
    found: list[tuple[Cohort, dict[int, list]]] = []
    by_run = {cid: run_id for run_id, cid in runs.items()}
    for cid in sorted(fresh):
        by_supervisor: dict[int, list] = {}
        for a in db.session.scalars(select(Allocation).where(Allocation.run_id == by_run[cid],
                                                             Allocation.supervisor_id.is_not(None))
                                    .order_by(Allocation.id)):
            by_supervisor.setdefault(a.supervisor_id, []).append(a)
        found.append((cohorts[cid], by_supervisor))
    names = naming((c.id, a.student_id) for c, by in found for rows in by.values() for a in rows)
    for cohort, by_supervisor in found:
        year, week = weeks[cohort.id]
        students = {a.student_id: a.student for rows in by_supervisor.values() for a in rows}
        supervisor_of = {a.student_id: sid for sid, rows in by_supervisor.items() for a in rows}
        people = {sid: rows[0].supervisor for sid, rows in by_supervisor.items()}

        def digest_of(sid: int) -> Digest:  # noqa: B023 (called within this iteration only)
            if sid not in digests:
                digests[sid] = Digest(people[sid], "supervisor_digest", key(sid, cohort),
                                      f"projectflow: your students, week {week} of {year}", cohort.id)
            return digests[sid]

        for sid in people:
            digest_of(sid)  # a candidate even with nothing to say of students: held messages, perhaps
        progress = statuses(cohort, list(students))
        late_meetings = overdue(cohort, now.astimezone(cohort.zone).date())
        tag = f" ({cohort.title})"
        for (student_id, _mid), status in sorted(progress.items(), key=lambda kv: (kv[1].due_at, kv[0])):
            sid, student, m = supervisor_of[student_id], students[student_id], status.milestone
            name = names.label(cohort, student, sid)
            line = f"{name}: “{m.title}”, due {_when(status.due_at, cohort)}"
            link = f"/cohorts/{cohort.id}/progress"
            submitted = status.submission
            if submitted is None and now < status.due_at <= now + DUE_WITHIN:
                digest_of(sid).section("Due in the next 7 days, not yet submitted" + tag).add(Item(line, link))
            elif submitted is None and m.needs_file and now - MISSING_WITHIN < status.due_at <= now:
                digest_of(sid).section("Deadline passed, nothing submitted" + tag).add(Item(line, link))
            elif submitted is not None and submitted.is_late and submitted.submitted_at > now - LATE_WITHIN:
                digest_of(sid).section("Submitted late this week" + tag).add(
                    Item(f"{line}, submitted {_when(submitted.submitted_at, cohort)}", link))
        for o in late_meetings:
            if o.supervisor is None:
                continue
            last = f"last meeting {o.last_met_on:%d %b}" if o.last_met_on else "no meeting recorded"
            digest_of(o.supervisor.id).section("No recent meeting" + tag).add(Item(
                f"{names.label(cohort, o.student, o.supervisor.id)}: {o.since_label} ({last}; "
                f"the gap is {o.limit_weeks} weeks)", f"/cohorts/{cohort.id}/meetings/supervision"))
    # The cohorts whose digests are written this week: their supervisors are candidates still (so that
    # held messages wait for next week's, not for a digest of their own), with nothing to say.
    done = {sid for cid, sids in supervising.items() if cid not in fresh for sid in sids} - set(digests)
    known = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(done)))} if done else {}
    for cid in sorted(set(supervising) - fresh):
        for sid in sorted(supervising[cid] & done):
            digests.setdefault(sid, Digest(known[sid], "supervisor_digest", key(sid, cohorts[cid]), "", cid))
    return [digests[sid] for sid in sorted(digests)]


def _taken(keys: list[str]) -> set[str]:
    """Those of ``keys`` already in the outbox."""
    return set(db.session.scalars(select(outbox.OutboxMessage.key).where(outbox.OutboxMessage.key.in_(keys)))) \
        if keys else set()


# --- coordinators -------------------------------------------------------------------------------------

def coordinator_digests(now: datetime) -> list[Digest]:
    """Today's digests of the coordinators of running cohorts where it is past 08:00: proposals
    awaiting approval, extension requests awaiting a decision, mark sheets past their due moment and
    not submitted, agreements in reconciliation or third marking, results on the moderation list not
    moderated yet. One query per list for all cohorts (and one per cohort for moderation), however
    many items; each list names ``SHOWN`` and counts the rest. Students are named as ``naming``
    decides: a coordinator reads candidate numbers of an anonymous cohort unless they supervise the
    student. ``_dues`` drops those with nothing to say and no held message."""
    from ..assessment.models import (
        IN_RECONCILIATION, RELEASED, SUBMITTED, THIRD_MARKING, Agreement, Component, MarkSheet, Result,
    )
    from ..assessment.results import _listed  # the moderation list's own definition
    from ..cohorts.models import CohortStaff
    from ..milestones.models import REQUESTED, Extension, Milestone
    from ..proposals.models import SUBMITTED as AWAITING_APPROVAL
    from ..proposals.models import Project

    cohorts = {c.id: c for c in _live_cohorts(now, COORDINATING_AFTER) if _started(now, c)}
    if not cohorts:
        return []
    ids = list(cohorts)
    coordinators: dict[int, list[User]] = {}
    for cohort_id, user in db.session.execute(
            select(CohortStaff.cohort_id, User).join(User, User.id == CohortStaff.user_id)
            .where(CohortStaff.cohort_id.in_(ids), CohortStaff.is_coordinator.is_(True)).order_by(User.id)):
        coordinators.setdefault(cohort_id, []).append(user)
    digests: dict[int, Digest] = {}
    for cohort_id, people in coordinators.items():
        local = now.astimezone(cohorts[cohort_id].zone).date()
        for person in people:
            digests.setdefault(person.id, Digest(
                person, "coordinator_digest", f"coordinator-digest:u{person.id}:{local}",
                f"projectflow: what needs you today, {local:%a %d %b %Y}", cohort_id))
    if not set(d.key for d in digests.values()) - _taken([d.key for d in digests.values()]):
        # Today's are written: the pass reads nothing more (the scheduler looks every minute).
        return [digests[uid] for uid in sorted(digests)]
    # (cohort id, heading, student id or None, text, link), in each list's order
    found: list[tuple[int, str, int | None, str, str]] = []
    for p in db.session.scalars(select(Project).where(Project.cohort_id.in_(ids), Project.state == AWAITING_APPROVAL)
                                .order_by(Project.updated_at, Project.id)):
        found.append((p.cohort_id, "Proposals awaiting your approval", None, f"“{p.title}”", f"/projects/{p.id}"))
    for e, cohort_id in db.session.execute(select(Extension, Milestone.cohort_id).join(Milestone)
                                           .where(Milestone.cohort_id.in_(ids), Extension.state == REQUESTED)
                                           .order_by(Extension.requested_at, Extension.id)):
        found.append((cohort_id, "Extension requests awaiting a decision", e.student_id,
                      f"“{e.milestone.title}”, asked {_when(e.requested_at, cohorts[cohort_id])}",
                      f"/cohorts/{cohort_id}/extensions"))
    for sheet in db.session.scalars(select(MarkSheet).join(Component).where(
            Component.cohort_id.in_(ids), MarkSheet.replaced_at.is_(None), MarkSheet.state != SUBMITTED,
            MarkSheet.due_at < now).order_by(MarkSheet.due_at, MarkSheet.id)):
        cohort = cohorts[sheet.component.cohort_id]
        found.append((cohort.id, "Marking overdue", sheet.student_id,
                      f"{sheet.component.title}: {sheet.marker.name}’s sheet, due {_when(sheet.due_at, cohort)}",
                      f"/cohorts/{cohort.id}/marking"))
    for a in db.session.scalars(select(Agreement).join(Component).where(
            Component.cohort_id.in_(ids), Agreement.state.in_((IN_RECONCILIATION, THIRD_MARKING)))
            .order_by(Agreement.updated_at, Agreement.id)):
        what = "in reconciliation" if a.state == IN_RECONCILIATION else "third marking"
        found.append((a.component.cohort_id, "Reconciliations and third markings waiting", a.student_id,
                      f"{a.component.title}: {what}", f"/marking/agreements/{a.id}"))
    for cohort in cohorts.values():
        if cohort.id not in coordinators:
            continue
        waiting = db.session.scalar(select(func.count(Result.id)).where(
            _listed(cohort), Result.moderated_at.is_(None), Result.state != RELEASED))
        if waiting:
            found.append((cohort.id, "Moderation waiting", None,
                          f"{waiting} result{'s' if waiting != 1 else ''} on the moderation list not moderated yet",
                          f"/cohorts/{cohort.id}/moderation"))
    names = naming({(c, s) for c, _, s, _, _ in found if s is not None})
    students = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({s for _, _, s, _, _ in found if s is not None})))} if found else {}
    for cohort_id, heading, student_id, line, link in found:
        cohort = cohorts[cohort_id]
        for person in coordinators.get(cohort_id, ()):
            who = f"{names.label(cohort, students[student_id], person.id)}: " if student_id is not None else ""
            digests[person.id].section(f"{heading} ({cohort.title})").add(Item(who + line, link))
    return [digests[uid] for uid in sorted(digests)]


# --- anyone else holding messages -------------------------------------------------------------------

def _monday_eight(now: datetime, zone) -> datetime:
    """The latest Monday 08:00 (``zone``'s wall clock) at or before ``now``."""
    local = now.astimezone(zone)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), time(FROM_HOUR), tzinfo=zone)
    return monday if monday <= local else monday - timedelta(days=7)


def held_digests(now: datetime, others_of: set[int]) -> list[Digest]:
    """A weekly digest for each person holding messages who has no digest of their own in
    ``others_of``, from Monday 08:00 in the zone of the cohort their messages are about (UTC when it is
    not running), carrying what they held before then: a message held during the week waits for the
    next Monday (one that would come too late there was mailed on its own, see ``next_digests``)."""
    rows = db.session.execute(select(outbox.OutboxMessage.user_id, func.min(outbox.OutboxMessage.cohort_id),
                                     func.min(outbox.OutboxMessage.created_at))
                              .where(outbox.OutboxMessage.state == outbox.HELD)
                              .group_by(outbox.OutboxMessage.user_id)).all()
    rows = [row for row in rows if row[0] not in others_of]
    if not rows:
        return []
    zones = {c.id: c.zone for c in _live_cohorts(now)}
    due = []
    for uid, cohort_id, oldest in rows:
        monday = _monday_eight(now, zones.get(cohort_id, timezone.utc))
        if oldest < monday:
            due.append((uid, cohort_id, monday))
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([uid for uid, _, _ in due])))} \
        if due else {}
    found = []
    for uid, cohort_id, monday in sorted(due):
        year, week, _ = monday.isocalendar()
        found.append(Digest(people[uid], "digest", f"digest:u{uid}:{year}-W{week:02d}",
                            f"projectflow: your digest, week {week} of {year}", cohort_id))
    return found


def next_digests(now: datetime, cohort_of: dict[int, Cohort | None]) -> dict[int, datetime]:
    """Person id -> the latest moment their next digest may come, for those in ``cohort_of`` (each with
    the cohort their message is about): the next 08:00 for a coordinator of a running cohort (in that
    cohort's zone), else the next Monday 08:00. (A digest is written on the first pass after its
    moment; one written earlier today or this week already waits for the next.)"""
    from ..cohorts.models import CohortStaff

    cohorts = {c.id: c for c in _live_cohorts(now, COORDINATING_AFTER)}
    daily = dict(db.session.execute(select(CohortStaff.user_id, CohortStaff.cohort_id).where(
        CohortStaff.user_id.in_(list(cohort_of)), CohortStaff.cohort_id.in_(list(cohorts)),
        CohortStaff.is_coordinator.is_(True))).all()) if cohorts else {}
    coming = {}
    for uid, cohort in cohort_of.items():
        if uid in daily:
            zone = cohorts[daily[uid]].zone
            local = now.astimezone(zone)
            eight = datetime.combine(local.date(), time(FROM_HOUR), tzinfo=zone)
            coming[uid] = eight if eight > local else eight + timedelta(days=1)
        else:
            coming[uid] = _monday_eight(now, cohort.zone if cohort else timezone.utc) + timedelta(days=7)
    return coming


# --- the rule -----------------------------------------------------------------------------------------

@rule
def digests(now: datetime) -> Iterable[Due]:
    """Today's coordinators' digests, this week's supervisors', and the weekly ones of anyone else
    holding messages, each as a ``Due`` that carries its person's held messages (see the module's
    docstring)."""
    made = coordinator_digests(now) + supervisor_digests(now)
    made += held_digests(now, {d.user.id for d in made})
    return _dues(made, now)


def _held_item(row: outbox.OutboxMessage) -> Item:
    """A held message as a line of the digest: what its e-mail said under "Hello ...,", and its link."""
    base = current_app.config["BASE_URL"].rstrip("/")
    parts = [p.strip() for p in outbox.text_of(row).replace("\r\n", "\n").split("\n\n") if p.strip()]
    said = parts[1] if len(parts) > 1 and parts[0].startswith("Hello") else row.subject
    links = [p[len(base):] for p in parts if p.startswith(base + "/") and "\n" not in p]
    return Item(said, links[0] if links else "")


def _carried_by(held: list[int], now: datetime) -> Callable[[int], None]:
    def mark(digest_id: int) -> None:
        db.session.execute(update(outbox.OutboxMessage).where(
            outbox.OutboxMessage.id.in_(held), outbox.OutboxMessage.state == outbox.HELD)
            .values(state=outbox.DIGESTED, digest_id=digest_id, sent_at=now))
    return mark


def _dues(made: list[Digest], now: datetime) -> list[Due]:
    """The digests not written yet with something to say, each carrying its person's held messages if
    no digest before it in ``made`` does."""
    taken = _taken([d.key for d in made])
    made = [d for d in made if d.key not in taken and d.user.is_active]
    if not made:
        return []
    channels = {(uid, kind): c for kind in {d.kind for d in made}
                for uid, c in channels_of(sorted({d.user.id for d in made if d.kind == kind}), kind).items()}
    cohorts = {c.id: c for c in db.session.scalars(select(Cohort).where(
        Cohort.id.in_({d.cohort_id for d in made if d.cohort_id is not None})))}
    holding = set(db.session.scalars(select(outbox.OutboxMessage.user_id).where(
        outbox.OutboxMessage.user_id.in_([d.user.id for d in made]), outbox.OutboxMessage.state == outbox.HELD)))
    found = []
    for d in made:
        held = []
        if d.user.id in holding:
            holding.discard(d.user.id)  # carried by this digest, not by a later one of this pass
            held = db.session.scalars(select(outbox.OutboxMessage).where(
                outbox.OutboxMessage.user_id == d.user.id, outbox.OutboxMessage.state == outbox.HELD)
                .order_by(outbox.OutboxMessage.id).with_for_update()).all()
        sections = list(d.sections)
        if held:
            sections.append(Section(KINDS["digest"].label, [_held_item(r) for r in held]))
        if not sections:
            continue
        mailed = held or channels[d.user.id, d.kind] != IN_APP
        total = sum(len(s.items) + s.more for s in sections)
        summary = f"{total} item{'s' if total != 1 else ''} that may need you, each with its link."
        title = d.subject.removeprefix("projectflow: ")
        found.append(Due(d.user, d.kind, d.key, d.subject, summary, "/notifications", cohorts.get(d.cohort_id),
                         template="digest", context={"sections": sections},
                         state=outbox.QUEUED if mailed else outbox.IN_APP,
                         notice=f"{title[:1].upper()}{title[1:]}: {summary}",
                         after_put=_carried_by([r.id for r in held], now) if held else None))
    return found
