"""Projects: offering, proposing, the approval workflow, withdrawal, and supervisor load.

Every transition checks the state it expects, audits, and tells the people it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sqlalchemy import func, select

from ..cohorts.models import Cohort, CohortStaff, Enrolment
from ..core import audit, clock, once
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..reminders.notices import notify
from ..extensions import db
from ..people.models import StaffProfile, User
from ..people.services import clean_keywords
from .models import (APPROVED, CHANGES_REQUESTED, DECLINED, DRAFT, REJECTED, SUBMITTED,
                     WITH_SUPERVISOR, WITHDRAWN, Preference, PreferenceList, Project, ProjectComment)

PROJECT_FIELDS = ["title", "description", "keywords", "prerequisites", "capacity", "is_external",
                  "external_organisation", "external_contact", "has_nda"]
PROPOSAL_FIELDS = ["title", "aims", "method", "data_needed", "suitability", "keywords"]
AUDITED = PROJECT_FIELDS + ["aims", "method", "data_needed", "suitability", "owner_id", "state",
                            "co_supervisor_ids"]


def _snapshot(project: Project) -> dict:
    data = audit.snapshot(project, [f for f in AUDITED if f != "co_supervisor_ids"])
    data["co_supervisor_ids"] = sorted(u.id for u in project.co_supervisors)
    return data


def _link(project: Project) -> str:
    return f"/projects/{project.id}"


def _cohort_staff_users(cohort: Cohort, user_ids) -> list[User]:
    """The named people, who must all be staff of the cohort."""
    wanted = set(user_ids)
    members = {s.user_id: s.member for s in cohort.staff if s.member.is_active}
    unknown = wanted - set(members)
    if unknown:
        raise ValidationFailed("Supervisors must be active staff of this cohort.")
    return [members[i] for i in sorted(wanted)]


def _apply(project: Project, values: dict, fields: list[str]) -> None:
    for name in fields:
        if name in values:
            setattr(project, name, values[name])
    project.keywords = clean_keywords(project.keywords or [])
    if not project.is_external:
        project.external_organisation = project.external_contact = None
        project.has_nda = False
    elif not (project.external_organisation or "").strip():
        raise ValidationFailed("Name the external organisation.")


# --- staff-offered projects ----------------------------------------------------------------------

def create_project(cohort: Cohort, *, owner: User, values: dict, co_supervisor_ids=(), by: User) -> Project:
    """A supervisor's new project, as a draft."""
    if cohort.staff_member(owner) is None:
        raise NotAllowed("Only staff of this cohort can offer projects in it.")
    now = clock.now()
    project = Project(cohort=cohort, owner_id=owner.id, state=DRAFT, created_at=now, updated_at=now)
    _apply(project, values, PROJECT_FIELDS)
    project.co_supervisors = _cohort_staff_users(cohort, set(co_supervisor_ids) - {owner.id})
    db.session.add(project)
    audit.record("project.created", project, actor=by, cohort=cohort,
                 summary=f"Drafted project “{project.title}”", after=_snapshot(project))
    return project


def update_project(project: Project, values: dict, *, co_supervisor_ids=None, by: User) -> Project:
    """Edit the text of a project. Editing an approved project keeps the students' rankings and tells
    them what changed."""
    if not project.can_edit(by):
        raise NotAllowed(f"This project cannot be edited by you while it is {project.state_label.lower()}.")
    before = _snapshot(project)
    _apply(project, values, PROPOSAL_FIELDS if project.is_self_proposal else PROJECT_FIELDS)
    if co_supervisor_ids is not None and not project.is_self_proposal:
        project.co_supervisors = _cohort_staff_users(project.cohort, set(co_supervisor_ids) - {project.owner_id})
    after = _snapshot(project)
    if after == before:
        return project
    project.updated_at = clock.now()
    audit.record("project.updated", project, actor=by, cohort=project.cohort,
                 summary=f"Edited project “{project.title}”", before=before, after=after)
    if project.state == APPROVED:
        changed = ", ".join(k.replace("_", " ") for k in after if after[k] != before[k])
        notify(students_who_ranked(project), f"“{project.title}”, which you ranked, was edited by its "
               f"supervisor ({changed}). Your ranking is kept; check it still suits you.",
               link=_link(project), cohort=project.cohort)
    return project


def submit_project(project: Project, *, by: User) -> Project:
    """Send a draft (or a returned project) to the coordinators for approval."""
    if project.is_self_proposal:
        return send_to_supervisor(project, by=by)
    if by.id != project.owner_id:
        raise NotAllowed("Only the project's supervisor can submit it.")
    return _move(project, (DRAFT, CHANGES_REQUESTED), SUBMITTED, by=by, action="project.submitted",
                 summary=f"Submitted “{project.title}” for approval",
                 tell=_coordinators(project.cohort),
                 message=f"{by.name} submitted “{project.title}” for approval.")


