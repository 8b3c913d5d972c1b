"""The proposal round through its pages: offering and editing projects, the coordinator's queue and
decisions, the catalogue and bookmarks, the ranked list with and without JavaScript, the overview,
settings and load limits; and, for each page, who may not see it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.proposals.models import Bookmark, Project
from projectflow.proposals.preferences import preference_list
from tests.forms import get_form, get_forms
from tests.html import field_error, flashes, main_text

LONDON = ZoneInfo("Europe/London")
DEADLINE = datetime(2026, 12, 3, 14, 0, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _mail(smtp_server):
    """Decisions tell people by e-mail too: a real (local) SMTP server takes it."""
    return smtp_server


@pytest.fixture
def as_(client, login):
    """Sign in as ``user`` (signing out whoever was signed in) and return the client."""

    def sign_in(user):
        client.post("/logout")
        return login(user)

    return sign_in


def text(response) -> str:
    return response.get_data(as_text=True)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def fresh(obj):
    db.session.expire_all()
    return obj


PROJECT_FORM = {"title": "Sim-to-real grasping", "description": "Train in **simulation**.",
                "keywords": "Robotics, reinforcement learning", "prerequisites": "Python", "capacity": "2"}


# --- staff: offering and editing a project ------------------------------------------------------------

def test_a_supervisor_offers_a_project_edits_it_and_submits_it(as_, cohort, coordinator, supervisor):
    client = as_(supervisor)
    new = get_form(client, f"/cohorts/{cohort.id}/projects/new", has_field="title")
    for name, value in PROJECT_FORM.items():
        new.set(name, value)
    response = new.submit(client, submit="Save draft")
    assert response.status_code == 302
    project = db.session.scalar(select(Project))
    assert response.headers["Location"] == f"/projects/{project.id}"
    assert (project.title, project.state, project.capacity, project.keywords, project.owner_id) == (
        "Sim-to-real grasping", "draft", 2, ["robotics", "reinforcement learning"], supervisor.id)
    assert "Draft saved" in " ".join(flashes(text(client.get(response.headers["Location"]))))

    edit = get_form(client, f"/projects/{project.id}/edit", has_field="title")
    assert (edit.get("title"), edit.get("description")) == ("Sim-to-real grasping", "Train in **simulation**.")
    assert edit.set("title", "Grasping, better").submit(client, submit="Save").status_code == 302
    assert fresh(project).title == "Grasping, better"

    page = text(client.get(f"/projects/{project.id}"))
    assert "Submit for approval" in page and "<strong>simulation</strong>" in page
    submit = get_form(client, f"/projects/{project.id}", submit="Submit for approval")
    assert submit.submit(client).status_code == 302
    assert fresh(project).state == "submitted"
    assert db.session.scalar(select(Notification.message).where(Notification.user_id == coordinator.id)) == \
        "Stella Staff submitted “Grasping, better” for approval."
    assert "Grasping, better" in text(client.get(f"/cohorts/{cohort.id}/my-projects"))


BAD_PROJECT_FORMS = [
    ({"title": ""}, "title", "This field is required."),
    ({"description": "  "}, "description", "This field is required."),
    ({"capacity": "0"}, "capacity", "Number must be between 1 and 20."),
    ({"capacity": "many"}, "capacity", "Not a valid integer value. Number must be between 1 and 20."),
    ({"title": "x" * 201}, "title", "Field cannot be longer than 200 characters."),
    ({"is_external": "y", "external_organisation": " "}, "external_organisation",
     "Name the organisation of an external project."),
]


def test_a_bad_project_form_answers_422_with_the_message_next_to_the_field_and_saves_nothing(
        as_, cohort, supervisor):
    client = as_(supervisor)
    for change, field, message in BAD_PROJECT_FORMS:
        response = client.post(f"/cohorts/{cohort.id}/projects/new", data={**PROJECT_FORM, **change})
        assert response.status_code == 422, change
        assert field_error(text(response), field) == message, change
    assert count(Project) == 0


def test_an_external_project_keeps_its_organisation_and_nda(as_, cohort, supervisor):
    client = as_(supervisor)
    client.post(f"/cohorts/{cohort.id}/projects/new", data={
        **PROJECT_FORM, "is_external": "y", "external_organisation": "Acme Robotics", "external_contact": "Ada",
        "has_nda": "y"})
    project = db.session.scalar(select(Project))
    assert (project.is_external, project.external_organisation, project.has_nda) == (True, "Acme Robotics", True)
    page = text(client.get(f"/projects/{project.id}"))
    assert "Acme Robotics" in page and "A non-disclosure agreement applies." in page


def test_a_bad_edit_answers_422_and_keeps_the_saved_project(as_, make, cohort, supervisor):
    project = make.project(cohort, owner=supervisor, state="draft", title="Kept")
    response = as_(supervisor).post(f"/projects/{project.id}/edit", data={**PROJECT_FORM, "capacity": "21"})
    assert response.status_code == 422
    assert field_error(text(response), "capacity") == "Number must be between 1 and 20."
    assert fresh(project).title == "Kept"


def test_co_supervisors_are_chosen_from_the_cohorts_staff(as_, make, cohort, supervisor):
    colleague = make.staff(cohort, name="Colin Colleague")
    outsider = make.staff(name="Olga Outsider")
    client = as_(supervisor)
    form = text(client.get(f"/cohorts/{cohort.id}/projects/new"))
    assert "Colin Colleague" in form and "Olga Outsider" not in form
    client.post(f"/cohorts/{cohort.id}/projects/new", data={**PROJECT_FORM, "co_supervisors": [str(colleague.id)]})
    assert [u.id for u in db.session.scalar(select(Project)).co_supervisors] == [colleague.id]
    assert client.post(f"/cohorts/{cohort.id}/projects/new", data={
        **PROJECT_FORM, "co_supervisors": [str(outsider.id)]}).status_code == 422
    assert count(Project) == 1


def test_who_may_not_offer_or_edit_a_project(as_, make, cohort, supervisor, student, coordinator):
    project = make.project(cohort, owner=supervisor, state="draft")
    other_cohort_staff = make.staff(make.cohort(code="ELSE"))
    colleague = make.staff(cohort)
    assert as_(student).get(f"/cohorts/{cohort.id}/projects/new").status_code == 403
    assert as_(other_cohort_staff).get(f"/cohorts/{cohort.id}/projects/new").status_code == 403
    assert as_(other_cohort_staff).get(f"/cohorts/{cohort.id}/my-projects").status_code == 403
    for person in (colleague, student, coordinator):
        client = as_(person)
        assert client.get(f"/projects/{project.id}/edit").status_code == 403
        assert client.post(f"/projects/{project.id}/edit", data={**PROJECT_FORM, "title": "Hijacked"}
                           ).status_code == 403
        assert client.post(f"/projects/{project.id}/submit").status_code == 403
    assert fresh(project).title != "Hijacked" and project.state == "draft"
    # The owner cannot edit it either while the coordinators consider it.
    submitted = make.project(cohort, owner=supervisor, state="submitted")
    assert as_(supervisor).get(f"/projects/{submitted.id}/edit").status_code == 403
    client.post("/logout")
    assert client.get(f"/cohorts/{cohort.id}/projects/new").status_code == 302  # to sign in


# --- the coordinator's queue and decisions -------------------------------------------------------------

def test_the_queue_counts_projects_per_state_and_lists_those_awaiting_approval(as_, make, cohort, coordinator):
    for state, n in (("submitted", 2), ("draft", 1), ("approved", 3)):
        for i in range(n):
            make.project(cohort, state=state, title=f"{state} {i}")
    response = as_(coordinator).get(f"/cohorts/{cohort.id}/proposals")
    assert response.status_code == 200
    page = text(response)
    for label, n in (("Awaiting approval", 2), ("Draft", 1), ("Approved", 3), ("Rejected", 0), ("All", 6)):
        assert re.search(rf">{label} <span class=\"badge[^\"]*\">{n}</span>", page), label
    assert "submitted 0" in page and "submitted 1" in page and "approved 0" not in page
    assert "approved 2" in text(as_(coordinator).get(f"/cohorts/{cohort.id}/proposals?state=approved"))


def test_who_may_not_see_the_queue(as_, make, cohort, supervisor, student):
    other_coordinator = make.cohort(code="ELSE").staff[0].member
    for person in (supervisor, student, other_coordinator):
        assert as_(person).get(f"/cohorts/{cohort.id}/proposals").status_code == 403


def test_the_coordinator_approves_and_the_supervisor_is_told(as_, make, cohort, coordinator, supervisor):
    project = make.project(cohort, owner=supervisor, state="submitted", title="Bird song")
    client = as_(coordinator)
    page = text(client.get(f"/projects/{project.id}"))
    assert "Approve" in page and "Return for changes" in page
    response = get_form(client, f"/projects/{project.id}", submit="Approve").submit(client)
    assert response.status_code == 302
    assert "Approved." in flashes(text(client.get(response.headers["Location"])))
    assert fresh(project).state == "approved"
    assert db.session.scalar(select(Notification.message).where(Notification.user_id == supervisor.id)) == \
        "“Bird song” is approved. Students can now rank it."


@pytest.mark.parametrize("decision, state", [("request-changes", "changes_requested"), ("reject", "rejected")])
def test_returning_or_rejecting_needs_a_comment(as_, make, cohort, coordinator, supervisor, decision, state):
    project = make.project(cohort, owner=supervisor, state="submitted")
    client = as_(coordinator)
    response = client.post(f"/projects/{project.id}/{decision}", data={"comment": "  "})
    assert response.status_code == 422
    assert field_error(text(response), f"comment-{decision}")
    assert fresh(project).state == "submitted"

    form = get_form(client, f"/projects/{project.id}", action=f"/projects/{project.id}/{decision}")
    assert form.set("comment", "Too broad.").submit(client).status_code == 302
    assert fresh(project).state == state
    # The supervisor reads why, with the project.
    assert "Too broad." in text(as_(supervisor).get(f"/projects/{project.id}"))


def test_a_returned_project_is_edited_and_submitted_again(as_, make, cohort, supervisor):
    project = make.project(cohort, owner=supervisor, state="changes_requested")
    client = as_(supervisor)
    assert "Say more about the data." in text(client.get(f"/projects/{project.id}"))
    assert client.post(f"/projects/{project.id}/edit", data={**PROJECT_FORM, "description": "Data: ImageNet."}
                       ).status_code == 302
    assert client.post(f"/projects/{project.id}/submit").status_code == 302
    assert fresh(project).state == "submitted"


def test_decisions_refused_by_person_or_state(as_, make, cohort, coordinator, supervisor, student):
    submitted = make.project(cohort, owner=supervisor, state="submitted")
    draft = make.project(cohort, owner=supervisor, state="draft")
    assert as_(supervisor).post(f"/projects/{submitted.id}/approve", data={}).status_code == 403
    assert as_(student).post(f"/projects/{submitted.id}/approve", data={}).status_code == 403
    assert as_(make.cohort(code="ELSE").staff[0].member).post(
        f"/projects/{submitted.id}/approve", data={}).status_code == 403
    response = as_(coordinator).post(f"/projects/{draft.id}/approve", data={})
    assert response.status_code == 409 and "not possible now" in text(response)
    assert (fresh(submitted).state, draft.state) == ("submitted", "draft")
    assert as_(coordinator).post("/projects/999999/approve", data={}).status_code == 404


def test_withdrawing_an_approved_project_needs_a_reason_and_tells_who_ranked_it(
        as_, make, cohort, coordinator, supervisor, student):
    cohort.min_preferences = 1
    project = make.project(cohort, owner=supervisor, title="Robot football")
    make.preferences(cohort, student, [project])
    client = as_(supervisor)
    assert "Withdraw this project" in text(client.get(f"/projects/{project.id}"))
    response = client.post(f"/projects/{project.id}/withdraw", data={"comment": ""})
    assert response.status_code == 422 and field_error(text(response), "comment-withdraw")
    assert as_(make.staff(cohort)).post(f"/projects/{project.id}/withdraw", data={"comment": "x"}).status_code == 403
    withdraw = get_form(as_(coordinator), f"/projects/{project.id}", submit="Withdraw")
    assert withdraw.set("comment", "Lab closed.").submit(client).status_code == 302
    assert fresh(project).state == "withdrawn"
    [message] = db.session.scalars(select(Notification.message).where(Notification.user_id == student.id))
    assert "Robot football" in message and "Lab closed." in message
    # The student's list keeps the withdrawn choice, flagged to be replaced.
    page = text(as_(student).get(f"/cohorts/{cohort.id}/preferences"))
    assert "1 of your choices is no longer offered" in page


# --- a student's own proposal --------------------------------------------------------------------------

PROPOSAL_FORM = {"title": "Bird song detection", "aims": "Detect.", "method": "CNNs.", "data_needed": "Xeno-canto.",
                 "suitability": "I record birds.", "keywords": "audio"}


def test_a_student_proposes_the_supervisor_accepts_and_the_coordinator_approves(
        as_, cohort, coordinator, supervisor, student):
    client = as_(student)
    new = get_form(client, f"/cohorts/{cohort.id}/proposal/new", has_field="aims")
    for name, value in PROPOSAL_FORM.items():
        new.set(name, value)
    assert new.select("supervisor", str(supervisor.id)).submit(client).status_code == 302
    project = db.session.scalar(select(Project))
    assert (project.state, project.proposed_by_id, project.owner_id) == ("draft", student.id, supervisor.id)
    # Only one open proposal at a time.
    again = client.post(f"/cohorts/{cohort.id}/proposal/new", data={**PROPOSAL_FORM, "supervisor": str(supervisor.id)})
    assert again.status_code == 409 and "You already have a proposal" in field_error(text(again), "title")
    assert client.post(f"/projects/{project.id}/submit").status_code == 302
    assert fresh(project).state == "with_supervisor"

    client = as_(supervisor)
    assert "Will you supervise this proposal?" in text(client.get(f"/projects/{project.id}"))
    declined = client.post(f"/projects/{project.id}/decline", data={"comment": ""})
    assert declined.status_code == 422 and field_error(text(declined), "comment-decline")
    accept = get_form(client, f"/projects/{project.id}", submit="Accept to supervise")
    assert accept.set("comment", "Happy to.").submit(client).status_code == 302
    assert fresh(project).state == "submitted"
    assert get_form(as_(coordinator), f"/projects/{project.id}", submit="Approve").submit(client).status_code == 302
    assert fresh(project).state == "approved"


def test_who_may_not_propose_a_project(as_, make, cohort, supervisor):
    for person in (supervisor, make.student(make.cohort(code="ELSE"))):
        client = as_(person)
        assert client.get(f"/cohorts/{cohort.id}/proposal/new").status_code == 403
        assert client.post(f"/cohorts/{cohort.id}/proposal/new",
                           data={**PROPOSAL_FORM, "supervisor": str(supervisor.id)}).status_code == 403
    assert count(Project) == 0


def test_a_declined_proposal_is_edited_and_sent_to_another_supervisor(as_, make, cohort, supervisor, student):
    other = make.staff(cohort, name="Otto Other")
    project = make.proposal(cohort, student=student, supervisor=supervisor, state="declined", title="Birds")
    client = as_(student)
    page = text(client.get(f"/projects/{project.id}"))
    assert "I am full." in page and "Send to Stella Staff" in page
    form = text(client.get(f"/projects/{project.id}/edit"))
    assert re.search(rf'<option selected value="{supervisor.id}">Stella Staff</option>', form)
    assert client.post(f"/projects/{project.id}/edit", data={
        **PROPOSAL_FORM, "title": "Birds, again", "supervisor": str(other.id)}).status_code == 302
    assert (fresh(project).title, project.owner_id, project.state) == ("Birds, again", other.id, "declined")
    assert client.post(f"/projects/{project.id}/submit").status_code == 302
    assert fresh(project).state == "with_supervisor"
    # While it waits for the supervisor, the student cannot change it, nor can the first supervisor answer.
    assert client.get(f"/projects/{project.id}/edit").status_code == 403
    assert as_(supervisor).post(f"/projects/{project.id}/accept", data={}).status_code == 403
    assert as_(other).post(f"/projects/{project.id}/accept", data={}).status_code == 302
    assert fresh(project).state == "submitted"


def test_a_proposal_is_seen_only_by_its_student_their_supervisor_and_the_coordinators(
        as_, make, cohort, coordinator, supervisor, student):
    project = make.proposal(cohort, student=student, supervisor=supervisor, state="approved")
    for person in (student, supervisor, coordinator):
        assert as_(person).get(f"/projects/{project.id}").status_code == 200
    for person in (make.student(cohort), make.staff(cohort)):
        assert as_(person).get(f"/projects/{project.id}").status_code == 403
    assert as_(make.staff(cohort)).post(f"/projects/{project.id}/accept", data={}).status_code == 403


# --- who sees which project --------------------------------------------------------------------------

def test_students_see_approved_projects_only(as_, make, cohort, supervisor, student):
    client = as_(student)
    for state in ("draft", "submitted", "changes_requested", "rejected"):
        assert client.get(f"/projects/{make.project(cohort, owner=supervisor, state=state).id}").status_code == 403
    approved = make.project(cohort, owner=supervisor, title="Open to all")
    page = client.get(f"/projects/{approved.id}")
    assert page.status_code == 200 and "Bookmark" in text(page)
    assert as_(make.student(make.cohort(code="ELSE"))).get(f"/projects/{approved.id}").status_code == 403


def test_staff_of_the_cohort_open_the_projects_of_its_catalogue_but_not_colleagues_drafts(
        as_, make, cohort, supervisor):
    approved = make.project(cohort, owner=supervisor, title="In the catalogue")
    draft = make.project(cohort, owner=supervisor, state="draft")
    client = as_(make.staff(cohort))
    assert "In the catalogue" in text(client.get(f"/cohorts/{cohort.id}/catalogue"))
    assert client.get(f"/projects/{approved.id}").status_code == 200
    assert client.get(f"/projects/{draft.id}").status_code == 403
    assert as_(make.staff()).get(f"/projects/{approved.id}").status_code == 403


# --- the catalogue ----------------------------------------------------------------------------------------

@pytest.fixture
def catalogue(make, cohort, supervisor):
    other = make.staff(cohort, name="Otto Other")
    return {
        "grasp": make.project(cohort, owner=supervisor, title="Robot grasping", keywords=["robotics"]),
        "speech": make.project(cohort, owner=other, title="Keyword spotting", description="Tiny **speech** models.",
                               keywords=["speech", "machine learning"]),
        "bank": make.project(cohort, owner=other, title="Fraud detection", organisation="Big Bank",
                             keywords=["learning"], co_supervisors=[supervisor]),
        "draft": make.project(cohort, owner=supervisor, state="draft", title="Secret draft"),
        "own": make.proposal(cohort, supervisor=supervisor, state="approved", title="A student's own idea"),
    }


def titles(page: str) -> set[str]:
    return set(re.findall(r'<h2 class="h5 card-title mb-1"><a href="/projects/\d+">([^<]+)</a>', page))


SEARCHES = [
    ("", {"Robot grasping", "Keyword spotting", "Fraud detection"}),
    ("q=GRASP", {"Robot grasping"}),
    ("q=speech", {"Keyword spotting"}),                      # in the description and the keywords
    ("q=robotics", {"Robot grasping"}),                      # a keyword
    ("q=robot+grasping", {"Robot grasping"}),                # every word must match
    ("q=nothing-like-this", set()),
    ("keyword=learning", {"Fraud detection"}),               # the keyword, not a part of "machine learning"
    ("keyword=machine+learning", {"Keyword spotting"}),
    ("external=yes", {"Fraud detection"}),
    ("external=no", {"Robot grasping", "Keyword spotting"}),
    ("supervisor={supervisor}", {"Robot grasping", "Fraud detection"}),  # co-supervised ones too
    ("supervisor={supervisor}&external=no", {"Robot grasping"}),
    ("supervisor={supervisor}&q=fraud&external=yes&keyword=learning", {"Fraud detection"}),
]


def test_catalogue_search_and_filters(as_, cohort, supervisor, student, catalogue):
    client = as_(student)
    for query, expected in SEARCHES:
        response = client.get(f"/cohorts/{cohort.id}/catalogue?" + query.format(supervisor=supervisor.id))
        assert response.status_code == 200, query
        assert titles(text(response)) == expected, query
        assert f"{len(expected)} project{'' if len(expected) == 1 else 's'}</p>" in text(response), query


def test_catalogue_keywords_with_accents_and_searches_with_wildcard_characters(as_, make, cohort, student):
    make.project(cohort, title="Spam filters", keywords=["Naïve Bayes", "NLP"])
    make.project(cohort, title="Calibration", description="Scores near 100% are rare.")
    client = as_(student)
    url = f"/cohorts/{cohort.id}/catalogue?"
    page = text(client.get(url))
    assert "<option >naïve bayes</option>" in page
    for query, expected in [("keyword=na%C3%AFve+bayes", {"Spam filters"}), ("q=na%C3%AFve", {"Spam filters"}),
                            ("q=100%25", {"Calibration"}), ("q=_", set()), ("q=%25", {"Calibration"})]:
        assert titles(text(client.get(url + query))) == expected, query


def test_bookmarks_toggle_and_filter_the_catalogue(as_, cohort, student, catalogue):
    client = as_(student)
    back = f"/cohorts/{cohort.id}/catalogue?q=robot"
    response = get_form(client, back, action=f"/projects/{catalogue['grasp'].id}/bookmark").submit(client)
    assert response.status_code == 302 and response.headers["Location"] == back
    assert db.session.get(Bookmark, (student.id, catalogue["grasp"].id)) is not None
    page = text(client.get(f"/cohorts/{cohort.id}/catalogue?bookmarked=1"))
    assert titles(page) == {"Robot grasping"} and "★ Bookmarked" in page
    client.post(f"/projects/{catalogue['grasp'].id}/bookmark", data={"next": back})
    assert titles(text(client.get(f"/cohorts/{cohort.id}/catalogue?bookmarked=1"))) == set()
    # Only catalogue projects, and only students, bookmark; "next" never leads off the site.
    assert client.post(f"/projects/{catalogue['draft'].id}/bookmark").status_code == 403
    assert client.post(f"/projects/{catalogue['own'].id}/bookmark").status_code == 403
    for target in ("//evil.example/", "https://evil.example/", "javascript:alert(1)"):
        response = client.post(f"/projects/{catalogue['speech'].id}/bookmark", data={"next": target})
        assert response.headers["Location"] == f"/projects/{catalogue['speech'].id}", target


def test_who_may_not_see_the_catalogue_or_bookmark(as_, make, cohort, supervisor, catalogue):
    assert as_(make.student(make.cohort(code="ELSE"))).get(f"/cohorts/{cohort.id}/catalogue").status_code == 403
    assert as_(make.staff()).get(f"/cohorts/{cohort.id}/catalogue").status_code == 403
    assert as_(supervisor).post(f"/projects/{catalogue['grasp'].id}/bookmark").status_code == 403
    assert count(Bookmark) == 0


def test_descriptions_in_the_catalogue_are_text_only(as_, make, cohort, student):
    make.project(cohort, description="<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>")
    page = text(as_(student).get(f"/cohorts/{cohort.id}/catalogue"))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert not re.search(r"<a[^>]*javascript:", page, re.I)


# --- the ranked list ------------------------------------------------------------------------------------

@pytest.fixture
def ranked(make, cohort):
    """Four approved projects by three supervisors (at most two with one); lists of 2 to 4."""
    cohort.min_preferences, cohort.max_preferences, cohort.max_choices_per_supervisor = 2, 4, 2
    a, b, c = (make.staff(cohort, name=f"Dr {x}") for x in "ABC")
    return [make.project(cohort, owner=o, title=f"Project {i}") for i, o in enumerate([a, a, b, c])]


def listed(page: str) -> list[int]:
    """The projects of the ranked list on the page, in order."""
    return [int(i) for i in re.findall(r'<input type="hidden" name="choice" value="(\d+)">', page)]


def post_list(client, url, projects, action, version=""):
    return client.post(url, data={"choice": [str(p.id) for p in projects], "action": action, "version": version})


def test_editing_without_javascript_rearranges_without_saving(as_, cohort, student, ranked):
    client = as_(student)
    url = f"/cohorts/{cohort.id}/preferences"
    page = client.get(url)
    assert page.status_code == 200 and "Nothing ranked yet" in text(page)
    p0, p1, p2, p3 = ranked
    steps = [
        ([], f"add:{p2.id}", [p2]),
        ([p2], f"add:{p0.id}", [p2, p0]),
        ([p2, p0], f"up:{p0.id}", [p0, p2]),
        ([p0, p2], f"add:{p3.id}", [p0, p2, p3]),
        ([p0, p2, p3], f"down:{p0.id}", [p2, p0, p3]),
        ([p2, p0, p3], f"remove:{p2.id}", [p0, p3]),
    ]
    for before, action, after in steps:
        response = post_list(client, url, before, action)
        assert response.status_code == 200
        assert listed(text(response)) == [p.id for p in after], action
        assert "Not saved yet" in text(response)
    assert preference_list(cohort, student) is None


def test_saving_stores_the_list_and_the_page_shows_it(as_, cohort, student, ranked):
    client = as_(student)
    url = f"/cohorts/{cohort.id}/preferences"
    response = post_list(client, url, [ranked[3], ranked[0]], "save")
    assert response.status_code == 302 and response.headers["Location"] == url
    assert [c.project_id for c in preference_list(cohort, student).choices] == [ranked[3].id, ranked[0].id]
    page = text(client.get(url))
    assert listed(page) == [ranked[3].id, ranked[0].id]
    assert "Your preferences are saved (2 projects)." in flashes(page)
    # The catalogue shows the ranks.
    assert "ranked 1" in text(client.get(f"/cohorts/{cohort.id}/catalogue"))


@pytest.mark.parametrize("choose, message", [
    (lambda r: r[:1], "Rank at least 2 projects"),
    (lambda r: r[:2] + r[1:2], "appears twice"),
    (lambda r: r[:3] + r[:0] + [r[0]], "appears twice"),
])
def test_a_list_breaking_a_rule_is_refused_with_the_rule_and_kept_on_the_page(
        as_, cohort, student, ranked, choose, message):
    chosen = choose(ranked)
    response = post_list(as_(student), f"/cohorts/{cohort.id}/preferences", chosen, "save")
    assert response.status_code == 422
    assert any(message in f for f in flashes(text(response)))
    assert listed(text(response)) == [p.id for p in chosen]  # what the student sent is not lost
    assert preference_list(cohort, student) is None


def test_a_list_with_too_many_choices_with_one_supervisor_is_refused(as_, make, cohort, student, ranked):
    third_of_a = make.project(cohort, owner=ranked[0].owner)
    response = post_list(as_(student), f"/cohorts/{cohort.id}/preferences", [ranked[0], ranked[1], third_of_a],
                         "save")
    assert response.status_code == 422
    assert any("you have 3 with Dr A" in f for f in flashes(text(response)))


def test_a_stale_page_gets_409_with_the_current_list_and_a_message(as_, make, cohort, student, ranked):
    plist = make.preferences(cohort, student, ranked[:2])
    client = as_(student)
    url = f"/cohorts/{cohort.id}/preferences"
    opened = str(plist.version)
    # Another window saves first ...
    assert post_list(client, url, ranked[2:4], "save", version=opened).status_code == 302
    # ... and this one, opened on the same version, is refused with the list as it now is.
    response = post_list(client, url, [ranked[3], ranked[0]], "save", version=opened)
    assert response.status_code == 409
    page = text(response)
    assert any("changed elsewhere" in f for f in flashes(page))
    assert listed(page) == [ranked[2].id, ranked[3].id]
    assert [c.project_id for c in fresh(preference_list(cohort, student)).choices] == [ranked[2].id, ranked[3].id]


def test_a_version_for_a_list_that_does_not_exist_is_stale_not_an_error(as_, cohort, student, ranked):
    response = post_list(as_(student), f"/cohorts/{cohort.id}/preferences", ranked[:2], "save", version="7")
    assert response.status_code == 409
    assert listed(text(response)) == []
    assert preference_list(cohort, student) is None


def test_a_list_that_is_not_a_list_of_projects_is_a_bad_request(as_, cohort, student, ranked):
    response = as_(student).post(f"/cohorts/{cohort.id}/preferences", data={"choice": ["1", "two"], "action": "save"})
    assert response.status_code == 400


def test_after_the_deadline_the_student_cannot_change_the_list_and_the_page_is_read_only(
        as_, make, cohort, student, ranked):
    cohort.preferences_deadline_at = DEADLINE
    with clock.frozen(DEADLINE - timedelta(minutes=5)):
        plist = make.preferences(cohort, student, ranked[:2])
    client = as_(student)
    url = f"/cohorts/{cohort.id}/preferences"
    with clock.frozen(DEADLINE + timedelta(seconds=1)):
        page = text(client.get(url))
        assert "has passed, so preference lists are closed. The list below is final." in main_text(page)
        assert "Save preferences" not in page and 'name="action"' not in page
        assert all(p.title in main_text(page) for p in ranked[:2])
        for action in ("save", f"add:{ranked[2].id}", f"remove:{ranked[0].id}"):
            response = post_list(client, url, ranked[2:4], action, version=str(plist.version))
            assert response.status_code == 409, action
            assert any("has passed, so preference lists are closed" in f for f in flashes(text(response))), action
            assert "Not saved yet" not in text(response)
    assert [c.project_id for c in fresh(preference_list(cohort, student)).choices] == [p.id for p in ranked[:2]]


def test_the_coordinator_enters_a_list_for_a_student_after_the_deadline(
        as_, cohort, coordinator, student, ranked):
    cohort.preferences_deadline_at = DEADLINE
    db.session.commit()
    client = as_(coordinator)
    url = f"/cohorts/{cohort.id}/preferences/{student.id}"
    with clock.frozen(DEADLINE + timedelta(days=1)):
        page = text(client.get(url))
        assert "Preferences of Sam Student" in page and "on Sam Student's behalf" in page
        response = post_list(client, url, [ranked[1], ranked[2]], "save")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cohorts/{cohort.id}/preferences/overview"
    plist = preference_list(cohort, student)
    assert [c.project_id for c in plist.choices] == [ranked[1].id, ranked[2].id]
    assert plist.entered_by_id == coordinator.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "preferences.saved"))
    assert event.actor_id == coordinator.id and event.after["on_behalf"] is True
    assert "by the coordinator" in text(as_(student).get(f"/cohorts/{cohort.id}/preferences"))


def test_who_may_not_see_or_change_a_students_list(as_, make, cohort, coordinator, supervisor, student, ranked):
    make.preferences(cohort, student, ranked[:2])
    other_student = make.student(cohort)
    url = f"/cohorts/{cohort.id}/preferences/{student.id}"
    for person in (other_student, supervisor, make.cohort(code="ELSE").staff[0].member):
        client = as_(person)
        assert client.get(url).status_code == 403
        assert post_list(client, url, ranked[2:4], "save", version="1").status_code == 403
    assert [c.project_id for c in fresh(preference_list(cohort, student)).choices] == [p.id for p in ranked[:2]]
    # Staff and coordinators have no list of their own; a student of another cohort has none here.
    assert as_(coordinator).get(f"/cohorts/{cohort.id}/preferences").status_code == 403
    assert as_(make.student(make.cohort(code="THIRD"))).get(f"/cohorts/{cohort.id}/preferences").status_code == 403
    # A coordinator enters lists only for students of the cohort.
    assert as_(coordinator).get(f"/cohorts/{cohort.id}/preferences/{supervisor.id}").status_code == 403


# --- the overview, settings and load limits ------------------------------------------------------------

def test_the_overview_shows_popularity_missing_lists_unranked_projects_and_short_supervisors(
        as_, make, cohort, coordinator, student, ranked):
    lazy = make.student(cohort, name="Larry Late")
    make.preferences(cohort, student, [ranked[0], ranked[2]])
    make.preferences(cohort, make.student(cohort), [ranked[0], ranked[3]])
    short = make.staff(cohort, name="Shirley Short", max_load=10)
    response = as_(coordinator).get(f"/cohorts/{cohort.id}/preferences/overview")
    assert response.status_code == 200
    page = text(response)
    chart = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert "Project 0: 2 at 1st" in chart and "over-subscribed" in chart
    missing = re.search(r'id="missing-h".*?</section>', page, re.S).group(0)
    assert "Larry Late" in missing and "Sam Student" not in missing
    assert f"/cohorts/{cohort.id}/preferences/{lazy.id}" in missing
    unranked = re.search(r'id="unranked-h".*?</section>', page, re.S).group(0)
    assert "Project 1" in unranked and "Project 0" not in unranked
    short_list = re.search(r'id="short-h".*?</section>', page, re.S).group(0)
    assert f"{short.name}: offers 0" in short_list


def test_who_may_not_see_the_overview(as_, make, cohort, supervisor, student):
    for person in (supervisor, student, make.cohort(code="ELSE").staff[0].member):
        assert as_(person).get(f"/cohorts/{cohort.id}/preferences/overview").status_code == 403


SETTINGS = {"preferences_deadline": "2027-06-03T14:00", "min_preferences": "3", "max_preferences": "6",
            "max_choices_per_supervisor": "2", "project_keywords": "Robotics, NLP"}


def test_the_deadline_is_entered_in_the_cohorts_local_time_and_stored_in_utc(as_, cohort, coordinator):
    client = as_(coordinator)
    settings = get_form(client, f"/cohorts/{cohort.id}/proposal-settings", has_field="min_preferences")
    for name, value in SETTINGS.items():
        settings.set(name, value)
    response = settings.submit(client, submit="Save")
    assert response.status_code == 302
    fresh(cohort)
    assert cohort.preferences_deadline_at == datetime(2027, 6, 3, 13, 0, tzinfo=timezone.utc)  # BST
    assert (cohort.min_preferences, cohort.max_preferences, cohort.max_choices_per_supervisor,
            cohort.project_keywords) == (3, 6, 2, ["robotics", "nlp"])
    assert 'value="2027-06-03T14:00"' in text(client.get(f"/cohorts/{cohort.id}/proposal-settings"))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "cohort.preference_settings"))
    assert event.after["max_preferences"] == 6


BAD_SETTINGS = [
    ({"min_preferences": "7", "max_preferences": "6"}, "max_preferences", "The most cannot be fewer than the fewest."),
    ({"min_preferences": "0"}, "min_preferences", "Number must be between 1 and 30."),
    ({"max_preferences": "31"}, "max_preferences", "Number must be between 1 and 30."),
    ({"max_choices_per_supervisor": ""}, "max_choices_per_supervisor", "This field is required."),
    ({"preferences_deadline": "3 June"}, "preferences_deadline", "Not a valid datetime value."),
]


def test_bad_settings_answer_422_next_to_the_field_and_change_nothing(as_, cohort, coordinator):
    client = as_(coordinator)
    for change, field, message in BAD_SETTINGS:
        response = client.post(f"/cohorts/{cohort.id}/proposal-settings", data={**SETTINGS, **change})
        assert response.status_code == 422, change
        assert field_error(text(response), field) == message, change
    fresh(cohort)
    assert (cohort.min_preferences, cohort.max_preferences, cohort.preferences_deadline_at) == (5, 10, None)


def test_who_may_not_change_the_settings(as_, make, cohort, supervisor, student):
    for person in (supervisor, student, make.cohort(code="ELSE").staff[0].member):
        client = as_(person)
        assert client.get(f"/cohorts/{cohort.id}/proposal-settings").status_code == 403
        assert client.post(f"/cohorts/{cohort.id}/proposal-settings", data=SETTINGS).status_code == 403
    assert fresh(cohort).max_preferences == 10


def test_the_coordinator_sets_a_supervisors_load_limit(as_, make, cohort, coordinator, supervisor):
    make.project(cohort, owner=supervisor, capacity=3)
    client = as_(coordinator)
    page = text(client.get(f"/cohorts/{cohort.id}/supervisors"))
    assert "Stella Staff" in page
    url = f"/cohorts/{cohort.id}/supervisors"
    [limit] = [f for f in get_forms(client, url) if f.get("user_id") == str(supervisor.id)]
    assert limit.set("load_limit", "7").submit(client).status_code == 302
    assert cohort.staff_member(supervisor).load_limit == 7
    for bad in ("-1", "51", "lots", "2.5"):
        response = client.post(url, data={"user_id": supervisor.id, "load_limit": bad})
        assert response.status_code == 422, bad
        assert any("whole number from 0 to 50" in f for f in flashes(text(response)))
    assert fresh(cohort).staff_member(supervisor).load_limit == 7
    assert client.post(url, data={"user_id": supervisor.id, "load_limit": ""}).status_code == 302
    assert fresh(cohort).staff_member(supervisor).load_limit is None  # back to the profile's limit
    assert client.post(url, data={"user_id": make.staff().id, "load_limit": "3"}).status_code == 404


def test_who_may_not_set_load_limits(as_, make, cohort, supervisor, student):
    for person in (supervisor, student, make.cohort(code="ELSE").staff[0].member):
        client = as_(person)
        assert client.get(f"/cohorts/{cohort.id}/supervisors").status_code == 403
        assert client.post(f"/cohorts/{cohort.id}/supervisors",
                           data={"user_id": supervisor.id, "load_limit": "9"}).status_code == 403
    assert fresh(cohort).staff_member(supervisor).load_limit is None


def test_my_projects_shows_offered_places_against_the_load_limit(as_, make, cohort, supervisor, student):
    for _ in range(12):
        make.student(cohort)
    make.project(cohort, owner=supervisor, capacity=1, title="Mine")
    page = main_text(text(as_(supervisor).get(f"/cohorts/{cohort.id}/my-projects")))
    assert "Mine" in page and "Load limit: 4 students" in page
    assert "Places offered (approved or awaiting approval): 1" in page and "please offer more places" in page
    assert as_(student).get(f"/cohorts/{cohort.id}/my-projects").status_code == 403


def test_after_publication_a_students_own_proposal_is_not_approved_behind_their_allocation(
        as_, make, cohort, coordinator):
    # Found when the app was tried: the approval was accepted silently while the student stayed
    # allocated to another project.
    from projectflow.matching import services as matching
    from tests.matching.conftest import build_round, solve

    round_ = build_round(make, cohort, coordinator)
    proposal = make.proposal(cohort, student=round_.students[0], supervisor=round_.kim, state="submitted")
    matching.publish_run(solve(cohort, coordinator), by=coordinator)
    db.session.commit()

    client = as_(coordinator)
    response = get_form(client, f"/projects/{proposal.id}", submit="Approve").submit(client)

    assert response.status_code == 409
    assert "The allocation is published" in text(response) and "Ann" in text(response)
    assert fresh(proposal).state == "submitted"


def test_the_overview_orders_by_total_then_first_choices_and_tells_alike_titles_apart(
        as_, make, cohort, coordinator):
    """Titles that begin alike keep their ends beside the bars (whole on hover); the most ranked project
    comes first even with fewer first choices; a tie on the total goes to the one ranked first more."""
    cohort.min_preferences, cohort.max_preferences, cohort.max_choices_per_supervisor = 1, 3, 3
    stem = "Machine learning methods for the detection of "
    broad, first, tied = (make.project(cohort, title=stem + end, capacity=5)
                          for end in ("coastal erosion", "river flooding", "urban heat islands"))
    for choices in ([first, broad], [first, broad], [tied, broad], [broad, tied]):
        make.preferences(cohort, make.student(cohort), choices)
    # totals: broad 4 (1 first), first 2 (2 first), tied 2 (1 first)
    page = text(as_(coordinator).get(f"/cohorts/{cohort.id}/preferences/overview"))
    chart = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    labels = re.findall(r'data-project="(\d+)"><title>([^<]*)</title>([^<]*)</text>', chart)
    assert [int(pid) for pid, _, _ in labels] == [broad.id, first.id, tied.id]
    assert [full for _, full, _ in labels] == [broad.title, first.title, tied.title]
    shown = [label for _, _, label in labels]
    assert len(set(shown)) == 3 and all(len(label) <= 36 for label in shown), shown
    assert "erosion" in shown[0] and "flooding" in shown[1]


@pytest.mark.parametrize("titles, width", [
    (["Short", "Also short"], 36),
    (["A" * 50, "A" * 50], 20),
    (["Same beginning and a long middle part that ends X", "Same beginning and a long middle part that ends Y"], 20),
])
def test_short_titles_are_within_the_width_and_all_different(titles, width):
    from projectflow.proposals.preferences import short_titles
    labels = short_titles(titles, width)
    assert len(set(labels)) == len(titles) and all(len(label) <= width for label in labels), labels


def test_the_proposal_form_preselects_no_supervisor(as_, cohort, supervisor, student):
    # Found when the app was tried: the first member of staff was pre-selected, and sent unread.
    client = as_(student)
    form = get_form(client, f"/cohorts/{cohort.id}/proposal/new", has_field="aims")
    assert form.get("supervisor") == ""
    for name, value in PROPOSAL_FORM.items():
        form.set(name, value)

    response = form.submit(client)

    assert response.status_code == 422
    assert field_error(text(response), "supervisor") == "Choose the member of staff who agreed to supervise you."
    assert count(Project) == 0
    assert form.select("supervisor", str(supervisor.id)).submit(client).status_code == 302
