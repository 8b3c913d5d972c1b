"""Form pieces shared by every area."""

from __future__ import annotations

from wtforms import SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget


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
