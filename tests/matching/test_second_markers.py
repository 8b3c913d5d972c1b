"""Second markers of the published allocation: chosen by the engine, adjusted, conflicts, published."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.matching import second_markers, services
from projectflow.matching.models import MarkerAssignment
from projectflow.solvers.markers import validate_markers
from tests.forms import get_form

from .conftest import solve


@pytest.fixture
def published(round_, make, smtp_server):
    """The round's allocation, published, with two more members of staff who could mark."""
    round_.nlp = make.staff(round_.cohort, name="Dr Nadia", expertise=("graphs", "transformers"), max_load=3)
    round_.vic = make.staff(round_.cohort, name="Dr Victor", expertise=("proteins",), max_load=3)
    round_.p1.keywords = ["graphs", "transformers"]
    round_.p3.keywords = ["proteins"]
    db.session.commit()
    run = solve(round_.cohort, round_.coordinator)
    services.publish_run(run, by=round_.coordinator)
    db.session.commit()
    round_.run = run
    return round_


def markers(r):
    return {a.allocation.student.name: a.marker for a in db.session.scalars(select(MarkerAssignment))}


def test_markers_are_never_supervisors_and_follow_expertise(published):
    r = published
    result = second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    db.session.commit()
    assert result.status == "optimal" and result.verdict.ok and not result.unassigned
    rows = db.session.scalars(select(MarkerAssignment)).all()
    assert len(rows) == len(r.run.allocations)
    for m in rows:
        assert m.marker_id not in m.allocation.project.supervisor_ids()
        if m.allocation.project_id == r.p1.id:
            assert m.marker.name == "Dr Nadia" and m.overlap == 2
        if m.allocation.project_id == r.p3.id:
            assert m.marker.name == "Dr Victor" and m.overlap == 1
    # What was stored is what the engine's independent validator accepts.
    assert validate_markers(second_markers.marker_problem(r.cohort), result).ok
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "second_markers.assigned"))


def test_a_declared_conflict_is_respected_and_removes_a_broken_assignment(published):
    r = published
    second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    db.session.commit()
    on_p1 = next(a for a in r.run.allocations if a.project_id == r.p1.id)
    second_markers.declare_conflict(r.cohort, r.nlp, on_p1.student, "Her aunt.", by=r.coordinator)
    db.session.commit()
    assert on_p1.student.name not in markers(r)  # removed, to be chosen again
    second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    db.session.commit()
    assert markers(r)[on_p1.student.name].name not in ("Dr Nadia", "Dr Lee")
    with pytest.raises(ValidationFailed, match="already recorded"):
        second_markers.declare_conflict(r.cohort, r.nlp, on_p1.student, "Again.", by=r.coordinator)


def test_a_marker_chosen_by_hand_is_checked_and_kept_when_the_engine_runs_again(published):
    r = published
    second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    db.session.commit()
    on_p3 = next(a for a in r.run.allocations if a.project_id == r.p3.id)
    with pytest.raises(ValidationFailed, match="supervises this project"):
        second_markers.change_marker(on_p3, r.kim, by=r.coordinator)
    second_markers.change_marker(on_p3, r.lee, by=r.coordinator)
    db.session.commit()
    second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    db.session.commit()
    kept = markers(r)[on_p3.student.name]
    assert kept.name == "Dr Lee"


def test_a_marker_at_their_maximum_is_refused(published, make):
    r = published
    second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    db.session.commit()
    tired = make.staff(r.cohort, name="Dr Tired", max_load=0)
    on_p1 = next(a for a in r.run.allocations if a.project_id == r.p1.id)
    with pytest.raises(ValidationFailed, match="their maximum"):
        second_markers.change_marker(on_p1, tired, by=r.coordinator)


def test_publishing_tells_each_marker_once_and_freezes_the_engine(published):
    r = published
    with pytest.raises(InvalidState, match="no second marker yet"):
        second_markers.publish_second_markers(r.cohort, by=r.coordinator)
    second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    db.session.execute(Notification.__table__.delete())
    told = second_markers.publish_second_markers(r.cohort, by=r.coordinator)
    db.session.commit()
    people = {m.marker_id for m in db.session.scalars(select(MarkerAssignment))}
    notes = db.session.scalars(select(Notification)).all()
    assert told == len(people) and {n.user_id for n in notes} == people
    assert all("second marker of" in n.message for n in notes)
    for uid in people:
        marker = db.session.get(type(r.lee), uid)
        assert second_markers.marked_by(r.cohort, marker)
    with pytest.raises(InvalidState, match="published"):
        second_markers.assign_second_markers(r.cohort, by=r.coordinator)


def test_second_markers_need_a_published_allocation_and_a_coordinator(round_):
    with pytest.raises(InvalidState, match="Publish the allocation first"):
        second_markers.assign_second_markers(round_.cohort, by=round_.coordinator)
    with pytest.raises(NotAllowed):
        second_markers.assign_second_markers(round_.cohort, by=round_.lee)


