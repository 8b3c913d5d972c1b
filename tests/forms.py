"""Forms as the browser sends them: read a page's forms from its HTML and submit one the way a browser
builds its form data set, so a test sends exactly what a person's browser would.

    from tests.forms import get_forms, get_form
    form = get_form(client, "/cohorts/1/preferences", has_field="version")
    form.set("title", "x")                    # KeyError if the page has no such field
    form.check("keywords", "nlp"); form.select("cohort_id", "2")
    response = form.submit(client, submit="Save preferences")

What is read (the HTML standard's "constructing the entry list", in document order, duplicate names
kept): every named, enabled ``input`` (text-like, hidden, password, number, date, datetime-local, file;
checkboxes and radios only when checked, with the value "on" when they have none), ``textarea`` (first
newline dropped as the browser's parser does), ``select`` (its selected options; a single select with
none selected sends its first enabled option), and only the button used to submit (``formaction``,
``formmethod`` and ``formenctype`` respected). Controls in a disabled ``fieldset`` are not sent; a
control's ``form="id"`` attribute gives it to that form wherever it stands; a form nested in another
is ignored, as by the browser. Rendered values are sanitised as the browser does (line breaks removed
from single-line inputs, e-mail addresses trimmed, unparsable numbers and dates emptied), and on
submission line breaks become CRLF.

A value given to ``set``/``add`` is sent as given: tests may send what no browser would (an attacker's
request), without building a body by hand.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

SITE = "http://localhost"
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"

SINGLE_LINE = {"text", "search", "tel", "url", "email", "password"}
NOT_SENT = {"reset", "button"}
SUBMITTERS = {"submit", "image"}


@dataclass
class Option:
    value: str
    selected: bool
    disabled: bool = False
    label: str = ""


@dataclass
class Control:
    """One form-associated element: its name, kind and current state."""

    name: str
    kind: str  # an input type, "textarea", "select", "button" (a submit button) or "added"
    value: str | None = ""  # None: not sent (a text field removed by the test)
    checked: bool = False
    multiple: bool = False
    options: list[Option] = field(default_factory=list)
    label: str = ""  # a button's text (or an input button's value)
    attrs: dict[str, str] = field(default_factory=dict)
    order: int = 0

    @property
    def is_button(self) -> bool:
        return self.kind == "button" or self.kind in SUBMITTERS

    @property
    def is_checkable(self) -> bool:
        return self.kind in ("checkbox", "radio")

    def entries(self) -> list[tuple[str, str]]:
        """What this control adds to the form data set (buttons: nothing; see ``Form.submit``)."""
        if not self.name or self.is_button:
            return []
        if self.is_checkable:
            return [(self.name, self.value if self.value is not None else "on")] if self.checked else []
        if self.kind == "select":
            return [(self.name, o.value) for o in self.options if o.selected and not o.disabled]
        if self.value is None:
            return []
        return [(self.name, self.value)]


class Form:
    """A form read from a page: its action, method, encoding and controls, changed by the test."""

    def __init__(self, page_url: str, attrs: dict[str, str], index: int):
        self.page_url = page_url
        self.attrs = attrs
        self.index = index
        self.id = attrs.get("id")
        self.method = (attrs.get("method") or "get").strip().lower()
        if self.method not in ("get", "post"):
            self.method = "get"
        self.enctype = _enctype(attrs.get("enctype"))
        self.action = _resolve(page_url, attrs.get("action"))
        self.controls: list[Control] = []

    def __repr__(self) -> str:
        return f"<Form #{self.index} {self.method.upper()} {self.action} {self.names()}>"

    # --- reading ----------------------------------------------------------------------------------

    @property
    def fields(self) -> list[tuple[str, str]]:
        """The form data set as the browser would send it, without a submit button."""
        return [entry for c in self.controls for entry in c.entries()]

    def names(self) -> list[str]:
        """The names of ``fields`` (duplicates kept)."""
        return [name for name, _ in self.fields]

    def get(self, name: str) -> str | None:
        """The first value sent under ``name``, or None."""
        return next((v for n, v in self.fields if n == name), None)

    def values(self, name: str) -> list[str]:
        return [v for n, v in self.fields if n == name]

    def has(self, name: str) -> bool:
        """True when the page has a control of this name (sent or not: an unchecked box counts)."""
        return any(c.name == name and not c.is_button for c in self.controls)

    @property
    def buttons(self) -> list[Control]:
        return [c for c in self.controls if c.is_button]

    @property
    def files(self) -> list[str]:
        return [c.name for c in self.controls if c.kind == "file" and c.name]

    def _named(self, name: str) -> list[Control]:
        found = [c for c in self.controls if c.name == name and not c.is_button]
        if not found:
            raise KeyError(f"the form {self.action} has no field named {name!r}; it has {sorted(set(self.names()))}")
        return found

    # --- changing ---------------------------------------------------------------------------------

    def set(self, name: str, *values: str) -> "Form":
        """Send ``values`` under ``name`` instead of what the page holds (no values: send nothing).

        The value is sent as given, even one no browser could produce (an option the select does not
        offer, a line break in a single-line field): tests of bad input need that."""
        controls = self._named(name)
        values = [str(v) for v in values]
        checkables = [c for c in controls if c.is_checkable]
        if checkables and len(checkables) == len(controls):
            for c in checkables:
                c.checked = (c.value if c.value is not None else "on") in values
            offered = {c.value if c.value is not None else "on" for c in checkables}
            for v in values:
                if v not in offered:
                    self._insert_after(controls[-1], Control(name, "added", v))
            return self
        if len(controls) == 1 and controls[0].kind == "select":
            select = controls[0]
            for o in select.options:
                o.selected = False
            for v in values:
                option = next((o for o in select.options if o.value == v and not o.disabled), None)
                if option is None:
                    option = Option(v, False)
                    select.options.append(option)
                option.selected = True
            return self
        # Text-like controls (several of one name keep their places): one value each, extra values
        # after the last, missing ones not sent.
        last = controls[-1]
        for i, c in enumerate(controls):
            if c.kind == "select":
                for o in c.options:
                    o.selected = i < len(values) and o.value == values[i]
                if i < len(values) and not any(o.selected for o in c.options):
                    c.options.append(Option(values[i], True))
            elif c.is_checkable:
                c.checked = i < len(values)
                if i < len(values):
                    c.value = values[i]
            else:
                c.value = values[i] if i < len(values) else None
        for v in reversed(values[len(controls):]):
            self._insert_after(last, Control(name, "added", v))
        return self

    def remove(self, name: str) -> "Form":
        """Send nothing under ``name`` (a field a tampered request leaves out)."""
        return self.set(name)

    def check(self, name: str, value: str | None = None) -> "Form":
        """Tick the checkbox (or choose the radio button) of this name and value."""
        box = self._checkable(name, value)
        if box.kind == "radio":
            for c in self._named(name):
                if c.kind == "radio":
                    c.checked = False
        box.checked = True
        return self

    def uncheck(self, name: str, value: str | None = None) -> "Form":
        self._checkable(name, value).checked = False
        return self

    def select(self, name: str, *values: str) -> "Form":
        """Choose these options (their values) in the select of this name, and only these."""
        [select] = [c for c in self._named(name) if c.kind == "select"] or [None]
        if select is None:
            raise KeyError(f"{name!r} is not a select in the form {self.action}")
        values = [str(v) for v in values]
        if not select.multiple and len(values) != 1:
            raise ValueError(f"{name!r} is a single select: choose exactly one option")
        offered = {o.value for o in select.options if not o.disabled}
        missing = [v for v in values if v not in offered]
        if missing:
            raise ValueError(f"the select {name!r} offers no option {missing}; it offers {sorted(offered)}")
        for o in select.options:
            o.selected = o.value in values and not o.disabled
        return self

    def add(self, name: str, value: str) -> "Form":
        """Add a field the page's own script builds (drag and drop, "add another"): only for those.
        A field the HTML renders must be changed with ``set``/``check``/``select``."""
        self.controls.append(Control(name, "added", str(value), order=len(self.controls)))
        return self

    def _checkable(self, name: str, value: str | None) -> Control:
        boxes = [c for c in self._named(name) if c.is_checkable]
        if value is not None:
            boxes = [c for c in boxes if (c.value if c.value is not None else "on") == str(value)]
        if len(boxes) != 1:
            raise KeyError(f"the form {self.action} has {len(boxes)} checkboxes/radios named {name!r}"
                           f"{' with the value ' + repr(value) if value is not None else ''}")
        return boxes[0]

    def _insert_after(self, anchor: Control, new: Control) -> None:
        self.controls.insert(self.controls.index(anchor) + 1, new)

    # --- submitting -------------------------------------------------------------------------------

    def submitter(self, submit: str | None = None) -> Control | None:
        """The button ``submit`` names (its text, aria-label, value or id); by default the form's first
        submit button, the one pressing Enter uses. None when the form has no submit button."""
        buttons = self.buttons
        if submit is None:
            return buttons[0] if buttons else None
        for key in (lambda b: b.label, lambda b: b.attrs.get("aria-label"), lambda b: b.attrs.get("value"),
                    lambda b: b.attrs.get("id")):
            matching = [b for b in buttons if key(b) is not None and key(b).strip() == submit]
            effects = {(b.name, b.value, b.attrs.get("formaction"), b.attrs.get("formmethod")) for b in matching}
            if len(effects) > 1:
                raise AssertionError(f"{len(matching)} different buttons match {submit!r} in {self!r}")
            if matching:
                return matching[0]
        raise AssertionError(f"no button {submit!r} in {self!r}; its buttons: {[b.label for b in buttons]}")

    def data(self, submit: str | None = None) -> list[tuple[str, str]]:
        """The form data set sent when ``submit`` is pressed: the fields, with the button in its place."""
        return [(name, value) for name, value, _ in self._entries(submit)]

    def _entries(self, submit: str | None) -> list[tuple[str, str, Control]]:
        button = self.submitter(submit)
        if button is not None and "disabled" in button.attrs:
            raise AssertionError(f"the button {button.label!r} is disabled: a person cannot press it")
        entries: list[tuple[str, str, Control]] = []
        for c in self.controls:
            if c is button and c.name:
                if c.kind == "image":
                    entries += [(f"{c.name}.x", "0", c), (f"{c.name}.y", "0", c)]
                else:
                    entries.append((c.name, c.value or "", c))
            entries += [(name, value, c) for name, value in c.entries()]
        return entries

    def submit(self, client, submit: str | None = None, files: dict | None = None,
               follow_redirects: bool = False, headers: dict | None = None):
        """Send the form with ``client`` as the browser would after pressing ``submit``.

        ``files`` maps a file input's name to ``(bytes, filename)`` or ``(bytes, filename,
        content_type)`` (or a list of those for a ``multiple`` input); the other file inputs send an
        empty part, as when nothing was chosen."""
        button = self.submitter(submit)
        attrs = button.attrs if button is not None else {}
        action = _resolve(self.page_url, attrs["formaction"]) if attrs.get("formaction") else self.action
        method = (attrs.get("formmethod") or self.method).lower()
        enctype = _enctype(attrs.get("formenctype")) if attrs.get("formenctype") else self.enctype
        chosen = dict(files or {})
        for name in chosen:
            if name not in self.files:
                raise KeyError(f"the form {self.action} has no file input named {name!r}")
        entries = self._entries(submit)
        headers = {"Referer": SITE + self.page_url, **(headers or {})}
        if method == "get":
            path = action.split("?", 1)[0]
            pairs = [(n, v if not isinstance(v, tuple) else v[1]) for n, v in _with_files(entries, chosen)]
            query = urlencode([(n, _crlf(v)) for n, v in pairs], errors="surrogateescape")
            return client.get(path + ("?" + query if query else ""), headers=headers,
                              follow_redirects=follow_redirects)
        parts = _with_files(entries, chosen)
        if enctype == MULTIPART:
            body, content_type = _multipart(parts)
        else:
            body = urlencode([(n, _crlf(v[1] if isinstance(v, tuple) else v)) for n, v in parts],
                             errors="surrogateescape")  # a lone surrogate: the raw byte it escapes
            content_type = URLENCODED
        return client.open(action, method="POST", data=body, content_type=content_type, headers=headers,
                           follow_redirects=follow_redirects)


def _with_files(entries, chosen: dict) -> list[tuple[str, object]]:
    """Each file input's entry becomes the file chosen for it, or an empty file when none was."""
    out: list[tuple[str, object]] = []
    for name, value, control in entries:
        if control.kind != "file":
            out.append((name, value))
            continue
        picked = chosen.get(name)
        files = picked if isinstance(picked, list) else [picked] if picked else [(b"", "")]
        for f in files:
            content, filename, *kind = f
            out.append((name, (content, filename, kind[0] if kind else "application/octet-stream")))
    return out


