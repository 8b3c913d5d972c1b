"""Allocation runs: start one, solve it in the job runner, review it, move students by hand, publish.

The engine (``projectflow.solvers``) sees only the cohort's problem, named by candidate numbers and
``p<id>``/``t<id>`` keys (``matching.problem``); this module translates its result back to people and
projects and keeps the run's inputs and output, so a published allocation can be reproduced.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from sqlalchemy import func, select

from ..cohorts.models import Cohort, Enrolment
from ..core import audit, clock, jobs, once
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..reminders.notices import notify
from ..extensions import db
from ..people.models import User
from ..proposals.models import APPROVED, SUBMITTED, WITH_SUPERVISOR, Project
from ..solvers import Problem, Result, allocate, validate
from ..solvers.problem import SolverReport
from ..solvers.problem_io import problem_from_dict, problem_to_dict, result_to_dict
from ..solvers.results import build_result
from .models import (APP_OBJECTIVES, FAILED, OBJECTIVE_LABELS, PUBLISHED, QUEUED, RUNNING, SOLVED, SUPERSEDED,
                     Allocation, AllocationRun)
from .problem import cohort_problem, problem_hash, project_key

JOB_KIND = "allocation"


def _require_coordinator(cohort: Cohort, by: User) -> None:
    if not cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators can run and publish the allocation.")


def runs_of(cohort: Cohort) -> list[AllocationRun]:
    return list(db.session.scalars(select(AllocationRun).where(AllocationRun.cohort_id == cohort.id)
                                   .order_by(AllocationRun.number.desc())))


def published_run(cohort: Cohort) -> AllocationRun | None:
    return db.session.scalar(select(AllocationRun).where(AllocationRun.cohort_id == cohort.id,
                                                         AllocationRun.state == PUBLISHED))


def previous_run(run: AllocationRun) -> AllocationRun | None:
    """The latest earlier run of the cohort with a result: what the run page compares with."""
    return db.session.scalar(
        select(AllocationRun).where(AllocationRun.cohort_id == run.cohort_id, AllocationRun.number < run.number,
                                    AllocationRun.state.in_((SOLVED, PUBLISHED, SUPERSEDED)))
        .order_by(AllocationRun.number.desc()).limit(1))


# --- starting and solving a run ------------------------------------------------------------------

def start_run(cohort: Cohort, *, objective: str, note: str = "", by: User) -> AllocationRun:
    """Record a run and the job that solves it; the scheduler picks it up once this commits."""
    _require_coordinator(cohort, by)
    if objective not in APP_OBJECTIVES:
        raise ValidationFailed(f"Choose one of: {', '.join(APP_OBJECTIVES)}.", field="objective")
    busy = db.session.scalar(select(AllocationRun).where(AllocationRun.cohort_id == cohort.id,
                                                         AllocationRun.state.in_((QUEUED, RUNNING))))
    if busy is not None:
        raise InvalidState(f"{busy.label} has not finished yet: wait for it before starting another.")
    number = (db.session.scalar(select(func.max(AllocationRun.number))
                                .where(AllocationRun.cohort_id == cohort.id)) or 0) + 1
    run = AllocationRun(cohort_id=cohort.id, number=number, objective=objective, note=note.strip(),
                        state=QUEUED, created_by_id=by.id, created_at=clock.now())
    db.session.add(run)
    db.session.flush()
    run.job = jobs.enqueue(JOB_KIND, {"run_id": run.id}, cohort=cohort, by=by)
    audit.record("allocation.run_started", run, actor=by, cohort=cohort,
                 summary=f"Started allocation {run.label} ({objective})",
                 after={"objective": objective, "note": run.note})
    return run


def solve_run(run: AllocationRun, progress=lambda percent, message: None) -> Result:
    """Read the cohort's problem, solve it and store the result and the allocations.

    Commits once the inputs are read (the run shows as running, with its problem), and leaves the
    final write to the caller's commit."""
    cohort = run.cohort
    progress(5, "Reading projects, load limits and preferences")
    problem = cohort_problem(cohort)
    run.problem = problem_to_dict(problem)
    run.inputs_hash = problem_hash(problem)
    run.state = RUNNING
    db.session.commit()
    progress(25, f"Solving for {len(problem.students)} students ({run.objective})")
    result = allocate(problem, run.objective)
    progress(80, "Checking and saving the allocation")
    run.result = result_to_dict(result)
    run.solved_at = clock.now()
    if result.status in ("optimal", "stable"):
        run.state = SOLVED
        _write_allocations(run, problem, result)
        _summarise(run, result)
    else:
        run.state = FAILED
        run.error = result.message or f"The engine answered {result.status}."
    audit.record("allocation.run_finished", run, cohort=cohort,
                 summary=f"{run.label} finished: {result.status}, {len(result.assignments)} of "
                         f"{len(problem.students)} students placed",
                 after={"status": result.status, "profile": list(result.profile), "worst_rank": result.worst_rank,
                        "unassigned": len(result.unassigned), "solve_seconds": round(result.solve_seconds, 3)})
    return result


