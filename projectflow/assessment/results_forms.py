"""Forms of the results pages: release, the moderation sample, the moderators, a moderator's decision."""

from __future__ import annotations

from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..core.forms import CheckboxListField, FlaskForm
from .results import REASON_LIMIT


class ReleaseForm(FlaskForm):
    submit = SubmitField("Release every provisional result")


class ReleaseOneForm(FlaskForm):
    submit = SubmitField("Release")


class SampleForm(FlaskForm):
    submit = SubmitField("Draw the sample")


class ModeratorsForm(FlaskForm):
    moderators = CheckboxListField("Members of staff who moderate", coerce=int, choices=[],
                                   description="The cohort's coordinators moderate anyway. Nobody moderates a "
                                               "student whose work they marked.")
    submit = SubmitField("Save moderators")


class ModerateForm(FlaskForm):
    mark = StringField("Adjusted final mark", validators=[Length(max=10)], render_kw={"inputmode": "decimal"},
                       description="Only to adjust: 0–100, up to two decimals. The class follows the adjusted mark.")
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give the reason for your decision."),
                                                 Length(max=REASON_LIMIT)], render_kw={"rows": 4},
                           description="Required either way; the exam board reads it. Never shown to the student.")
    confirm = SubmitField("Confirm the final mark")
    adjust = SubmitField("Adjust to the mark given")
