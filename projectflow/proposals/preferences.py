"""Students' ranked preferences and bookmarks, and what coordinators learn from them."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.attributes import flag_modified

from ..cohorts.models import Cohort, Enrolment
from ..core import audit, clock, once
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..extensions import db
from ..people.models import User
from . import queries
from .models import APPROVED, Bookmark, Preference, PreferenceList, Project


class StaleList(InvalidState):
    """The list changed since the page was loaded (another window, or a coordinator)."""


class ListClosed(InvalidState):
    """The preferences deadline has passed: the student's own list can no longer change."""


def preference_list(cohort: Cohort, student: User) -> PreferenceList | None:
    return db.session.scalar(select(PreferenceList).where(
        PreferenceList.cohort_id == cohort.id, PreferenceList.student_id == student.id))


# Said of any id that is not a project the student may rank: never which project it is, nor whether
# it exists (another cohort's project, a draft, someone's proposal).
NOT_RANKABLE = "Only projects of your cohort's catalogue can be ranked; {n} of those sent cannot be ranked."


def check_choices(cohort: Cohort, project_ids: list[int], student: User) -> list[Project]:
    """The projects of ``student``'s would-be list, in order, or ValidationFailed naming the broken rule."""
    if len(project_ids) != len(set(project_ids)):
        raise ValidationFailed("A project appears twice in your list; each project can be ranked once.")
    if len(project_ids) < cohort.min_preferences:
        raise ValidationFailed(f"Rank at least {cohort.min_preferences} projects (you have {len(project_ids)}).")
    if len(project_ids) > cohort.max_preferences:
        raise ValidationFailed(f"Rank at most {cohort.max_preferences} projects (you have {len(project_ids)}).")
    found = {p.id: p for p in db.session.scalars(select(Project).where(Project.id.in_(project_ids),
                                                                       Project.cohort_id == cohort.id))}
    unseen = [pid for pid in project_ids if pid not in found or not found[pid].can_view(student)]
    if unseen:
        raise ValidationFailed(NOT_RANKABLE.format(n=len(unseen)))
    projects = [found[pid] for pid in project_ids]
    for project in projects:
        if not project.is_rankable():
            # A project the student may see: one they ranked that was withdrawn since.
            raise ValidationFailed(f"“{project.title}” is not open for ranking ({project.state_label.lower()}).")
    per_supervisor = Counter(p.owner_id for p in projects)
    crowded = [pid for pid, n in per_supervisor.items() if n > cohort.max_choices_per_supervisor]
    if crowded:
        name = next(p.owner.name for p in projects if p.owner_id == crowded[0])
        raise ValidationFailed(f"At most {cohort.max_choices_per_supervisor} of your choices may be with the "
                               f"same supervisor; you have {per_supervisor[crowded[0]]} with {name}.")
    return projects


def approved_proposal_of(cohort: Cohort, student: User) -> Project | None:
    """The student's own approved proposal: their project, which makes a preference list pointless."""
    return db.session.scalar(select(Project).where(
        Project.cohort_id == cohort.id, Project.proposed_by_id == student.id, Project.state == APPROVED))


def check_can_change(cohort: Cohort, student: User, *, by: User) -> None:
    """Refuse unless ``by`` may change ``student``'s list now: the student until the deadline (checked
    here, on the server, whatever the page showed), a coordinator at any time."""
    on_behalf = by.id != student.id
    if on_behalf and not cohort.can_manage(by):
        raise NotAllowed("Only a coordinator can enter preferences for another student.")
    if not cohort.is_student(student):
        raise NotAllowed("Only students of this cohort have preferences in it.")
    own = approved_proposal_of(cohort, student)
    if own is not None:
        raise ListClosed(f"{'Your' if not on_behalf else 'Their'} own proposal “{own.title}” is approved: it is "
                         "the project, so no preference list is needed.")
    closed = None if on_behalf else cohort.preferences_closed_because(clock.now())
    if closed:
        raise ListClosed(f"{closed} Your list can no longer change; contact the coordinator if something is "
                         "wrong.")


