"""Forms of setting marking up: the marking rules, the components, a rubric's criteria (built from the
rubric when the page is shown) and copying from another cohort."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectChoice, SelectField, StringField, \
    SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ..core.forms import FlaskForm
from .defaults import descriptors
from .models import BANDS, FIRST, PENALTY_PRESETS, SECOND, SUPERVISOR_ONLY, Component, Rubric
from .setup import (
    CRITERION_MARKERS, DESCRIPTOR_LIMIT, MARKED_BY_LABELS, RULE_LABELS, RULE_RANGES, TITLE_LIMIT, ComponentValues,
    MAX_CRITERIA, CriterionDraft, RulesValues, number,
)

class HundredthsField(StringField):
    """A number with at most two decimals (a gap, a penalty), typed as a person writes it."""

    def __init__(self, label=None, validators=None, *, low=0, high=100, **kwargs):
        self.low, self.high = low, high
        super().__init__(label, validators, render_kw={"inputmode": "decimal"}, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = (valuelist[0] or "").strip()
        self.data = None
        if not text:
            raise ValueError("Give a number.")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"Give a number from {self.low} to {self.high}, such as 5 or 2.5.") from None
        if not value.is_finite() or not self.low <= value <= self.high:
            raise ValueError(f"Give a number from {self.low} to {self.high}.")
        if value != value.quantize(Decimal("0.01")):
            raise ValueError("At most two decimals.")
        self.data = value.quantize(Decimal("0.01"))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return number(self.data)


def _given(form, field):
    if field.data is None and not field.process_errors:
        raise ValidationError("Give a number.")


def _whole(label, low, high, description):
    return IntegerField(label, validators=[InputRequired("Give a whole number."), NumberRange(low, high,
                        f"Give a whole number from {low} to {high}.")], description=description,
                        render_kw={"inputmode": "numeric"})


def _hundredths(name, description):
    low, high = RULE_RANGES[name]
    return HundredthsField(RULE_LABELS[name], [_given], low=low, high=high, description=description)


class RulesForm(FlaskForm):
    agree_within = _hundredths(
        "agree_within", "Two marks this close (in points) and in the same band are agreed automatically: the mark is "
        "their mean. A larger gap, or marks either side of a band boundary, goes to reconciliation.")
    third_marker_above = _hundredths(
        "third_marker_above", "Marks further apart than this go straight to a third marker, whose mark must lie "
        "between the two. At least the gap above; some departments use 15.")
    discretion_below = _hundredths(
        "discretion_below", "A final mark this close below a class boundary (70, 60, 50) is flagged for the exam "
        "board's discretion: 2.5 flags 67.50 but not 67.49.")
    moderation_near_below = _hundredths(
        "moderation_near_below", "A final mark this close below 60 or 70 joins the moderation list, with every "
        "fail and every distinction.")
    moderation_sample_percent = _whole(
        RULE_LABELS["moderation_sample_percent"], *RULE_RANGES["moderation_sample_percent"],
        "Besides the flagged students, this share of the cohort is drawn at random (the same draw every time) "
        "for the external examiner.")
    moderation_sample_min = _whole(
        RULE_LABELS["moderation_sample_min"], *RULE_RANGES["moderation_sample_min"],
        "The random sample holds at least this many students, or all of them if the cohort is smaller.")
    penalty_preset = SelectField(
        RULE_LABELS["penalty_preset"], choices=[SelectChoice(k, v) for k, v in PENALTY_PRESETS.items()],
        description="Taken off the agreed mark of late work unless an extension was granted; both marks are kept. "
                    "The pass mark is 50.")
    penalty_points = _hundredths(
        "penalty_points", "Per working day: the points taken off for each working day late.")
    penalty_days = _whole(
        RULE_LABELS["penalty_days"], *RULE_RANGES["penalty_days"],
        "Per working day and capped: how many working days late the penalty runs; later work gets 0.")
    interim_feedback_working_days = _whole(
        RULE_LABELS["interim_feedback_working_days"], *RULE_RANGES["interim_feedback_working_days"],
        "Markers' feedback on the poster and other interim work is due this many working days after the "
        "student's deadline (an extension moves it). For mark sheets opened from now on.")
    final_feedback_working_days = _whole(
        RULE_LABELS["final_feedback_working_days"], *RULE_RANGES["final_feedback_working_days"],
        "The same for the final report. For mark sheets opened from now on.")
    exam_board_on = DateField(
        RULE_LABELS["exam_board_on"], validators=[Optional()],
        description="Results stay provisional and hidden from students until the coordinator releases them, on "
                    "or after this day.")
    version = HiddenField()
    submit = SubmitField("Save marking rules")

    def validate_third_marker_above(self, field):
        if field.data is not None and self.agree_within.data is not None and field.data < self.agree_within.data:
            raise ValidationError("A third marker is needed only above a gap the markers could not agree within: "
                                  f"give at least {number(self.agree_within.data)}.")

    def fill(self, rules) -> None:
        for name in RULE_LABELS:
            self[name].data = getattr(rules, name)
        self.version.data = "" if rules.version is None else str(rules.version)  # None: not saved yet

    def values(self) -> RulesValues:
        return RulesValues(**{name: self[name].data for name in RULE_LABELS})

    def shown_version(self) -> int | None:
        raw = (self.version.data or "").strip()
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def components_form(components: list[Component], milestones: list, formdata=None):
    """The form of every component's title, weight, markers and milestone."""

    class ComponentsForm(FlaskForm):
        shown = HiddenField()
        submit = SubmitField("Save components")

    milestone_choices = [SelectChoice("", "No submission")] + [SelectChoice(str(m.id), m.title) for m in milestones]
    for c in components:
        setattr(ComponentsForm, f"component_{c.id}_title", StringField(
            f"Title of {c.title}", validators=[InputRequired("Give the component a title."), Length(max=TITLE_LIMIT)]))
        setattr(ComponentsForm, f"component_{c.id}_weight", IntegerField(
            f"Weight of {c.title} (%)", validators=[InputRequired("Give a whole number."),
                                                    NumberRange(1, 100, "Give a whole number from 1 to 100.")],
            render_kw={"inputmode": "numeric"}))
        setattr(ComponentsForm, f"component_{c.id}_marked_by", SelectField(
            f"Who marks {c.title}", choices=[SelectChoice(k, v) for k, v in MARKED_BY_LABELS.items()]))
        setattr(ComponentsForm, f"component_{c.id}_milestone", SelectField(
            f"What {c.title} assesses", choices=milestone_choices))
    form = ComponentsForm(formdata=formdata) if formdata is not None else ComponentsForm(formdata=None)
    if formdata is None:
        for c in components:
            form[f"component_{c.id}_title"].data = c.title
            form[f"component_{c.id}_weight"].data = c.weight
            form[f"component_{c.id}_marked_by"].data = c.marked_by
            form[f"component_{c.id}_milestone"].data = str(c.milestone_id or "")
    form.components = components
    return form


