"""Input checked at the edge, one finding of the hostile-input gate each: ids out of range, control
characters, line breaks in titles and e-mail subjects, huge searches and numbers, absurd dates, and the
error page after a database error."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from projectflow.core import forms as core_forms
from projectflow.core import mail
from projectflow.core.ids import MAX_ID, IdConverter, as_id
from projectflow.extensions import db
from projectflow.proposals.models import Project
from tests.forms import get_form
from tests.html import field_error, has_layout, main_text

BEYOND = str(MAX_ID + 1)  # 2^31: beyond PostgreSQL's INTEGER
BEYOND_64 = str(2**63)


@pytest.fixture
def people(make, client, login):
    coordinator = make.coordinator(name="Cora Ordinator")
    cohort = make.cohort(coordinator=coordinator)
    supervisor = make.staff(cohort, name="Stella Staff")

    def sign_in(user, role=None):
        """Sign out whoever is signed in, then sign ``user`` in."""
        client.post("/logout")
        return login(user, role=role)

    return SimpleNamespace(cohort=cohort, coordinator=coordinator, supervisor=supervisor,
                           admin=make.admin(), student=make.student(cohort), login=sign_in)


def projects() -> int:
    return db.session.scalar(select(func.count()).select_from(Project))


@pytest.mark.parametrize("path", [f"/projects/{BEYOND}", f"/admin/users/{BEYOND_64}", "/admin/users/" + "9" * 40,
                                  f"/cohorts/{MAX_ID}/catalogue", "/projects/0"])
def test_an_id_beyond_the_databases_range_in_an_address_is_no_page(people, path):
    client = people.login(people.admin)
    response = client.get(path)
    assert response.status_code == 404
    assert has_layout(response.get_data(as_text=True))


@pytest.mark.parametrize("query", [f"supervisor={BEYOND}", f"supervisor={BEYOND_64}", f"page={BEYOND_64}",
                                   "supervisor=-1", "page=" + "9" * 500])
def test_ids_and_pages_beyond_the_databases_range_in_a_query_string_read_as_not_given(people, query):
    client = people.login(people.student)
    assert client.get(f"/cohorts/{people.cohort.id}/catalogue?{query}").status_code == 200
    client = people.login(people.admin)
    assert client.get(f"/audit/?cohort={BEYOND}&object_id={BEYOND}&{query}").status_code == 200
    assert client.get(f"/admin/users?{query}").status_code == 200


@pytest.mark.parametrize("choice", [BEYOND, BEYOND_64, "9" * 40, "-3", "0"])
def test_a_ranked_choice_beyond_the_databases_range_is_refused_with_a_sentence(people, make, choice):
    project = make.project(people.cohort, owner=people.supervisor)
    client = people.login(people.student)
    form = get_form(client, f"/cohorts/{people.cohort.id}/preferences", has_field="version")
    form.add("choice", str(project.id)).add("choice", choice)

    response = form.submit(client, submit="Save preferences")

    assert response.status_code == 400
    assert "not a list of projects" in main_text(response.get_data(as_text=True))


def test_as_id_accepts_database_keys_only():
    assert as_id("1") == 1 and as_id(f" {MAX_ID} ") == MAX_ID
    for bad in (BEYOND, BEYOND_64, "0", "-1", "1.0", "²", "", None, "9" * 5000):
        with pytest.raises(ValueError):
            as_id(bad)


@pytest.mark.parametrize("path", ["/cohorts/{cohort}/catalogue?q=", "/audit/?q=", "/audit/?who=", "/admin/users?q="])
def test_a_search_longer_than_the_cap_is_refused_with_a_sentence(people, path):
    client = people.login(people.admin if "catalogue" not in path else people.student)
    response = client.get(path.format(cohort=people.cohort.id) + "x" * 100_000)
    assert response.status_code == 400
    assert "at most 200 characters" in main_text(response.get_data(as_text=True))
    assert client.get(path.format(cohort=people.cohort.id) + "x" * 200).status_code == 200


def test_control_characters_are_removed_from_what_is_saved_and_searched(people):
    client = people.login(people.supervisor)
    form = get_form(client, f"/cohorts/{people.cohort.id}/projects/new", has_field="title")
    form.set("title", "Sim\x00-to-real\x07 grasping").set("description", "Train\x00 in\tsimulation.\r\nThen\x1b real.")
    assert form.submit(client).status_code == 302
    project = db.session.scalar(select(Project))
    assert project.title == "Sim-to-real grasping"
    assert project.description == "Train in\tsimulation.\r\nThen real."
    student = people.login(people.student)
    assert student.get(f"/cohorts/{people.cohort.id}/catalogue?q=a%00b&keyword=%00").status_code == 200


def test_a_required_value_of_only_nul_or_spaces_is_refused_next_to_the_field(people):
    client = people.login(people.supervisor)
    for title in ("\x00", "\x00 \x00", " \x07 "):
        form = get_form(client, f"/cohorts/{people.cohort.id}/projects/new", has_field="title")
        response = form.set("title", title).set("description", "Fine.").submit(client)
        assert response.status_code == 422, repr(title)
        assert field_error(response.get_data(as_text=True), "title") == "This field is required."
    assert projects() == 0


def test_a_line_break_in_a_single_line_field_is_refused(people):
    client = people.login(people.supervisor)
    form = get_form(client, f"/cohorts/{people.cohort.id}/projects/new", has_field="title")
    response = form.set("title", "Grasping\r\nBcc: everyone@example.com").set("description", "Fine.").submit(client)
    assert response.status_code == 422
    assert "one line" in field_error(response.get_data(as_text=True), "title")
    assert projects() == 0
    admin = people.login(people.admin)
    form = get_form(admin, f"/admin/users/{people.student.id}", has_field="email")
    response = form.set("name", "Sam\nStudent").submit(admin)
    assert response.status_code == 422 and "one line" in field_error(response.get_data(as_text=True), "name")


def test_an_e_mail_subject_never_carries_a_line_break(app, people):
    with app.test_request_context():
        message = mail.build("a@example.ac.uk", "Submitted “Plan\r\nBcc: x@example.com”\x00 now", "notification",
                             person=people.student, message="Hello.", link=None)
    assert message["Subject"] == "Submitted “Plan Bcc: x@example.com” now"
    assert b"\nBcc:" not in bytes(message)


@pytest.mark.parametrize("value", [str(10**40), BEYOND_64, BEYOND, "-" + BEYOND])
def test_a_number_the_database_cannot_keep_is_refused_next_to_the_field(people, value):
    client = people.login(people.supervisor)
    form = get_form(client, f"/cohorts/{people.cohort.id}/projects/new", has_field="title")
    response = form.set("title", "T").set("description", "D").set("capacity", value).submit(client)
    assert response.status_code == 422
    assert "far too large" in field_error(response.get_data(as_text=True), "capacity")


@pytest.mark.parametrize("due, accepted", [("9999-12-31T16:00", False), ("1999-12-31T16:00", False),
                                           ("2101-01-01T00:00", False), ("2027-03-19T16:00", True)])
def test_a_deadline_in_an_absurd_year_is_refused(people, due, accepted):
    client = people.login(people.coordinator, role="coordinator")
    form = get_form(client, f"/cohorts/{people.cohort.id}/timeline/new", has_field="title")
    form.set("title", "Literature review").select("kind", "custom").select("phase", "part_time").set("due", due)
    response = form.submit(client, submit="Save")
    if accepted:
        assert response.status_code == 302
    else:
        assert response.status_code == 422
        assert "between the years 2000 and 2100" in field_error(response.get_data(as_text=True), "due")


@pytest.fixture
def failing_route(app):
    """A page whose query fails (a table that does not exist), answered by the site's 500 handler."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test-only/failing-query")
    def failing_query():
        db.session.execute(text("SELECT * FROM no_such_table"))
        return "unreachable"

    return "/test-only/failing-query"


