from __future__ import annotations

from zoneinfo import available_timezones

from ..core.forms import FlaskForm  # the site's: cleaned text, one-line titles, sane dates
from .services import reminder_days_problem
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp, ValidationError

_ZONES = sorted(available_timezones())
_ZONE_SET = frozenset(_ZONES)
MIN_YEAR, MAX_YEAR = 2000, 2199


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class DaysField(StringField):
    """Whole numbers of days typed as a list ("14, 7, 2, 1"), held as a list of ints, largest first."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return ", ".join(str(d) for d in self.data or [])

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        words = [w for w in valuelist[0].replace(";", ",").replace(",", " ").split() if w]
        try:
            self.data = sorted({int(w) for w in words}, reverse=True)
        except ValueError:
            self.data = None
            raise ValueError("Type whole numbers of days separated by commas, e.g. 14, 7, 2, 1.")


class CohortForm(FlaskForm):
    programme_name = StringField("Programme name", filters=[_strip], validators=[DataRequired(), Length(max=200)],
                                 description="As on the programme specification, e.g. Applied Machine Learning.")
    programme_code = StringField("Programme code", filters=[_strip], validators=[
        DataRequired(), Length(max=20),
        Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", message="Letters, digits, - and _ only, e.g. I460.")])
    # Numbers and dates are InputRequired: DataRequired would replace "Not a valid date value." with
    # "This field is required." when a date is typed in another format.
    academic_year = IntegerField("Academic year starting in",
                                 validators=[InputRequired(), NumberRange(MIN_YEAR, MAX_YEAR)],
                                 description="The calendar year the academic year starts: 2026 for 2026-27.")
    # validate_choice=False: validate_timezone below says what was wrong instead of "Not a valid choice".
    timezone = SelectField("Timezone", choices=_ZONES, default="Europe/London",
                           validate_choice=False, description="Deadlines are wall-clock times in this timezone.")
    part_time_start = DateField("Part-time phase starts", validators=[InputRequired()])
    part_time_end = DateField("Part-time phase ends", validators=[InputRequired()])
    full_time_start = DateField("Full-time phase starts", validators=[InputRequired()])
    full_time_end = DateField("Full-time phase ends", validators=[InputRequired()])
    marks_anonymously = BooleanField(
        "Anonymous marking", default=True,
        description="Second and third markers see candidate numbers, never names; the supervisor knows their own "
                    "student.")

    reminder_days = DaysField(
        "Reminders before each deadline (days)", default=[14, 7, 2, 1],
        description="Each student is reminded this many days before each of their deadlines (their extension "
                    "counted), until they submit; e.g. 14, 7, 2, 1.")

    def validate_reminder_days(self, field):
        problem = reminder_days_problem(field.data or [])
        if problem:
            raise ValidationError(problem)

    def validate_timezone(self, field):
        if field.data not in _ZONE_SET:
            raise ValidationError(f"Unknown timezone {field.data!r}: choose one from the list, e.g. Europe/London.")

    def validate_part_time_end(self, field):
        if self.part_time_start.data and field.data and field.data <= self.part_time_start.data:
            raise ValidationError("The part-time phase must end after it starts.")

    def validate_full_time_start(self, field):
        if self.part_time_end.data and field.data and field.data < self.part_time_end.data:
            raise ValidationError("The full-time phase starts once the part-time phase has ended.")

    def validate_full_time_end(self, field):
        if self.full_time_start.data and field.data and field.data <= self.full_time_start.data:
            raise ValidationError("The full-time phase must end after it starts.")

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "programme_name", "programme_code", "academic_year", "timezone",
            "part_time_start", "part_time_end", "full_time_start", "full_time_end", "marks_anonymously",
            "reminder_days")}


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to import.")],
                     description="UTF-8 (with or without BOM); columns email, name, role and optionally "
                                 "expertise (separated by ;) and max_load.")


class ConfirmImportForm(FlaskForm):
    """Confirm a held import: ``changes`` names the list of role changes the page showed."""
    changes = HiddenField(validators=[DataRequired()])


class AbandonImportForm(FlaskForm):
    """Abandon a held import (a button; the CSRF token is the point)."""