def component_values(form) -> list[ComponentValues]:
    return [ComponentValues(c.id, form[f"component_{c.id}_title"].data or "", form[f"component_{c.id}_weight"].data,
                            form[f"component_{c.id}_marked_by"].data,
                            int(form[f"component_{c.id}_milestone"].data) if form[f"component_{c.id}_milestone"].data
                            else None) for c in form.components]


MARKER_CHOICES = [SelectChoice(",".join(roles), label) for roles, label in CRITERION_MARKERS.items()]
NEW = "new"


def posted_rows(formdata) -> int:
    """How many criterion rows a sent form holds (the page it came from may be older than the rubric)."""
    return sum(1 for i in range(MAX_CRITERIA) if f"c{i}_title" in formdata)


def rubric_form(component: Component, rubric: Rubric | None, formdata=None):
    """A rubric's criteria as rows c0, c1 ... (title, weight, markers, one descriptor per band, remove),
    and an empty row ``new`` to add one (title, weight and markers; ignored while its title is empty).
    A sent form is read with the rows it holds."""
    criteria = rubric.criteria if rubric is not None else []
    count = posted_rows(formdata) if formdata is not None else len(criteria)
    supervisor_only = component.marked_by == SUPERVISOR_ONLY
    choices = [c for c in MARKER_CHOICES if not supervisor_only or c.value == FIRST]

    class RubricForm(FlaskForm):
        shown = HiddenField()
        submit = SubmitField("Save rubric")

    def row(prefix: str, name: str, required: bool, bands: bool = True):
        needed = [InputRequired(f"Give the {name} a title.")] if required else [Optional()]
        setattr(RubricForm, f"{prefix}_title", StringField("Title", validators=[*needed, Length(max=TITLE_LIMIT)]))
        setattr(RubricForm, f"{prefix}_weight", IntegerField(
            "Weight (%)", validators=[InputRequired("Give a whole number.") if required else Optional(),
                                      NumberRange(1, 100, "Give a whole number from 1 to 100.")],
            render_kw={"inputmode": "numeric"}))
        setattr(RubricForm, f"{prefix}_marked_by", SelectField("Marked by", choices=choices))
        for b, band in enumerate(BANDS if bands else ()):
            setattr(RubricForm, f"{prefix}_band{b}", TextAreaField(
                f"{band.name} ({band.low}–{band.high})", validators=[Length(max=DESCRIPTOR_LIMIT)],
                render_kw={"rows": 2}))

    for i in range(count):
        row(f"c{i}", "criterion", True)
        setattr(RubricForm, f"c{i}_remove", BooleanField("Remove this criterion"))
    row(NEW, "new criterion", False, bands=False)
    form = RubricForm(formdata=formdata) if formdata is not None else RubricForm(formdata=None)
    if formdata is None:
        for i, c in enumerate(criteria):
            form[f"c{i}_title"].data = c.title
            form[f"c{i}_weight"].data = c.weight
            form[f"c{i}_marked_by"].data = ",".join(c.marked_by)
            for b in range(len(BANDS)):
                form[f"c{i}_band{b}"].data = c.descriptors[b] if b < len(c.descriptors) else ""
        form[f"{NEW}_marked_by"].data = FIRST if supervisor_only else f"{FIRST},{SECOND}"
    form.rows = [f"c{i}" for i in range(count)]
    form.criteria = criteria
    return form


