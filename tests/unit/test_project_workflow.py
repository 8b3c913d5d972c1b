"""The life of a project: a staff project's approval workflow, a student's own proposal, supervisor load,
the people told at each step, and the safety of the description people write."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.proposals import services
from projectflow.proposals.models import Preference, Project
from projectflow.proposals.preferences import preference_list, students_without_preferences


def events(project: Project) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "projects", AuditEvent.object_id == project.id).order_by(AuditEvent.id)))


def messages_to(user) -> list[str]:
    return list(db.session.scalars(select(Notification.message).where(Notification.user_id == user.id)))


# --- a staff project: every allowed step ------------------------------------------------------------

STAFF_STEPS = {
    # name: (who acts, the call, what the service needs besides the person)
    "submit": ("owner", lambda p, by: services.submit_project(p, by=by)),
    "approve": ("coordinator", lambda p, by: services.approve_project(p, by=by)),
    "request_changes": ("coordinator", lambda p, by: services.request_changes(p, by=by, comment="More data.")),
    "reject": ("coordinator", lambda p, by: services.reject_project(p, by=by, comment="Out of scope.")),
    "withdraw": ("owner", lambda p, by: services.withdraw_project(p, by=by, reason="I am on leave.")),
}


@pytest.mark.parametrize("start, step, end, action", [
    ("draft", "submit", "submitted", "project.submitted"),
    ("submitted", "approve", "approved", "project.approved"),
    ("submitted", "request_changes", "changes_requested", "project.changes_requested"),
    ("submitted", "reject", "rejected", "project.rejected"),
    ("changes_requested", "submit", "submitted", "project.submitted"),
    ("approved", "withdraw", "withdrawn", "project.withdrawn"),
])
def test_each_step_of_a_staff_project_moves_it_and_is_audited_with_before_and_after(
        make, cohort, coordinator, supervisor, start, step, end, action):
    project = make.project(cohort, owner=supervisor, state=start)
    who, call = STAFF_STEPS[step]
    actor = supervisor if who == "owner" else coordinator
    already = len(events(project))

    call(project, actor)
    db.session.flush()

    assert project.state == end
    [event] = events(project)[already:]
    assert event.action == action
    assert event.actor_id == actor.id and event.cohort_id == cohort.id
    assert event.before == {"state": start}
    assert event.after["state"] == end


def test_a_new_project_is_a_draft_with_its_creation_audited(cohort, supervisor):
    project = services.create_project(cohort, owner=supervisor, by=supervisor, values={
        "title": "Graph neural networks for traffic", "description": "Forecast **flows**.",
        "keywords": ["GNN ", "gnn", "Traffic"], "capacity": 2, "is_external": False})
    db.session.flush()
    assert project.state == "draft"
    assert project.keywords == ["gnn", "traffic"]
    [event] = events(project)
    assert event.action == "project.created" and event.before is None
    assert event.after["title"] == "Graph neural networks for traffic" and event.after["state"] == "draft"


def test_a_coordinator_may_withdraw_an_approved_project_too(make, cohort, coordinator):
    project = make.project(cohort, state="approved")
    services.withdraw_project(project, by=coordinator, reason="The lab closed.")
    assert project.state == "withdrawn"
    assert project.comments[-1].body == "The lab closed." and project.comments[-1].state == "withdrawn"


def test_returning_a_project_keeps_the_comment_with_the_step(make, cohort, coordinator, supervisor):
    project = make.project(cohort, owner=supervisor, state="submitted")
    services.request_changes(project, by=coordinator, comment="  Name the data set.  ")
    [comment] = project.comments
    assert (comment.body, comment.state, comment.author_id) == ("Name the data set.", "changes_requested",
                                                                coordinator.id)
    assert events(project)[-1].after == {"state": "changes_requested", "comment": "Name the data set."}


# --- ... and every refused one -----------------------------------------------------------------------

@pytest.mark.parametrize("start, step", [
    ("submitted", "submit"), ("approved", "submit"), ("withdrawn", "submit"),
    ("draft", "approve"), ("approved", "approve"), ("changes_requested", "approve"), ("rejected", "approve"),
    ("draft", "request_changes"), ("approved", "request_changes"),
    ("draft", "reject"), ("changes_requested", "reject"),
    ("draft", "withdraw"), ("submitted", "withdraw"), ("rejected", "withdraw"), ("withdrawn", "withdraw"),
])
def test_a_step_from_the_wrong_state_is_refused_and_changes_nothing(
        make, cohort, coordinator, supervisor, start, step):
    project = make.project(cohort, owner=supervisor, state=start)
    who, call = STAFF_STEPS[step]
    already = len(events(project))
    with pytest.raises(InvalidState) as refused:
        call(project, supervisor if who == "owner" else coordinator)
    assert project.title in refused.value.message
    assert project.state == start
    assert len(events(project)) == already


@pytest.mark.parametrize("start, step, who", [
    ("draft", "submit", "other staff"), ("draft", "submit", "coordinator"), ("draft", "submit", "co-supervisor"),
    ("submitted", "approve", "owner"), ("submitted", "approve", "student"),
    ("submitted", "approve", "other coordinator"),
    ("submitted", "request_changes", "owner"), ("submitted", "reject", "other staff"),
    ("approved", "withdraw", "student"), ("approved", "withdraw", "co-supervisor"),
    ("approved", "withdraw", "other coordinator"),
])
def test_a_step_by_the_wrong_person_is_refused_and_changes_nothing(make, cohort, supervisor, start, step, who):
    co_supervisor = make.staff(cohort)
    project = make.project(cohort, owner=supervisor, state=start, co_supervisors=[co_supervisor])
    actor = {
        "other staff": lambda: make.staff(cohort),
        "coordinator": lambda: next(s.member for s in cohort.staff if s.is_coordinator),
        "student": lambda: make.student(cohort),
        "co-supervisor": lambda: co_supervisor,
        "owner": lambda: supervisor,
        "other coordinator": lambda: make.cohort(code="OTHER").staff[0].member,
    }[who]()
    already = len(events(project))
    with pytest.raises(NotAllowed):
        STAFF_STEPS[step][1](project, actor)
    assert project.state == start
    assert len(events(project)) == already


@pytest.mark.parametrize("step, start", [
    ("request_changes", "submitted"), ("reject", "submitted"), ("withdraw", "approved")])
@pytest.mark.parametrize("comment", ["", "   \n "])
def test_returning_rejecting_and_withdrawing_need_a_comment(make, cohort, coordinator, supervisor, step, start,
                                                            comment):
    project = make.project(cohort, owner=supervisor, state=start)
    calls = {
        "request_changes": lambda: services.request_changes(project, by=coordinator, comment=comment),
        "reject": lambda: services.reject_project(project, by=coordinator, comment=comment),
        "withdraw": lambda: services.withdraw_project(project, by=supervisor, reason=comment),
    }
    already = len(events(project))
    with pytest.raises(ValidationFailed):
        calls[step]()
    assert project.state == start
    assert len(events(project)) == already


def test_only_staff_of_the_cohort_offer_projects_in_it(make, cohort):
    outsider = make.staff()
    with pytest.raises(NotAllowed):
        services.create_project(cohort, owner=outsider, by=outsider, values={"title": "X", "description": "Y"})


def test_an_external_project_names_its_organisation(cohort, supervisor):
    with pytest.raises(ValidationFailed, match="organisation"):
        services.create_project(cohort, owner=supervisor, by=supervisor, values={
            "title": "With a bank", "description": "Fraud.", "is_external": True, "external_organisation": "  "})


def test_co_supervisors_must_be_staff_of_the_cohort(make, cohort, supervisor):
    outsider = make.staff()
    with pytest.raises(ValidationFailed):
        services.create_project(cohort, owner=supervisor, by=supervisor, co_supervisor_ids=[outsider.id],
                                values={"title": "X", "description": "Y"})


def test_an_edit_while_awaiting_approval_is_refused(make, cohort, supervisor):
    project = make.project(cohort, owner=supervisor, state="submitted", title="Before")
    with pytest.raises(NotAllowed):
        services.update_project(project, {"title": "After"}, by=supervisor)
    assert project.title == "Before"


def test_an_edit_is_audited_with_the_fields_before_and_after(make, cohort, supervisor):
    project = make.project(cohort, owner=supervisor, state="changes_requested", title="Before", capacity=1)
    services.update_project(project, {"title": "After", "capacity": 3}, by=supervisor)
    event = events(project)[-1]
    assert event.action == "project.updated"
    assert (event.before["title"], event.after["title"]) == ("Before", "After")
    assert (event.before["capacity"], event.after["capacity"]) == (1, 3)


# --- a student's own proposal -----------------------------------------------------------------------

def test_a_proposal_goes_to_the_named_supervisor_then_to_the_coordinator(make, cohort, coordinator, supervisor):
    student = make.student(cohort)
    project = services.propose_project(cohort, student=student, supervisor_id=supervisor.id, values={
        "title": "Bird song detection", "aims": "Detect.", "method": "CNNs.", "data_needed": "Xeno-canto.",
        "suitability": "I record birds.", "keywords": ["Audio"]})
    db.session.flush()
    assert (project.state, project.owner_id, project.proposed_by_id, project.capacity) == (
        "draft", supervisor.id, student.id, 1)

    services.send_to_supervisor(project, by=student)
    assert project.state == "with_supervisor"
    services.respond_as_supervisor(project, accept=True, by=supervisor)
    assert project.state == "submitted"
    services.approve_project(project, by=coordinator)
    assert project.state == "approved"

    assert [(e.action, e.before, e.after and e.after.get("state")) for e in events(project)] == [
        ("project.proposed", None, "draft"),
        ("project.sent_to_supervisor", {"state": "draft"}, "with_supervisor"),
        ("project.accepted_by_supervisor", {"state": "with_supervisor"}, "submitted"),
        ("project.approved", {"state": "submitted"}, "approved"),
    ]
    assert any("fixed pair" in m for m in messages_to(student))


def test_a_declined_proposal_can_be_edited_and_sent_to_another_supervisor(make, cohort, supervisor):
    student = make.student(cohort)
    other = make.staff(cohort, name="Otto Other")
    project = make.proposal(cohort, student=student, supervisor=supervisor, state="with_supervisor")

    with pytest.raises(ValidationFailed):
        services.respond_as_supervisor(project, accept=False, by=supervisor, comment=" ")
    assert project.state == "with_supervisor"
    services.respond_as_supervisor(project, accept=False, by=supervisor, comment="My group is full.")
    assert project.state == "declined"
    assert any("My group is full." in m for m in messages_to(student))

    services.update_project(project, {"aims": "Sharper aims."}, by=student)
    services.change_proposed_supervisor(project, other.id, by=student)
    services.send_to_supervisor(project, by=student)
    assert (project.state, project.owner_id, project.aims) == ("with_supervisor", other.id, "Sharper aims.")
    assert [e.action for e in events(project)][-4:] == [
        "project.declined_by_supervisor", "project.updated", "project.updated", "project.sent_to_supervisor"]
    assert events(project)[-2].before["owner_id"] == supervisor.id
    assert events(project)[-2].after["owner_id"] == other.id
    # The first supervisor no longer decides; the new one does.
    with pytest.raises(NotAllowed):
        services.respond_as_supervisor(project, accept=True, by=supervisor)
    services.respond_as_supervisor(project, accept=True, by=other)
    assert project.state == "submitted"


def test_only_the_named_supervisor_answers_and_only_while_it_waits_for_them(make, cohort, supervisor):
    project = make.proposal(cohort, supervisor=supervisor, state="with_supervisor")
    for stranger in (make.staff(cohort), project.proposed_by, next(s.member for s in cohort.staff if s.is_coordinator)):
        with pytest.raises(NotAllowed):
            services.respond_as_supervisor(project, accept=True, by=stranger)
    draft = make.proposal(cohort, supervisor=supervisor, state="draft")
    with pytest.raises(InvalidState):
        services.respond_as_supervisor(draft, accept=True, by=supervisor)
    assert (project.state, draft.state) == ("with_supervisor", "draft")


def test_only_the_proposing_student_sends_it_and_only_from_draft_or_declined(make, cohort, supervisor):
    project = make.proposal(cohort, supervisor=supervisor, state="draft")
    for stranger in (make.student(cohort), supervisor):
        with pytest.raises(NotAllowed):
            services.send_to_supervisor(project, by=stranger)
    services.send_to_supervisor(project, by=project.proposed_by)
    with pytest.raises(InvalidState):
        services.send_to_supervisor(project, by=project.proposed_by)


def test_the_supervisor_can_be_changed_only_before_one_accepted(make, cohort, supervisor):
    other = make.staff(cohort)
    project = make.proposal(cohort, supervisor=supervisor, state="submitted")
    with pytest.raises(NotAllowed):
        services.change_proposed_supervisor(project, other.id, by=project.proposed_by)
    assert project.owner_id == supervisor.id


def test_a_student_has_only_one_open_proposal(make, cohort, supervisor):
    student = make.student(cohort)
    values = {"title": "Second idea", "aims": "a", "method": "m", "data_needed": "d", "suitability": "s"}
    for state in ("draft", "with_supervisor", "declined", "submitted", "approved"):
        project = make.proposal(cohort, student=student, supervisor=supervisor, state=state)
        with pytest.raises(InvalidState, match=re.escape(project.title)):
            services.propose_project(cohort, student=student, supervisor_id=supervisor.id, values=values)
        db.session.delete(project)
        db.session.commit()
    make.proposal(cohort, student=student, supervisor=supervisor, state="rejected")
    fresh = services.propose_project(cohort, student=student, supervisor_id=supervisor.id, values=values)
    assert fresh.state == "draft"


def test_only_students_of_the_cohort_propose_and_only_with_its_staff(make, cohort, supervisor):
    values = {"title": "Idea", "aims": "a", "method": "m", "data_needed": "d", "suitability": "s"}
    outsider = make.student(make.cohort(code="ELSE"))
    with pytest.raises(NotAllowed):
        services.propose_project(cohort, student=outsider, supervisor_id=supervisor.id, values=values)
    with pytest.raises(ValidationFailed):
        services.propose_project(cohort, student=make.student(cohort), supervisor_id=make.staff().id, values=values)


def test_an_approved_proposal_is_a_fixed_pair_counted_against_the_supervisors_load(make, cohort, supervisor):
    student = make.student(cohort)
    waiting = make.student(cohort)
    make.proposal(cohort, student=waiting, supervisor=supervisor, state="submitted")
    make.project(cohort, owner=supervisor, capacity=2, state="approved")

    def load():
        return next(r for r in services.supervisor_loads(cohort) if r.member.user_id == supervisor.id)

    assert (load().offered, load().fixed_pairs) == (2, 0)
    assert student in [e.student for e in students_without_preferences(cohort)]
    make.proposal(cohort, student=student, supervisor=supervisor, state="approved")
    assert (load().offered, load().fixed_pairs) == (2, 1)
    missing = [e.student for e in students_without_preferences(cohort)]
    assert student not in missing
    assert waiting in missing  # accepted by the supervisor, but not approved yet


def test_supervisor_loads_share_the_students_in_proportion_to_load_limits(make, cohort, supervisor):
    # Limits: the coordinator's profile 5, Stella 4 (the factory's default), Big 11: 20 places.
    big = make.staff(cohort, max_load=11)
    for _ in range(10):
        make.student(cohort)
    make.project(cohort, owner=supervisor, capacity=2, state="submitted")
    make.project(cohort, owner=supervisor, capacity=1, state="draft")      # drafts do not count
    make.project(cohort, owner=supervisor, capacity=5, state="rejected")   # nor rejected ones
    rows = {r.member.user_id: r for r in services.supervisor_loads(cohort)}
    assert (rows[supervisor.id].offered, rows[supervisor.id].expected, rows[supervisor.id].load_limit) == (2, 2, 4)
    assert not rows[supervisor.id].short_of_expected
    assert (rows[big.id].expected, rows[big.id].short_of_expected) == (6, True)


@pytest.mark.parametrize("limit, ok", [(-1, False), (0, True), (50, True), (51, False), (None, True)])
def test_the_coordinator_sets_a_load_limit_between_0_and_50(make, cohort, coordinator, supervisor, limit, ok):
    member = cohort.staff_member(supervisor)
    if ok:
        services.set_load_limit(member, limit, by=coordinator)
        assert member.effective_load_limit == (4 if limit is None else limit)
    else:
        with pytest.raises(ValidationFailed):
            services.set_load_limit(member, limit, by=coordinator)
    with pytest.raises(NotAllowed):
        services.set_load_limit(member, 3, by=supervisor)


# --- who is told -------------------------------------------------------------------------------------

def _ranked_by(make, cohort, project, n):
    """``n`` students who put ``project`` first (the cohort asks for one choice at least)."""
    cohort.min_preferences = 1
    students = [make.student(cohort) for _ in range(n)]
    for s in students:
        make.preferences(cohort, s, [project])
    return students


def test_approval_tells_the_owner_and_submission_tells_the_coordinators(make, cohort, coordinator, supervisor):
    project = make.project(cohort, owner=supervisor, state="draft", title="Protein folding")
    services.submit_project(project, by=supervisor)
    assert messages_to(coordinator) == [f"{supervisor.name} submitted “Protein folding” for approval."]
    services.approve_project(project, by=coordinator)
    assert messages_to(supervisor) == ["“Protein folding” is approved. Students can now rank it."]
    assert len(messages_to(coordinator)) == 1  # nobody is told about their own step


def test_withdrawal_tells_the_students_who_ranked_it_and_nobody_else(make, cohort, supervisor):
    project = make.project(cohort, owner=supervisor, title="Robot football")
    ranked = _ranked_by(make, cohort, project, 2)
    bystander = make.student(cohort)
    services.withdraw_project(project, by=supervisor, reason="The robots broke.")
    db.session.flush()
    for student in ranked:
        [message] = messages_to(student)
        assert "Robot football" in message and "The robots broke." in message
    assert db.session.scalar(select(Notification.link).where(Notification.user_id == ranked[0].id)) == \
        f"/cohorts/{cohort.id}/preferences"
    assert messages_to(bystander) == []


def test_editing_an_approved_project_keeps_rankings_and_tells_who_ranked_it(make, cohort, supervisor):
    project = make.project(cohort, owner=supervisor, title="Robot football", capacity=1)
    [student] = _ranked_by(make, cohort, project, 1)
    bystander = make.student(cohort)
    plist = preference_list(cohort, student)
    version = plist.version

    services.update_project(project, {"capacity": 2, "description": "Now with drones."}, by=supervisor)
    db.session.flush()

    assert project.state == "approved"
    [message] = messages_to(student)
    assert "Robot football" in message and "capacity" in message and "description" in message
    assert messages_to(bystander) == []
    db.session.expire_all()
    assert [c.project_id for c in preference_list(cohort, student).choices] == [project.id]
    assert preference_list(cohort, student).version == version
    assert db.session.scalar(select(Preference.rank).where(Preference.project_id == project.id)) == 1


def test_an_edit_that_changes_nothing_tells_nobody(make, cohort, supervisor):
    project = make.project(cohort, owner=supervisor, title="Same")
    [student] = _ranked_by(make, cohort, project, 1)
    services.update_project(project, {"title": "Same"}, by=supervisor)
    db.session.flush()
    assert messages_to(student) == []


# --- the description is formatted text, never code ----------------------------------------------------

ATTACKS = [
    "<script>alert('x')</script>",
    "Hello <img src=x onerror=alert(1)> there",
    "[click me](javascript:alert(1))",
    "[click me](JaVaScRiPt:alert(1))",
    "[click me](  javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "![pic](x\" onerror=\"alert(1))",
    "<svg onload=alert(1)>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<div onclick=\"alert(1)\">**bold**</div>",
]


def description_html(page: str) -> str:
    match = re.search(r'<div class="project-description">(.*?)</div>\s*(?:<h2|</div>)', page, re.S)
    assert match, "the page shows no description"
    return match.group(1)


def test_no_script_reaches_the_project_page(make, cohort, supervisor, login):
    project = make.project(cohort, owner=supervisor, description="Intro **bold**.\n\n" + "\n\n".join(ATTACKS))
    page = login(supervisor).get(f"/projects/{project.id}").get_data(as_text=True)
    html = description_html(page)
    assert "<strong>bold</strong>" in html and "alert(1)" in html  # all of it is there, as text
    assert not re.search(r"<\s*(script|iframe|svg|img|div)", html, re.I)
    assert not re.search(r"<[^>]+\son\w+\s*=", html, re.I)            # no event handler attribute
    assert not re.search(r"<[^>]*\bhref\s*=\s*[\"']?\s*(javascript|data):", html, re.I)


def test_safe_formatting_and_ordinary_links_survive(make, cohort, supervisor, login):
    project = make.project(cohort, owner=supervisor, description=(
        "# Aim\n\n- one\n- two\n\nSee [the paper](https://example.org/p).\n\n`code`"))
    html = description_html(login(supervisor).get(f"/projects/{project.id}").get_data(as_text=True))
    assert "<h3>Aim</h3>" in html  # demoted below the page's own heading
    assert "<li>one</li>" in html and "<code>code</code>" in html
    assert re.search(r'<a href="https://example.org/p" rel="noopener noreferrer nofollow">the paper</a>', html)
