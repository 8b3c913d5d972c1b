"""The submission form: a PDF, the integrity declaration and a one-time token against double posts."""

from __future__ import annotations

from ..core.forms import FlaskForm  # the site's: cleaned text, one-line titles, sane dates
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField


class SubmissionForm(FlaskForm):
    file = FileField("Your PDF", validators=[FileRequired("Choose the PDF to submit.")],
                     render_kw={"accept": "application/pdf,.pdf"})
    declaration = BooleanField("I make the declaration above.")
    late_confirmed = BooleanField("Submit it late anyway",
                                  description="This version will count instead of your on-time one, with the "
                                              "late penalty.")
    form_token = HiddenField()
