"""Setting a cohort's marking up: its marking rules, its components, the rubric of each component
(edited in place until a mark exists against it, then as a new version) and copying the components
and rubrics of an earlier cohort. Every change is audited; nothing here commits.

Rules and weights decide marks. Until results are released they may change: the results engine is
then asked again for every student's components that have submitted sheets, so agreements and
results always follow the rules the page shows. After a release they are fixed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm.exc import StaleDataError

from ..cohorts.models import Cohort
from ..core import audit, clock, once
from ..core.errors import InvalidState, NotAllowed, ValidationFailed
from ..extensions import db
from ..milestones.models import Milestone
from ..people.models import User
from . import agreement
from .models import (
    BANDS, DOUBLE, FIRST, MARKED_BY, NOT_STARTED, PENALTY_PRESETS, RELEASED, SECOND, SUBMITTED, Agreement, Component,
    Criterion, MarkingRules, MarkSheet, Result, Rubric,
)
from .services import components_of, open_marking, rules_of

TITLE_LIMIT = 120
DESCRIPTOR_LIMIT = 1000
MAX_CRITERIA = 30  # a rubric's criteria (the standard ones have 2 to 5)

# The cohort settings of MarkingRules, in the page's order, with the words the page and the audit use.
RULE_LABELS = {
    "agree_within": "Agree automatically within",
    "third_marker_above": "Third marker above",
    "discretion_below": "Board discretion below a boundary",
    "moderation_near_below": "Moderate marks just below a boundary",
    "moderation_sample_percent": "Moderation sample (percent)",
    "moderation_sample_min": "Moderation sample (at least)",
    "penalty_preset": "Late penalty",
    "penalty_points": "Points per working day",
    "penalty_days": "Working days of penalty",
    "interim_feedback_working_days": "Feedback on interim work (working days)",
    "final_feedback_working_days": "Feedback on the final report (working days)",
    "exam_board_on": "Exam board",
}
# Of those, the ones the results engine reads: changing them changes marks.
DECIDING = {"agree_within", "third_marker_above", "discretion_below", "moderation_near_below", "penalty_preset",
            "penalty_points", "penalty_days"}
# (least, most) of each number: a gap or a mark is out of 100; a penalty runs for at most 60 working days;
# feedback is due within half a year.
RULE_RANGES = {
    "agree_within": (0, 100), "third_marker_above": (0, 100), "discretion_below": (0, 10),
    "moderation_near_below": (0, 10), "moderation_sample_percent": (0, 100), "moderation_sample_min": (0, 1000),
    "penalty_points": (0, 100), "penalty_days": (0, 60), "interim_feedback_working_days": (1, 120),
    "final_feedback_working_days": (1, 120),
}
MARKED_BY_LABELS = {DOUBLE: "First and second marker", "supervisor": "Supervisor only"}
CRITERION_MARKERS = {(FIRST, SECOND): "First and second marker", (FIRST,): "First marker (supervisor) only"}


class ChangedMeanwhile(InvalidState):
    """Someone saved the same settings since this page was shown, and differently: nothing was saved.
    ``differences`` says what the saved values are against the ones sent."""

    def __init__(self, message: str, differences: list[str]):
        super().__init__(message)
        self.differences = differences


def _require_coordinator(cohort: Cohort, by: User) -> None:
    if not cohort.can_manage(by):
        raise NotAllowed(f"Only the coordinators of {cohort.title} set up its marking.")


def number(value) -> str:
    """A setting as a person writes it: 5, 2.5, 67.83 (no trailing zeros)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _released(cohort: Cohort) -> int:
    return db.session.scalar(select(db.func.count(Result.id)).where(Result.cohort_id == cohort.id,
                                                                     Result.state == RELEASED)) or 0


def _agree_again(cohort: Cohort, by: User) -> int:
    """Ask the results engine again for every student's component that has a submitted sheet (the
    rules or weights changed); how many were asked."""
    components = {c.id: c for c in components_of(cohort)}
    if not components:
        return 0
    pairs = db.session.execute(select(MarkSheet.component_id, MarkSheet.student_id).where(
        MarkSheet.component_id.in_(components), MarkSheet.replaced_at.is_(None), MarkSheet.state == SUBMITTED)
        .distinct().order_by(MarkSheet.student_id, MarkSheet.component_id)).all()
    students = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({s for _, s in pairs})))}
    for component_id, student_id in pairs:
        agreement.refresh(components[component_id], students[student_id], by=by)
    return len(pairs)


