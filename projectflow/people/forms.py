from __future__ import annotations

from ..core.forms import FlaskForm  # the site's: cleaned text, one-line titles, sane dates
from wtforms import (BooleanField, EmailField, HiddenField, IntegerField, PasswordField, SelectChoice,
                     StringField)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, NumberRange, Optional

from ..core.forms import CheckboxListField, KeywordsField, strip
from ..core.once import FormTokenField
from .models import ROLE_LABELS, ROLES


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Email(), Length(max=254)],
                       filters=[strip], render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})


class ForgotPasswordForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Email(), Length(max=254)],
                       filters=[strip], description="We will e-mail a link to set a new password.",
                       render_kw={"autocomplete": "username"})
    form_token = FormTokenField()  # sent twice, it e-mails one link (a second would replace the first)


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again",
                            validators=[DataRequired(), EqualTo("password", "The two passwords differ.")],
                            render_kw={"autocomplete": "new-password"})


class SwitchRoleForm(FlaskForm):
    role = HiddenField(validators=[DataRequired()])


class SwitchCohortForm(FlaskForm):
    """The navigation's cohort switcher: ``cohort_id`` is checked against the person's cohorts by the
    view; ``stay`` names the page to show in the chosen cohort (anything else goes to the home page)."""
    cohort_id = IntegerField("Cohort", validators=[InputRequired()])
    stay = HiddenField()


class UserForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Email(), Length(max=254)],
                       filters=[strip])
    name = StringField("Full name", validators=[DataRequired(), Length(max=200)], filters=[strip])
    roles = CheckboxListField("Roles", choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES],
                              validators=[InputRequired("Choose at least one role.")],
                              description="A person may hold several roles and switch between them.")
    expertise = KeywordsField("Expertise keywords (staff)",
                              description="Comma-separated, e.g. robotics, reinforcement learning.")
    max_load = IntegerField("Maximum supervision load (staff)", validators=[Optional(), NumberRange(0, 50)],
                            description="Students per cohort; a cohort may override it.")


class InvitationForm(FlaskForm):
    """Send (or send again) an invitation: a button. Its one-submission token makes a double click
    send one e-mail, not two links of which the first would already be dead."""

    form_token = FormTokenField()


class ActiveForm(FlaskForm):
    """Deactivate or reactivate (a button; the CSRF token is the point)."""

    active = BooleanField()
