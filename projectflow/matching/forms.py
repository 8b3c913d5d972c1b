"""Forms of the allocation pages."""

from __future__ import annotations

from ..core.forms import FlaskForm  # the site's: cleaned text, one-line titles, sane dates
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
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


class PublishRunForm(FlaskForm):
    early = BooleanField("Publish before the deadline",
                         description="Preference lists close now, for everyone.")


class MarkerForm(FlaskForm):
    marker = SelectField("Second marker", coerce=int, validators=[InputRequired()],
                         description="Who may mark it: the closest expertise first, then the lightest load (their "
                                     "projects besides this one, of their maximum). Kept when the engine runs again.")


class ConflictForm(FlaskForm):
    staff = SelectField("Member of staff", coerce=int, validators=[InputRequired()])
    student = SelectField("Student", coerce=int, validators=[InputRequired()])
    reason = TextAreaField("Conflict", validators=[InputRequired(), Length(max=500)], render_kw={"rows": 2},
                           description="E.g. a relative, or the student's line manager at work. Kept in the audit log.")