def marks_given(cohort: Cohort) -> int:
    """How many students' components have a submitted sheet (their agreement follows the rules)."""
    pairs = (select(MarkSheet.component_id, MarkSheet.student_id)
             .join(Component, Component.id == MarkSheet.component_id)
             .where(Component.cohort_id == cohort.id, MarkSheet.replaced_at.is_(None), MarkSheet.state == SUBMITTED)
             .distinct().subquery())
    return db.session.scalar(select(db.func.count()).select_from(pairs)) or 0


# --- the marking rules ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RulesValues:
    """Every cohort setting of the marking rules, as the coordinator gives them."""

    agree_within: Decimal
    third_marker_above: Decimal
    discretion_below: Decimal
    moderation_near_below: Decimal
    moderation_sample_percent: int
    moderation_sample_min: int
    penalty_preset: str
    penalty_points: Decimal
    penalty_days: int
    interim_feedback_working_days: int
    final_feedback_working_days: int
    exam_board_on: date | None

    @classmethod
    def of(cls, rules: MarkingRules) -> RulesValues:
        return cls(**{name: getattr(rules, name) for name in RULE_LABELS})


def rules_or_defaults(cohort: Cohort) -> MarkingRules:
    """The cohort's rules, or DESIGN.md's defaults (not saved) when it has none yet."""
    rules = rules_of(cohort)
    if rules is not None:
        return rules
    defaults = {c.key: c.default.arg for c in MarkingRules.__table__.columns if c.default is not None
                and not callable(c.default.arg)}
    return MarkingRules(cohort_id=cohort.id, exam_board_on=None,
                        **{k: v for k, v in defaults.items() if k in RULE_LABELS})


def check_rules(values: RulesValues) -> None:
    """The rules' own consistency: numbers in range with at most two decimals, gaps in order."""
    for name, (low, high) in RULE_RANGES.items():
        value = getattr(values, name)
        if value is None or not low <= value <= high:
            raise ValidationFailed(f"{RULE_LABELS[name]}: give a number from {low} to {high}.", field=name)
        if isinstance(value, Decimal) and value != value.quantize(Decimal("0.01")):
            raise ValidationFailed(f"{RULE_LABELS[name]}: at most two decimals.", field=name)
    if values.third_marker_above < values.agree_within:
        raise ValidationFailed("A third marker is needed only above a gap the markers could not agree within: "
                               f"give at least {number(values.agree_within)}.", field="third_marker_above")
    if values.penalty_preset not in PENALTY_PRESETS:
        raise ValidationFailed("Choose one of the late penalties.", field="penalty_preset")


def _differences(saved: dict, yours: dict, labels: dict) -> list[str]:
    return [f"{labels[k]}: the saved value is {_shown(saved[k])}, yours is {_shown(yours[k])}."
            for k in labels if saved[k] != yours[k]]


def _shown(value) -> str:
    if value is None or value == "":
        return "empty"
    if isinstance(value, date):
        return value.strftime("%d %b %Y")
    return number(value)


