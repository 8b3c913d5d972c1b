"""Reaching things in a real browser: the preferences overview's chart keeps each title beside its bar
(never over it) and tells apart titles that begin alike."""

from __future__ import annotations

import pytest

from projectflow.extensions import db
from tests.browser.test_sign_in import sign_in

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
