"""Forms of the allocation pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length

from .models import APP_OBJECTIVES, OBJECTIVE_LABELS


class RunForm(FlaskForm):
    objective = SelectField("Objective", choices=[SelectChoice(o, OBJECTIVE_LABELS[o]) for o in APP_OBJECTIVES],
                            default="min-cost", validators=[InputRequired()],
                            description="Every objective first places as many students as possible.")
    note = StringField("Note", validators=[Length(max=200)],
                       description="Optional: what this run is for, e.g. “after raising Dr Lee's limit”.")


class MoveForm(FlaskForm):
    """Move a student by hand: ``project`` empty means "no project"."""

    student = SelectField("Student", coerce=int, validators=[InputRequired()])
    project = SelectField("New project", coerce=lambda v: int(v) if v not in ("", None) else None)


class PublishForm(FlaskForm):
    pass