def save_rules(cohort: Cohort, values: RulesValues, *, shown_version: int | None, by: User) -> list[str]:
    """Save the cohort's marking rules; the changes made, in words (none: nothing changed).

    ``shown_version`` is the version the page showed (None before the cohort had rules): when the
    rules were saved since then, and differ from what is sent, nothing is saved (ChangedMeanwhile).
    Rules that decide marks are fixed once results are released; before that, every component with
    submitted sheets is agreed again by the new rules."""
    _require_coordinator(cohort, by)
    check_rules(values)
    once.lock(cohort)  # two tabs (or a double click) saving at once: one after the other
    db.session.expire_all()  # what the other committed meanwhile, not what this request read before
    rules = rules_of(cohort)
    saved = RulesValues.of(rules if rules is not None else rules_or_defaults(cohort)).__dict__
    wanted = values.__dict__
    changed = [k for k in RULE_LABELS if saved[k] != wanted[k]]
    if not changed and rules is not None:
        return []
    if not changed:
        # The page showed the defaults, and they are kept as they are.
        db.session.add(MarkingRules(cohort_id=cohort.id, updated_at=clock.now(), **wanted))
        db.session.flush()
        audit.record("assessment.rules_changed", None, object_type="marking_rules", object_id=cohort.id, actor=by,
                     cohort=cohort, summary="Saved the marking rules as they are by default", after=wanted)
        return ["the default rules kept"]
    if (rules.version if rules is not None else None) != shown_version:
        raise ChangedMeanwhile("These marking rules were saved by someone else (or in another tab) after you opened "
                               "this page, so yours were not saved. Compare below; save again to keep yours.",
                               _differences(saved, wanted, RULE_LABELS))
    deciding = DECIDING.intersection(changed)
    released = _released(cohort)
    if deciding and released:
        raise InvalidState(f"Results of {released} student{'s' if released != 1 else ''} are released: the rules "
                           "that decide marks can no longer change (the exam board date, feedback days and "
                           "moderation sample still can).")
    if rules is None:
        rules = MarkingRules(cohort_id=cohort.id, updated_at=clock.now())
        db.session.add(rules)
    for name in changed:
        setattr(rules, name, wanted[name])
    rules.updated_at = clock.now()
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise ChangedMeanwhile("These marking rules were saved elsewhere at the same moment, so yours were not "
                               "saved. Reload the page to see them.", []) from None
    words = [f"{RULE_LABELS[k].lower()} {_shown(saved[k])} → {_shown(wanted[k])}" for k in changed]
    audit.record("assessment.rules_changed", rules, object_id=cohort.id, actor=by, cohort=cohort,
                 summary="Changed the marking rules: " + "; ".join(words),
                 before={k: saved[k] for k in changed}, after={k: wanted[k] for k in changed})
    if deciding:
        _agree_again(cohort, by)
    return words


# --- components ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComponentValues:
    """What the coordinator gives a component: its title, weight, who marks it, what it assesses."""

    component_id: int
    title: str
    weight: int
    marked_by: str
    milestone_id: int | None


def _component_values(c: Component) -> ComponentValues:
    return ComponentValues(c.id, c.title, c.weight, c.marked_by, c.milestone_id)


def components_digest(components: list[Component]) -> str:
    """A fingerprint of the components as a page shows them: a save from an older page is noticed."""
    data = [list(_component_values(c).__dict__.values()) for c in components]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:32]


def sheets_opened(components: list[Component]) -> Counter:
    """Live mark sheets of each component (by id)."""
    if not components:
        return Counter()
    return Counter(dict(db.session.execute(select(MarkSheet.component_id, db.func.count(MarkSheet.id)).where(
        MarkSheet.component_id.in_([c.id for c in components]), MarkSheet.replaced_at.is_(None))
        .group_by(MarkSheet.component_id)).all()))


