"""Form pieces shared by every area, and the text cleaner every request and form goes through.

Text arrives cleaned at the edge: ``CleanRequest`` (the app's request class) removes NUL and the other
control characters, except tab and line breaks, from every query-string and form value, so no view,
service or query ever sees them (PostgreSQL refuses NUL in text; they are never meant). The site's
``FlaskForm`` (every form derives from it) then refuses a line break in a single-line field (a title
becomes an e-mail subject), a required value that was only spaces or control characters, a date
outside ``YEARS`` and a number the database cannot keep, each next to its field.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from flask import Request, request
from flask_wtf import FlaskForm as _WTFFlaskForm
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import BadRequest
from wtforms import DateField, DateTimeField, DateTimeLocalField, Form, IntegerField, PasswordField, \
    SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.widgets import CheckboxInput, ListWidget

from .errors import DomainError
from .text import split_keywords
from .ids import MAX_INT, as_id

# NUL, the other C0 controls but tab, LF and CR, DEL and the C1 controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85]")
YEARS = (2000, 2100)  # dates outside are typing mistakes or attacks, never a project's
MAX_SEARCH = 200


def clean_text(value):
    """``value`` without control characters (tab and line breaks kept); other values unchanged."""
    return CONTROL_CHARACTERS.sub("", value) if isinstance(value, str) else value


class CleanParameters(ImmutableMultiDict):
    """Query-string and form values with their control characters removed (files untouched)."""

    def __init__(self, mapping=None):
        if mapping is None:
            super().__init__()
            return
        if isinstance(mapping, MultiDict):
            pairs = mapping.items(multi=True)
        elif isinstance(mapping, dict):
            pairs = [(k, v) for k, values in mapping.items()
                     for v in (values if isinstance(values, (list, tuple)) else [values])]
        else:
            pairs = mapping
        super().__init__([(clean_text(k), clean_text(v)) for k, v in pairs])


class CleanRequest(Request):
    """The app's request: every ``args``/``form`` value reaches the views already cleaned."""

    parameter_storage_class = CleanParameters


def search_text(name: str = "q") -> str:
    """A search term from the query string: trimmed; longer than ``MAX_SEARCH`` is refused (400)."""
    value = (request.args.get(name) or "").strip()
    if len(value) > MAX_SEARCH:
        raise BadRequest(f"A search can be at most {MAX_SEARCH} characters long; shorten it and try again.")
    return value


def page_number(name: str = "page", last: int = 100_000) -> int:
    """The page of a paged list asked for in the query string: 1 unless a whole number up to ``last``."""
    return as_page(request.args.get(name), last)


def as_page(raw, last: int = 100_000) -> int:
    """``raw`` (from a query string or a form's button) as a page number: 1 unless a whole number up to
    ``last``."""
    raw = str(raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= last else 1


class _SiteMeta(_WTFFlaskForm.Meta):
    def bind_field(self, form, unbound_field, options):
        field_class = unbound_field.field_class
        if issubclass(field_class, StringField) and not issubclass(field_class, (TextAreaField, PasswordField)):
            # (The field's own filters are in its unbound kwargs; options would replace them.)
            options = {**options, "filters": (_one_line, *unbound_field.kwargs.get("filters", ()))}
        if issubclass(field_class, IntegerField) and not issubclass(field_class, _Bounded):
            unbound_field = UnboundField(_bounded(field_class), *unbound_field.args, **unbound_field.kwargs)
        return super().bind_field(form, unbound_field, options)


class _Bounded:
    """An integer field that reads a number the database cannot keep (beyond ``MAX_INT``) as no number,
    its validators then saying so (WTForms' NumberRange would fail converting a huge one to a float)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, int) and abs(self.data) > MAX_INT:
            self.data = None
            raise ValueError("That number is far too large.")


_BOUNDED: dict[type, type] = {}


def _bounded(field_class: type) -> type:
    if field_class not in _BOUNDED:
        _BOUNDED[field_class] = type(field_class.__name__, (_Bounded, field_class), {})
    return _BOUNDED[field_class]


def _one_line(value):
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(t, str) and LINE_BREAKS.search(t) for t in texts):
        raise ValueError("Keep this on one line: it cannot contain line breaks.")
    return value


class FlaskForm(_WTFFlaskForm):
    """Every form of the site: Flask-WTF's, with the checks every field of a kind needs."""

    Meta = _SiteMeta

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if field.errors:
                continue
            problem = _field_problem(field)
            if problem:
                field.errors = [*field.errors, problem]
                valid = False
        return valid


def _field_problem(field) -> str | None:
    data = field.data
    if field.flags.required and isinstance(data, str) and not data.strip():
        return "This field is required."
    if isinstance(field, (DateField, DateTimeField, DateTimeLocalField)) and isinstance(data, (date, datetime)):
        if not YEARS[0] <= data.year <= YEARS[1]:
            return f"Give a date between the years {YEARS[0]} and {YEARS[1]}."
    return None


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
    """Keywords separated by commas or semicolons in the page, a list of strings in Python."""

    def _value(self):
        return ", ".join(self.data) if isinstance(self.data, list) else (self.data or "")

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = split_keywords(valuelist[0])
        else:
            self.data = []


class IdChoiceField(SelectField):
    """A choice of one thing of a list by id, or none ("" in the page). A value that is not an id is
    refused with "Choose a <what> from the list."; whether the id may be chosen is the service's to say."""

    def __init__(self, label=None, validators=None, *, what: str, **kwargs):
        super().__init__(label, validators, coerce=lambda v: v, validate_choice=False, **kwargs)
        self.what = what
        self.type = "SelectField"  # drawn by the form macro as the select it is

    def process_formdata(self, valuelist):
        raw = valuelist[0] if valuelist else ""
        if raw in ("", None):
            self.data = None
            return
        try:
            self.data = as_id(raw)
        except ValueError:
            self.data = None
            raise ValueError(f"Choose a {self.what} from the list.") from None
