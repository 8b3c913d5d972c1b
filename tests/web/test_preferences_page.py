"""The preferences page as a browser uses it: its form read from the HTML and sent back as it is
(saving twice in a row, by the student and by a coordinator for them), ids of projects the student
may not see refused without being shown, and the candidates searched and paged without losing the
unsaved list."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from projectflow.extensions import db
from projectflow.proposals.preferences import preference_list
from tests.factories import Factories
from tests.html import flashes, main_text

pytestmark = pytest.mark.csrf


# --- a form as the browser sends it ---------------------------------------------------------------
# (A minimal reading with html.parser: the shared helper for this, tests/forms.py, did not exist yet.)

class _Forms(HTMLParser):
    """Every <form> of a page: its fields as a browser would send them (hidden ones included,
    duplicate names kept, checked boxes and selected options only) and its submit buttons."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"id": a.get("id"), "action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                          "fields": [], "buttons": []}
            self.forms.append(self._form)
        elif self._form is None or "disabled" in a:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "image"):
                self._form["buttons"].append((a.get("name"), a.get("value") or ""))
            elif kind in ("checkbox", "radio"):
                if "checked" in a and a.get("name"):
                    self._form["fields"].append((a["name"], a.get("value") or "on"))
            elif kind not in ("button", "reset", "file") and a.get("name"):
                self._form["fields"].append((a["name"], a.get("value") or ""))
        elif tag == "button" and (a.get("type") or "submit").lower() == "submit":
            self._form["buttons"].append((a.get("name"), a.get("value") or ""))
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "options": [], "chosen": None}
        elif tag == "option" and self._select is not None:
            self._select["options"].append(a.get("value", ""))
            if "selected" in a:
                self._select["chosen"] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            chosen = self._select["chosen"]
            if chosen is None and self._select["options"]:
                chosen = self._select["options"][0]
            if chosen is not None:
                self._form["fields"].append((self._select["name"], chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form["fields"].append((self._textarea[0], self._textarea[1].removeprefix("\n")))
            self._textarea = None


def read_form(page: str, form_id: str) -> dict:
    parser = _Forms()
    parser.feed(page)
    form = next((f for f in parser.forms if f["id"] == form_id), None)
    assert form is not None, f"the page has no form #{form_id}"
    return form


def send(client, url: str, form: dict, button: tuple[str, str], **changes):
    """Post ``form`` as a browser does when ``button`` is pressed (its name and value are sent too)."""
    assert button in form["buttons"], f"the form has no button {button}"
    fields = [(k, v) for k, v in form["fields"] if k not in changes]
    fields += [(k, v) for k, values in changes.items() for v in ([values] if isinstance(values, str) else values)]
    if button[0]:
        fields.append(button)
    body: dict[str, list[str]] = {}
    for k, v in fields:
        body.setdefault(k, []).append(v)
    return client.post(form["action"] or url, data=body)


def sign_in(app, user):
    client = app.test_client()
    form = read_form(client.get("/login").get_data(as_text=True).replace("<form", '<form id="login"', 1), "login")
    response = send(client, "/login", form, (None, ""), email=user.email, password=Factories.PASSWORD)
    assert response.status_code == 302
    return client


@pytest.fixture
def open_round(app, make, cohort, coordinator):
    """An open round: Sam may rank; around Sam, projects Sam may not see, each with its own supervisor."""
    cohort.min_preferences = 1
    db.session.commit()
    catalogue = [make.project(cohort, owner=make.staff(cohort, name=f"Cat Supervisor {n}"), title=f"Open topic {n}")
                 for n in range(1, 4)]
    other = make.cohort(code="OTHER")
    hidden = {
        "draft": make.project(cohort, owner=make.staff(cohort, name="Dora Draftwriter"), state="draft",
                              title="Unreleased draft idea"),
        "submitted": make.project(cohort, owner=make.staff(cohort, name="Sid Submitter"), state="submitted",
                                  title="Awaiting its approval"),
        "proposal": make.proposal(cohort, supervisor=make.staff(cohort, name="Penny Proposalsupervisor"),
                                  state="with_supervisor", title="Someone else's own proposal"),
        "other cohort": make.project(other, owner=make.staff(other, name="Otis Elsewhere"), title="Far away topic"),
    }
    student = make.student(cohort, name="Sam Student")
    return {"cohort": cohort, "catalogue": catalogue, "hidden": hidden, "student": student,
            "coordinator": coordinator}


def _hidden_text(project) -> list[str]:
    return [project.title, project.owner.name]


# --- what the page echoes -------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["down:{first}", "add:{hidden}", "save"])
def test_ids_of_projects_the_student_may_not_see_are_refused_and_never_shown(app, open_round, action):
    cohort, student = open_round["cohort"], open_round["student"]
    first = open_round["catalogue"][0]
    client = sign_in(app, student)
    url = f"/cohorts/{cohort.id}/preferences"
    for what, project in open_round["hidden"].items():
        form = read_form(client.get(url).get_data(as_text=True), "preferences-form")
        chosen = [str(first.id)] + ([] if action.startswith("add") else [str(project.id)])
        button = action.format(first=first.id, hidden=project.id)
        form["buttons"].append(("action", button))   # a hand-made button: what an attacker would send
        response = send(client, url, form, ("action", button), choice=chosen)
        page = response.get_data(as_text=True)
        assert response.status_code == 422, (what, response.status_code)
        assert not [t for t in _hidden_text(project) if t in page], f"the {what} project is shown"
        assert "cannot be ranked" in " ".join(flashes(page)), flashes(page)
        assert preference_list(cohort, student) is None


# --- saving as the page is sent ------------------------------------------------------------------

def _add_and_save(client, url, project, saved_to):
    form = read_form(client.get(url).get_data(as_text=True), "preferences-form")
    response = send(client, url, form, ("action", f"add:{project.id}"))
    assert response.status_code == 200, response.status_code
    form = read_form(response.get_data(as_text=True), "preferences-form")
    response = send(client, url, form, ("action", "save"))
    assert response.status_code == 302, (response.status_code, flashes(response.get_data(as_text=True)))
    assert response.headers["Location"] == saved_to


def test_a_student_saves_their_list_again_and_again_from_the_page(app, open_round):
    cohort, student, catalogue = open_round["cohort"], open_round["student"], open_round["catalogue"]
    client = sign_in(app, student)
    url = f"/cohorts/{cohort.id}/preferences"
    for n, project in enumerate(catalogue, start=1):
        _add_and_save(client, url, project, saved_to=url)
        db.session.expire_all()
        assert [c.project_id for c in preference_list(cohort, student).choices] == [p.id for p in catalogue[:n]]
    # Saving the page unchanged is not "changed elsewhere" either.
    form = read_form(client.get(url).get_data(as_text=True), "preferences-form")
    assert send(client, url, form, ("action", "save")).status_code == 302


def test_a_coordinator_enters_a_list_for_a_student_again_and_again(app, open_round):
    cohort, student, catalogue = open_round["cohort"], open_round["student"], open_round["catalogue"]
    client = sign_in(app, open_round["coordinator"])
    url = f"/cohorts/{cohort.id}/preferences/{student.id}"
    for project in catalogue[:2]:
        _add_and_save(client, url, project, saved_to=f"/cohorts/{cohort.id}/preferences/overview")
    db.session.expire_all()
    assert [c.project_id for c in preference_list(cohort, student).choices] == [p.id for p in catalogue[:2]]


def test_the_page_has_one_version_field(app, open_round):
    client = sign_in(app, open_round["student"])
    form = read_form(client.get(f"/cohorts/{open_round['cohort'].id}/preferences").get_data(as_text=True),
                     "preferences-form")
    assert [k for k, _v in form["fields"]].count("version") == 1


# --- candidates: searched and paged, the unsaved list kept ----------------------------------------

def _candidate_titles(page: str) -> list[str]:
    section = page.split('id="candidates"', 1)[1]
    return re.findall(r'aria-label="Add ([^"]+)"', section)


def test_candidates_are_searched_and_paged_and_the_unsaved_list_stays(app, make, open_round):
    cohort, student = open_round["cohort"], open_round["student"]
    many = [make.project(cohort, owner=make.staff(cohort), title=f"Bulk topic {n:02d}") for n in range(30)]
    client = sign_in(app, student)
    url = f"/cohorts/{cohort.id}/preferences"
    page = client.get(url).get_data(as_text=True)
    shown = _candidate_titles(page)
    assert len(shown) == 25 and "33 projects" in main_text(page)   # 3 + 30, nothing ranked yet; 25 a page

    # Add one (unsaved), then search: the list comes back as it was, the candidates narrowed.
    form = read_form(page, "preferences-form")
    page = send(client, url, form, ("action", f"add:{many[0].id}")).get_data(as_text=True)
    form = read_form(page, "preferences-form")
    response = send(client, url, form, ("action", "search"), q="Open topic")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _candidate_titles(page) == ["Open topic 1", "Open topic 2", "Open topic 3"]
    assert [v for k, v in read_form(page, "preferences-form")["fields"] if k == "choice"] == [str(many[0].id)]

    # The next page of everything (the ranked one is not a candidate), the list still there.
    form = read_form(page, "preferences-form")
    page = send(client, url, form, ("action", "search"), q="").get_data(as_text=True)
    form = read_form(page, "preferences-form")
    assert ("action", "page:2") in form["buttons"]
    page = send(client, url, form, ("action", "page:2")).get_data(as_text=True)
    assert len(_candidate_titles(page)) == 32 - 25 and "Bulk topic 00" not in _candidate_titles(page)
    form = read_form(page, "preferences-form")
    assert [v for k, v in form["fields"] if k == "choice"] == [str(many[0].id)]

    # Pressing Enter in the search box sends the form's first button: it must be the search.
    assert form["buttons"][0] == ("action", "search")
    assert send(client, url, form, ("action", "save")).status_code == 302
    assert [c.project_id for c in preference_list(cohort, student).choices] == [many[0].id]


def test_candidates_are_searched_by_link_too(app, make, open_round):
    cohort = open_round["cohort"]
    client = sign_in(app, open_round["student"])
    page = client.get(f"/cohorts/{cohort.id}/preferences?q=topic+2").get_data(as_text=True)
    assert _candidate_titles(page) == ["Open topic 2"]
