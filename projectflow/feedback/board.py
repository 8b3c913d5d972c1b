"""The exam board's mark sheet: every allocated student of a cohort on one table (candidate number,
the name where the reader may see it, each component's mark, the final mark, class and the flags the
board looks at), with the cohort's distribution; printed as a PDF for the board and written as CSV and
XLSX for the registry, with the same columns.

The column names are stable: the registry's imports read them (``docs/mark-sheet-columns.md``). The
rows come from the results module's own query (``results.rows_by_candidate``), so the board reads the
numbers the coordinator's results page shows; names follow the one anonymity rule
(``matching.anonymity``).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from ..assessment import results
from ..assessment.models import AGREED, PROVISIONAL, RELEASED, Component
from ..cohorts.models import Cohort
from ..core import clock
from ..core.pdf import Letterhead, letterhead
from ..extensions import db
from ..matching.anonymity import names_for
from ..milestones.models import GRANTED, REFERRED, Extension
from ..milestones.services import working_calendar
from ..people.models import User
from ..results import engine

AWAITING = "awaiting"
YES = "yes"
# 10-mark bands of the final mark, highest first: (label, least mark in the band).
BANDS = (("90–100", 90),) + tuple((f"{low}–{low + 9}", low) for low in range(80, -1, -10))


@dataclass(frozen=True)
class Column:
    name: str    # the stable name: the CSV and XLSX header (docs/mark-sheet-columns.md)
    label: str   # the PDF's header
    numeric: bool = False


@dataclass(frozen=True)
class Distribution:
    """The cohort's final marks summed up: how many in each class, mean, median, least and greatest,
    and how many in each 10-mark band."""

    classes: tuple[tuple[str, int], ...]  # every class, best first, with its count (zeros kept)
    awaiting: int                         # allocated students without a final mark yet
    count: int                            # students with a final mark
    mean: Decimal | None
    median: Decimal | None
    minimum: Decimal | None
    maximum: Decimal | None
    bands: tuple[tuple[str, int], ...]    # BANDS' labels with their counts, highest first

    @property
    def largest_band(self) -> int:
        return max((n for _label, n in self.bands), default=0)


@dataclass(frozen=True)
class MarkSheetTable:
    """What the mark sheet shows one reader: the same columns and rows in every format."""

    cohort_title: str
    letterhead: Letterhead
    columns: tuple[Column, ...]
    rows: tuple[tuple, ...]
    distribution: Distribution
    states: dict[str, int]       # released, provisional, awaiting (no final mark yet): how many of each
    generated_at: datetime
    names_withheld: int          # rows whose name this reader may not see (the name cell is empty)
    filename: str                # without extension

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def provisional(self) -> bool:
        """Any result unreleased (provisional, or still awaiting agreed marks): the sheet is provisional
        until the exam board."""
        return self.states[PROVISIONAL] + self.states[AWAITING] > 0


def can_read(cohort: Cohort, user: User) -> bool:
    """Who reads the mark sheet: the cohort's coordinators and admins, and the moderators the
    coordinator named (the exam board's members among the staff). Nobody else: a student, or a marker
    who is not a moderator, reads their own pages only."""
    return results.can_moderate(cohort, user)


def component_column(component: Component) -> str:
    """``report_mark``: the component's key, in the snake case every other column name uses."""
    return re.sub(r"[^a-z0-9]+", "_", component.key.lower()).strip("_") + "_mark"


def columns_for(components: list[Component]) -> tuple[Column, ...]:
    """The mark sheet's columns for a cohort with these components (docs/mark-sheet-columns.md)."""
    return ((Column("candidate_number", "Candidate number"), Column("name", "Name"))
            + tuple(Column(component_column(c), f"{c.title} ({c.weight}%)", numeric=True) for c in components)
            + (Column("final_mark", "Final mark", numeric=True), Column("classification", "Class"),
               Column("board_discretion", "Board discretion"), Column("moderated", "Moderated"),
               Column("penalty", "Late penalty (points)", numeric=True),
               Column("extension", "Extension (working days)", numeric=True),
               Column("mitigating_circumstances", "Mitigating circumstances"), Column("result", "Result")))


def mark_sheet(cohort: Cohort, reader: User) -> MarkSheetTable:
    """The cohort's mark sheet as ``reader`` may read it: one row per allocated student, by candidate
    number, the name only where the anonymity rule lets the reader see it. A bounded number of
    queries whatever the cohort's size (the rows' five, the names' two, the extensions' one)."""
    components, rows = results.rows_by_candidate(cohort)
    names = names_for(cohort, reader)
    extended, referred = _extensions(cohort, components)
    table, finals, classes, withheld = [], [], [], 0
    states = {RELEASED: 0, PROVISIONAL: 0, AWAITING: 0}
    for row in rows:
        r = row.result
        state = AWAITING if r is None or r.final is None else r.state
        states[state] += 1
        if row.final is not None:
            finals.append(Decimal(row.final))
            classes.append(row.classification)
        known = names.knows(row.student)
        withheld += not known
        marks, penalty = [], Decimal(0)
        for c in components:
            a = row.agreements.get(c.id)
            agreed = a is not None and a.state == AGREED
            marks.append(a.mark if agreed else None)
            penalty += a.penalty if agreed and a.penalty else 0
        days = extended.get(row.student.id)
        table.append((row.candidate_number, row.student.name if known else "", *marks, row.final,
                      row.classification or "", YES if engine.BOARD_DISCRETION in row.flags else "",
                      results.moderation_of(r), penalty if penalty else None,
                      (days or YES) if days is not None else "", YES if row.student.id in referred else "", state))
    return MarkSheetTable(
        cohort_title=cohort.title, letterhead=letterhead(cohort), columns=columns_for(components), rows=tuple(table),
        distribution=distribution(finals, classes, states[AWAITING]), states=states, generated_at=clock.now(),
        names_withheld=withheld, filename=f"{cohort.programme_code}-{cohort.academic_year}-mark-sheet")


def _extensions(cohort: Cohort, components: list[Component]) -> tuple[dict[int, int], set[int]]:
    """For the milestones the components mark: student id -> the working days of extension granted
    (summed over the milestones; 0 when a granted extension moved the deadline by no working day), and
    the students with a request referred to mitigating circumstances. One query."""
    milestones = {c.milestone_id: c.milestone for c in components if c.milestone is not None}
    if not milestones:
        return {}, set()
    latest: dict[tuple[int, int], datetime] = {}
    referred: set[int] = set()
    for student_id, milestone_id, state, new_due_at in db.session.execute(
            select(Extension.student_id, Extension.milestone_id, Extension.state, Extension.new_due_at)
            .where(Extension.milestone_id.in_(milestones), Extension.state.in_((GRANTED, REFERRED)))):
        if state == REFERRED:
            referred.add(student_id)
        elif (student_id, milestone_id) not in latest or new_due_at > latest[student_id, milestone_id]:
            # A deadline granted again replaces the earlier one: the latest counts.
            latest[student_id, milestone_id] = new_due_at
    calendar, zone = working_calendar(cohort), cohort.zone
    days: dict[int, int] = {}
    for (student_id, milestone_id), new_due_at in latest.items():
        due = milestones[milestone_id].due_at
        days[student_id] = days.get(student_id, 0) + calendar.working_days_between(
            due.astimezone(zone).date(), new_due_at.astimezone(zone).date())
    return days, referred


def distribution(finals: list[Decimal], classes: list[str | None], awaiting: int) -> Distribution:
    """The distribution of ``finals`` (the marks that count) and their ``classes``."""
    counted = {name: 0 for name in results.CLASS_NAMES}
    for name in classes:
        if name is not None:
            counted[name] = counted.get(name, 0) + 1
    bands = dict.fromkeys((label for label, _low in BANDS), 0)
    for mark in finals:
        bands[next(label for label, low in BANDS if mark >= low)] += 1
    if not finals:
        return Distribution(tuple(counted.items()), awaiting, 0, None, None, None, None, tuple(bands.items()))
    return Distribution(tuple(counted.items()), awaiting, len(finals),
                        engine.round_mark(sum(finals) / len(finals)), engine.round_mark(statistics.median(finals)),
                        min(finals), max(finals), tuple(bands.items()))
