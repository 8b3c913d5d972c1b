"""Forms of the timeline pages."""

from __future__ import annotations

from ..core.forms import FlaskForm  # the site's: cleaned text, one-line titles, sane dates
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateTimeLocalField, IntegerField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..core.forms import CheckboxListField
from ..core.once import FormTokenField
from .models import COMPONENTS, KIND_LABELS, KINDS, PHASE_LABELS, PHASES


class MilestoneForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=120)])
    kind = SelectField("Kind", choices=[SelectChoice(k, KIND_LABELS[k]) for k in KINDS], validators=[InputRequired()])
    phase = SelectField("Phase", choices=[SelectChoice(p, PHASE_LABELS[p]) for p in PHASES],
                        validators=[InputRequired()])
    due = DateTimeLocalField("Deadline", format="%Y-%m-%dT%H:%M", validators=[InputRequired()],
                             description="Local time of the cohort (e.g. 16:00 London).")
    non_working_day_confirmed = BooleanField(
        "Keep a deadline on a non-working day",
        description="Only when a deadline on a weekend, a bank holiday or a closure is meant.")
    cutoff = DateTimeLocalField("Cut-off (optional)", format="%Y-%m-%dT%H:%M", validators=[Optional()],
                                description="Nothing is accepted after it. Without one, late work is accepted "
                                            "and marked late.")
    needs_file = BooleanField("Students upload a PDF", default=True)
    is_assessed = BooleanField("Assessed (carries marks)")
    components = CheckboxListField("Feeds the components", choices=[SelectChoice(c, c.capitalize()) for c in COMPONENTS])
    description = TextAreaField("What students hand in", validators=[Length(max=5000)], render_kw={"rows": 3})


class ClosuresForm(FlaskForm):
    """The timeline's settings: closures, the extension limit and the meeting gaps."""

    closures = TextAreaField(
        "University closures", render_kw={"rows": 3},
        description="One per line: first day, last day, label, e.g. “2026-12-24, 2027-01-01, Christmas closure”. "
                    "They do not count as working days, like weekends and bank holidays.")
    extension_max_working_days = IntegerField("Longest extension (working days)", default=10,
                                              validators=[InputRequired(), NumberRange(1, 60)])
    meeting_gap_part_time_weeks = IntegerField("No meeting for (weeks), part-time phase", default=3,
                                               validators=[InputRequired(), NumberRange(1, 12)])
    meeting_gap_full_time_weeks = IntegerField("No meeting for (weeks), full-time phase", default=2,
                                               validators=[InputRequired(), NumberRange(1, 12)])


class ExtensionRequestForm(FlaskForm):
    reason = TextAreaField("Why you need more time",
                           validators=[DataRequired("Say why you need more time: the coordinator decides on your "
                                                    "reason."), Length(max=5000)],
                           render_kw={"rows": 3})
    evidence = FileField("Evidence (optional PDF)", render_kw={"accept": "application/pdf,.pdf"},
                         description="A doctor's note, for example. Only the coordinators see it.")
    form_token = FormTokenField()  # the same form sent twice asks once


class DecisionForm(FlaskForm):
    decision = SelectField("Decision", choices=[SelectChoice("grant", "Grant"), SelectChoice("refuse", "Refuse"),
                                                SelectChoice("refer", "Refer to mitigating circumstances")])
    working_days = IntegerField("Working days", default=5, validators=[Optional(), NumberRange(1, 60)])
    note = TextAreaField("Note to the student", validators=[Length(max=2000)], render_kw={"rows": 2})


class DirectGrantForm(FlaskForm):
    student = SelectField("Student", coerce=int, validators=[InputRequired()])
    milestone = SelectField("Milestone", coerce=int, validators=[InputRequired()])
    working_days = IntegerField("Working days", default=5, validators=[InputRequired(), NumberRange(1, 60)])
    note = TextAreaField("Why", validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 2})
    form_token = FormTokenField()  # the same form sent twice grants once