def _run_job(job: jobs.Job, progress: jobs.Progress) -> str:
    run = db.session.get(AllocationRun, job.params["run_id"])
    if run is None or run.state != QUEUED:
        return "Nothing to do: the run no longer waits to be solved."
    result = solve_run(run, progress)
    if run.state == FAILED:
        return f"{run.label} could not be solved: {run.error}"
    return f"{run.label}: {len(result.assignments)} of {run.student_count} students placed ({result.status})."


def _run_failed(job: jobs.Job, error: str) -> None:
    run = db.session.get(AllocationRun, job.params.get("run_id"))
    if run is not None and run.state in (QUEUED, RUNNING):
        run.state, run.error = FAILED, error


jobs.register(JOB_KIND, _run_job, _run_failed)


class _Keys:
    """Between the engine's names and the database's rows for one cohort."""

    def __init__(self, cohort_id: int):
        rows = db.session.execute(select(Enrolment.candidate_number, Enrolment.user_id)
                                  .where(Enrolment.cohort_id == cohort_id)).all()
        self.user_of = {number: uid for number, uid in rows}
        self.candidate_of = {uid: number for number, uid in rows}

    @staticmethod
    def project_id(key: str) -> int:
        return int(key[1:])

    @staticmethod
    def user_id(key: str) -> int:
        return int(key[1:])


def _write_allocations(run: AllocationRun, problem: Problem, result: Result) -> None:
    keys = _Keys(run.cohort_id)
    fixed = {pair.student for pair in problem.fixed}
    for a in result.assignments:
        db.session.add(Allocation(run=run, student_id=keys.user_of[a.student], project_id=keys.project_id(a.project),
                                  supervisor_id=keys.user_id(a.supervisor), rank=a.rank,
                                  is_fixed=a.student in fixed))


def _summarise(run: AllocationRun, result: Result) -> None:
    run.assigned_count = len(result.assignments)
    run.unassigned_count = len(result.unassigned)
    run.profile = list(result.profile)
    run.worst_rank = result.worst_rank
    run.rank_cost = result.rank_cost
    run.is_valid = bool(result.verdict and result.verdict.ok)
    run.validation_problems = list(result.verdict.problems) if result.verdict else []


# --- reviewing: the allocation as it stands, and hand moves --------------------------------------

def run_problem(run: AllocationRun) -> Problem:
    return problem_from_dict(run.problem, run.objective)


def current_choice(run: AllocationRun) -> dict[str, str]:
    """The allocation as it stands, in the engine's names: candidate number -> project key."""
    keys = _Keys(run.cohort_id)
    return {keys.candidate_of[a.student_id]: project_key(a.project_id) for a in run.allocations}


def standing_result(run: AllocationRun, problem: Problem | None = None,
                    chosen: dict[str, str] | None = None) -> Result:
    """The allocation as it stands (or ``chosen``) as a Result, checked by the validator. While it is
    the engine's own allocation it keeps the engine's status and diagnosis; changed by hand it is
    "adjusted", and no longer claims to be optimal."""
    problem = problem or run_problem(run)
    chosen = current_choice(run) if chosen is None else chosen
    if chosen == _engine_choice(run):
        result = build_result(problem, run.objective, run.engine_status or "optimal", chosen, SolverReport())
    else:
        result = build_result(problem, run.objective, "adjusted", chosen, SolverReport(proof="adjusted by hand"),
                              diagnose=False)
    return replace(result, verdict=validate(problem, result))


def moved_students(run: AllocationRun) -> set[str]:
    """Candidate numbers of the students whose place differs from the engine's result."""
    engine, now = _engine_choice(run), current_choice(run)
    return {s for s in set(engine) | set(now) if engine.get(s) != now.get(s)}