@pytest.mark.own_app  # adds a route of its own
def test_after_a_database_error_the_error_page_is_the_sites_own(people, failing_route):
    client = people.login(people.student)
    assert client.get("/student").status_code == 200
    response = client.get(failing_route)
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert has_layout(page) and "Something went wrong" in page and people.student.name in page


@pytest.mark.own_app  # adds a route of its own
def test_when_the_database_cannot_be_read_at_all_the_error_page_still_says_what_happened(people, failing_route):
    client = people.login(people.student)
    engine = db.engine
    state = {"down": False}

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if state["down"]:
            raise OperationalError(statement, parameters, Exception("the database went away"))
        if "no_such_table" in statement:
            state["down"] = True  # from this error on, every statement fails

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        response = client.get(failing_route)
    finally:
        event.remove(engine, "before_cursor_execute", refuse)
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page and "The error has been logged" in page


def test_every_form_every_id_and_every_request_goes_through_the_edge(app):
    """The edge checks apply to what is added later: forms derive from the site's FlaskForm, every
    <int:...> route uses the bounded id converter, every request is a CleanRequest."""
    import flask_wtf

    forms = [cls for cls in _subclasses(flask_wtf.FlaskForm) if cls.__module__.startswith("projectflow.")
             and cls is not core_forms.FlaskForm]
    assert forms, "no form found"
    strays = [f"{cls.__module__}.{cls.__name__}" for cls in forms if not issubclass(cls, core_forms.FlaskForm)]
    assert not strays, f"forms not derived from projectflow.core.forms.FlaskForm: {strays}"
    assert app.request_class is core_forms.CleanRequest
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if type(converter).__name__ in ("IntegerConverter", "NumberConverter"):
                pytest.fail(f"{rule.rule}: <{name}> does not use IdConverter")
    assert any(isinstance(c, IdConverter) for r in app.url_map.iter_rules() for c in r._converters.values())


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
