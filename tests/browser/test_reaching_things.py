"""Reaching things in a real browser: the cohort switcher from the keyboard and without JavaScript; the
preferences overview's chart keeps each title beside its bar (never over it) and tells apart titles that
begin alike."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from projectflow.extensions import db
from tests.browser.test_sign_in import sign_in
from tests.factories import Factories

pytestmark = [pytest.mark.browser, pytest.mark.csrf]


def test_the_overview_chart_keeps_titles_off_their_bars(page, live_server, make, screenshot):
    coordinator = make.coordinator(name="Dr Cora Ordinator")
    cohort = make.cohort(coordinator=coordinator, code="AML", year=2026)
    cohort.min_preferences, cohort.max_preferences, cohort.max_choices_per_supervisor = 1, 3, 3
    # Wide letters: forty of them are far wider than the room left of the bars.
    projects = [make.project(cohort, capacity=3, title="WWW MMM Wide Machine Models With Many Words " + end)
                for end in ("for wheat", "for maize", "for millet")]
    for i in range(6):
        make.preferences(cohort, make.student(cohort), projects[i % 3:] + projects[:i % 3])
    db.session.commit()
    sign_in(page, live_server, coordinator)
    page.goto(live_server(f"/cohorts/{cohort.id}/preferences/overview"))
    boxes = page.evaluate("""() => [...document.querySelectorAll('svg text[data-project]')].map(t => {
        const bar = t.nextElementSibling;
        const label = t.getBoundingClientRect(), clip = document.querySelector('#pop-labels rect');
        return {label: t.textContent.trim(), clipped: !!t.getAttribute('clip-path'),
                clipRight: clip.getBoundingClientRect().right, barLeft: bar.getBoundingClientRect().left};
    })""")
    screenshot(page, "preferences-overview")
    assert len(boxes) == 3
    assert len({b["label"] for b in boxes}) == 3, boxes
    for box in boxes:
        assert box["clipped"] and box["clipRight"] < box["barLeft"], box


def test_the_cohort_switcher_works_from_the_keyboard_without_javascript(
        browser, live_server, make, screenshot):
    """Tab to the switcher, choose last year with the arrow keys, press Enter on Show: the same page opens
    in last year's cohort, and the navigation's links point there; no script is needed."""
    coordinator = make.coordinator(name="Dr Cora Ordinator")
    this_year = make.cohort(coordinator=coordinator, code="AML", year=2026)
    last_year = make.cohort(coordinator=coordinator, code="AML", year=2025)
    db.session.commit()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server("/login"))
        page.get_by_label("E-mail address").fill(coordinator.email)
        page.get_by_label("Password").fill(Factories.PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        page.goto(live_server(f"/cohorts/{this_year.id}/progress"))
        switcher = page.get_by_label("Cohort", exact=True)
        expect(switcher).to_have_value(str(this_year.id))
        switcher.focus()
        switcher.select_option(str(last_year.id))   # what the arrow keys do on a focused select
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Show this cohort")).to_be_focused()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(f"/cohorts/{last_year.id}/progress$"))
        expect(page.get_by_label("Cohort", exact=True)).to_have_value(str(last_year.id))
        expect(page.get_by_role("link", name="Timeline")).to_have_attribute(
            "href", f"/cohorts/{last_year.id}/timeline")
        screenshot(page, "cohort-switcher-no-js")
    finally:
        context.close()
