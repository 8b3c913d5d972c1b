"""Browsing the audit log: coordinators see their cohorts' events, admins see everything."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..assessment.models import MarkSheet
from ..assessment.services import blind_sheet_ids, without_blind_events
from ..cohorts.services import cohorts_managed_by
from ..core.audit import AuditEvent
from ..core.auth import get_or_404, require, roles_required
from ..core.forms import page_number, search_text
from ..core.ids import as_id
from ..extensions import db
from ..people.models import ADMIN, COORDINATOR, User

bp = Blueprint("audit", __name__, url_prefix="/audit")

LOG_ZONE = ZoneInfo("Europe/London")


def _visible(query, cohort_ids: list[int]):
    # Blind marking holds here too: a coordinator or admin who marks does not read the other marker's
    # sheet in the log before both sheets are submitted.
    query = without_blind_events(query, current_user)
    if current_user.has_role(ADMIN):
        return query
    return query.where(AuditEvent.cohort_id.in_(cohort_ids))


def _number(value: str) -> int | None:
    try:
        return as_id(value)
    except ValueError:
        return None


def _day_start(value: str, *, next_day: bool = False) -> datetime | None:
    """Midnight at the start of a UK date given as YYYY-MM-DD (or of the day after), None if it is no date."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
        if next_day:
            day += timedelta(days=1)
    except (ValueError, OverflowError):
        return None
    return datetime.combine(day, time(0), LOG_ZONE)


@bp.get("/")
@roles_required(COORDINATOR, ADMIN)
def index():
    cohorts = cohorts_managed_by(current_user)
    cohort_ids = [c.id for c in cohorts]
    args = request.args
    filters = {k: (args.get(k) or "").strip() for k in ("cohort", "action", "object_type", "object_id", "who", "q", "since", "until")}
    filters["who"], filters["q"] = search_text("who"), search_text("q")
    # The actor and the cohort of the page's 50 events in two small queries: joined to every matching
    # event (the model's default), they made the database join thousands of rows before sorting them.
    query = _visible(select(AuditEvent).options(selectinload(AuditEvent.actor), selectinload(AuditEvent.cohort)),
                     cohort_ids)
    if _number(filters["cohort"]) is not None:
        query = query.where(AuditEvent.cohort_id == _number(filters["cohort"]))
    if filters["action"]:
        query = query.where(AuditEvent.action == filters["action"])
    if filters["object_type"]:
        query = query.where(AuditEvent.object_type == filters["object_type"])
    if _number(filters["object_id"]) is not None:
        query = query.where(AuditEvent.object_id == _number(filters["object_id"]))
    if filters["who"]:
        like = f"%{filters['who'].lower()}%"
        query = query.join(User, AuditEvent.actor_id == User.id).where(
            or_(User.email.like(like), func.lower(User.name).like(like)))
    if filters["q"]:
        query = query.where(func.lower(AuditEvent.summary).like(f"%{filters['q'].lower()}%"))
    bad_dates = []
    for key in ("since", "until"):
        if not filters[key]:
            continue
        # "until" a day includes the whole of that day: everything before the next midnight.
        boundary = _day_start(filters[key], next_day=key == "until")
        if boundary is None:
            bad_dates.append(f"“{filters[key]}” is not a date (use YYYY-MM-DD).")
            continue
        query = query.where(AuditEvent.at >= boundary if key == "since" else AuditEvent.at < boundary)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    page = db.paginate(query, page=page_number(), per_page=current_app.config["AUDIT_PAGE_SIZE"], error_out=False)
    actions = db.session.scalars(_visible(select(AuditEvent.action).distinct(), cohort_ids)
                                 .order_by(AuditEvent.action)).all()
    types = db.session.scalars(_visible(select(AuditEvent.object_type).distinct(), cohort_ids)
                               .order_by(AuditEvent.object_type)).all()
    status = 400 if bad_dates else 200
    return render_template("audit/index.html", page=page, filters=filters, cohorts=cohorts,
                           actions=actions, types=types, bad_dates=bad_dates, zone=LOG_ZONE), status


@bp.get("/<int:event_id>")
@roles_required(COORDINATOR, ADMIN)
def show(event_id: int):
    event = get_or_404(AuditEvent, event_id)
    allowed = current_user.has_role(ADMIN) or (
        event.cohort is not None and event.cohort.can_manage(current_user))
    require(allowed, "This event belongs to a cohort you do not coordinate.")
    require(not (event.object_type == MarkSheet.__tablename__ and event.object_id in blind_sheet_ids(current_user)),
            "This is the other marker's sheet of work you mark: it stays hidden until both sheets are submitted.")
    return render_template("audit/show.html", event=event, zone=LOG_ZONE)
