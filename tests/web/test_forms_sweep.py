"""Gate 1, forms as the browser sends them: every form every demo role can reach, read from the page
as a browser reads it (tests/forms.py).

- No two fields of a form share a name unless meant to: checkbox groups, radio groups, a multiple
  select, and the repeated lists named in ``REPEATED_LISTS``. (Two hidden ``version`` fields, one
  empty, made every second save of a preference list a "conflict".)
- A save form sent back unchanged, twice (each time read afresh from the page, as a person saving
  twice does), is never refused as a conflict (409 or "changed elsewhere") nor answered with a server
  error; an edit page's form sent back unchanged is accepted (what the page shows round-trips).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.forms import Form, find_form, parse_forms
from tests.html import field_error, flashes, main_text

from .site_crawl import ROLES, built_demo

# The demo is built and crawled once per module: its first test pays for that (up to about 100 s on a
# busy machine), more than the suite's 120 s default leaves.
pytestmark = pytest.mark.timeout(300)

# (endpoint of the form's action, field name): lists the page sends as repeated fields on purpose.
REPEATED_LISTS = {
    ("proposals.edit_preferences", "choice"),  # the ranked list, best first
}
CONFLICT = re.compile(r"changed elsewhere|changed this record while|changed meanwhile|someone else (changed|saved)",
                      re.I)
SAVE_BUTTON = re.compile(r"^Save\b")


@pytest.fixture(scope="module")
def site(database_url, _schema, tmp_path_factory):
    yield from built_demo(database_url, tmp_path_factory, "forms-sweep-instance")


@pytest.fixture(scope="module")
def crawls(site):
    return {role: site.crawl(role) for role in ROLES}


def repeated_names(form: Form, action_endpoint: str | None) -> dict[str, list[str]]:
    """Names shared by several fields of ``form`` that are not meant to be: name -> the fields' kinds."""
    kinds: dict[str, list[str]] = {}
    for control in form.controls:
        if control.name and not control.is_button:
            kinds.setdefault(control.name, []).append(control.kind)
    return {name: ks for name, ks in kinds.items()
            if len(ks) > 1
            and not all(k == "checkbox" for k in ks)
            and not all(k == "radio" for k in ks)
            and (action_endpoint, name) not in REPEATED_LISTS}


def save_button(form: Form) -> str | None:
    """The label of the form's save button, if it is a save form (POST, a "Save ..." button or a version)."""
    if form.method != "post":
        return None
    for button in form.buttons:
        if SAVE_BUTTON.match(button.label) and "disabled" not in button.attrs:
            return button.label
    if form.has("version") and form.buttons:
        return form.buttons[0].label
    return None


def test_every_role_reaches_its_pages_and_none_answers_a_server_error(crawls):
    for role, crawl in crawls.items():
        assert not crawl.server_errors, f"{role}: {crawl.server_errors}"
        assert len(crawl.pages) >= 5, f"{role} reached only {[p.path for p in crawl.pages]}"
    forms = sum(len(p.forms) for c in crawls.values() for p in c.pages)
    assert forms >= 50, f"the sweep read only {forms} forms"


@pytest.mark.parametrize("role", list(ROLES))
def test_no_two_fields_of_a_rendered_form_share_a_name_unless_meant_to(site, crawls, role):
    found = []
    for page in crawls[role].pages:
        for form in page.forms:
            for name, kinds in repeated_names(form, site.endpoint(form.action, form.method.upper())).items():
                found.append(f"{page.path}: the form to {form.action} has {len(kinds)} fields named "
                             f"{name!r} ({', '.join(kinds)})")
    assert not found, "\n".join(sorted(set(found)))


@pytest.mark.parametrize("role", list(ROLES))
def test_a_save_form_sent_back_unchanged_is_never_refused_as_a_conflict(site, crawls, role):
    client = site.client(role)
    refused = []
    tried = Counter()
    for page in crawls[role].pages:
        for index, form in enumerate(page.forms):
            label = save_button(form)
            if label is None:
                continue
            tried[site.endpoint(form.action, "POST")] += 1
            for attempt in ("first", "second"):
                # Read afresh each time, as a person saving twice from the page does.
                fresh = find_form(parse_forms(client.get(page.path).get_data(as_text=True), page.path),
                                  action=form.action, index=_same_position(page.forms, form))
                response = fresh.submit(client, submit=label)
                text = response.get_data(as_text=True)
                where = f"{page.path}: {attempt} unchanged save of the form to {form.action} ({label!r})"
                if response.status_code >= 500:
                    refused.append(f"{where} answered {response.status_code}")
                elif response.status_code == 409 or CONFLICT.search(text) or \
                        any(CONFLICT.search(f) for f in flashes(text)):
                    refused.append(f"{where} was refused as a conflict ({response.status_code}): "
                                   f"{' '.join(flashes(text)) or main_text(text)[:200]}")
                elif response.status_code == 422 and _is_edit(site, page.path, fresh):
                    errors = {c.name: field_error(text, c.attrs.get("id", c.name)) for c in fresh.controls}
                    said = {k: v for k, v in errors.items() if v} or flashes(text) or _alerts(text)
                    refused.append(f"{where} was refused (422): {said}")
                elif response.status_code not in (200, 302, 303, 422):
                    refused.append(f"{where} answered {response.status_code}")
    print(role, "saved unchanged:", dict(tried))
    assert not refused, "\n".join(refused)
    if role in ("student", "coordinator", "admin"):
        assert tried, f"{role} reached no save form: the sweep saw nothing to check"


def _alerts(page: str) -> list[str]:
    return [main_text(m) for m in re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S)]


def _same_position(forms: list[Form], form: Form) -> int:
    """Which of the page's forms to the same action ``form`` is (0 for the first)."""
    return [f for f in forms if f.action == form.action].index(form)


def _is_edit(site, path: str, form: Form) -> bool:
    """An edit form shows a saved record's values: sent back unchanged they must be accepted. (Not a
    preference list: an empty one is rightly refused.)"""
    name = (site.endpoint(path) or "").rsplit(".", 1)[-1]
    return (name.startswith("edit") and name != "edit_preferences") or name == "settings"
