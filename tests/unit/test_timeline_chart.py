"""The timeline chart's layout (projectflow/milestones/timeline.py): labels in one lane never overlap,
close milestones take turns above and below the bar, and milestones outside the phases sit at the edge
with their full date."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from projectflow.milestones import timeline
from projectflow.milestones.timeline import GAP, WIDTH, X0, X1, Entry, assign_lanes, chart

COHORT = SimpleNamespace(part_time_start=date(2027, 1, 11), part_time_end=date(2027, 5, 28),
                         full_time_start=date(2027, 5, 31), full_time_end=date(2027, 9, 10))


def spans(c):
    return [(m.label_x - m.width / 2, m.label_x + m.width / 2, m.lane)
            for m in c.marks + ([c.today] if c.today else [])]


def test_labels_sharing_a_lane_never_overlap_and_stay_inside_the_chart():
    # A milestone every other day for a month: far more than fit side by side.
    entries = [Entry(f"Weekly check-in number {i}", date(2027, 3, 1) + timedelta(days=2 * i)) for i in range(15)]
    c = chart(COHORT, entries, today=date(2027, 3, 10))
    assert len(c.marks) == 15 and c.today is not None
    placed = spans(c)
    for i, (left, right, lane) in enumerate(placed):
        assert 0 <= left and right <= WIDTH
        for left2, right2, lane2 in placed[i + 1:]:
            assert lane != lane2 or right + GAP <= left2 or right2 + GAP <= left
    assert max(lane for *_, lane in placed) >= 4
    # Every lane has its own band: nothing is drawn below the chart's height or above its top.
    assert all(0 < m.label_y < c.height for m in c.marks)


def test_close_neighbours_alternate_above_and_below_and_distant_ones_share_the_first_lane():
    assert assign_lanes([(0, 100), (50, 150), (105, 205), (400, 500)]) == [0, 1, 2, 0]
    assert assign_lanes([(0, 100), (100 + GAP, 200)]) == [0, 0]


def test_a_milestone_outside_the_phases_is_drawn_at_the_edge_with_its_year():
    c = chart(COHORT, [Entry("Resit report", date(2030, 9, 2)), Entry("Early bird", date(2026, 12, 1)),
                       Entry("Project plan", date(2027, 3, 5))])
    by_title = {m.title: m for m in c.marks}
    assert by_title["Resit report"].outside == "after" and by_title["Resit report"].x == X1 + timeline.OUTSIDE
    assert by_title["Resit report"].note == "02 Sep 2030 · after the cohort's end"
    assert by_title["Early bird"].outside == "before" and by_title["Early bird"].x == X0 - timeline.OUTSIDE
    assert by_title["Project plan"].outside == "" and X0 < by_title["Project plan"].x < X1
    assert by_title["Project plan"].note == "05 Mar"
    assert c.today is None  # no today given


def test_today_is_marked_only_inside_the_phases():
    assert chart(COHORT, [], today=date(2027, 4, 1)).today is not None
    assert chart(COHORT, [], today=date(2026, 11, 2)).today is None