def save_preferences(cohort: Cohort, student: User, project_ids: list[int], *, expected_version: int | None,
                     by: User) -> PreferenceList:
    """Replace a student's ranked list.

    Students may save until the deadline; coordinators may enter a list on a student's behalf at any
    time (audited as such). ``expected_version`` is the version the page showed (None for a first
    list): if the list changed meanwhile, nothing is saved and StaleList says so.
    """
    check_can_change(cohort, student, by=by)
    on_behalf = by.id != student.id
    now = clock.now()
    projects = check_choices(cohort, project_ids, student)
    plist = preference_list(cohort, student)
    current = plist.version if plist is not None else None
    if current != expected_version:
        when = f" (saved at {plist.submitted_at.astimezone(cohort.zone):%H:%M on %d %b})" if plist else ""
        raise StaleList(f"Your list was changed elsewhere{when} after this page was opened. "
                        "Nothing was saved: here is the current list; make your changes again.")
    before = [c.project_id for c in plist.choices] if plist else []
    if plist is None:
        plist = PreferenceList(cohort_id=cohort.id, student_id=student.id, submitted_at=now, entered_by_id=by.id)
        db.session.add(plist)
        try:
            db.session.flush()
        except IntegrityError:
            # Another first list of this student committed meanwhile (a double click on "Save"): one
            # list per student and cohort is a unique key, and the later save is simply stale.
            raise StaleList("Your list was saved from elsewhere at the same moment. Nothing was saved from "
                            "this page: reload it to see the current list.") from None
    else:
        # Delete first: the (list, rank) uniqueness would otherwise trip over the rows being replaced.
        db.session.execute(delete(Preference).where(Preference.list_id == plist.id))
        db.session.expire(plist, ["choices"])
        plist.submitted_at, plist.entered_by_id = now, by.id
        # The choices live in other rows: make sure the list's own row is updated, so that its version
        # moves on even when the time and the person are the same as last time.
        flag_modified(plist, "submitted_at")
    for rank, project in enumerate(projects, start=1):
        db.session.add(Preference(list_id=plist.id, project_id=project.id, rank=rank))
    try:
        db.session.flush()
    except StaleDataError:
        # Another save of this list committed between our read and this write (its version moved on).
        raise StaleList("Your list was saved from elsewhere at the same moment. Nothing was saved from this "
                        "page: reload it to see the current list.") from None
    db.session.expire(plist, ["choices"])
    summary = (f"{by.name} entered {student.name}'s preferences on their behalf" if on_behalf
               else f"{student.name} saved their preferences")
    audit.record("preferences.saved", plist, actor=by, cohort=cohort, summary=summary,
                 before={"projects": before}, after={"projects": [p.id for p in projects], "on_behalf": on_behalf})
    return plist


def set_bookmark(project: Project, student: User, marked: bool | None = None) -> bool:
    """Bookmark (``marked``) or un-bookmark the project, or toggle (None); True when it is now bookmarked.

    Written so that the same request twice at once has one effect: an insert that skips a row another
    request has just made, a delete of whatever is there."""
    if not project.can_view(student) or not project.is_rankable():
        raise NotAllowed("Only projects in your cohort's catalogue can be bookmarked.")
    if marked is None:
        marked = db.session.get(Bookmark, (student.id, project.id)) is None
    if marked:
        once.insert_unless_present(Bookmark, student_id=student.id, project_id=project.id, created_at=clock.now())
    else:
        db.session.execute(delete(Bookmark).where(Bookmark.student_id == student.id,
                                                  Bookmark.project_id == project.id))
    return marked


def bookmarked_ids(student: User, cohort: Cohort) -> set[int]:
    return set(db.session.scalars(select(Bookmark.project_id).join(Project)
                                  .where(Bookmark.student_id == student.id, Project.cohort_id == cohort.id)))


# --- what the coordinator sees --------------------------------------------------------------------

@dataclass(frozen=True)
class Popularity:
    project: Project
    by_rank: dict[int, int]   # rank -> number of students

    @property
    def total(self) -> int:
        return sum(self.by_rank.values())

    @property
    def first_choices(self) -> int:
        return self.by_rank.get(1, 0)

    @property
    def oversubscribed(self) -> bool:
        return self.first_choices > self.project.capacity


def popularity(cohort: Cohort) -> list[Popularity]:
    """Every approved project with how many students ranked it at each rank: the most ranked first, then
    the most often ranked first."""
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for project_id, rank, n in db.session.execute(
            select(Preference.project_id, Preference.rank, func.count())
            .join(PreferenceList).where(PreferenceList.cohort_id == cohort.id)
            .group_by(Preference.project_id, Preference.rank)):
        counts[project_id][rank] = n
    projects = db.session.scalars(select(Project).where(
        Project.cohort_id == cohort.id, Project.state == APPROVED, Project.proposed_by_id.is_(None))).all()
    rows = [Popularity(p, counts.get(p.id, {})) for p in projects]
    return sorted(rows, key=lambda r: (-r.total, -r.first_choices, r.project.title.lower()))