def _multipart(parts) -> tuple[bytes, str]:
    boundary = "----projectflowFormBoundary" + uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, value in parts:
        quoted = _quote_part(name)
        chunks.append(f"--{boundary}\r\n".encode())
        if isinstance(value, tuple):
            content, filename, kind = value
            content = content.encode() if isinstance(content, str) else content
            chunks.append(f'Content-Disposition: form-data; name="{quoted}"; filename="{_quote_part(filename)}"\r\n'
                          f"Content-Type: {kind}\r\n\r\n".encode())
            chunks.append(content)
        else:
            chunks.append(f'Content-Disposition: form-data; name="{quoted}"\r\n\r\n'.encode())
            chunks.append(_crlf(value).encode("utf-8", "surrogateescape"))
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"{MULTIPART}; boundary={boundary}"


def _quote_part(text: str) -> str:
    # The HTML standard's escaping of names and filenames in multipart bodies.
    return text.replace("\n", "%0A").replace("\r", "%0D").replace('"', "%22")


def _crlf(value: str) -> str:
    return re.sub(r"\r\n|\r|\n", "\r\n", value)


def _enctype(value: str | None) -> str:
    value = (value or "").strip().lower()
    return MULTIPART if value == MULTIPART else URLENCODED


def _resolve(page_url: str, action: str | None) -> str:
    """The form's action as a path on this site (an empty action is the page itself)."""
    target = urljoin(SITE + page_url, (action or "").strip()) if (action or "").strip() else SITE + page_url
    parts = urlsplit(target)
    if f"{parts.scheme}://{parts.netloc}" != SITE:
        raise AssertionError(f"the form on {page_url} posts to another site: {action!r}")
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- the browser's value sanitisation for rendered values -------------------------------------------