def save_components(cohort: Cohort, values: list[ComponentValues], *, shown: str, by: User) -> list[str]:
    """Save the components' titles, weights, markers and milestones; the changes, in words.

    The weights add up to 100. Who marks a component and the milestone it assesses are fixed once
    its marking has opened (the mark sheets follow them); weights decide marks, so they are fixed
    once results are released and, before that, submitted marks are agreed again with them."""
    _require_coordinator(cohort, by)
    once.lock(cohort)
    db.session.expire_all()
    components = components_of(cohort)
    by_id = {c.id: c for c in components}
    if sorted(v.component_id for v in values) != sorted(by_id):
        raise ChangedMeanwhile("The cohort's components changed after you opened this page (copied from another "
                               "cohort?), so nothing was saved. Reload the page.", [])
    milestones = {m.id: m for m in db.session.scalars(select(Milestone).where(Milestone.cohort_id == cohort.id))}
    for v in values:
        field = f"component_{v.component_id}"
        if not v.title.strip() or len(v.title) > TITLE_LIMIT:
            raise ValidationFailed(f"Give the component a title of up to {TITLE_LIMIT} characters.",
                                   field=f"{field}_title")
        if not 1 <= v.weight <= 100:
            raise ValidationFailed("A weight is a whole number from 1 to 100.", field=f"{field}_weight")
        if v.marked_by not in MARKED_BY:
            raise ValidationFailed("Choose who marks it.", field=f"{field}_marked_by")
        if v.milestone_id is not None and v.milestone_id not in milestones:
            raise ValidationFailed("Choose one of the cohort's milestones, or none.", field=f"{field}_milestone")
    total = sum(v.weight for v in values)
    if total != 100:
        raise ValidationFailed(f"The weights add up to {total}%: they must add up to 100%.", field="weights")
    labels = {"title": "title", "weight": "weight", "marked_by": "who marks it", "milestone_id": "what it assesses"}
    changes = [(by_id[v.component_id], name, getattr(by_id[v.component_id], name), getattr(v, name))
               for v in values for name in labels if getattr(by_id[v.component_id], name) != getattr(v, name)]
    if not changes:
        return []
    if components_digest(components) != shown:
        differences = [f"{c.title}, {labels[name]}: the saved value is {_component_shown(name, old, milestones)}, "
                       f"yours is {_component_shown(name, new, milestones)}." for c, name, old, new in changes]
        raise ChangedMeanwhile("The components were saved by someone else (or in another tab) after you opened this "
                               "page, so yours were not saved. Compare below; save again to keep yours.", differences)
    opened = sheets_opened(components)
    for c, name, _old, _new in changes:
        if name in ("marked_by", "milestone_id") and opened[c.id]:
            raise ValidationFailed(f"Marking of {c.title} has opened ({opened[c.id]} mark sheets): "
                                   f"{labels[name]} can no longer change.", field=f"component_{c.id}_{name.removesuffix('_id')}")
    reweighted = any(name == "weight" for _c, name, _o, _n in changes)
    released = _released(cohort)
    if reweighted and released:
        raise InvalidState(f"Results of {released} student{'s' if released != 1 else ''} are released: the "
                           "components' weights can no longer change.")
    for c, name, _old, new in changes:
        setattr(c, name, new.strip() if name == "title" else new)
    db.session.flush()
    words = [f"{c.title}: {labels[name]} {_component_shown(name, old, milestones)} → "
             f"{_component_shown(name, new, milestones)}" for c, name, old, new in changes]
    audit.record("assessment.components_changed", cohort, actor=by, cohort=cohort,
                 summary="Changed the marking components: " + "; ".join(words),
                 before={f"{c.key}.{name}": old for c, name, old, _new in changes},
                 after={f"{c.key}.{name}": new for c, name, _old, new in changes})
    if reweighted:
        _agree_again(cohort, by)
    return words


def _component_shown(name: str, value, milestones: dict[int, Milestone]) -> str:
    if name == "weight":
        return f"{value}%"
    if name == "marked_by":
        return MARKED_BY_LABELS.get(value, value).lower()
    if name == "milestone_id":
        return milestones[value].title if value in milestones else "no submission"
    return f"“{value}”"


# --- rubrics -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CriterionDraft:
    """A criterion as the coordinator gives it: title, weight, who marks it, one descriptor per band."""

    title: str
    weight: int
    marked_by: tuple[str, ...]
    descriptors: tuple[str, ...]
    row: str = field(default="", compare=False)  # the form's row it came from, for messages next to it

    @classmethod
    def of(cls, c: Criterion) -> CriterionDraft:
        return cls(c.title, c.weight, tuple(c.marked_by), tuple(c.descriptors))

    def as_list(self) -> list:
        return [self.title, self.weight, list(self.marked_by), list(self.descriptors)]

    def as_dict(self) -> dict:
        return {"title": self.title, "weight": self.weight, "marked_by": list(self.marked_by),
                "descriptors": list(self.descriptors)}


def rubric_digest(rubric: Rubric | None) -> str:
    """A fingerprint of a rubric version as a page shows it: a save from an older page is noticed."""
    if rubric is None:
        return ""
    data = [rubric.id, rubric.version, [CriterionDraft.of(c).as_list() for c in rubric.criteria]]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RubricUse:
    """A rubric version and the live mark sheets on it, by state."""

    rubric: Rubric
    states: Counter

    @property
    def sheets(self) -> int:
        return sum(self.states.values())