def short_titles(titles: list[str], width: int) -> list[str]:
    """Each title cut to ``width`` characters, still telling apart titles that begin alike.

    A title that fits is kept whole; a longer one is cut at the end, unless another title would be cut to
    the same text: then it keeps its beginning and its end ("Machine learning f…of coastal erosion");
    titles still alike after that get a number."""
    def head(title: str) -> str:
        return title if len(title) <= width else title[:width - 1].rstrip() + "…"

    def head_and_tail(title: str) -> str:
        if len(title) <= width:
            return title
        front = title[:width // 2 - 1].rstrip()
        return front + "…" + title[len(title) - (width - len(front) - 1):].lstrip()

    labels = [head(t) for t in titles]
    labels = [head_and_tail(t) if labels.count(lab) > 1 else lab for t, lab in zip(titles, labels)]
    alike = Counter(labels)
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        if alike[lab] > 1:
            seen[lab] = seen.get(lab, 0) + 1
            suffix = f" ({seen[lab]})"
            labels[i] = lab[:width - len(suffix) - 1].rstrip() + "…" + suffix
    return labels


def students_without_preferences(cohort: Cohort) -> list[Enrolment]:
    """Enrolled students who have no list yet and no approved proposal of their own (who needs none)."""
    has_list = select(PreferenceList.student_id).where(PreferenceList.cohort_id == cohort.id)
    has_own = select(Project.proposed_by_id).where(Project.cohort_id == cohort.id, Project.state == APPROVED,
                                                    Project.proposed_by_id.is_not(None))
    return list(db.session.scalars(
        select(Enrolment).join(User, Enrolment.user_id == User.id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.user_id.not_in(has_list),
               Enrolment.user_id.not_in(has_own))
        .order_by(func.lower(User.name))))


# --- editing a list before it is saved ------------------------------------------------------------

def projects_for_list(cohort: Cohort, student: User, project_ids: list[int]) -> tuple[list[Project], int]:
    """The projects of a list being edited, in the order given, and how many distinct ids were refused.

    Accepted: the cohort's catalogue (approved staff projects) and whatever is on the student's saved
    list (a project withdrawn since stays until replaced). Any other id is refused and its project is
    never returned, so a page cannot be made to show a project the student may not see."""
    saved = preference_list(cohort, student)
    on_saved = {c.project_id for c in saved.choices} if saved else set()
    found = {p.id: p for p in db.session.scalars(select(Project).where(Project.id.in_(project_ids),
                                                                       Project.cohort_id == cohort.id))}
    allowed = {pid for pid, p in found.items() if (p.is_rankable() or pid in on_saved) and p.can_view(student)}
    # A project sent twice stays twice: the page shows the list as sent, and says why it is refused.
    return [found[pid] for pid in project_ids if pid in allowed], len(set(project_ids) - allowed)


def rearrange(project_ids: list[int], action: str) -> list[int]:
    """Apply one button of the list editor: ``add:ID``, ``remove:ID``, ``up:ID``, ``down:ID``, ``top:ID``."""
    ids = list(dict.fromkeys(project_ids))
    verb, _, raw = action.partition(":")
    # isdigit() alone also accepts digits such as "²" that int() refuses; the page sends ASCII digits.
    if not (raw.isascii() and raw.isdigit()):
        return ids
    pid = int(raw)
    if verb == "add" and pid not in ids:
        return ids + [pid]
    if pid not in ids:
        return ids
    i = ids.index(pid)
    if verb == "remove":
        ids.pop(i)
    elif verb == "up" and i > 0:
        ids[i - 1], ids[i] = ids[i], ids[i - 1]
    elif verb == "down" and i < len(ids) - 1:
        ids[i + 1], ids[i] = ids[i], ids[i + 1]
    elif verb == "top":
        ids.insert(0, ids.pop(i))
    return ids


CANDIDATES_PER_PAGE = 25


def bookmarked_candidates(cohort: Cohort, student: User, exclude: set[int]) -> list[Project]:
    """The student's bookmarked catalogue projects not yet on the list, by title."""
    return list(db.session.scalars(
        queries.catalogue_query(cohort, bookmarked_by=student).where(Project.id.not_in(exclude))))


def candidate_page(cohort: Cohort, student: User, *, q: str, exclude: set[int], page: int):
    """One page of the other catalogue projects the student could add, searched as the catalogue is:
    bookmarks and projects already on the list are left out (the page shows them elsewhere)."""
    marked = select(Bookmark.project_id).where(Bookmark.student_id == student.id)
    query = queries.catalogue_query(cohort, q=q).where(Project.id.not_in(exclude), Project.id.not_in(marked))
    return db.paginate(query, page=page, per_page=CANDIDATES_PER_PAGE, error_out=False)
