"""Each role's home and navigation reach every page of that role: for each demo role, the GET pages it
reaches by following links from its home (tests/web/site_crawl.py) include its key pages in every
cohort it belongs to, last year's included. Found when the app was tried: last year's progress grid
and meetings had no link at all, and the coordinator's navigation had neither."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from projectflow.cohorts.models import Cohort, CohortStaff, Enrolment
from projectflow.extensions import db
from projectflow.people.models import User
from tests.html import nav_links

from .site_crawl import ROLES, built_demo

# The demo is built and crawled once per module: its first test pays for that (up to about 100 s on a
# busy machine), more than the suite's 120 s default leaves.
pytestmark = pytest.mark.timeout(300)

# The pages of a role, per cohort of theirs (endpoint names).
STUDENT_PAGES = ("proposals.catalogue", "proposals.edit_preferences", "matching.mine", "milestones.my_timeline",
                 "meetings.log")
STAFF_PAGES = ("proposals.my_projects", "proposals.catalogue", "milestones.progress_grid", "meetings.supervision")
MANAGER_PAGES = ("cohorts.show", "proposals.queue", "proposals.overview", "matching.runs", "milestones.timeline",
                 "milestones.extension_queue", "milestones.progress_grid", "meetings.supervision",
                 "meetings.overdue_report")
# Pages of no cohort.
OWN_PAGES = {
    "student": ("home.student", "home.notifications"),
    "student-last-year": ("home.student", "home.notifications"),
    "staff": ("home.staff", "home.notifications"),
    "coordinator": ("home.coordinator", "cohorts.index", "audit.index", "home.notifications"),
    "coordinator-as-staff": ("home.staff", "home.notifications"),
    "admin": ("home.admin", "people.users", "cohorts.index", "audit.index", "home.notifications"),
}


@pytest.fixture(scope="module")
def site(database_url, _schema, tmp_path_factory):
    yield from built_demo(database_url, tmp_path_factory, "every-page-instance")


def cohorts_of(site, role: str) -> tuple[list[int], tuple[str, ...]]:
    """The cohorts the demo's ``role`` works in and the pages they have in each one."""
    email = site.logins[ROLES[role][0]]
    user = db.session.scalar(select(User).where(User.email == email))
    if role.startswith("student"):
        ids = db.session.scalars(select(Enrolment.cohort_id).where(Enrolment.user_id == user.id)).all()
        return list(ids), STUDENT_PAGES
    if role in ("staff", "coordinator-as-staff"):
        ids = db.session.scalars(select(CohortStaff.cohort_id).where(CohortStaff.user_id == user.id)).all()
        return list(ids), STAFF_PAGES
    if role == "coordinator":
        ids = db.session.scalars(select(CohortStaff.cohort_id).where(CohortStaff.user_id == user.id,
                                                                     CohortStaff.is_coordinator.is_(True))).all()
        return list(ids), MANAGER_PAGES
    return list(db.session.scalars(select(Cohort.id))), MANAGER_PAGES  # the admin manages every cohort


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_of_a_role_is_reached_from_its_home(site, role):
    with site.app.app_context():
        cohort_ids, pages = cohorts_of(site, role)
    assert len(cohort_ids) == (1 if role.startswith("student") else 2), "the demo's cohorts changed"
    crawl = site.crawl(role)
    adapter = site.app.url_map.bind("localhost")
    reached = set()
    for page in crawl.pages:
        endpoint, args = adapter.match(page.path.split("?")[0], method="GET")
        reached.add((endpoint, args.get("cohort_id")))
    wanted = {(e, None) for e in OWN_PAGES[role]} | {(e, c) for c in cohort_ids for e in pages}
    missing = sorted(wanted - reached, key=lambda p: (p[1] or 0, p[0]))
    assert not missing, f"{role} cannot reach by links from their home: " + ", ".join(
        f"{e} of cohort {c}" if c else e for e, c in missing)


def test_the_coordinators_navigation_has_progress_and_meetings(site):
    client = site.client("coordinator")
    links = nav_links(client.get("/coordinator").get_data(as_text=True))
    assert "Progress" in links and "Meetings" in links, links