def rubric_uses(component: Component) -> list[RubricUse]:
    """Every version of the component's rubric, newest first, with its sheets by state."""
    counts: dict[int, Counter] = {r.id: Counter() for r in component.rubrics}
    for rubric_id, state, n in db.session.execute(
            select(MarkSheet.rubric_id, MarkSheet.state, db.func.count(MarkSheet.id)).where(
                MarkSheet.component_id == component.id, MarkSheet.replaced_at.is_(None))
            .group_by(MarkSheet.rubric_id, MarkSheet.state)):
        counts.setdefault(rubric_id, Counter())[state] = n
    return [RubricUse(r, counts[r.id]) for r in reversed(component.rubrics)]


def check_criteria(component: Component, drafts: list[CriterionDraft]) -> None:
    """A rubric's criteria: at least one, titled, weighted 1-100 in all adding up to 100, each band
    described, marked by roles the component has."""
    if not drafts:
        raise ValidationFailed("A rubric needs at least one criterion.", field="weights")
    if len(drafts) > MAX_CRITERIA:
        raise ValidationFailed(f"A rubric has at most {MAX_CRITERIA} criteria.", field="weights")
    for i, d in enumerate(drafts):
        row = d.row or f"c{i}"
        if not d.title.strip() or len(d.title) > TITLE_LIMIT:
            raise ValidationFailed(f"Give criterion {i + 1} a title of up to {TITLE_LIMIT} characters.",
                                   field=f"{row}_title")
        if not 1 <= d.weight <= 100:
            raise ValidationFailed("A weight is a whole number from 1 to 100.", field=f"{row}_weight")
        if d.marked_by not in CRITERION_MARKERS or not set(d.marked_by) <= set(component.roles):
            raise ValidationFailed(f"{component.title} is marked by the supervisor only.", field=f"{row}_marked_by")
        if len(d.descriptors) != len(BANDS):
            raise ValidationFailed("Describe every band.", field=f"{row}_title")
        for b, text in enumerate(d.descriptors):
            if not text.strip() or len(text) > DESCRIPTOR_LIMIT:
                raise ValidationFailed(f"Say what {BANDS[b].name} means for this criterion, in up to "
                                       f"{DESCRIPTOR_LIMIT:,} characters.", field=f"{row}_band{b}")
    total = sum(d.weight for d in drafts)
    if total != 100:
        raise ValidationFailed(f"The criteria's weights add up to {total}%: they must add up to 100%.",
                               field="weights")


@dataclass(frozen=True)
class RubricSaved:
    rubric: Rubric
    new_version: bool
    moved: int  # sheets not started, moved onto the new version

    def summary(self, component: Component) -> str:
        if not self.new_version:
            return f"The {component.title.lower()} rubric (version {self.rubric.version}) is saved."
        moved = (f" {self.moved} sheet{'s' if self.moved != 1 else ''} not yet started now use{'s' if self.moved == 1 else ''} "
                 "it;" if self.moved else "")
        return (f"Saved as version {self.rubric.version} of the {component.title.lower()} rubric.{moved} sheets "
                "already begun stay on the version they were marked against.")


