"""Browsing the audit log: coordinators see their cohorts' events, admins see everything."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import distinct, func, or_, select

from ..cohorts.services import cohorts_managed_by
from ..core.audit import AuditEvent
from ..core.auth import get_or_404, require, roles_required
from ..extensions import db
from ..people.models import ADMIN, COORDINATOR, User

bp = Blueprint("audit", __name__, url_prefix="/audit")

LOG_ZONE = ZoneInfo("Europe/London")


def _visible(query, cohort_ids: list[int]):
    if current_user.has_role(ADMIN):
        return query
    return query.where(AuditEvent.cohort_id.in_(cohort_ids))


def _parse_day(value: str | None):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date() if value else None
    except ValueError:
        return None


@bp.get("/")
@roles_required(COORDINATOR, ADMIN)
def index():
    cohorts = cohorts_managed_by(current_user)
    cohort_ids = [c.id for c in cohorts]
    args = request.args
    filters = {k: (args.get(k) or "").strip() for k in ("cohort", "action", "object_type", "object_id", "who", "q", "since", "until")}
    query = _visible(select(AuditEvent), cohort_ids)
    if filters["cohort"].isdigit():
        query = query.where(AuditEvent.cohort_id == int(filters["cohort"]))
    if filters["action"]:
        query = query.where(AuditEvent.action == filters["action"])
    if filters["object_type"]:
        query = query.where(AuditEvent.object_type == filters["object_type"])
    if filters["object_id"].isdigit():
        query = query.where(AuditEvent.object_id == int(filters["object_id"]))
    if filters["who"]:
        like = f"%{filters['who'].lower()}%"
        query = query.join(User, AuditEvent.actor_id == User.id).where(
            or_(User.email.like(like), func.lower(User.name).like(like)))
    if filters["q"]:
        query = query.where(func.lower(AuditEvent.summary).like(f"%{filters['q'].lower()}%"))
    bad_dates = []
    for key, op in (("since", "ge"), ("until", "lt")):
        if not filters[key]:
            continue
        day = _parse_day(filters[key])
        if day is None:
            bad_dates.append(f"“{filters[key]}” is not a date (use YYYY-MM-DD).")
            continue
        if key == "until":
            day += timedelta(days=1)
        boundary = datetime.combine(day, time(0), LOG_ZONE)
        query = query.where(AuditEvent.at >= boundary if op == "ge" else AuditEvent.at < boundary)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    page = db.paginate(query, per_page=current_app.config["AUDIT_PAGE_SIZE"], error_out=False)
    actions = db.session.scalars(_visible(select(distinct(AuditEvent.action)), cohort_ids)
                                 .order_by(AuditEvent.action)).all()
    types = db.session.scalars(_visible(select(distinct(AuditEvent.object_type)), cohort_ids)
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
    return render_template("audit/show.html", event=event, zone=LOG_ZONE)