def approve_project(project: Project, *, by: User, comment: str = "") -> Project:
    _require_coordinator(project, by)
    if project.is_self_proposal and project.cohort.allocation_published_at is not None:
        # Approving it now would leave the student allocated to one project and approved for another.
        raise InvalidState(f"The allocation is published, so “{project.title}” can no longer be approved as "
                           f"{project.proposed_by.name}'s own project: they stay on the project they were "
                           "allocated. To change that, move them by hand in a new allocation run, or return "
                           "or reject this proposal.")
    tell = [project.owner, project.proposed_by] if project.is_self_proposal else [project.owner]
    return _move(project, (SUBMITTED,), APPROVED, by=by, action="project.approved", comment=comment,
                 summary=f"Approved “{project.title}”", tell=tell,
                 message=f"“{project.title}” is approved." + (
                     " It is a fixed pair for the allocation." if project.is_self_proposal else
                     " Students can now rank it."))


def request_changes(project: Project, *, by: User, comment: str) -> Project:
    _require_coordinator(project, by)
    _require_comment(comment, "Say what should change.")
    author = project.proposed_by if project.is_self_proposal else project.owner
    return _move(project, (SUBMITTED,), CHANGES_REQUESTED, by=by, action="project.changes_requested",
                 comment=comment, summary=f"Returned “{project.title}” for changes",
                 tell=[author, project.owner], message=f"“{project.title}” was returned for changes: {comment}")


def reject_project(project: Project, *, by: User, comment: str) -> Project:
    _require_coordinator(project, by)
    _require_comment(comment, "Give the reason for rejecting it.")
    return _move(project, (SUBMITTED,), REJECTED, by=by, action="project.rejected", comment=comment,
                 summary=f"Rejected “{project.title}”", tell=[project.owner, project.proposed_by],
                 message=f"“{project.title}” was not approved: {comment}")


def withdraw_project(project: Project, *, by: User, reason: str) -> Project:
    """Take an approved project out of the catalogue; students who ranked it are told."""
    # The person first, then (in _move) the state: a draft cannot be withdrawn, whoever asks (409, not 403).
    if project.is_self_proposal or not (by.id == project.owner_id or project.cohort.can_manage(by)):
        raise NotAllowed("Only the supervisor or a coordinator can withdraw a project.")
    _require_comment(reason, "Say why the project is withdrawn: the students who ranked it will read it.")
    if project.cohort.allocation_published_at is not None:
        raise InvalidState("The allocation has been published, so projects can no longer be withdrawn: "
                           "the coordinator changes the allocation instead.")
    students = students_who_ranked(project)
    _move(project, (APPROVED,), WITHDRAWN, by=by, action="project.withdrawn", comment=reason,
          summary=f"Withdrew “{project.title}”", tell=[], message="")
    notify(students, f"“{project.title}”, which you ranked, has been withdrawn: {reason} "
           "Replace it in your preferences.", link=f"/cohorts/{project.cohort_id}/preferences",
           cohort=project.cohort)
    return project


# --- student-proposed projects -------------------------------------------------------------------

def propose_project(cohort: Cohort, *, student: User, supervisor_id: int, values: dict) -> Project:
    """A student's own project idea with the supervisor they name, as a draft."""
    if not cohort.is_student(student):
        raise NotAllowed("Only students of this cohort can propose a project in it.")
    active = db.session.scalar(select(Project).where(
        Project.cohort_id == cohort.id, Project.proposed_by_id == student.id,
        Project.state.not_in((REJECTED, WITHDRAWN))))
    if active is not None:
        raise InvalidState(f"You already have a proposal (“{active.title}”); edit that one instead.")
    supervisor = _cohort_staff_users(cohort, [supervisor_id])[0]
    now = clock.now()
    project = Project(cohort=cohort, owner_id=supervisor.id, proposed_by_id=student.id, capacity=1,
                      state=DRAFT, created_at=now, updated_at=now, description="", prerequisites="")
    _apply(project, values, PROPOSAL_FIELDS)
    db.session.add(project)
    audit.record("project.proposed", project, actor=student, cohort=cohort,
                 summary=f"{student.name} drafted a proposal “{project.title}” with {supervisor.name}",
                 after=_snapshot(project))
    return project