def _sanitise(kind: str, value: str) -> str:
    if kind in SINGLE_LINE:
        value = value.replace("\r", "").replace("\n", "")
        return value.strip(" \t\n\f\r") if kind in ("email", "url") else value
    if kind == "number":
        return value if re.fullmatch(r"-?(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?", value) else ""
    if kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return ""
        return value if re.fullmatch(r"\d{4,}-\d{2}-\d{2}", value) else ""
    if kind == "datetime-local":
        if not re.fullmatch(r"\d{4,}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?", value):
            return ""
        try:
            datetime.fromisoformat(value.replace(" ", "T"))
        except ValueError:
            return ""
        return value.replace(" ", "T")
    return value


# --- the parser ------------------------------------------------------------------------------------

class _FormReader(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self.form_ids: dict[str, Form] = {}
        self.current: Form | None = None
        self.pending: list[tuple[Control, str | None, Form | None]] = []  # (control, form= attr, parent form)
        self.fieldsets: list[dict] = []
        self.text_target: Control | None = None  # a textarea or a button collecting its text
        self.text: list[str] = []
        self.select: Control | None = None
        self.option: Option | None = None
        self.option_text: list[str] = []
        self.optgroup_disabled = False
        self.order = 0

    # disabled fieldsets: everything inside but their first legend
    def _in_disabled_fieldset(self) -> bool:
        return any(f["disabled"] and not f["in_first_legend"] for f in self.fieldsets)

    def _add(self, control: Control, attrs: dict[str, str]) -> None:
        self.order += 1
        control.order = self.order
        if "disabled" in attrs or self._in_disabled_fieldset():
            control.attrs["disabled"] = ""
        self.pending.append((control, attrs.get("form"), self.current))

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            if self.current is None:  # the browser ignores a form inside a form
                self.current = Form(self.page_url, a, len(self.forms))
                self.forms.append(self.current)
                if a.get("id"):
                    self.form_ids.setdefault(a["id"], self.current)
            return
        if tag == "fieldset":
            self.fieldsets.append({"disabled": "disabled" in a, "legend_seen": False, "in_first_legend": False})
        elif tag == "legend" and self.fieldsets and not self.fieldsets[-1]["legend_seen"]:
            self.fieldsets[-1]["legend_seen"] = self.fieldsets[-1]["in_first_legend"] = True
        elif tag == "input":
            self._input(a)
        elif tag == "textarea":
            control = Control(a.get("name", ""), "textarea", "", attrs=a)
            self._add(control, a)
            self.text_target, self.text = control, []
        elif tag == "button":
            kind = (a.get("type") or "submit").strip().lower()
            if kind not in ("reset", "button"):
                control = Control(a.get("name", ""), "button", a.get("value", ""), attrs=a)
                self._add(control, a)
                self.text_target, self.text = control, []
        elif tag == "select":
            control = Control(a.get("name", ""), "select", attrs=a, multiple="multiple" in a)
            self._add(control, a)
            self.select = control
        elif tag == "optgroup":
            self._close_option()
            self.optgroup_disabled = "disabled" in a
        elif tag == "option" and self.select is not None:
            self._close_option()
            self.option = Option(a.get("value"), "selected" in a, "disabled" in a or self.optgroup_disabled)
            self.option_text = []

    def _input(self, a: dict[str, str]) -> None:
        kind = (a.get("type") or "text").strip().lower()
        if kind in NOT_SENT:
            return
        name = a.get("name", "")
        if kind in SUBMITTERS:
            label = a.get("value") or a.get("alt") or ("Submit" if kind == "submit" else "")
            self._add(Control(name, kind, a.get("value", ""), label=label, attrs=a), a)
        elif kind in ("checkbox", "radio"):
            self._add(Control(name, kind, a.get("value"), checked="checked" in a, attrs=a), a)
        elif kind == "file":
            self._add(Control(name, "file", "", attrs=a, multiple="multiple" in a), a)
        else:
            self._add(Control(name, kind, _sanitise(kind, a.get("value", "")), attrs=a), a)

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "fieldset" and self.fieldsets:
            self.fieldsets.pop()
        elif tag == "legend" and self.fieldsets:
            self.fieldsets[-1]["in_first_legend"] = False
        elif tag == "textarea" and self.text_target is not None and self.text_target.kind == "textarea":
            value = "".join(self.text)
            # The parser drops the newline right after <textarea> (WTForms writes one).
            self.text_target.value = value[2:] if value.startswith("\r\n") else \
                value[1:] if value.startswith("\n") else value
            self.text_target = None
        elif tag == "button" and self.text_target is not None and self.text_target.kind == "button":
            self.text_target.label = " ".join("".join(self.text).split())
            self.text_target = None
        elif tag in ("option", "optgroup", "select"):
            self._close_option()
            if tag == "optgroup":
                self.optgroup_disabled = False
            if tag == "select":
                self._finish_select()

    def handle_data(self, data):
        if self.text_target is not None:
            self.text.append(data)
        if self.option is not None:
            self.option_text.append(data)

    def _close_option(self):
        if self.option is not None and self.select is not None:
            text = " ".join("".join(self.option_text).split())
            self.option.label = text
            if self.option.value is None:
                self.option.value = text
            self.select.options.append(self.option)
        self.option = None

    def _finish_select(self):
        select = self.select
        self.select = None
        if select is None or select.multiple:
            return
        chosen = [o for o in select.options if o.selected]
        for o in chosen[:-1]:  # a single select keeps the last option marked selected
            o.selected = False
        size = select.attrs.get("size", "1").strip()
        if not chosen and (not size.isdigit() or int(size) <= 1):
            first = next((o for o in select.options if not o.disabled), None)
            if first is not None:
                first.selected = True

    def finish(self) -> list[Form]:
        self._close_option()
        if self.select is not None:
            self._finish_select()
        for control, form_attr, parent in self.pending:
            owner = self.form_ids.get(form_attr) if form_attr is not None else parent
            if owner is not None:
                owner.controls.append(control)
        for form in self.forms:
            form.controls.sort(key=lambda c: c.order)
            _one_radio_per_group(form)
        return self.forms


def _one_radio_per_group(form: Form) -> None:
    # Of radios of one name marked checked, the browser keeps the last.
    last: dict[str, Control] = {}
    for c in form.controls:
        if c.kind == "radio" and c.checked:
            if c.name in last:
                last[c.name].checked = False
            last[c.name] = c


def parse_forms(page: str, page_url: str = "/") -> list[Form]:
    """The forms of an HTML page served at ``page_url`` (a path, with its query string)."""
    reader = _FormReader(page_url)
    reader.feed(page)
    reader.close()
    forms = reader.finish()
    for form in forms:  # disabled controls are not sent (and disabled buttons cannot be pressed)
        form.controls = [c for c in form.controls if c.is_button or "disabled" not in c.attrs]
    return forms


def get_forms(client, path: str) -> list[Form]:
    """GET ``path`` with ``client`` (it must answer 200) and read its forms."""
    response = client.get(path)
    assert response.status_code == 200, f"GET {path} answered {response.status_code}, not 200"
    return parse_forms(response.get_data(as_text=True), path)


def find_form(forms: list[Form], action: str | None = None, index: int | None = None,
              has_field: str | None = None, submit: str | None = None, where: str = "") -> Form:
    """The one form matching the criteria (``index`` picks among several that match)."""
    found = forms
    if action is not None:
        found = [f for f in found if f.action == action or f.action.split("?", 1)[0] == action]
    if has_field is not None:
        found = [f for f in found if f.has(has_field)]
    if submit is not None:
        found = [f for f in found if any(submit in (b.label, b.attrs.get("aria-label"), b.attrs.get("value"),
                                                     b.attrs.get("id")) for b in f.buttons)]
    if index is not None:
        if index >= len(found):
            raise AssertionError(f"no form number {index} matching on {where}: {forms}")
        return found[index]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} forms match (action={action!r}, has_field={has_field!r}, "
                             f"submit={submit!r}) on {where}: {forms}")
    return found[0]


def get_form(client, path: str, action: str | None = None, index: int | None = None,
             has_field: str | None = None, submit: str | None = None) -> Form:
    """GET ``path`` and return the one form on it matching the criteria."""
    return find_form(get_forms(client, path), action=action, index=index, has_field=has_field, submit=submit,
                     where=path)
