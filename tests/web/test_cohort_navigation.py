"""Reaching every cohort: staff and coordinators with more than one cohort switch between them in the
navigation (a plain form); the navigation's cohort links follow the chosen cohort or the one of the page
being viewed; each role's home reaches every page of that role in every cohort."""

from __future__ import annotations

import re

import pytest

from projectflow.cohorts.models import CohortStaff
from projectflow.extensions import db
from tests.forms import get_form
from tests.html import flashes, nav_links


@pytest.fixture
def two_years(make):
    """A coordinator and a supervisor in this year's and last year's cohort."""
    coordinator = make.coordinator(name="Cora Ordinator")
    this_year = make.cohort(coordinator=coordinator, year=2026)
    last_year = make.cohort(coordinator=coordinator, year=2025)
    supervisor = make.staff(this_year, name="Stella Supervisor")
    db.session.add(CohortStaff(cohort_id=last_year.id, user_id=supervisor.id))
    db.session.commit()
    return coordinator, supervisor, this_year, last_year


def selected_cohort(page: str) -> str | None:
    """The value of the option the cohort switcher shows as chosen (None: no switcher)."""
    match = re.search(r'<select[^>]*id="cohort-switcher"[^>]*>(.*?)</select>', page, re.S)
    if not match:
        return None
    return re.search(r'<option value="(\d+)" selected', match.group(1)).group(1)


def test_the_navigation_follows_the_cohort_of_the_page_and_the_one_chosen(login, two_years):
    coordinator, _, this_year, last_year = two_years
    client = login(coordinator)
    home = client.get("/coordinator").get_data(as_text=True)
    assert selected_cohort(home) == str(this_year.id)          # the newest by default
    assert nav_links(home)["Timeline"] == f"/cohorts/{this_year.id}/timeline"
    # On a page of last year's cohort, the navigation points into last year.
    page = client.get(f"/cohorts/{last_year.id}/progress").get_data(as_text=True)
    assert selected_cohort(page) == str(last_year.id)
    assert nav_links(page)["Allocation"] == f"/cohorts/{last_year.id}/allocation/"
    # Switching from this year's timeline opens last year's timeline, and the choice is kept.
    switch = get_form(client, f"/cohorts/{this_year.id}/timeline", action="/switch-cohort")
    response = switch.set("cohort_id", str(last_year.id)).submit(client)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cohorts/{last_year.id}/timeline"
    later = client.get("/notifications").get_data(as_text=True)
    assert selected_cohort(later) == str(last_year.id)
    assert nav_links(later)["Proposals"] == f"/cohorts/{last_year.id}/proposals"


def test_a_cohort_not_ones_own_is_refused_with_a_sentence(login, make, two_years):
    coordinator, _, this_year, _ = two_years
    elsewhere = make.cohort(code="ELSE", year=2026)
    client = login(coordinator)
    switch = get_form(client, "/coordinator", action="/switch-cohort")
    response = switch.set("cohort_id", str(elsewhere.id)).submit(client)
    assert response.status_code == 303
    home = client.get("/coordinator").get_data(as_text=True)
    assert "Choose one of your cohorts." in flashes(home)
    assert selected_cohort(home) == str(this_year.id)


def test_one_cohort_needs_no_switcher(login, make):
    coordinator = make.coordinator()
    make.cohort(coordinator=coordinator)
    page = login(coordinator).get("/coordinator").get_data(as_text=True)
    assert selected_cohort(page) is None and "/switch-cohort" not in page


def test_the_staff_home_reaches_progress_and_meetings_of_every_cohort(login, make, two_years):
    _, supervisor, this_year, last_year = two_years
    page = login(supervisor).get("/staff").get_data(as_text=True)
    for cohort in (this_year, last_year):
        assert f'href="/cohorts/{cohort.id}/progress"' in page
        assert f'href="/cohorts/{cohort.id}/meetings/supervision"' in page
    assert selected_cohort(page) == str(this_year.id)