def save_rubric(component: Component, drafts: list[CriterionDraft], *, shown: str, by: User) -> RubricSaved | None:
    """Save the component's rubric (None when nothing changed).

    Until a mark exists against the current version it is changed in place. Once it is frozen the
    change makes a new version with the criteria copied and changed: sheets already begun (draft or
    submitted) stay on the version they were marked against; sheets not yet started move to the new
    one, as their marker has not seen the old one in use."""
    cohort = component.cohort
    _require_coordinator(cohort, by)
    check_criteria(component, drafts)
    once.lock(component)
    db.session.expire_all()
    current = component.current_rubric
    before = [CriterionDraft.of(c) for c in current.criteria] if current is not None else []
    if before == drafts:
        return None
    if rubric_digest(current) != shown:
        raise ChangedMeanwhile("This rubric was saved by someone else (or in another tab) after you opened this page, "
                               "so your changes were not saved. The page now shows the saved rubric with your "
                               "changes: check them, then save again.", _criteria_differences(before, drafts))
    now = clock.now()
    if current is not None and not current.is_frozen:
        _replace_criteria(current, drafts)
        rubric, new_version, moved = current, False, 0
    else:
        rubric = Rubric(component_id=component.id, version=(current.version + 1) if current else 1,
                        created_at=now, created_by_id=by.id)
        rubric.criteria = [_criterion(i, d) for i, d in enumerate(drafts)]
        component.rubrics.append(rubric)
        db.session.flush()
        moved = db.session.execute(
            MarkSheet.__table__.update().where(
                MarkSheet.component_id == component.id, MarkSheet.state == NOT_STARTED,
                MarkSheet.replaced_at.is_(None), MarkSheet.rubric_id != rubric.id)
            .values(rubric_id=rubric.id, version=MarkSheet.version + 1, updated_at=now)).rowcount
        new_version = True
    db.session.flush()
    db.session.expire_all()
    audit.record("assessment.rubric_changed", rubric, actor=by, cohort=cohort,
                 summary=(f"Changed the {component.title.lower()} rubric"
                          + (f": version {rubric.version}" if new_version else f" (version {rubric.version})")
                          + (f", {moved} sheets not yet started moved to it" if moved else "")
                          + ". " + " ".join(_criteria_differences(before, drafts, mine="new", theirs="was"))),
                 before={"version": current.version if current else None,
                         "criteria": [d.as_dict() for d in before]},
                 after={"version": rubric.version, "criteria": [d.as_dict() for d in drafts], "moved_sheets": moved})
    return RubricSaved(rubric, new_version, moved)


def _criterion(position: int, d: CriterionDraft) -> Criterion:
    return Criterion(position=position, title=d.title.strip(), weight=d.weight, marked_by=list(d.marked_by),
                     descriptors=[t.strip() for t in d.descriptors])


def _replace_criteria(rubric: Rubric, drafts: list[CriterionDraft]) -> None:
    # No mark refers to a criterion of an unfrozen rubric, so its criteria are simply replaced. The
    # old rows go first: (rubric, position) is unique, and a flush would insert before deleting.
    db.session.execute(delete(Criterion).where(Criterion.rubric_id == rubric.id))
    db.session.expire(rubric, ["criteria"])
    for i, d in enumerate(drafts):
        criterion = _criterion(i, d)
        criterion.rubric_id = rubric.id
        db.session.add(criterion)


def _criteria_differences(before: list[CriterionDraft], after: list[CriterionDraft], *, mine: str = "yours",
                          theirs: str = "saved") -> list[str]:
    said = []
    for i in range(max(len(before), len(after))):
        old = before[i] if i < len(before) else None
        new = after[i] if i < len(after) else None
        if old == new:
            continue
        if old is None:
            said.append(f"Criterion {i + 1} “{new.title}” ({new.weight}%) is added ({mine}).")
        elif new is None:
            said.append(f"Criterion {i + 1} “{old.title}” ({old.weight}%) is removed ({mine}).")
        else:
            parts = []
            if old.title != new.title:
                parts.append(f"title {theirs} “{old.title}”, {mine} “{new.title}”")
            if old.weight != new.weight:
                parts.append(f"weight {theirs} {old.weight}%, {mine} {new.weight}%")
            if old.marked_by != new.marked_by:
                parts.append(f"marked by {theirs} {CRITERION_MARKERS.get(old.marked_by, '?').lower()}, {mine} "
                             f"{CRITERION_MARKERS.get(new.marked_by, '?').lower()}")
            if old.descriptors != new.descriptors:
                parts.append("band descriptors differ")
            said.append(f"Criterion {i + 1} “{old.title}”: " + "; ".join(parts) + ".")
    return said


# --- copying from an earlier cohort --------------------------------------------------------------

def copy_sources(cohort: Cohort, user: User) -> list[Cohort]:
    """The other cohorts ``user`` runs that have components to copy, newest first."""
    from ..cohorts.services import cohorts_managed_by

    managed = [c for c in cohorts_managed_by(user) if c.id != cohort.id]
    if not managed:
        return []
    having = set(db.session.scalars(select(Component.cohort_id).where(
        Component.cohort_id.in_([c.id for c in managed])).distinct()))
    return [c for c in managed if c.id in having]


