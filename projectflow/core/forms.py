"""Form pieces shared by every area."""

from __future__ import annotations

from wtforms import Form, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from .errors import DomainError


def strip(value):
    """A field filter: surrounding spaces (a pasted e-mail address) are not part of the value."""
    return value.strip() if isinstance(value, str) else value


def show_error(form: Form, exc: DomainError, default: str) -> None:
    """Put a service's refusal next to the field it names, else next to ``default``."""
    name = exc.field if exc.field and exc.field in form else default
    form[name].errors.append(exc.message)


class CheckboxListField(SelectMultipleField):
    """A multiple choice shown as a list of labelled checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class KeywordsField(StringField):
    """Comma-separated keywords in the page, a list of strings in Python."""

    def _value(self):
        return ", ".join(self.data) if isinstance(self.data, list) else (self.data or "")

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = [k.strip() for k in valuelist[0].split(",") if k.strip()]
        else:
            self.data = []
