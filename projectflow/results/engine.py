"""The rules that turn markers' marks into a student's result, as pure functions over frozen dataclasses.

No Flask, no ORM, no I/O: ``projectflow results`` (``files.py``) and the web app translate to and
from these classes, so the exam board's file and the app agree to the last hundredth. The rules are
those of issue 11 ("Agreement: a pure rules engine"), every number taken from :class:`Rules`:

- Marks are numbers from 0 to 100 with at most two decimals; a component has one or two marks, and a
  reconciled or third mark lies within the two marks' range (:func:`check_student` says so).
- The band of a mark is the highest boundary it reaches (below the lowest is a band of its own).
- One mark is the agreed mark (``single``). Two marks at most ``agree_within`` apart and in the same
  band agree on their mean (``automatic``). A gap above ``third_marker_above`` goes to a third marker
  (``third_marker`` once their mark is in, ``third_marking`` until then). Otherwise (a larger gap or a
  band straddle) the markers reconcile (``reconciled``); a third mark without a reconciled one means
  reconciliation failed (``third_marker``); neither is ``in_reconciliation``.
- A late penalty is taken from the agreed mark when the work was late and no extension was granted.
- Final = sum(weight x mark) / sum(weights). Means and the final are rounded half up to two decimals in
  decimal arithmetic, and classes are decided on that two-decimal value (69.99 is a Merit).
- Flags for the exam board and moderation are decided on the final.

Every number is a :class:`decimal.Decimal`; a binary float never enters a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext

# Component states: the engine drives the app's workflow awaiting_marks -> agreed | in_reconciliation |
# third_marking -> agreed.
AWAITING_MARKS = "awaiting_marks"
IN_RECONCILIATION = "in_reconciliation"
THIRD_MARKING = "third_marking"
AGREED = "agreed"
STATES = (AWAITING_MARKS, IN_RECONCILIATION, THIRD_MARKING, AGREED)

# How an agreed mark was reached.
SINGLE, AUTOMATIC, RECONCILED, THIRD_MARKER = "single", "automatic", "reconciled", "third_marker"
ROUTES = (SINGLE, AUTOMATIC, RECONCILED, THIRD_MARKER)

# Flags on a final mark, in the order they are listed.
BOARD_DISCRETION = "board_discretion"
MODERATION_NEAR_BOUNDARY = "moderation_near_boundary"
MODERATION_FAIL = "moderation_fail"
MODERATION_DISTINCTION = "moderation_distinction"
FLAGS = (BOARD_DISCRETION, MODERATION_NEAR_BOUNDARY, MODERATION_FAIL, MODERATION_DISTINCTION)

PRESETS = ("per-day", "ucl", "cap", "none")
# The UCL rule's deduction for work up to 2 working days late, and its day limits (UCL Academic
# Manual, chapter 4: late submission).
UCL_POINTS, UCL_DEDUCT_DAYS, UCL_CAP_DAYS = Decimal(10), 2, 5

HUNDREDTH = Decimal("0.01")
ZERO, HUNDRED = Decimal(0), Decimal(100)


class ResultsError(ValueError):
    """The input is malformed: each entry of ``problems`` is a sentence naming the student and
    component (or the rule) at fault."""

    def __init__(self, problems: list[str] | tuple[str, ...]):
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


# --- The rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentRule:
    """An assessed component (final report, poster, ...) and its weight in the final mark."""

    id: str
    weight: Decimal


@dataclass(frozen=True)
class ClassBand:
    """A classification (Distinction, Merit, Pass) and the final mark it starts at."""

    name: str
    start: Decimal  # "from" in the file


@dataclass(frozen=True)
class Penalty:
    """The late-work penalty preset.

    ``per-day``: ``points`` a working day, up to ``days`` days; later than that the mark is 0.
    ``ucl``: up to 2 working days -10 (not below the pass mark for work at or above it); more than 2
    and up to 5 capped at the pass mark; more than 5, 0. ``cap``: capped at the pass mark up to
    ``days`` days, then 0. ``none``: no penalty. ``pass_mark`` (ucl and cap) defaults to the lowest
    class's start: see :attr:`Rules.pass_mark`.
    """

    preset: str = "none"
    points: Decimal | None = None
    days: int | None = None
    pass_mark: Decimal | None = None


@dataclass(frozen=True)
class Rules:
    """Every number the rules use (a cohort's settings, or the ``rules`` of a marks file).
    ``boundaries`` and ``classes`` are kept highest first whatever order they were given in."""

    components: tuple[ComponentRule, ...]
    agree_within: Decimal
    third_marker_above: Decimal
    boundaries: tuple[Decimal, ...]
    classes: tuple[ClassBand, ...]
    fail_name: str
    discretion_below: Decimal
    moderation_near_below: Decimal
    penalty: Penalty = field(default_factory=Penalty)

    def __post_init__(self):
        object.__setattr__(self, "boundaries", tuple(sorted(self.boundaries, reverse=True)))
        object.__setattr__(self, "classes", tuple(sorted(self.classes, key=lambda c: c.start, reverse=True)))

    @property
    def pass_mark(self) -> Decimal:
        """The penalty's own ``pass_mark`` if given, else where the lowest class starts (Pass, 50)."""
        if self.penalty.pass_mark is not None:
            return self.penalty.pass_mark
        return self.classes[-1].start if self.classes else ZERO

    def component(self, component_id: str) -> ComponentRule | None:
        return next((c for c in self.components if c.id == component_id), None)


def default_rules() -> Rules:
    """The defaults of DESIGN.md section 3: report 75, poster 15, independence 10; agree within 5 in
    one band, third marker above 10; Distinction 70, Merit 60, Pass 50; board discretion 2.5 below a
    class, moderation 2 below Merit and Distinction; 5 points a working day for up to 5 days."""
    d = Decimal
    return Rules(
        components=(ComponentRule("report", d(75)), ComponentRule("poster", d(15)),
                    ComponentRule("independence", d(10))),
        agree_within=d(5), third_marker_above=d(10),
        boundaries=(d(90), d(80), d(70), d(60), d(50), d(40)),
        classes=(ClassBand("Distinction", d(70)), ClassBand("Merit", d(60)), ClassBand("Pass", d(50))),
        fail_name="Fail", discretion_below=d("2.5"), moderation_near_below=d(2),
        penalty=Penalty("per-day", points=d(5), days=5))


# --- Marks in, results out ----------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentMarks:
    """What the markers gave one student's component. ``marks`` holds the first (and second)
    marker's marks, passed once every expected sheet is submitted; a component still awaiting them is
    left out of :attr:`StudentMarks.components` (an empty ``marks`` also reads as awaiting, but
    :func:`check_student` refuses it, as the file format does). ``late_working_days`` is how late the
    assessed submission was, in working days."""

    marks: tuple[Decimal, ...] = ()
    reconciled: Decimal | None = None
    third: Decimal | None = None
    late_working_days: int = 0
    extension: bool = False


@dataclass(frozen=True)
class StudentMarks:
    """One student's marks, by component id (a component left out is awaiting marks)."""

    id: str
    components: Mapping[str, ComponentMarks]


@dataclass(frozen=True)
class ComponentOutcome:
    """A component's state and, once agreed, its route, the agreed mark (before the penalty), the
    points taken for lateness and the mark after them."""

    component: str
    state: str
    route: str | None = None
    agreed: Decimal | None = None
    penalty: Decimal | None = None
    mark: Decimal | None = None


@dataclass(frozen=True)
class StudentResult:
    """A student's components (in the rules' order); the final mark and classification once every
    component is agreed (else None), and the flags on the final."""

    id: str
    components: tuple[ComponentOutcome, ...]
    final: Decimal | None
    classification: str | None
    flags: tuple[str, ...] = ()

    def component(self, component_id: str) -> ComponentOutcome:
        return next(c for c in self.components if c.component == component_id)


# --- The rules, one function each ---------------------------------------------------------------


def round_mark(value: Decimal) -> Decimal:
    """``value`` rounded half up to two decimals (67.825 -> 67.83; a binary float would give 67.82)."""
    return value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def band_of(mark: Decimal, boundaries: Iterable[Decimal]) -> Decimal | None:
    """The highest boundary ``mark`` reaches (69.99 -> 60, 70 -> 70), or None below the lowest
    (which is a band of its own)."""
    return max((b for b in boundaries if mark >= b), default=None)


def agree_component(rules: Rules, marks: ComponentMarks, component: str = "") -> ComponentOutcome:
    """The state of one component and, when agreed, its route, agreed mark, penalty and mark.

    No marks: ``awaiting_marks``. One mark: ``single``. Two marks at most ``agree_within`` apart and in
    the same band: their mean, half up to two decimals (``automatic``). A gap above
    ``third_marker_above``: the third mark (``third_marker``), else ``third_marking``. Otherwise the
    reconciled mark (``reconciled``); a third mark without one (reconciliation failed:
    ``third_marker``); neither: ``in_reconciliation``. A mark a rule does not reach (a reconciled mark
    on an automatic pair) is not used. The marks must have passed :func:`check_student`.
    """
    state, route, agreed = _agreement(rules, marks)
    if agreed is None:
        return ComponentOutcome(component, state)
    mark = apply_penalty(rules, agreed, marks.late_working_days, extension=marks.extension)
    return ComponentOutcome(component, state, route, agreed, agreed - mark, mark)


def _agreement(rules: Rules, marks: ComponentMarks) -> tuple[str, str | None, Decimal | None]:
    if not marks.marks:
        return AWAITING_MARKS, None, None
    if len(marks.marks) == 1:
        return AGREED, SINGLE, marks.marks[0]
    first, second = marks.marks
    gap = abs(first - second)
    if gap <= rules.agree_within and band_of(first, rules.boundaries) == band_of(second, rules.boundaries):
        return AGREED, AUTOMATIC, round_mark((first + second) / 2)
    if gap > rules.third_marker_above:
        if marks.third is None:
            return THIRD_MARKING, None, None
        return AGREED, THIRD_MARKER, marks.third
    if marks.reconciled is not None:
        return AGREED, RECONCILED, marks.reconciled
    if marks.third is not None:
        return AGREED, THIRD_MARKER, marks.third
    return IN_RECONCILIATION, None, None


def apply_penalty(rules: Rules, agreed: Decimal, late_working_days: int, *, extension: bool = False) -> Decimal:
    """The mark after the late penalty of ``rules.penalty`` (the agreed mark itself when the work was
    on time or an extension was granted). Never below 0, never above the agreed mark.

    ``per-day``: ``points`` a working day up to ``days`` days, then 0. ``ucl``: up to 2 days, -10 but
    not below the pass mark (work already below it loses the 10, down to 0); more than 2 and up to 5,
    capped at the pass mark; more than 5, 0. ``cap``: capped at the pass mark up to ``days`` days,
    then 0. ``none``: unchanged. The pass mark is :attr:`Rules.pass_mark`.
    """
    days, penalty = late_working_days, rules.penalty
    if days <= 0 or extension or penalty.preset == "none":
        return agreed
    if penalty.preset == "per-day":
        if days > penalty.days:
            return ZERO
        return max(ZERO, agreed - penalty.points * days)
    pass_mark = rules.pass_mark
    if penalty.preset == "ucl":
        if days <= UCL_DEDUCT_DAYS:
            floor = pass_mark if agreed >= pass_mark else ZERO
            return max(agreed - UCL_POINTS, floor)
        return min(agreed, pass_mark) if days <= UCL_CAP_DAYS else ZERO
    if penalty.preset == "cap":
        return min(agreed, pass_mark) if days <= penalty.days else ZERO
    raise ValueError(f"Unknown penalty preset {penalty.preset!r}.")


def final_mark(rules: Rules, marks: Mapping[str, Decimal]) -> Decimal:
    """sum(weight x mark) / sum(weights) over the rules' components, rounded half up to two decimals
    in decimal arithmetic. ``marks`` holds each component's mark after any penalty."""
    with localcontext() as ctx:
        ctx.prec = 50  # exact for any sum of two-decimal marks; the quotient is then rounded once
        total = sum((c.weight * marks[c.id] for c in rules.components), ZERO)
        return round_mark(total / sum((c.weight for c in rules.components), ZERO))


def classify(rules: Rules, final: Decimal) -> str:
    """The highest class whose start ``final`` reaches (on the two-decimal value: 69.99 is a Merit),
    else the fail name."""
    return next((c.name for c in rules.classes if final >= c.start), rules.fail_name)


def flags_for(rules: Rules, final: Decimal) -> tuple[str, ...]:
    """``board_discretion``: below a class's start by at most ``discretion_below`` (67.50 yes, 67.49
    no, with Distinction at 70 and 2.5); ``moderation_near_boundary``: the same with
    ``moderation_near_below``, for every class but the lowest; ``moderation_fail``: below the lowest
    class; ``moderation_distinction``: at or above the highest."""
    if not rules.classes:
        return ()

    def just_below(classes, within):
        return any(c.start - within <= final < c.start for c in classes)

    flags = []
    if just_below(rules.classes, rules.discretion_below):
        flags.append(BOARD_DISCRETION)
    if just_below(rules.classes[:-1], rules.moderation_near_below):
        flags.append(MODERATION_NEAR_BOUNDARY)
    if final < rules.classes[-1].start:
        flags.append(MODERATION_FAIL)
    if final >= rules.classes[0].start:
        flags.append(MODERATION_DISTINCTION)
    return tuple(flags)


_AWAITING = ComponentMarks()


def result_for(rules: Rules, student: StudentMarks) -> StudentResult:
    """One student's result: each component of the rules (awaiting marks when left out), then the
    final, classification and flags when every component is agreed."""
    outcomes = tuple(agree_component(rules, student.components.get(c.id, _AWAITING), c.id)
                     for c in rules.components)
    if not outcomes or any(o.state != AGREED for o in outcomes):
        return StudentResult(student.id, outcomes, None, None, ())
    final = final_mark(rules, {o.component: o.mark for o in outcomes})
    return StudentResult(student.id, outcomes, final, classify(rules, final), flags_for(rules, final))


def compute(rules: Rules, students: Iterable[StudentMarks]) -> tuple[StudentResult, ...]:
    """Every student's result, in the given order (see :func:`result_for`)."""
    return tuple(result_for(rules, s) for s in students)


# --- Validators: what the app's forms and the file reader both check ----------------------------


def is_mark(value: Decimal) -> bool:
    """A mark is a number from 0 to 100 with at most two decimals."""
    return value.is_finite() and ZERO <= value <= HUNDRED and value == value.quantize(HUNDREDTH)


def check_rules(rules: Rules) -> list[str]:
    """Sentences naming what is wrong with ``rules`` (empty when they can be used)."""
    faults = []
    ids = [c.id for c in rules.components]
    if not ids:
        faults.append("rules: there must be at least one component.")
    for cid in sorted({i for i in ids if ids.count(i) > 1}):
        faults.append(f"rules: component {cid!r} is listed {ids.count(cid)} times.")
    for c in rules.components:
        if not c.weight.is_finite() or c.weight <= 0:
            faults.append(f"rules: component {c.id!r} must have a weight above 0, not {c.weight}.")
    for name in ("agree_within", "third_marker_above", "discretion_below", "moderation_near_below"):
        value = getattr(rules, name)
        if not value.is_finite() or not ZERO <= value <= HUNDRED:
            faults.append(f"rules: {name!r} must be from 0 to 100, not {value}.")
    if rules.agree_within > rules.third_marker_above:
        faults.append(f"rules: 'agree_within' ({rules.agree_within}) must not be above "
                      f"'third_marker_above' ({rules.third_marker_above}).")
    if len(set(rules.boundaries)) != len(rules.boundaries):
        faults.append("rules: a boundary is listed twice.")
    faults += [f"rules: boundary {b} is not a mark (0 to 100, two decimals at most)."
               for b in rules.boundaries if not is_mark(b)]
    if not rules.classes:
        faults.append("rules: there must be at least one class.")
    names = [c.name for c in rules.classes] + [rules.fail_name]
    for name in sorted({n for n in names if names.count(n) > 1}):
        faults.append(f"rules: the class name {name!r} is used {names.count(name)} times.")
    starts = [c.start for c in rules.classes]
    if len(set(starts)) != len(starts):
        faults.append("rules: two classes start at the same mark.")
    faults += [f"rules: class {c.name!r} starts at {c.start}, which is not a mark (0 to 100, two decimals at most)."
               for c in rules.classes if not is_mark(c.start)]
    faults += _penalty_faults(rules.penalty)
    return faults


def _penalty_faults(penalty: Penalty) -> list[str]:
    if penalty.preset not in PRESETS:
        return [f"rules: penalty preset {penalty.preset!r} is unknown (use {', '.join(PRESETS)})."]
    faults = []
    needs = {"per-day": {"points", "days"}, "ucl": set(), "cap": {"days"}, "none": set()}[penalty.preset]
    allowed = needs | ({"pass_mark"} if penalty.preset in ("ucl", "cap") else set())
    for name in ("points", "days", "pass_mark"):
        given = getattr(penalty, name) is not None
        if name in needs and not given:
            faults.append(f"rules: the {penalty.preset} penalty needs {name!r}.")
        elif given and name not in allowed:
            faults.append(f"rules: the {penalty.preset} penalty does not use {name!r}.")
    if penalty.points is not None and not is_mark(penalty.points):
        faults.append(f"rules: penalty 'points' must be from 0 to 100 with two decimals at most, not {penalty.points}.")
    if penalty.days is not None and penalty.days < 1:
        faults.append(f"rules: penalty 'days' must be at least 1, not {penalty.days}.")
    if penalty.pass_mark is not None and not is_mark(penalty.pass_mark):
        faults.append(f"rules: penalty 'pass_mark' must be a mark (0 to 100, two decimals at most), "
                      f"not {penalty.pass_mark}.")
    return faults


def check_student(rules: Rules, student: StudentMarks) -> list[str]:
    """Sentences naming, with the student and component, every mark that breaks the rules: an unknown
    component, other than one or two marks, a mark outside 0-100 or with more than two decimals, a
    reconciled or third mark outside the two marks' range, a negative lateness."""
    faults = []
    for cid, given in student.components.items():
        where = f"student {student.id!r}, component {cid!r}"
        if rules.component(cid) is None:
            known = ", ".join(repr(c.id) for c in rules.components)
            faults.append(f"{where}: unknown component (the rules list {known}).")
        if len(given.marks) not in (1, 2):
            faults.append(f"{where}: {len(given.marks)} marks; a component has one or two.")
        bad = [m for m in given.marks if not is_mark(m)]
        faults += [f"{where}: mark {m} is not a mark from 0 to 100 with at most two decimals." for m in bad]
        if given.late_working_days < 0:
            faults.append(f"{where}: 'late_working_days' must not be negative ({given.late_working_days}).")
        if bad or not given.marks:
            continue
        low, high = min(given.marks), max(given.marks)
        for name in ("reconciled", "third"):
            value = getattr(given, name)
            if value is None:
                continue
            if not is_mark(value):
                faults.append(f"{where}: {name} mark {value} is not a mark from 0 to 100 with at most two decimals.")
            elif not low <= value <= high:
                faults.append(f"{where}: {name} mark {value} is outside the markers' range {low}-{high}.")
    return faults