def marks_in(cohort: Cohort) -> int:
    """Mark sheets of the cohort that a marker has begun (any mark against its rubrics)."""
    return db.session.scalar(select(db.func.count(MarkSheet.id)).join(Component, Component.id == MarkSheet.component_id)
                             .where(Component.cohort_id == cohort.id, MarkSheet.state != NOT_STARTED)) or 0


def _shape(components: list[Component]) -> list:
    return [(c.key, c.title, c.weight, c.marked_by, c.milestone.kind if c.milestone else None,
             [CriterionDraft.of(k).as_list() for k in c.current_rubric.criteria]
             if c.current_rubric else []) for c in components]


def copy_marking(cohort: Cohort, source: Cohort, *, by: User) -> list[Component] | None:
    """Give ``cohort`` the components and current rubrics of ``source`` (another cohort ``by`` runs),
    in place of its own; None when they are the same already.

    Only while no mark exists in ``cohort``: its sheets not yet started are made again on the copied
    rubrics (the same markers, the same due dates). Its marking rules are not copied."""
    _require_coordinator(cohort, by)
    if source.id == cohort.id:
        raise ValidationFailed("Choose another cohort to copy from.", field="source")
    if not source.can_manage(by):
        raise NotAllowed(f"You do not coordinate {source.title}: only its coordinators can copy its rubrics.")
    once.lock(cohort)
    db.session.expire_all()
    theirs = components_of(source)
    if not theirs:
        raise ValidationFailed(f"{source.title} has no components to copy.", field="source")
    begun = marks_in(cohort)
    if begun:
        raise InvalidState(f"Marking of {cohort.title} has begun: {begun} mark sheet{'s' if begun != 1 else ''} "
                           "hold marks against its rubrics, and copying would change what they were marked "
                           "against. Edit its rubrics instead: a change makes a new version.")
    ours = components_of(cohort)
    milestones = {}
    for m in db.session.scalars(select(Milestone).where(Milestone.cohort_id == cohort.id).order_by(Milestone.due_at)):
        milestones.setdefault(m.kind, m)
    wanted = [(c.key, c.title, c.weight, c.marked_by,
               c.milestone.kind if c.milestone and c.milestone.kind in milestones else None,
               [CriterionDraft.of(k).as_list() for k in c.current_rubric.criteria]
               if c.current_rubric else []) for c in theirs]
    if _shape(ours) == wanted:
        return None
    counts = sheets_opened(ours)
    opened = {c.key for c in ours if counts[c.id]}
    replaced = ", ".join(c.title for c in ours)
    replaced_keys = [c.key for c in ours]
    ids = [c.id for c in ours]
    if ids:
        # Sheets not yet started hold nothing of their markers: they are made again below.
        db.session.execute(delete(MarkSheet).where(MarkSheet.component_id.in_(ids)))
        db.session.execute(delete(Agreement).where(Agreement.component_id.in_(ids)))
        for c in ours:
            db.session.delete(c)
        db.session.flush()
    now = clock.now()
    if rules_of(cohort) is None:
        db.session.add(MarkingRules(cohort_id=cohort.id, updated_at=now))
    made = []
    for position, c in enumerate(theirs):
        milestone = milestones.get(c.milestone.kind) if c.milestone is not None else None
        copy = Component(cohort_id=cohort.id, key=c.key, title=c.title, weight=c.weight, marked_by=c.marked_by,
                         milestone_id=milestone.id if milestone else None, position=position, created_at=now)
        rubric = Rubric(version=1, created_at=now, created_by_id=by.id)
        rubric.criteria = [_criterion(i, CriterionDraft.of(k)) for i, k in
                           enumerate(c.current_rubric.criteria if c.current_rubric else [])]
        copy.rubrics = [rubric]
        db.session.add(copy)
        made.append(copy)
    db.session.flush()
    audit.record("assessment.rubrics_copied", cohort, actor=by, cohort=cohort,
                 summary=f"Copied the marking components and rubrics of {source.title}: "
                         + ", ".join(f"{c.title} {c.weight}%" for c in made)
                         + (f" (in place of {replaced})" if replaced else ""),
                 before={"components": replaced_keys},
                 after={"source_cohort": source.id, "components": [c.key for c in made]})
    for copy in made:
        if copy.key in opened:
            open_marking(copy, by=by)
    return components_of(cohort)