def _engine_choice(run: AllocationRun) -> dict[str, str]:
    return {a["student"]: a["project"] for a in (run.result or {}).get("assignments", [])}


@dataclass(frozen=True)
class MoveCheck:
    """What a hand move would do: the rules it breaks (it is refused if any), what the coordinator
    should know, and the allocation's figures before and after."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    before: Result
    after: Result | None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict:
        def figures(r: Result | None):
            if r is None:
                return None
            return {"placed": len(r.assignments), "unplaced": len(r.unassigned), "profile": list(r.profile),
                    "worst_rank": r.worst_rank, "rank_cost": r.rank_cost}
        return {"ok": self.ok, "problems": list(self.problems), "warnings": list(self.warnings),
                "before": figures(self.before), "after": figures(self.after)}


def check_move(run: AllocationRun, student: User, project: Project | None) -> MoveCheck:
    """Check moving ``student`` to ``project`` (None: leave them without a project) against the
    run's inputs: capacities of the project and the supervisor, forbidden and fixed pairs."""
    if not run.can_adjust():
        raise InvalidState(f"{run.label} is {run.state_label.lower()}: only a run under review can be changed.")
    if inputs_changed(run):
        raise InvalidState(out_of_date_reason(run) + " Start a new run rather than changing this one by hand.")
    problem = run_problem(run)
    keys = _Keys(run.cohort_id)
    chosen = current_choice(run)
    before = standing_result(run, problem, chosen)
    candidate = keys.candidate_of.get(student.id)
    if candidate is None or candidate not in {s.id for s in problem.students}:
        raise ValidationFailed(f"{student.name} was not a student of the cohort when {run.label} started.",
                               field="student")
    problems, warnings = [], []
    fixed = {pair.student: pair.project for pair in problem.fixed}
    if candidate in fixed:
        problems.append(f"{student.name} is on their own approved proposal, which the allocation always keeps.")
    current = chosen.get(candidate)
    target = project_key(project.id) if project is not None else None
    if target == current:
        problems.append(f"{student.name} is already "
                        + (f"on “{project.title}”." if project is not None else "without a project."))
    if project is not None:
        problems += _project_problems(problem, run, student, project, candidate, chosen)
        prefs = next(s.preferences for s in problem.students if s.id == candidate)
        if target not in prefs:
            warnings.append(f"{student.name} did not rank “{project.title}”.")
        elif current in prefs and prefs.index(target) > prefs.index(current):
            warnings.append(f"{student.name} ranked “{project.title}” lower than the project they have now.")
    else:
        warnings.append(f"{student.name} will have no project until you place them.")
    if problems:
        return MoveCheck(tuple(problems), tuple(warnings), before, None)
    moved = dict(chosen)
    if target is None:
        moved.pop(candidate, None)
    else:
        moved[candidate] = target
    return MoveCheck((), tuple(warnings), before, standing_result(run, problem, moved))


def _project_problems(problem: Problem, run: AllocationRun, student: User, project: Project,
                      candidate: str, chosen: dict[str, str]) -> list[str]:
    key = project_key(project.id)
    spec = next((p for p in problem.projects if p.id == key), None)
    if spec is None:
        return [f"“{project.title}” was not an approved project of the cohort when {run.label} started."]
    problems = []
    if project.state != APPROVED:
        problems.append(f"“{project.title}” is no longer approved ({project.state_label.lower()}).")
    if project.is_self_proposal:
        problems.append(f"“{project.title}” is another student's own proposal.")
    if any(p.student == candidate and p.project == key for p in problem.forbidden):
        problems.append(f"{student.name} may not take “{project.title}” (a forbidden pair).")
    others = Counter(p for s, p in chosen.items() if s != candidate)
    if others[key] >= spec.capacity:
        problems.append(f"“{project.title}” is full: {others[key]} of {spec.capacity} places taken.")
    supervisor = next(t for t in problem.supervisors if t.id == spec.supervisor)
    supervisor_projects = {p.id for p in problem.projects if p.supervisor == spec.supervisor}
    load = sum(n for p, n in others.items() if p in supervisor_projects)
    if load >= supervisor.capacity:
        problems.append(f"{project.owner.name} already has {load} students, their limit for this cohort.")
    return problems


