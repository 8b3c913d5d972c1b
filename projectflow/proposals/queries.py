"""Read helpers the proposal pages share (eager-loaded; no query per row)."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..cohorts.models import Cohort
from ..extensions import db
from ..people.models import User
from .models import APPROVED, STATES, Bookmark, Project, project_co_supervisors


def _catalogue(cohort: Cohort) -> list:
    """What puts a project in a cohort's catalogue: approved, offered by staff."""
    return [Project.cohort_id == cohort.id, Project.state == APPROVED, Project.proposed_by_id.is_(None)]


def _like(word: str):
    """A LIKE pattern containing ``word``, whose own % and _ are plain characters."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def catalogue_query(cohort: Cohort, *, q: str = "", keyword: str = "", supervisor_id: int | None = None,
                    external: str = "", bookmarked_by: User | None = None):
    """Approved staff projects of the cohort matching a search and filters, by title."""
    query = select(Project).where(*_catalogue(cohort)).options(selectinload(Project.co_supervisors))
    words = q.lower().split()[:8]
    if words or keyword:
        # Keywords are matched here, not in SQL: the stored JSON text escapes letters beyond ASCII
        # ("na\u00efve bayes"), so a LIKE on it would never find an accented keyword.
        keywords = db.session.execute(select(Project.id, Project.keywords).where(*_catalogue(cohort))).all()
    for word in words:
        in_keywords = [pid for pid, kws in keywords if any(word in k for k in kws or [])]
        query = query.where(or_(func.lower(Project.title).like(_like(word), escape="\\"),
                                func.lower(Project.description).like(_like(word), escape="\\"),
                                Project.id.in_(in_keywords)))
    if keyword:
        # The whole keyword (keywords are stored lower-cased), not a part of one.
        wanted = " ".join(keyword.lower().split())
        query = query.where(Project.id.in_([pid for pid, kws in keywords if wanted in (kws or [])]))
    if supervisor_id:
        co = select(project_co_supervisors.c.project_id).where(project_co_supervisors.c.user_id == supervisor_id)
        query = query.where(or_(Project.owner_id == supervisor_id, Project.id.in_(co)))
    if external in ("yes", "no"):
        query = query.where(Project.is_external.is_(external == "yes"))
    if bookmarked_by is not None:
        query = query.where(Project.id.in_(select(Bookmark.project_id)
                                           .where(Bookmark.student_id == bookmarked_by.id)))
    return query.order_by(func.lower(Project.title))


def catalogue_keywords(cohort: Cohort) -> list[str]:
    """The keywords used by the cohort's approved projects, for the filter."""
    used: set[str] = set()
    for keywords in db.session.scalars(select(Project.keywords).where(*_catalogue(cohort))):
        used.update(keywords or [])
    return sorted(used)


def catalogue_supervisors(cohort: Cohort) -> list[User]:
    owner_ids = select(Project.owner_id).where(Project.cohort_id == cohort.id, Project.state == APPROVED,
                                               Project.proposed_by_id.is_(None))
    return list(db.session.scalars(select(User).where(User.id.in_(owner_ids)).order_by(func.lower(User.name))))


def state_counts(cohort: Cohort) -> dict[str, int]:
    counts = dict(db.session.execute(select(Project.state, func.count()).where(Project.cohort_id == cohort.id)
                                     .group_by(Project.state)).all())
    return {s: counts.get(s, 0) for s in STATES}


def projects_of(cohort: Cohort, *, owner: User | None = None, state: str = "", student: User | None = None):
    query = select(Project).where(Project.cohort_id == cohort.id).options(joinedload(Project.proposed_by))
    if owner is not None:
        co = select(project_co_supervisors.c.project_id).where(project_co_supervisors.c.user_id == owner.id)
        query = query.where(or_(Project.owner_id == owner.id, Project.id.in_(co)))
    if student is not None:
        query = query.where(Project.proposed_by_id == student.id)
    if state in STATES:
        query = query.where(Project.state == state)
    return list(db.session.scalars(query.order_by(Project.updated_at.desc())))
