"""Every page that lists cohort-sized data, for every role of an installation built by
``tests.cohort_builder``: what the query-count gate and the page benchmark (``bench/pages.py``) open.

A page is named by the persona who opens it and what it is; its address comes from the installation,
so the same tour runs at any size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy import event

from projectflow.extensions import db
from projectflow.people.models import ADMIN, COORDINATOR, STAFF, STUDENT
from tests.cohort_builder import PASSWORD, Installation

# persona -> (the installation's attribute naming the person, the role they view the site as)
PERSONAS = {
    "student": ("student_now", STUDENT),
    "student last year": ("student_before", STUDENT),
    "supervisor": ("supervisor", STAFF),
    "second marker": ("second_marker", STAFF),
    "coordinator": ("coordinator", COORDINATOR),
    "admin": ("admin", ADMIN),
}


@dataclass(frozen=True)
class Page:
    persona: str
    name: str
    address: Callable[[Installation], str]

    @property
    def key(self) -> str:
        return f"{self.persona}: {self.name}"


def _pages() -> list[Page]:
    def C(i):  # noqa: N802 - this year's cohort, last year's
        return f"/cohorts/{i.cohort.id}"

    def P(i):  # noqa: N802
        return f"/cohorts/{i.previous.id}"

    pages = [
        Page("student", "home", lambda i: "/student"),
        Page("student", "cohort", C),
        Page("student", "catalogue", lambda i: f"{C(i)}/catalogue"),
        Page("student", "preferences", lambda i: f"{C(i)}/preferences"),
        Page("student", "project", lambda i: f"/projects/{i.project.id}"),
        Page("student", "my timeline", lambda i: f"{C(i)}/my-timeline"),
        Page("student", "milestone", lambda i: f"/milestones/{i.milestone_now.id}"),
        Page("student", "calendar feed", lambda i: "/calendar"),
        Page("student", "notifications", lambda i: "/notifications"),
        Page("student last year", "home", lambda i: "/student"),
        Page("student last year", "cohort", P),
        Page("student last year", "my allocation", lambda i: f"{P(i)}/allocation/mine"),
        Page("student last year", "my timeline", lambda i: f"{P(i)}/my-timeline"),
        Page("student last year", "milestone", lambda i: f"/milestones/{i.milestone_before.id}"),
        Page("student last year", "meeting log", lambda i: f"{P(i)}/meetings"),
        Page("student last year", "my results", lambda i: f"{P(i)}/my-results"),
        Page("student last year", "poster availability", lambda i: f"{P(i)}/posters/availability"),
        Page("student last year", "poster day programme (PDF)", lambda i: f"{P(i)}/posters/programme.pdf"),
        Page("student last year", "my poster slot", lambda i: f"{P(i)}/posters/mine"),
        Page("student last year", "my poster slot (.ics)", lambda i: f"{P(i)}/posters/mine.ics"),
        Page("student last year", "calendar feed", lambda i: "/calendar"),
        Page("student last year", "notifications", lambda i: "/notifications"),
    ]
    for persona in ("supervisor", "second marker"):
        pages += [
            Page(persona, "home", lambda i: "/staff"),
            Page(persona, "cohort", C),
            Page(persona, "my projects", lambda i: f"{C(i)}/my-projects"),
            Page(persona, "catalogue", lambda i: f"{C(i)}/catalogue"),
            Page(persona, "my students last year", lambda i: f"{P(i)}/allocation/my-students"),
            Page(persona, "progress last year", lambda i: f"{P(i)}/progress"),
            Page(persona, "progress this year", lambda i: f"{C(i)}/progress"),
            Page(persona, "progress export last year", lambda i: f"{P(i)}/progress.xlsx"),
            Page(persona, "supervision last year", lambda i: f"{P(i)}/meetings/supervision"),
            Page(persona, "poster availability last year", lambda i: f"{P(i)}/posters/availability"),
            Page(persona, "posters I assess last year", lambda i: f"{P(i)}/posters/mine"),
            Page(persona, "posters I assess last year (.ics)", lambda i: f"{P(i)}/posters/mine.ics"),
            Page(persona, "calendar feed", lambda i: "/calendar"),
            Page(persona, "notifications", lambda i: "/notifications"),
        ]
    pages.append(Page("supervisor", "project", lambda i: f"/projects/{i.project.id}"))
    pages += [
        Page("supervisor", "marking queue", lambda i: "/marking"),
        Page("supervisor", "mark sheet last year", lambda i: f"/marking/sheets/{i.sheet.id}"),
        Page("supervisor", "agreeing a mark last year", lambda i: f"/marking/agreements/{i.agreement.id}"),
        Page("supervisor", "feedback form preview last year (PDF)",
             lambda i: f"{P(i)}/students/{i.sheet.student_id}/feedback/{i.sheet.component_id}.pdf"),
        Page("second marker", "marking queue", lambda i: "/marking"),
    ]
    pages += [
        Page("coordinator", "home", lambda i: "/coordinator"),
        Page("coordinator", "cohorts", lambda i: "/cohorts/"),
        Page("coordinator", "outbox this year", lambda i: f"{C(i)}/outbox"),
        Page("coordinator", "outbox this year, second page", lambda i: f"{C(i)}/outbox?page=2"),
        Page("coordinator", "outbox this year, failed", lambda i: f"{C(i)}/outbox?state=failed"),
        Page("coordinator", "audit log", lambda i: "/audit/"),
        Page("coordinator", "audit log of a cohort and action",
             lambda i: f"/audit/?cohort={i.cohort.id}&action=project.approved"),
        Page("coordinator", "audit log of an object", lambda i: f"/audit/?object_type=projects&object_id={i.project.id}"),
        Page("coordinator", "notifications", lambda i: "/notifications"),
    ]
    for year, cohort in (("this year", C), ("last year", P)):
        pages += [
            Page("coordinator", f"cohort {year}", cohort),
            Page("coordinator", f"proposals queue {year}", lambda i, c=cohort: f"{c(i)}/proposals"),
            Page("coordinator", f"all proposals {year}", lambda i, c=cohort: f"{c(i)}/proposals?state=all"),
            Page("coordinator", f"catalogue {year}", lambda i, c=cohort: f"{c(i)}/catalogue"),
            Page("coordinator", f"my projects {year}", lambda i, c=cohort: f"{c(i)}/my-projects"),
            Page("coordinator", f"supervisors {year}", lambda i, c=cohort: f"{c(i)}/supervisors"),
            Page("coordinator", f"preferences overview {year}", lambda i, c=cohort: f"{c(i)}/preferences/overview"),
            Page("coordinator", f"allocation runs {year}", lambda i, c=cohort: f"{c(i)}/allocation/"),
            Page("coordinator", f"second markers {year}", lambda i, c=cohort: f"{c(i)}/allocation/markers"),
            Page("coordinator", f"progress {year}", lambda i, c=cohort: f"{c(i)}/progress"),
            Page("coordinator", f"supervision {year}", lambda i, c=cohort: f"{c(i)}/meetings/supervision"),
            Page("coordinator", f"overdue meetings {year}", lambda i, c=cohort: f"{c(i)}/meetings/overdue"),
            Page("coordinator", f"extensions {year}", lambda i, c=cohort: f"{c(i)}/extensions"),
            Page("coordinator", f"timeline {year}", lambda i, c=cohort: f"{c(i)}/timeline"),
        ]
    pages += [
        Page("coordinator", "marking last year", lambda i: f"{P(i)}/marking"),
        Page("coordinator", "mark sheet last year", lambda i: f"/marking/sheets/{i.coordinators_sheet.id}"),
        Page("coordinator", "agreeing a mark last year",
             lambda i: f"/marking/agreements/{i.coordinators_agreement.id}"),
        Page("coordinator", "results last year", lambda i: f"{P(i)}/results"),
        Page("coordinator", "results last year, filtered", lambda i: f"{P(i)}/results?state=awaiting&class=Pass"),
        Page("coordinator", "results charts last year", lambda i: f"{P(i)}/results/charts"),
        Page("coordinator", "results export last year (CSV)", lambda i: f"{P(i)}/results.csv"),
        Page("coordinator", "results export last year (Excel)", lambda i: f"{P(i)}/results.xlsx"),
        Page("coordinator", "feedback form last year (PDF)", lambda i: f"{P(i)}/students/{i.sheet.student_id}/feedback.pdf"),
        Page("coordinator", "exam board mark sheet last year (PDF)", lambda i: f"{P(i)}/mark-sheet.pdf"),
        Page("coordinator", "exam board mark sheet last year (CSV)", lambda i: f"{P(i)}/mark-sheet.csv"),
        Page("coordinator", "moderation last year", lambda i: f"{P(i)}/moderation"),
        Page("coordinator", "poster sessions last year", lambda i: f"{P(i)}/posters"),
        Page("coordinator", "a poster session last year", lambda i: f"{P(i)}/posters/sessions/{i.poster_session.id}"),
        Page("coordinator", "poster declarations last year", lambda i: f"{P(i)}/posters/declarations?show=all"),
        Page("coordinator", "poster declarations waiting last year", lambda i: f"{P(i)}/posters/declarations"),
        Page("coordinator", "poster panels last year", lambda i: f"{P(i)}/posters/panels"),
        Page("coordinator", "poster panels last year, second page", lambda i: f"{P(i)}/posters/panels?page=2"),
        Page("coordinator", "poster panels last year, found", lambda i: f"{P(i)}/posters/panels?q=a"),
        Page("coordinator", "poster schedules last year", lambda i: f"{P(i)}/posters/schedules"),
        Page("coordinator", "poster schedule grid last year",
             lambda i: f"{P(i)}/posters/schedules/{i.poster_schedule.id}"),
        Page("coordinator", "poster schedule per assessor last year",
             lambda i: f"{P(i)}/posters/schedules/{i.poster_schedule.id}/assessors"),
        Page("coordinator", "poster schedule's programme last year (PDF)",
             lambda i: f"{P(i)}/posters/schedules/{i.poster_schedule.id}/programme.pdf"),
        Page("coordinator", "trial run this year", lambda i: f"{C(i)}/allocation/runs/{i.trial_run.id}"),
        Page("coordinator", "published run last year", lambda i: f"{P(i)}/allocation/runs/{i.published_run.id}"),
        Page("coordinator", "compared run last year", lambda i: f"{P(i)}/allocation/runs/{i.compared_run.id}"),
        Page("coordinator", "a project's second marker last year",
             lambda i: f"{P(i)}/allocation/markers/{i.published_run.allocations[0].id}"),
        Page("coordinator", "allocation export last year (CSV)", lambda i: f"{P(i)}/allocation/allocation.csv"),
        Page("coordinator", "allocation export last year (Excel)", lambda i: f"{P(i)}/allocation/allocation.xlsx"),
        Page("coordinator", "progress export last year (CSV)", lambda i: f"{P(i)}/progress.csv"),
        Page("coordinator", "progress export last year (Excel)", lambda i: f"{P(i)}/progress.xlsx"),
        Page("coordinator", "preferences entered for a student",
             lambda i: f"{C(i)}/preferences/{i.student_now.id}"),
        Page("admin", "home", lambda i: "/admin"),
        Page("admin", "users", lambda i: "/admin/users"),
        Page("admin", "audit log", lambda i: "/audit/"),
        Page("admin", "outbox", lambda i: "/admin/outbox"),
        Page("admin", "outbox, failed", lambda i: "/admin/outbox?state=failed"),
        Page("admin", "cohorts", lambda i: "/cohorts/"),
        Page("admin", "cohort this year", C),
        Page("admin", "notifications", lambda i: "/notifications"),
    ]
    return pages


PAGES = _pages()


def sign_in(client: FlaskClient, email: str, role: str) -> FlaskClient:
    """Sign in through the real form, then view the site in ``role``."""
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, f"sign-in of {email} failed ({response.status_code})"
    with client.session_transaction() as session:
        session["view_role"] = role
    return client


class StatementLog:
    """The SQL statements an engine runs while ``recording()`` is open."""

    def __init__(self, engine):
        self.statements: list[str] | None = None
        event.listen(engine, "before_cursor_execute", self._seen)
        self.engine = engine

    def _seen(self, _conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if self.statements is not None:
            self.statements.append(statement)

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        self.statements = seen = []
        try:
            yield seen
        finally:
            self.statements = None

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def statements_of(run) -> int:
    """How many SQL statements ``run()`` makes the app's engine execute."""
    log = StatementLog(db.engine)
    try:
        with log.recording() as seen:
            run()
        return len(seen)
    finally:
        log.close()


@contextmanager
def objects_loaded() -> Iterator[Counter]:
    """How many objects of each model the block loads from the database (by class name)."""
    loaded: Counter = Counter()

    def seen(target, _context) -> None:
        loaded[type(target).__name__] += 1

    event.listen(db.Model, "load", seen, propagate=True)
    try:
        yield loaded
    finally:
        event.remove(db.Model, "load", seen)
