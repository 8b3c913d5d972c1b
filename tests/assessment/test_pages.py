"""The marker's queue and mark sheet pages, and the coordinator's marking overview, as the browser
sends them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from projectflow.assessment import services
from projectflow.assessment.models import DRAFT, FIRST, SECOND, SUBMITTED, MarkSheet
from projectflow.extensions import db
from tests.forms import get_form
from tests.html import flashes


@pytest.fixture
def opened(marking, coordinator):
    services.open_marking(marking.components["report"], by=coordinator)
    db.session.commit()
    student = db.session.scalars(select(MarkSheet).where(MarkSheet.role == SECOND)).first().student
    marking.first, marking.second = (
        db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == student.id, MarkSheet.role == role)).one()
        for role in (FIRST, SECOND))
    marking.student = student
    return marking


def fill(form, sheet, marks, comment="Sound work."):
    for c, m in zip(sheet.rubric.criteria_for(sheet.role), marks):
        form.set(f"mark_{c.id}", "" if m is None else str(m))
        form.set(f"comment_{c.id}", comment)
    return form


def test_the_coordinator_sets_up_and_opens_marking_from_the_overview(make, cohort, coordinator, login, timeline):
    client = login(coordinator)
    url = f"/cohorts/{cohort.id}/marking"
    form = get_form(client, url, submit="Set up marking with the standard components")
    response = form.submit(client, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Final report" in page and "75%" in page
    # Without a published allocation, marking cannot open: said, with a 409, nothing made.
    form = get_form(client, url, action=next(a for a in [f.action for f in __import__("tests.forms", fromlist=["get_forms"]).get_forms(client, url)] if a.endswith("/open")))
    response = form.submit(client)
    assert response.status_code == 409 and "once the allocation is published" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(MarkSheet.id))) == 0


def test_a_marker_saves_a_draft_and_submits_through_the_page(opened, login):
    r = opened
    client = login(r.first.marker)
    queue = client.get("/marking").get_data(as_text=True)
    assert f"/marking/sheets/{r.first.id}" in queue and r.student.name in queue  # the supervisor knows their student
    url = f"/marking/sheets/{r.first.id}"
    form = fill(get_form(client, url, has_field="overall_comment"), r.first, [70, 71, None, "", ""])
    response = form.submit(client, submit="Save draft")
    assert response.status_code == 302
    db.session.refresh(r.first)
    assert r.first.state == DRAFT and r.first.marks[1].mark == Decimal("71.00")
    # The page shows what was saved, and submitting an incomplete sheet says what is missing.
    form = get_form(client, url, has_field="overall_comment")
    assert form.get(f"mark_{r.first.rubric.criteria[1].id}") == "71.00"
    response = form.submit(client, submit="Submit marks")
    assert response.status_code == 422 and "Results, evaluation and critical analysis: give a mark" in response.get_data(as_text=True)
    form = fill(get_form(client, url, has_field="overall_comment"), r.first, [70, 71, 65, 60, 80])
    form.set("overall_comment", "A careful, well-evaluated project.")
    response = form.submit(client, submit="Submit marks")
    assert response.status_code == 302 and response.headers["Location"].endswith("/marking")
    db.session.refresh(r.first)
    assert r.first.state == SUBMITTED and r.first.mark == Decimal("69.10")  # (20*70 + 35*71 + 25*65 + 10*60 + 10*80) / 100


def test_the_second_marker_sees_a_candidate_number_and_nothing_of_the_first_sheet(opened, login):
    r = opened
    sheet = r.first
    services.save_sheet(sheet, [services.CriterionEntry(c.id, None, Decimal(70), "First marker's secret comment")
                                for c in sheet.rubric.criteria_for(FIRST)],
                        overall_comment="First marker's overall", private_note="note to second", by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()
    client = login(r.second.marker)
    queue = client.get("/marking").get_data(as_text=True)
    assert r.student.name not in queue and "Candidate " in queue
    page = client.get(f"/marking/sheets/{r.second.id}").get_data(as_text=True)
    assert r.student.name not in page and "secret comment" not in page and "note to second" not in page
    for path in (f"/marking/sheets/{r.first.id}", f"/marking/sheets/{r.first.id}/work"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "secret" not in response.get_data(as_text=True)


def test_two_tabs_never_overwrite_each_other_silently(opened, login):
    r = opened
    client = login(r.first.marker)
    url = f"/marking/sheets/{r.first.id}"
    tab_one = fill(get_form(client, url, has_field="overall_comment"), r.first, [70])
    tab_two = fill(get_form(client, url, has_field="overall_comment"), r.first, [55], comment="Weak aims.")
    assert tab_one.submit(client, submit="Save draft").status_code == 302
    response = tab_two.submit(client, submit="Save draft")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "the saved mark is 70.00, yours is 55.00" in page and "Weak aims." in page  # theirs kept in the form
    db.session.refresh(r.first)
    assert r.first.marks[0].mark == Decimal("70.00")
    # Saving again from the page they were shown keeps theirs, knowingly.
    from tests.forms import parse_forms
    form = next(f for f in parse_forms(page, url) if f.has("overall_comment"))
    assert form.submit(client, submit="Save draft").status_code == 302
    db.session.refresh(r.first)
    assert r.first.marks[0].mark == Decimal("55.00")


def test_autosave_answers_json_with_the_new_version(opened, login):
    r = opened
    client = login(r.first.marker)
    form = fill(get_form(client, f"/marking/sheets/{r.first.id}", has_field="overall_comment"), r.first, [64.5])
    response = form.submit(client, submit="Save draft", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json["saved"] and response.json["version"] == 2
    bad = fill(get_form(client, f"/marking/sheets/{r.first.id}", has_field="overall_comment"), r.first, ["64.555"])
    response = bad.submit(client, submit="Save draft", headers={"Accept": "application/json"})
    assert response.status_code == 422 and not response.json["saved"]


@pytest.mark.parametrize("value, message", [("abc", "is not a mark"), ("100.5", "not a mark from 0 to 100"),
                                            ("70.123", "more than two decimals")])
def test_a_bad_mark_is_refused_next_to_its_field_and_nothing_is_lost(opened, login, value, message):
    r = opened
    client = login(r.first.marker)
    url = f"/marking/sheets/{r.first.id}"
    fill(get_form(client, url, has_field="overall_comment"), r.first, [66]).submit(client, submit="Save draft")
    form = fill(get_form(client, url, has_field="overall_comment"), r.first, [value])
    response = form.submit(client, submit="Save draft")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.refresh(r.first)
    assert r.first.marks[0].mark == Decimal("66.00")


def test_the_coordinator_reopens_a_sheet_from_its_page(opened, login, coordinator):
    r = opened
    # A sheet of a student the coordinator does not mark (marking one, they would be blind to it).
    sheet = next(s for s in db.session.scalars(select(MarkSheet).where(MarkSheet.role == FIRST))
                 if coordinator.id not in services.markers_of(s.component, s.student_id))
    r.student = sheet.student
    services.save_sheet(sheet, [services.CriterionEntry(c.id, None, Decimal(61), "ok")
                                for c in sheet.rubric.criteria_for(FIRST)],
                        overall_comment="Fine.", private_note="", by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()
    client = login(coordinator)
    assert r.student.name in client.get(f"/cohorts/{r.cohort.id}/marking").get_data(as_text=True)
    form = get_form(client, f"/marking/sheets/{sheet.id}", has_field="reason")
    assert form.submit(client).status_code == 422
    form.set("reason", "Marks entered against the wrong criterion.")
    assert form.submit(client).status_code == 302
    db.session.refresh(sheet)
    assert sheet.state == DRAFT


def test_a_coordinator_who_second_marks_is_blind_like_any_marker(opened, login, coordinator):
    r = opened
    sheet = r.first
    services.save_sheet(sheet, [services.CriterionEntry(c.id, None, Decimal(58), "The supervisor's view")
                                for c in sheet.rubric.criteria_for(FIRST)],
                        overall_comment="Adequate.", private_note="", by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    r.second.marker_id = coordinator.id  # the coordinator second-marks this student
    db.session.commit()
    client = login(coordinator)
    assert client.get(f"/marking/sheets/{sheet.id}").status_code == 403
    assert client.get(f"/marking/sheets/{sheet.id}/work").status_code == 403
    overview = client.get(f"/cohorts/{r.cohort.id}/marking").get_data(as_text=True)
    assert "Submitted 58.00" not in overview and "Hidden: you mark this student too" in overview
    assert f'href="/marking/sheets/{sheet.id}"' not in overview


def test_the_coordinator_reassigns_an_overdue_sheet_and_the_new_marker_starts_clean(opened, as_, coordinator):
    from projectflow.core.audit import AuditEvent

    r = opened
    sheet = r.second
    if coordinator.id in services.markers_of(sheet.component, sheet.student_id):
        pytest.skip("the coordinator marks this student in this draw: another coordinator would reassign")
    services.save_sheet(sheet, [services.CriterionEntry(c.id, None, Decimal(52), "Half done")
                                for c in sheet.rubric.criteria_for(SECOND)[:1]],
                        overall_comment="", private_note="", by=sheet.marker)
    db.session.commit()
    new_marker = next(u for u in (r.lee, r.kim, r.nlp) if u.id not in services.markers_of(sheet.component, sheet.student_id)
                      and u.id not in {a for a in [r.first.marker_id]})
    client = as_(coordinator)
    url = f"/marking/sheets/{sheet.id}"
    form = get_form(client, url, action=f"{url}/reassign")
    form.select("marker", str(r.first.marker_id))
    form.set("reason", "Ill")
    response = form.submit(client)
    assert response.status_code == 422 and "marks this work in another role" in response.get_data(as_text=True)
    form.select("marker", str(new_marker.id))
    assert form.submit(client).status_code == 302
    db.session.refresh(sheet)
    assert sheet.replaced_at is not None
    # The same form sent again (a second click): told it is done, nothing changed.
    again = form.submit(client)
    assert again.status_code == 302
    assert flashes(client.get(again.location).get_data(as_text=True))[-1] == (
        "This sheet was reassigned already: nothing changed.")
    fresh = db.session.scalars(select(MarkSheet).where(MarkSheet.student_id == sheet.student_id,
                                                       MarkSheet.role == SECOND, MarkSheet.replaced_at.is_(None))).one()
    assert fresh.marker_id == new_marker.id and fresh.state == "not_started" and not fresh.marks
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assessment.sheet_reassigned")).one()
    assert "Half done" in str(event.before) and event.after["reason"] == "Ill"
    # The old marker no longer has it; the new one does.
    assert f"/marking/sheets/{sheet.id}\"" not in as_(sheet.marker).get("/marking").get_data(as_text=True)
    assert f"/marking/sheets/{fresh.id}\"" in as_(new_marker).get("/marking").get_data(as_text=True)


def test_a_coordinator_who_marks_does_not_read_the_other_sheet_in_the_audit_log(opened, as_, coordinator):
    from projectflow.core.audit import AuditEvent

    r = opened
    sheet = r.first
    services.save_sheet(sheet, [services.CriterionEntry(c.id, None, Decimal("57.25"), "ok")
                                for c in sheet.rubric.criteria_for(FIRST)],
                        overall_comment="Adequate.", private_note="", by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    r.second.marker_id = coordinator.id
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assessment.sheet_submitted")).one()
    client = as_(coordinator, "coordinator")
    log = client.get("/audit/").get_data(as_text=True)
    assert "57.25" not in log and f"/audit/{event.id}\"" not in log
    assert client.get(f"/audit/{event.id}").status_code == 403
    # Once the coordinator's own sheet is in, the log shows it.
    services.save_sheet(r.second, [services.CriterionEntry(c.id, None, Decimal(58), "ok")
                                   for c in r.second.rubric.criteria_for(SECOND)],
                        overall_comment="Adequate.", private_note="", by=coordinator)
    services.submit_sheet(r.second, by=coordinator)
    db.session.commit()
    assert client.get(f"/audit/{event.id}").status_code == 200


def test_the_overview_filters_sheets_by_component_and_state(opened, as_, coordinator):
    r = opened
    services.open_marking(r.components["independence"], by=coordinator)
    db.session.commit()
    client = as_(coordinator, "coordinator")
    url = f"/cohorts/{r.cohort.id}/marking"
    form = get_form(client, url, has_field="state")
    form.select("component", str(r.components["independence"].id))
    sheets = form.submit(client).get_data(as_text=True).split('id="sheets"', 1)[1]
    assert "Independence and conduct</td>" in sheets and "Final report</td>" not in sheets
    form.select("state", "submitted")
    page = form.submit(client).get_data(as_text=True)
    assert "No sheet matches these filters." in page
    assert client.get(f"{url}?state=nonsense&component=abc").status_code == 200


def test_a_named_moderator_finds_the_moderation_page_from_their_queue(marking, as_):
    from projectflow.cohorts.models import CohortStaff

    member = db.session.scalars(select(CohortStaff).where(CohortStaff.user_id == marking.kim.id)).one()
    member.is_moderator = True
    db.session.commit()
    queue = as_(marking.kim).get("/marking").get_data(as_text=True)
    assert f"/cohorts/{marking.cohort.id}/moderation" in queue
    assert f"/cohorts/{marking.cohort.id}/moderation" not in as_(marking.lee).get("/marking").get_data(as_text=True)