def change_proposed_supervisor(project: Project, supervisor_id: int, *, by: User) -> Project:
    if not (project.is_self_proposal and by.id == project.proposed_by_id and project.state in (DRAFT, DECLINED)):
        raise NotAllowed("You can name another supervisor only before one has accepted.")
    before = _snapshot(project)
    project.owner_id = _cohort_staff_users(project.cohort, [supervisor_id])[0].id
    db.session.flush()
    db.session.refresh(project, ["owner"])
    audit.record("project.updated", project, actor=by, cohort=project.cohort,
                 summary=f"Named {project.owner.name} as supervisor of “{project.title}”",
                 before=before, after=_snapshot(project))
    return project


def send_to_supervisor(project: Project, *, by: User) -> Project:
    if by.id != project.proposed_by_id:
        raise NotAllowed("Only the student who proposed it can send it.")
    return _move(project, (DRAFT, DECLINED, CHANGES_REQUESTED), WITH_SUPERVISOR, by=by,
                 action="project.sent_to_supervisor",
                 summary=f"Sent “{project.title}” to {project.owner.name}", tell=[project.owner],
                 message=f"{by.name} proposes the project “{project.title}” with you as supervisor. "
                         "Accept or decline it.")


def respond_as_supervisor(project: Project, *, accept: bool, by: User, comment: str = "") -> Project:
    """The named supervisor accepts (it goes to the coordinators) or declines (back to the student)."""
    if not (project.is_self_proposal and by.id == project.owner_id):
        raise NotAllowed("Only the supervisor the student named can answer this proposal.")
    if accept:
        return _move(project, (WITH_SUPERVISOR,), SUBMITTED, by=by, action="project.accepted_by_supervisor",
                     comment=comment, summary=f"{by.name} accepted to supervise “{project.title}”",
                     tell=[project.proposed_by, *_coordinators(project.cohort)],
                     message=f"{by.name} accepted to supervise “{project.title}”; it now awaits the "
                             "coordinator's approval.")
    _require_comment(comment, "Tell the student why, so they can find another supervisor.")
    return _move(project, (WITH_SUPERVISOR,), DECLINED, by=by, action="project.declined_by_supervisor",
                 comment=comment, summary=f"{by.name} declined to supervise “{project.title}”",
                 tell=[project.proposed_by],
                 message=f"{by.name} declined to supervise “{project.title}”: {comment}")


# --- shared mechanics ----------------------------------------------------------------------------

def _move(project: Project, from_states: tuple[str, ...], to_state: str, *, by: User, action: str,
          summary: str, tell, message: str, comment: str = "") -> Project:
    if project.state not in from_states:
        raise InvalidState(f"“{project.title}” is {project.state_label.lower()}; that step is not possible now.")
    before = project.state
    project.state = to_state
    project.updated_at = clock.now()
    if comment.strip():
        project.comments.append(ProjectComment(author_id=by.id, body=comment.strip(), state=to_state,
                                               created_at=project.updated_at))
    audit.record(action, project, actor=by, cohort=project.cohort, summary=summary,
                 before={"state": before}, after={"state": to_state, "comment": comment.strip() or None})
    if message:
        notify([p for p in tell if p is not None and p.id != by.id], message, link=_link(project),
               cohort=project.cohort)
    return project


def _require_coordinator(project: Project, by: User) -> None:
    if not project.cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators decide on projects.")


def _require_comment(comment: str, message: str) -> None:
    if not (comment or "").strip():
        raise ValidationFailed(message)


def _coordinators(cohort: Cohort) -> list[User]:
    return [s.member for s in cohort.staff if s.is_coordinator]


def students_who_ranked(project: Project) -> list[User]:
    return list(db.session.scalars(
        select(User).join(PreferenceList, PreferenceList.student_id == User.id)
        .join(Preference, Preference.list_id == PreferenceList.id)
        .where(Preference.project_id == project.id)))


# --- cohort settings of the proposal round ---------------------------------------------------------

SETTING_FIELDS = ["preferences_deadline_at", "min_preferences", "max_preferences", "max_choices_per_supervisor",
                  "project_keywords"]


def update_preference_settings(cohort: Cohort, *, by: User, deadline, min_preferences: int,
                               max_preferences: int, max_choices_per_supervisor: int,
                               project_keywords: list[str]) -> Cohort:
    """The deadline and rules of the preference round (a deadline is a wall-clock time of the cohort)."""
    if not cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators change its settings.")
    if not 1 <= min_preferences <= max_preferences <= 30:
        raise ValidationFailed("Students rank between 1 and 30 projects, the fewest no more than the most.")
    once.lock(cohort)  # the same form sent twice at once: the second finds nothing to change
    before = audit.snapshot(cohort, SETTING_FIELDS)
    cohort.preferences_deadline_at = deadline
    cohort.min_preferences, cohort.max_preferences = min_preferences, max_preferences
    cohort.max_choices_per_supervisor = max_choices_per_supervisor
    cohort.project_keywords = clean_keywords(project_keywords)
    after = audit.snapshot(cohort, SETTING_FIELDS)
    if after != before:
        audit.record("cohort.preference_settings", cohort, actor=by, cohort=cohort,
                     summary=f"Changed the preference round settings of {cohort.title}", before=before, after=after)
    return cohort


