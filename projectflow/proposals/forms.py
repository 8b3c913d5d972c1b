from __future__ import annotations

from ..core.forms import FlaskForm  # the site's: cleaned text, one-line titles, sane dates
from wtforms import (BooleanField, DateTimeLocalField, HiddenField, IntegerField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..core.forms import KeywordsField
from ..core.once import FormTokenField

MARKDOWN_HELP = "Markdown: **bold**, *italic*, lists with -, links as [text](https://...)."


class ProjectForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[DataRequired(), Length(max=20000)],
                                description=MARKDOWN_HELP, render_kw={"rows": 10})
    keywords = KeywordsField("Keywords",
                             description="Separated by commas or semicolons; pick from the cohort's list where you can.")
    prerequisites = TextAreaField("Prerequisites and skills", validators=[Length(max=5000)], render_kw={"rows": 3})
    capacity = IntegerField("Students who can take it", default=1, validators=[InputRequired(), NumberRange(1, 20)])
    co_supervisors = SelectMultipleField("Co-supervisors", coerce=int, validators=[Optional()],
                                         description="Other staff of the cohort who supervise it with you.")
    is_external = BooleanField("With an external organisation")
    external_organisation = StringField("Organisation", validators=[Length(max=200)])
    external_contact = StringField("Contact at the organisation", validators=[Length(max=200)])
    has_nda = BooleanField("A non-disclosure agreement applies")
    form_token = FormTokenField()  # a new project's form sent twice makes one draft

    def validate_external_organisation(self, field):
        if self.is_external.data and not (field.data or "").strip():
            raise ValidationError("Name the organisation of an external project.")

    def values(self) -> dict:
        return {
            "title": self.title.data.strip(), "description": self.description.data,
            "keywords": self.keywords.data, "prerequisites": self.prerequisites.data or "",
            "capacity": self.capacity.data, "is_external": self.is_external.data,
            "external_organisation": (self.external_organisation.data or "").strip() or None,
            "external_contact": (self.external_contact.data or "").strip() or None,
            "has_nda": self.has_nda.data,
        }


class ProposalForm(FlaskForm):
    """A student's own project idea."""

    title = StringField("Working title", validators=[DataRequired(), Length(max=200)])
    # Nobody is chosen until the student chooses: a pre-selected name was sent by students who never
    # looked at the field.
    supervisor = SelectField("Supervisor who is willing", coerce=lambda v: int(v) if str(v or "").strip() else None,
                             validators=[DataRequired("Choose the member of staff who agreed to supervise you.")],
                             description="Ask them first; they will be asked to accept.")
    aims = TextAreaField("Aims", validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 4})
    method = TextAreaField("Method", validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 4})
    data_needed = TextAreaField("Data needed", validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 3},
                                description="Where it comes from, and any permission or ethics it needs.")
    suitability = TextAreaField("Why you are suited to it", validators=[DataRequired(), Length(max=5000)],
                                render_kw={"rows": 3})
    keywords = KeywordsField("Keywords", description="Separated by commas or semicolons.")

    def values(self) -> dict:
        return {"title": self.title.data.strip(), "aims": self.aims.data, "method": self.method.data,
                "data_needed": self.data_needed.data, "suitability": self.suitability.data,
                "keywords": self.keywords.data}


class DecisionForm(FlaskForm):
    """Approve / return / reject / accept / decline / withdraw, with a comment."""

    comment = TextAreaField("Comment", validators=[Length(max=5000)], render_kw={"rows": 3})


class ActionForm(FlaskForm):
    """A button that changes state (submit, bookmark); the CSRF token is what matters."""


class PreferencesForm(FlaskForm):
    """The ranked list travels as repeated ``choice`` fields, best first (see views.edit_preferences)."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        return int(self.version.data) if (self.version.data or "").isdigit() else None


class PreferenceSettingsForm(FlaskForm):
    preferences_deadline = DateTimeLocalField("Preferences deadline", format="%Y-%m-%dT%H:%M",
                                              validators=[Optional()],
                                              description="Local time of the cohort. Empty: no deadline yet.")
    min_preferences = IntegerField("Fewest projects a student ranks", validators=[InputRequired(), NumberRange(1, 30)])
    max_preferences = IntegerField("Most projects a student ranks", validators=[InputRequired(), NumberRange(1, 30)])
    max_choices_per_supervisor = IntegerField("Most choices with one supervisor",
                                              validators=[InputRequired(), NumberRange(1, 30)])
    project_keywords = KeywordsField("Project keywords",
                                     description="Separated by commas or semicolons: the list staff pick from.")

    def validate_max_preferences(self, field):
        if self.min_preferences.data and field.data is not None and field.data < self.min_preferences.data:
            raise ValidationError("The most cannot be fewer than the fewest.")


class LoadLimitForm(FlaskForm):
    load_limit = IntegerField("Load limit", validators=[Optional(), NumberRange(0, 50)],
                              description="Empty: the limit of their staff profile.")
