"""The timeline chart of a cohort: where each milestone sits along the part-time and full-time phases,
and in which lane its label goes so that the labels of close milestones never overlap.

Laid out here rather than in the template so that the rule is tested without a browser. Positions are
in the SVG's own units (``WIDTH`` wide); the chart scales as a whole, so labels that do not overlap here
do not overlap at any width. A milestone before or after the phases (possible once the phase dates are
edited) is drawn at the edge of the chart with its full date, never left off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..cohorts.models import Cohort

WIDTH = 980
X0, X1 = 80, 900           # the phases' bar; the margins hold milestones outside the phases
OUTSIDE = 40               # how far into the margin such a milestone is drawn
BAR_HEIGHT = 26
LEVEL = 38                 # the height of one lane of labels (a title and a line under it)
TITLE_PX, NOTE_PX = 12, 11  # font sizes of .chart-label and .chart-label-small
# A generous average glyph width (measured about 0.53 em for DejaVu Sans, wider than most UI fonts): an
# estimate too wide only spends a lane, one too narrow would let labels touch.
EM = 0.62
GAP = 10                   # the least room between two labels in one lane


@dataclass(frozen=True)
class Entry:
    """One milestone as the chart shows it: ``day`` is its local deadline date; ``note`` the state
    beside the date (a student's "Submitted"), if any; ``item`` whatever the page wants back."""

    title: str
    day: date
    note: str = ""
    state: str = ""
    item: object = None


@dataclass(frozen=True)
class Mark:
    entry: Entry | None   # None for the "today" mark
    x: float              # the milestone's dot
    label_x: float        # the centre of its label (kept inside the chart)
    lane: int             # 0 nearest above the bar, 1 nearest below, 2 next above, ...
    title: str
    note: str             # the line under the title: date and state
    outside: str          # "", "before" or "after" the phases
    # Filled in by chart() once the number of lanes is known.
    label_y: float = 0.0
    leader_y: float = 0.0

    @property
    def above(self) -> bool:
        return self.lane % 2 == 0

    @property
    def width(self) -> float:
        return label_width(self.title, self.note)


@dataclass(frozen=True)
class Phase:
    label: str
    x: float
    width: float


@dataclass(frozen=True)
class Chart:
    marks: list[Mark]
    phases: list[Phase]
    today: Mark | None
    bar_y: float
    height: float
    first: date
    last: date
    today_day: date | None = None

    @property
    def in_order(self) -> list[Mark]:
        """The milestones and today's mark, left to right (the list shown on a phone)."""
        return sorted(self.marks + ([self.today] if self.today else []), key=lambda m: (m.x, m.entry is None))


def label_width(title: str, note: str) -> float:
    return max(len(title) * TITLE_PX, len(note) * NOTE_PX) * EM


def x_of(day: date, first: date, last: date) -> tuple[float, str]:
    """Where ``day`` goes along the bar from ``first`` to ``last``, and whether it lies outside it."""
    if day < first:
        return X0 - OUTSIDE, "before"
    if day > last:
        return X1 + OUTSIDE, "after"
    span = (last - first).days or 1
    return X0 + (X1 - X0) * (day - first).days / span, ""


def assign_lanes(spans: list[tuple[float, float]]) -> list[int]:
    """For label spans (left, right) in order of position, the lowest lane in which each fits after
    the labels already there. Lanes alternate above and below the bar, so close neighbours take turns."""
    lanes_right: list[float] = []
    out = []
    for left, right in spans:
        lane = next((k for k, edge in enumerate(lanes_right) if edge + GAP <= left), len(lanes_right))
        if lane == len(lanes_right):
            lanes_right.append(right)
        else:
            lanes_right[lane] = right
        out.append(lane)
    return out


def chart(cohort: Cohort, entries: list[Entry], *, today: date | None = None) -> Chart:
    """The chart of ``entries`` along the cohort's phases, with ``today`` marked if it falls inside them."""
    first, last = cohort.part_time_start, cohort.full_time_end
    raw = []
    for e in sorted(entries, key=lambda e: e.day):
        x, outside = x_of(e.day, first, last)
        when = e.day.strftime("%d %b %Y" if outside else "%d %b")
        where = {"before": "before the part-time phase", "after": "after the cohort's end"}.get(outside)
        raw.append((x, e, e.title, " · ".join(p for p in (when, where, e.note) if p), outside))
    if today is not None and first <= today <= last:
        raw.append((x_of(today, first, last)[0], None, "today", "", ""))
    raw.sort(key=lambda r: (r[0], r[1] is None))

    spans, centres = [], []
    for x, _e, title, note, _o in raw:
        half = label_width(title, note) / 2
        centre = min(max(x, half + 2), WIDTH - half - 2)
        centres.append(centre)
        spans.append((centre - half, centre + half))
    lanes = assign_lanes(spans)

    above = (max(lanes, default=0) + 2) // 2          # lanes 0, 2, 4, ...
    below = (max(lanes, default=-1) + 1) // 2         # lanes 1, 3, 5, ...
    bar_y = 8 + above * LEVEL + 14
    marks = []
    for (x, e, title, note, outside), centre, lane in zip(raw, centres, lanes):
        level = lane // 2
        if lane % 2 == 0:
            label_y = bar_y - 14 - level * LEVEL - (NOTE_PX + 6 if note else 0)  # the title's baseline
            leader_y = label_y + (NOTE_PX + 6 if note else 0) + 4
        else:
            label_y = bar_y + BAR_HEIGHT + 14 + TITLE_PX + level * LEVEL
            leader_y = label_y - TITLE_PX - 2
        marks.append(Mark(e, x, centre, lane, title, note, outside, label_y, leader_y))
    height = bar_y + BAR_HEIGHT + 14 + below * LEVEL + 4
    phases = [Phase("Part-time", x_of(cohort.part_time_start, first, last)[0],
                    x_of(cohort.part_time_end, first, last)[0] - x_of(cohort.part_time_start, first, last)[0]),
              Phase("Full-time", x_of(cohort.full_time_start, first, last)[0],
                    X1 - x_of(cohort.full_time_start, first, last)[0])]
    today_mark = next((m for m in marks if m.entry is None), None)
    return Chart([m for m in marks if m.entry is not None], phases, today_mark, bar_y, height, first, last,
                 today if today_mark else None)