def move_student(run: AllocationRun, student: User, project: Project | None, *, by: User) -> MoveCheck:
    """Move a student by hand (or take them off their project), after ``check_move`` allows it."""
    _require_coordinator(run.cohort, by)
    once.lock(run)  # the same move sent twice at once: the second finds the student moved
    check = check_move(run, student, project)
    if not check.ok:
        raise InvalidState(" ".join(check.problems))
    existing = next((a for a in run.allocations if a.student_id == student.id), None)
    before = {"project": existing.project.title if existing else None, "rank": existing.rank if existing else None}
    if existing is not None:
        run.allocations.remove(existing)
        db.session.flush()
    if project is not None:
        placed = next(a for a in check.after.assignments
                      if a.student == _Keys(run.cohort_id).candidate_of[student.id])
        run.allocations.append(Allocation(student_id=student.id, project_id=project.id,
                                          supervisor_id=project.owner_id, rank=placed.rank, is_moved=True))
    run.moves += 1
    _summarise(run, check.after)
    audit.record("allocation.student_moved", run, actor=by, cohort=run.cohort,
                 summary=f"{run.label}: moved {student.name} "
                         + (f"to “{project.title}”" if project is not None else "off their project"),
                 before=before, after={"project": project.title if project else None,
                                       "rank": placed.rank if project is not None else None,
                                       "student_id": student.id})
    return check


# --- publishing ----------------------------------------------------------------------------------

def inputs_changed(run: AllocationRun) -> bool:
    """Whether the cohort's problem today differs from the one the run solved (new preferences,
    projects approved or withdrawn, load limits changed)."""
    return bool(_solved_other_inputs([run], cohort_problem(run.cohort)))


def _solved_other_inputs(runs: list[AllocationRun], current) -> set[int]:
    fingerprint = problem_hash(current)
    # (A run solved before fingerprints were kept is compared whole.)
    return {r.id for r in runs if (r.inputs_hash != fingerprint if r.inputs_hash is not None
                                   else problem_to_dict(current) != r.problem)}


def out_of_date_reason(run: AllocationRun) -> str:
    return (f"The cohort's projects, load limits or preferences have changed since {run.label} was solved, "
            "so it no longer allocates the cohort as it is.")


def out_of_date_runs(cohort: Cohort, runs: list[AllocationRun]) -> set[int]:
    """The ids of the runs under review whose inputs are no longer the cohort's (one look at the cohort
    for the whole list of runs)."""
    reviewable = [r for r in runs if r.can_adjust()]
    return _solved_other_inputs(reviewable, cohort_problem(cohort)) if reviewable else set()


@dataclass(frozen=True)
class BeforePublishing:
    """What a coordinator should know before publishing: students who could still change their list
    (the preferences deadline is ahead) and student proposals nobody has decided on yet."""

    deadline_ahead: bool
    lists_still_open: int
    proposals_waiting: int


def before_publishing(cohort: Cohort) -> BeforePublishing:
    # Without a deadline there is nothing to publish early for.
    ahead = (cohort.allocation_published_at is None and cohort.preferences_deadline_at is not None
             and cohort.preferences_open(clock.now()))
    students = db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.cohort_id == cohort.id))
    with_own = db.session.scalar(select(func.count()).select_from(Project).where(
        Project.cohort_id == cohort.id, Project.proposed_by_id.is_not(None), Project.state == APPROVED))
    waiting = db.session.scalar(select(func.count()).select_from(Project).where(
        Project.cohort_id == cohort.id, Project.proposed_by_id.is_not(None),
        Project.state.in_((WITH_SUPERVISOR, SUBMITTED))))
    return BeforePublishing(ahead, (students - with_own) if ahead else 0, waiting)