def test_the_markers_page_and_who_may_not_see_it(published, client, login):
    r = published
    base = f"/cohorts/{r.cohort.id}/allocation/markers"
    client_ = login(r.coordinator, role="coordinator")
    page = client_.get(base)
    assert page.status_code == 200 and "Choose second markers" in page.get_data(as_text=True)
    response = get_form(client_, base, submit="Choose second markers").submit(client_)
    assert response.status_code == 302
    body = client_.get(base).get_data(as_text=True)
    assert "Second markers chosen for 3 projects" in body and "Dr Nadia" in body
    on_p3 = next(a for a in r.run.allocations if a.project_id == r.p3.id)
    refused = client_.post(f"{base}/{on_p3.id}", data={"marker": r.kim.id})
    assert refused.status_code == 422 and "supervises this project" in refused.get_data(as_text=True)
    bad = client_.post(f"{base}/conflicts", data={"staff": r.nlp.id, "student": r.students[0].id, "reason": ""})
    assert bad.status_code == 422
    client_.post("/logout")
    for person in (r.lee, r.students[0]):
        other = login(person)
        assert other.get(base).status_code == 403
        assert other.post(f"{base}/assign").status_code == 403
        other.post("/logout")


def _on(r, project):
    return next(a for a in r.run.allocations if a.project_id == project.id)


def test_the_markers_page_does_not_repeat_the_staff_list_in_every_row(published, client, login):
    """The list was 14.7 MB at 800 students: each row carried its own list of every member of staff."""
    r = published
    second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    db.session.commit()
    base = f"/cohorts/{r.cohort.id}/allocation/markers"
    body = login(r.coordinator, role="coordinator").get(base).get_data(as_text=True)
    assert 'name="marker"' not in body
    # The conflict form's lists of staff and students, once each, whatever the number of projects.
    assert body.count("<option") <= len(r.cohort.staff) + len(r.cohort.enrolments) + 3
    for a in r.run.allocations:
        assert f'href="{base}/{a.id}"' in body  # each project's "Change" link


def test_one_project_s_second_marker_is_changed_on_its_own_page(published, client, login, make):
    r = published
    tired = make.staff(r.cohort, name="Dr Tired", expertise=("graphs",), max_load=0)
    second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    on_p1 = _on(r, r.p1)
    second_markers.declare_conflict(r.cohort, r.vic, on_p1.student, "Her uncle.", by=r.coordinator)
    db.session.commit()
    url = f"/cohorts/{r.cohort.id}/allocation/markers/{on_p1.id}"
    client_ = login(r.coordinator, role="coordinator")
    page = client_.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and on_p1.student.name in text and "Graph transformers" in text
    form = get_form(client_, url, has_field="marker")
    offered = [o.label for o in form._named("marker")[0].options]
    # Only who may mark it, the closest expertise first: never its supervisor, the conflicted or the full.
    assert offered[0].startswith("Dr Nadia") and "2 shared keywords" in offered[0]
    assert not any(name in label for label in offered for name in ("Dr Lee", "Dr Victor", "Dr Tired"))
    assert "supervises this project" in text and "conflict of interest" in text and "Dr Tired" in text
    form.select("marker", str(r.kim.id))
    response = form.submit(client_)
    assert response.status_code == 302 and response.headers["Location"].endswith("/allocation/markers")
    assert markers(r)[on_p1.student.name].name == "Dr Kim"
    # Sent anyway (a stale page, a hand-made request): refused on the same page, next to the field.
    refused = client_.post(url, data={"marker": r.lee.id, "csrf_token": form.get("csrf_token")})
    assert refused.status_code == 422 and "supervises this project" in refused.get_data(as_text=True)
    assert markers(r)[on_p1.student.name].name == "Dr Kim"
    client_.post("/logout")
    other = login(r.lee)
    assert other.get(url).status_code == 403
    other.post("/logout")


def test_the_markers_list_is_paged_and_filtered(published, client, login, monkeypatch):
    r = published
    second_markers.assign_second_markers(r.cohort, by=r.coordinator)
    on_p1, on_p3 = _on(r, r.p1), _on(r, r.p3)
    db.session.delete(db.session.scalar(select(MarkerAssignment).where(MarkerAssignment.allocation_id == on_p1.id)))
    second_markers.change_marker(on_p3, r.lee, by=r.coordinator)
    db.session.commit()
    base = f"/cohorts/{r.cohort.id}/allocation/markers"
    client_ = login(r.coordinator, role="coordinator")

    def rows(query=""):
        body = client_.get(f"{base}{query}").get_data(as_text=True)
        return {a.student.name for a in r.run.allocations if f'href="{base}/{a.id}"' in body}, body

    everyone = {a.student.name for a in r.run.allocations}
    assert rows()[0] == everyone
    shown, body = rows("?show=none")
    assert shown == {on_p1.student.name} and f"{len(everyone) - 1} of {len(everyone)} projects" in body
    assert rows("?show=by_hand")[0] == {on_p3.student.name}
    assert rows(f"?marker={r.lee.id}")[0] == {on_p3.student.name}
    assert rows(f"?supervisor={r.kim.id}")[0] == {on_p3.student.name}
    assert rows("?q=protein")[0] == {on_p3.student.name}
    assert rows("?q=dr+lee")[0] == {a.student.name for a in r.run.allocations if a.supervisor_id == r.lee.id} \
        | {on_p3.student.name}
    assert rows("?show=nonsense&marker=x&page=abc")[0] == everyone  # what is not understood filters nothing
    monkeypatch.setattr(second_markers, "MARKERS_PER_PAGE", 2)
    first, body = rows()
    second, _ = rows("?page=2")
    assert len(first) == 2 and first | second == everyone and not first & second
    assert 'aria-label="Pages"' in body
