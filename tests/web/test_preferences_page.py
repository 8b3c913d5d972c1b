"""The preferences page as a browser uses it: its form read from the HTML and sent back as it is
(saving twice in a row, by the student and by a coordinator for them), ids of projects the student
may not see refused without being shown, and the candidates searched and paged without losing the
unsaved list."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from projectflow.extensions import db
from projectflow.proposals.preferences import preference_list
from tests.factories import Factories
from tests.forms import find_form, get_form, parse_forms
from tests.html import flashes, main_text

pytestmark = pytest.mark.csrf


URL = "/cohorts/{}/preferences"


def page_form(response_or_page, url: str):
    """The list editor's form, read from a page as the browser reads it (tests.forms)."""
    page = response_or_page if isinstance(response_or_page, str) else response_or_page.get_data(as_text=True)
    return find_form(parse_forms(page, url), has_field="version", where=url)


def sign_in(app, user):
    client = app.test_client()
    form = get_form(client, "/login", has_field="password")
    response = form.set("email", user.email).set("password", Factories.PASSWORD).submit(client)
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
    url = URL.format(cohort.id)
    for what, project in open_round["hidden"].items():
        form = get_form(client, url, has_field="version")
        form.add("choice", str(first.id))
        if not action.startswith("add"):
            form.add("choice", str(project.id))
        # The page sent back with another project's id in it, and a button of the attacker's making.
        button = action.format(first=first.id, hidden=project.id)
        body = MultiDict([(k, button if k == "action" else v) for k, v in form.data("save")])
        response = client.post(url, data=body)
        page = response.get_data(as_text=True)
        assert response.status_code == 422, (what, response.status_code)
        assert not [t for t in _hidden_text(project) if t in page], f"the {what} project is shown"
        assert "cannot be ranked" in " ".join(flashes(page)), flashes(page)
        assert page_form(page, url).values("choice") == [str(first.id)]
        assert preference_list(cohort, student) is None


# --- saving as the page is sent ------------------------------------------------------------------

def _add_and_save(client, url, project, saved_to):
    response = get_form(client, url, has_field="version").submit(client, f"add:{project.id}")
    assert response.status_code == 200, response.status_code
    response = page_form(response, url).submit(client, "save")
    assert response.status_code == 302, (response.status_code, flashes(response.get_data(as_text=True)))
    assert response.headers["Location"] == saved_to


def test_a_student_saves_their_list_again_and_again_from_the_page(app, open_round):
    cohort, student, catalogue = open_round["cohort"], open_round["student"], open_round["catalogue"]
    client = sign_in(app, student)
    url = URL.format(cohort.id)
    for n, project in enumerate(catalogue, start=1):
        _add_and_save(client, url, project, saved_to=url)
        db.session.expire_all()
        assert [c.project_id for c in preference_list(cohort, student).choices] == [p.id for p in catalogue[:n]]
    # Saving the page unchanged is not "changed elsewhere" either.
    assert get_form(client, url, has_field="version").submit(client, "save").status_code == 302


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
    form = get_form(client, URL.format(open_round["cohort"].id), has_field="version")
    assert form.names().count("version") == 1


# --- candidates: searched and paged, the unsaved list kept ----------------------------------------

def _candidate_titles(page: str) -> list[str]:
    section = page.split('id="candidates"', 1)[1]
    return re.findall(r'aria-label="Add ([^"]+)"', section)


def test_candidates_are_searched_and_paged_and_the_unsaved_list_stays(app, make, open_round):
    cohort, student = open_round["cohort"], open_round["student"]
    many = [make.project(cohort, owner=make.staff(cohort), title=f"Bulk topic {n:02d}") for n in range(30)]
    client = sign_in(app, student)
    url = URL.format(cohort.id)
    page = client.get(url).get_data(as_text=True)
    shown = _candidate_titles(page)
    assert len(shown) == 25 and "33 projects" in main_text(page)   # 3 + 30, nothing ranked yet; 25 a page

    # Add one (unsaved), then search: the list comes back as it was, the candidates narrowed.
    page = page_form(page, url).submit(client, f"add:{many[0].id}").get_data(as_text=True)
    response = page_form(page, url).set("q", "Open topic").submit(client, "search")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _candidate_titles(page) == ["Open topic 1", "Open topic 2", "Open topic 3"]
    assert page_form(page, url).values("choice") == [str(many[0].id)]

    # The next page of everything (the ranked one is not a candidate), the list still there.
    page = page_form(page, url).set("q", "").submit(client, "search").get_data(as_text=True)
    page = page_form(page, url).submit(client, "page:2").get_data(as_text=True)
    assert len(_candidate_titles(page)) == 32 - 25 and "Bulk topic 00" not in _candidate_titles(page)
    form = page_form(page, url)
    assert form.values("choice") == [str(many[0].id)]

    # Pressing Enter in the search box presses the form's first button: it must be the search.
    assert form.submitter().attrs.get("value") == "search"
    assert form.submit(client, "save").status_code == 302
    assert [c.project_id for c in preference_list(cohort, student).choices] == [many[0].id]


def test_candidates_are_searched_by_link_too(app, make, open_round):
    cohort = open_round["cohort"]
    client = sign_in(app, open_round["student"])
    page = client.get(f"/cohorts/{cohort.id}/preferences?q=topic+2").get_data(as_text=True)
    assert _candidate_titles(page) == ["Open topic 2"]