def criterion_drafts(form) -> list[CriterionDraft]:
    """The criteria the form holds, in order: kept rows, then the new one if it has a title."""
    drafts = []
    for prefix in form.rows + [NEW]:
        if prefix != NEW and form[f"{prefix}_remove"].data:
            continue
        title = (form[f"{prefix}_title"].data or "").strip()
        if prefix == NEW and not title:
            continue
        markers = tuple((form[f"{prefix}_marked_by"].data or "").split(","))
        # A new criterion starts from the standard words for each band, made specific once it is added.
        bands = tuple(descriptors(title)) if prefix == NEW else \
            tuple(_text(form[f"{prefix}_band{b}"].data) for b in range(len(BANDS)))
        drafts.append(CriterionDraft(title, form[f"{prefix}_weight"].data or 0, markers, bands, row=prefix))
    return drafts


def _text(value) -> str:
    # A browser sends a textarea's line breaks as CRLF: kept as LF, so that a page sent back unchanged
    # is no change (a frozen rubric would otherwise get a new version each time).
    return (value or "").replace("\r\n", "\n").strip()


class CopyForm(FlaskForm):
    source = SelectField("Copy from", choices=[], validate_choice=True,
                         description="Its components (titles, weights, who marks them), each tied to this cohort's "
                                     "milestone of the same kind, and the current version of each rubric. This "
                                     "cohort's marking rules stay as they are.")
    submit = SubmitField("Copy components and rubrics")
