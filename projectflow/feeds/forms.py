"""The calendar feed page's form."""

from __future__ import annotations

from ..core.forms import FlaskForm
from ..core.once import FormTokenField


class FeedForm(FlaskForm):
    """"Make a new address" for the calendar feed: sent twice, it replaces the address once."""

    form_token = FormTokenField()