# --- supervisor load -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SupervisorLoad:
    member: CohortStaff
    load_limit: int
    offered: int          # places in approved or pending staff projects
    fixed_pairs: int      # approved student proposals they accepted
    expected: int         # their share of the cohort's students, capped by their limit

    @property
    def short_of_expected(self) -> bool:
        return self.offered + self.fixed_pairs < self.expected


def _places(cohort: Cohort, owner_id: int | None = None) -> tuple[dict[int, int], dict[int, int]]:
    """Owner id -> places offered in approved or pending staff projects, and -> approved student
    proposals they accepted (of one owner, or of everyone)."""
    mine = [Project.owner_id == owner_id] if owner_id is not None else []
    offered = dict(db.session.execute(
        select(Project.owner_id, func.sum(Project.capacity))
        .where(Project.cohort_id == cohort.id, Project.proposed_by_id.is_(None),
               Project.state.in_((SUBMITTED, APPROVED)), *mine)
        .group_by(Project.owner_id)).all())
    fixed = dict(db.session.execute(
        select(Project.owner_id, func.count())
        .where(Project.cohort_id == cohort.id, Project.proposed_by_id.is_not(None), Project.state == APPROVED, *mine)
        .group_by(Project.owner_id)).all())
    return offered, fixed


def _shares(cohort: Cohort) -> tuple[int, int]:
    """The cohort's number of students and the sum of its supervisors' load limits (staff with a
    profile or a limit of their own), counted by the database rather than by loading everyone."""
    students = db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.cohort_id == cohort.id))
    total_limit = db.session.scalar(
        select(func.coalesce(func.sum(func.coalesce(CohortStaff.load_limit, StaffProfile.max_load, 0)), 0))
        .select_from(CohortStaff).outerjoin(StaffProfile, StaffProfile.user_id == CohortStaff.user_id)
        .where(CohortStaff.cohort_id == cohort.id,
               StaffProfile.user_id.is_not(None) | CohortStaff.load_limit.is_not(None)))
    return students, total_limit or 1


def _load(member: CohortStaff, offered: dict[int, int], fixed: dict[int, int], students: int,
          total_limit: int) -> SupervisorLoad:
    limit = member.effective_load_limit
    expected = min(limit, ceil(students * limit / total_limit))
    return SupervisorLoad(member, limit, int(offered.get(member.user_id, 0)), fixed.get(member.user_id, 0), expected)


def supervisor_loads(cohort: Cohort) -> list[SupervisorLoad]:
    """Offered capacity against the load limit, for every member of staff of the cohort.

    A member's expected load is the cohort's students shared out in proportion to load limits
    (never above their own limit): a member offering fewer places than that leaves others to make up
    the difference.
    """
    offered, fixed = _places(cohort)
    students, total_limit = _shares(cohort)
    members = [s for s in cohort.staff if s.member.staff_profile is not None or s.load_limit is not None]
    return [_load(s, offered, fixed, students, total_limit)
            for s in sorted(members, key=lambda m: m.member.name.lower())]


def supervisor_load(cohort: Cohort, member: CohortStaff) -> SupervisorLoad | None:
    """One member's row of ``supervisor_loads`` (None for staff who do not supervise), in a few
    aggregate queries: their own page need not compute everyone's."""
    if member.member.staff_profile is None and member.load_limit is None:
        return None
    offered, fixed = _places(cohort, member.user_id)
    return _load(member, offered, fixed, *_shares(cohort))


def set_load_limit(member: CohortStaff, limit: int | None, *, by: User) -> CohortStaff:
    """The coordinator's per-cohort override of a member's maximum load (None: back to their profile)."""
    if not member.cohort.can_manage(by):
        raise NotAllowed("Only the cohort's coordinators set load limits.")
    if limit is not None and not 0 <= limit <= 50:
        raise ValidationFailed("A load limit is between 0 and 50 students.")
    once.lock(member)
    before = {"load_limit": member.load_limit}
    if limit == member.load_limit:
        return member
    member.load_limit = limit
    audit.record("cohort_staff.load_limit", member, actor=by, cohort=member.cohort,
                 summary=f"Set {member.member.name}'s load limit to "
                         f"{limit if limit is not None else 'their profile default'}",
                 before=before, after={"load_limit": limit})
    return member

