"""The timeline chart in a real browser: the labels of close milestones never overlap, a milestone far
outside the phases is still drawn (at the edge, with its date), and on a 390 px phone the timeline pages
do not scroll sideways."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from projectflow.core import clock
from projectflow.extensions import db
from projectflow.milestones import services
from projectflow.milestones.models import CUSTOM, FULL_TIME, Milestone
from tests.browser.test_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.csrf]

TODAY = datetime(2027, 3, 10, 9, tzinfo=timezone.utc)  # in the part-time phase, among the close milestones

# Every text of the chart as a box (phase names inside the bar included) and the chart's own box.
TEXT_BOXES = """() => {
  const chart = document.querySelector('#timeline-chart');
  const box = r => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  return {chart: box(chart.getBoundingClientRect()),
          texts: [...chart.querySelectorAll('text')].map(t => ({text: t.textContent.trim(),
                                                                ...box(t.getBoundingClientRect())}))};
}"""


def intersect(a, b) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.fixture
def crowded(make):
    """The typical year, plus a literature review between the project plan and the ethics form (three
    labels within a fortnight) and a resit dated 2030: saved before deadlines were held to the phases,
    it lies far beyond the chart's scale."""
    coordinator = make.coordinator(name="Dr Cora Ordinator")
    cohort = make.cohort(coordinator=coordinator, code="AML", year=2026)
    student = make.student(cohort, name="Sam Student")
    with clock.frozen(datetime(2026, 11, 20, 9, tzinfo=timezone.utc)):
        services.create_timeline(cohort, by=coordinator)
        services.add_milestone(cohort, dict(
            title="Literature review", kind=CUSTOM, phase="part_time", description="",
            due_at=services.local_deadline(datetime(2027, 3, 12).date(), datetime(2027, 3, 12, 16).time(),
                                           cohort.zone),
            cutoff_at=None, needs_file=True, is_assessed=False, components=[], non_working_day_confirmed=False),
            by=coordinator)
        db.session.add(Milestone(cohort_id=cohort.id, kind=CUSTOM, title="Resit report", phase=FULL_TIME,
                                 due_at=datetime(2030, 9, 2, 15, tzinfo=timezone.utc), needs_file=True,
                                 created_at=clock.now(), updated_at=clock.now()))
        db.session.commit()
    with clock.frozen(TODAY):
        yield dict(coordinator=coordinator, cohort=cohort, student=student)


def chart_is_readable(page) -> None:
    found = page.evaluate(TEXT_BOXES)
    texts, chart = found["texts"], found["chart"]
    overlaps = [(a["text"], b["text"]) for i, a in enumerate(texts) for b in texts[i + 1:] if intersect(a, b)]
    assert not overlaps, overlaps
    for title in ("Project plan", "Literature review", "Ethics and risk assessment", "Interim report",
                  "Final report", "Poster", "Resit report"):
        [label] = [t for t in texts if t["text"] == title]
        # Inside the chart: a label drawn beyond the SVG's box is not shown at all.
        assert chart["left"] <= label["left"] and label["right"] <= chart["right"], label
        assert chart["top"] <= label["top"] and label["bottom"] <= chart["bottom"], label
    assert any("02 Sep 2030" in t["text"] for t in texts), [t["text"] for t in texts]


def fits_a_phone(page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"


@pytest.mark.parametrize("who", ["student", "coordinator"])
def test_close_milestones_keep_their_labels_apart_and_a_far_one_is_shown(page, live_server, crowded, who,
                                                                         screenshot):
    cohort = crowded["cohort"]
    path = f"/cohorts/{cohort.id}/my-timeline" if who == "student" else f"/cohorts/{cohort.id}/timeline"
    sign_in(page, live_server, crowded[who])
    for width in (1280, 768):  # the widest and the narrowest screens the chart is drawn on
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server(path))
        chart_is_readable(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, f"timeline-chart-{who}-desktop")


@pytest.mark.parametrize("who", ["student", "coordinator"])
def test_the_timeline_pages_fit_a_390_px_phone(page, live_server, crowded, who, screenshot):
    cohort = crowded["cohort"]
    path = f"/cohorts/{cohort.id}/my-timeline" if who == "student" else f"/cohorts/{cohort.id}/timeline"
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, crowded[who])
    page.goto(live_server(path))
    fits_a_phone(page)
    # Every milestone is listed on the phone, the far one with its year.
    items = page.locator("ol.timeline-list li").all_inner_texts()
    assert any("Resit report" in i and "02 Sep 2030" in i for i in items), items
    assert sum("Literature review" in i for i in items) == 1
    screenshot(page, f"timeline-chart-{who}-phone")