def publish_run(run: AllocationRun, *, by: User, early: bool = False) -> AllocationRun:
    """Make the run the cohort's allocation: students and supervisors are told, preferences close,
    and a run published before is replaced (only the people whose allocation changed are told).
    Before the preferences deadline it needs ``early``: the coordinator confirms closing the lists."""
    cohort = run.cohort
    _require_coordinator(cohort, by)
    ahead = before_publishing(cohort)
    if ahead.deadline_ahead and not early:
        raise ValidationFailed(
            f"The preferences deadline is still ahead: {ahead.lists_still_open} students could still change "
            "their list. Tick “Publish before the deadline” to close the lists now.", field="early")
    if run.state != SOLVED:
        raise InvalidState(f"{run.label} is {run.state_label.lower()}: only a run ready for review can be published.")
    if not run.is_valid:
        raise InvalidState(f"{run.label} breaks the rules ({'; '.join(run.validation_problems)}), "
                           "so it cannot be published.")
    if inputs_changed(run):
        raise InvalidState(out_of_date_reason(run) + " Start a new run so that the allocation uses them.")
    old = published_run(cohort)
    previously = {a.student_id: (a.project_id, a.supervisor_id) for a in old.allocations} if old else None
    if old is not None:
        old.state = SUPERSEDED
        db.session.flush()  # one published run per cohort (a partial unique index)
    now = clock.now()
    run.state, run.published_at, run.published_by_id = PUBLISHED, now, by.id
    if cohort.allocation_published_at is None:
        cohort.allocation_published_at = now
    # Second markers belong to the allocation they were chosen for: a new one needs them chosen again.
    cohort.second_markers_published_at = None
    db.session.flush()
    told = _tell_people(run, previously)
    audit.record("allocation.published", run, actor=by, cohort=cohort,
                 summary=f"Published {run.label}: {run.assigned_count} students placed, "
                         f"{run.unassigned_count} without a project" + (f", replacing {old.label}" if old else ""),
                 before={"published_run": old.number if old else None},
                 after={"published_run": run.number, "profile": run.profile, "worst_rank": run.worst_rank,
                        "moves": run.moves, "people_told": told})
    return run


def _tell_people(run: AllocationRun, previously: dict[int, tuple[int, int]] | None) -> int:
    """Notify every student of their project (or that they have none yet) and every supervisor of
    their students; when the run replaces a published one, only those whose allocation changed."""
    cohort = run.cohort
    now_by_student = {a.student_id: a for a in run.allocations}
    students = db.session.scalars(select(User).join(Enrolment, Enrolment.user_id == User.id)
                                  .where(Enrolment.cohort_id == cohort.id)).all()
    told = 0
    affected_supervisors: set[int] = set()
    for student in students:
        mine = now_by_student.get(student.id)
        before = (previously or {}).get(student.id)
        if previously is not None and before == ((mine.project_id, mine.supervisor_id) if mine else None):
            continue
        affected_supervisors |= {before[1]} if before else set()
        if mine is not None:
            affected_supervisors.add(mine.supervisor_id)
            message = (f"Your project for {cohort.title} is “{mine.project.title}”, supervised by "
                       f"{mine.supervisor.name}.")
        else:
            message = (f"The allocation for {cohort.title} has been published, but it could not give you a project "
                       "yet. The coordinator will contact you.")
        told += notify([student], message, link=f"/cohorts/{cohort.id}/allocation/mine", cohort=cohort,
                       subject="projectflow: your project allocation")
    by_supervisor: dict[int, list[Allocation]] = {}
    for a in run.allocations:
        by_supervisor.setdefault(a.supervisor_id, []).append(a)
    for uid in sorted(affected_supervisors):
        theirs = sorted(by_supervisor.get(uid, []), key=lambda a: a.student.name)
        supervisor = theirs[0].supervisor if theirs else db.session.get(User, uid)
        names = ", ".join(a.student.name for a in theirs) or "none at the moment"
        told += notify([supervisor], f"Your students in {cohort.title}: {names}.",
                       link=f"/cohorts/{cohort.id}/allocation/my-students", cohort=cohort,
                       subject="projectflow: your students for the research project")
    return told


def allocation_of(cohort: Cohort, student: User) -> Allocation | None:
    """The student's allocation in the cohort's published run, if any."""
    return db.session.scalar(select(Allocation).join(AllocationRun)
                             .where(AllocationRun.cohort_id == cohort.id, AllocationRun.state == PUBLISHED,
                                    Allocation.student_id == student.id))


def students_of(cohort: Cohort, supervisor: User) -> list[Allocation]:
    """The supervisor's students in the cohort's published allocation."""
    return list(db.session.scalars(
        select(Allocation).join(AllocationRun)
        .where(AllocationRun.cohort_id == cohort.id, AllocationRun.state == PUBLISHED,
               Allocation.supervisor_id == supervisor.id)))


def objective_label(objective: str) -> str:
    return OBJECTIVE_LABELS.get(objective, objective)
