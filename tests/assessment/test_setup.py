"""Setting marking up, as the browser sends it: the marking rules page, the components, a rubric
(in place until frozen, then a new version) and copying another cohort's rubrics."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from projectflow.assessment import services, setup
from projectflow.assessment.models import DRAFT, FIRST, NOT_STARTED, MarkingRules, MarkSheet, Rubric
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from projectflow.milestones.services import create_timeline
from tests.forms import get_form, parse_forms
from tests.html import field_error


def rules_url(cohort):
    return f"/cohorts/{cohort.id}/marking/rules"


def rules_form(client, cohort):
    return get_form(client, rules_url(cohort), has_field="agree_within")


def rubric_url(component):
    return f"/cohorts/{component.cohort_id}/marking/components/{component.id}/rubric"


def events(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_the_rules_page_shows_every_setting_with_its_default_and_saves_a_change(marking, cohort, coordinator, login):
    client = login(coordinator)
    page = client.get(rules_url(cohort)).get_data(as_text=True)
    assert "straddle" not in page and "same band are agreed automatically" in page
    form = rules_form(client, cohort)
    assert [form.get(n) for n in ("agree_within", "third_marker_above", "discretion_below", "moderation_near_below",
                                  "moderation_sample_percent", "moderation_sample_min", "penalty_preset",
                                  "penalty_points", "penalty_days", "interim_feedback_working_days",
                                  "final_feedback_working_days", "exam_board_on")] == \
        ["5", "10", "2.5", "2", "10", "10", "per-day", "5", "5", "10", "30", ""]
    assert "UCL rule: -10 up to 2 working days" in page
    form.set("third_marker_above", "15").select("penalty_preset", "ucl").set("exam_board_on", "2027-10-20")
    response = form.submit(client, follow_redirects=True)
    assert response.status_code == 200 and "third marker above 10 → 15" in response.get_data(as_text=True)
    rules = db.session.get(MarkingRules, cohort.id)
    db.session.refresh(rules)
    assert (rules.third_marker_above, rules.penalty_preset, str(rules.exam_board_on)) == (Decimal(15), "ucl",
                                                                                          "2027-10-20")
    event = events("assessment.rules_changed")[-1]
    assert event.before == {"third_marker_above": "10.00", "penalty_preset": "per-day", "exam_board_on": None}
    assert event.after == {"third_marker_above": "15.00", "penalty_preset": "ucl", "exam_board_on": "2027-10-20"}


@pytest.mark.parametrize("name, value, message", [
    ("third_marker_above", "4", "give at least 5"),
    ("agree_within", "5.001", "At most two decimals."),
    ("agree_within", "NaN", "Give a number from 0 to 100."),
    ("agree_within", "1e309", "Give a number from 0 to 100."),
    ("agree_within", "", "Give a number."),
    ("discretion_below", "11", "from 0 to 10"),
    ("moderation_sample_percent", "101", "from 0 to 100"),
    ("final_feedback_working_days", "0", "from 1 to 120"),
    ("penalty_points", "-1", "from 0 to 100"),
])
def test_bad_rules_are_refused_next_to_the_field_and_nothing_is_saved(marking, cohort, coordinator, login, name,
                                                                     value, message):
    client = login(coordinator)
    before = len(events("assessment.rules_changed"))
    response = rules_form(client, cohort).set(name, value).submit(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in (field_error(page, name) or "")
    assert "nothing was saved" in page and len(events("assessment.rules_changed")) == before


def test_a_second_tab_is_told_the_rules_changed_meanwhile_and_can_keep_its_own(marking, cohort, coordinator, login):
    client = login(coordinator)
    first, second = rules_form(client, cohort), rules_form(client, cohort)
    assert first.set("agree_within", "4").submit(client).status_code == 302
    response = second.set("penalty_days", "3").submit(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "saved by someone else (or in another tab)" in page
    assert "Agree automatically within: the saved value is 4, yours is 5." in page
    rules = db.session.get(MarkingRules, cohort.id)
    db.session.refresh(rules)
    assert rules.penalty_days == 5 and rules.agree_within == Decimal(4)
    # The page keeps what they typed; saving it again keeps theirs.
    form = next(f for f in parse_forms(page, rules_url(cohort)) if f.has("agree_within"))
    assert form.get("penalty_days") == "3"
    assert form.submit(client).status_code == 302
    db.session.refresh(rules)
    assert (rules.penalty_days, rules.agree_within) == (3, Decimal(5))


def test_the_same_form_sent_twice_is_no_conflict(marking, cohort, coordinator, login):
    client = login(coordinator)
    form = rules_form(client, cohort).set("agree_within", "4")
    assert form.submit(client).status_code == 302
    assert form.submit(client).status_code == 302  # a double click: what it asks is saved already
    assert len(events("assessment.rules_changed")) == 1


def test_a_rule_that_decides_marks_agrees_submitted_marks_again(marking, cohort, coordinator, login):
    report = marking.components["report"]
    services.open_marking(report, by=coordinator)
    first, second = (db.session.scalars(select(MarkSheet).where(MarkSheet.component_id == report.id,
                                                                MarkSheet.role == role).order_by(MarkSheet.student_id))
                     .first() for role in ("first", "second"))
    for sheet, mark in ((first, 60), (second, 66)):
        criteria = sheet.rubric.criteria_for(sheet.role)
        services.save_sheet(sheet, [services.CriterionEntry(c.id, None, Decimal(mark), "ok") for c in criteria],
                            overall_comment="ok", private_note="", by=sheet.marker)
        services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()
    from projectflow.assessment.models import Agreement

    agreement = db.session.scalar(select(Agreement).where(Agreement.component_id == report.id,
                                                          Agreement.student_id == first.student_id))
    assert agreement.state == "in_reconciliation"  # a gap of 6
    client = login(coordinator)
    page = client.get(rules_url(cohort)).get_data(as_text=True)
    assert "agreed again by the new rules" in page
    assert rules_form(client, cohort).set("agree_within", "6").submit(client).status_code == 302
    db.session.refresh(agreement)
    assert (agreement.state, agreement.route, agreement.mark) == ("agreed", "automatic", Decimal("63.00"))


def test_components_weights_must_add_up_to_100(marking, cohort, coordinator, login):
    client = login(coordinator)
    report = marking.components["report"]
    form = get_form(client, rules_url(cohort), has_field="shown", action=f"/cohorts/{cohort.id}/marking/components")
    response = form.set(f"component_{report.id}_weight", "70").submit(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "The weights add up to 95%: they must add up to 100%." in page
    poster = marking.components["poster"]
    form = get_form(client, rules_url(cohort), has_field="shown", action=f"/cohorts/{cohort.id}/marking/components")
    form.set(f"component_{report.id}_weight", "70").set(f"component_{poster.id}_weight", "20")
    form.set(f"component_{poster.id}_title", "Poster and pitch").select(f"component_{poster.id}_milestone", "")
    response = form.submit(client, follow_redirects=True)
    assert response.status_code == 200 and "Components saved" in response.get_data(as_text=True)
    db.session.refresh(poster)
    assert (poster.title, poster.weight, poster.milestone_id) == ("Poster and pitch", 20, None)
    assert events("assessment.components_changed")[-1].after[f"poster.weight"] == 20


def test_who_marks_a_component_is_fixed_once_its_marking_opened(marking, cohort, coordinator, login):
    report = marking.components["report"]
    services.open_marking(report, by=coordinator)
    db.session.commit()
    client = login(coordinator)
    form = get_form(client, rules_url(cohort), has_field="shown", action=f"/cohorts/{cohort.id}/marking/components")
    response = form.select(f"component_{report.id}_marked_by", "supervisor").submit(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "who marks it can no longer change" in (field_error(page, f"component_{report.id}_marked_by") or "")


def _rubric_form(client, component):
    return get_form(client, rubric_url(component), has_field="shown")


def test_an_unfrozen_rubric_changes_in_place_with_a_criterion_added_and_one_removed(marking, coordinator, login):
    poster = marking.components["poster"]
    client = login(coordinator)
    page = client.get(rubric_url(poster)).get_data(as_text=True)
    assert "No mark exists against version 1 yet: saving changes it in place" in page
    form = _rubric_form(client, poster)
    form.check("c2_remove")  # oral pitch (20)
    form.set("new_title", "Answers to the examiner").set("new_weight", "20")
    response = form.submit(client, follow_redirects=True)
    assert response.status_code == 200 and "rubric (version 1) is saved" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [c.title for c in poster.rubrics[-1].criteria] == ["Technical content", "Structure and visual design",
                                                             "Understanding under questioning", "Answers to the examiner"]
    assert len(poster.rubrics) == 1 and events("assessment.rubric_changed")
    assert poster.rubrics[-1].criteria[-1].descriptors[2] == "Distinction: Answers to the examiner that is excellent, " \
        "with only minor weaknesses."


def test_criteria_weights_must_add_up_to_100(marking, coordinator, login):
    poster = marking.components["poster"]
    client = login(coordinator)
    response = _rubric_form(client, poster).set("c0_weight", "35").submit(client)
    assert response.status_code == 422
    assert "add up to 105%: they must add up to 100%" in response.get_data(as_text=True)
    response = _rubric_form(client, poster).set("c1_band3", "").submit(client)
    assert response.status_code == 422 and "Say what Merit means" in (field_error(response.get_data(as_text=True),
                                                                                 "c1_band3") or "")


def test_a_frozen_rubric_makes_a_new_version_and_only_sheets_not_started_move(marking, coordinator, login):
    report = marking.components["report"]
    services.open_marking(report, by=coordinator)
    sheets = db.session.scalars(select(MarkSheet).where(MarkSheet.component_id == report.id,
                                                        MarkSheet.role == FIRST).order_by(MarkSheet.id)).all()
    begun = sheets[0]
    services.save_sheet(begun, [], overall_comment="Started", private_note="", by=begun.marker)
    db.session.commit()
    total = db.session.scalar(select(db.func.count(MarkSheet.id)).where(MarkSheet.component_id == report.id))
    client = login(coordinator)
    page = client.get(rubric_url(report)).get_data(as_text=True)
    assert "Version 1 is frozen" in page and f"the {total - 1} sheets not yet started move to version 2" in page
    form = _rubric_form(client, report).set("c0_title", "Aims and literature")
    response = form.submit(client, follow_redirects=True)
    assert "Saved as version 2" in response.get_data(as_text=True)
    db.session.expire_all()
    v1, v2 = report.rubrics
    assert (v1.version, v2.version) == (1, 2) and v2.criteria[0].title == "Aims and literature"
    assert v1.criteria[0].title == "Aims, context and literature"  # the frozen version is untouched
    assert begun.state == DRAFT and begun.rubric_id == v1.id
    assert {s.rubric_id for s in db.session.scalars(select(MarkSheet).where(
        MarkSheet.component_id == report.id, MarkSheet.state == NOT_STARTED))} == {v2.id}
    page = client.get(rubric_url(report)).get_data(as_text=True)
    assert "Versions" in page and "No mark exists against version 2 yet" in page


def test_a_rubric_saved_meanwhile_is_a_conflict_not_an_overwrite(marking, coordinator, login):
    poster = marking.components["poster"]
    client = login(coordinator)
    first, second = _rubric_form(client, poster), _rubric_form(client, poster)
    assert first.set("c0_title", "Content").submit(client).status_code == 302
    response = second.set("c1_title", "Design").submit(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "title saved “Content”, yours “Technical content”" in page
    db.session.expire_all()
    assert [c.title for c in poster.rubrics[-1].criteria][:2] == ["Content", "Structure and visual design"]


def test_supervisor_only_components_offer_only_the_first_marker(marking, coordinator, login):
    independence = marking.components["independence"]
    client = login(coordinator)
    form = _rubric_form(client, independence)
    assert [o.value for c in form.controls if c.name == "c0_marked_by" for o in c.options] == ["first"]
    response = form.set("c0_marked_by", "first,second").submit(client)  # as no browser would send it
    assert response.status_code == 422


# --- copying -----------------------------------------------------------------------------------

@pytest.fixture
def earlier(make, marking, coordinator, cohort):
    """Last year's cohort of the same coordinator, its report rubric changed to two criteria."""
    last = make.cohort(coordinator=coordinator, year=cohort.academic_year - 1)
    create_timeline(last, by=coordinator)
    components = {c.key: c for c in services.set_up_marking(last, by=coordinator)}
    from projectflow.assessment.defaults import descriptors

    setup.save_rubric(components["report"], [
        setup.CriterionDraft("Substance", 70, ("first", "second"), tuple(descriptors("substance"))),
        setup.CriterionDraft("Form", 30, ("first", "second"), tuple(descriptors("form")))],
        shown=setup.rubric_digest(components["report"].current_rubric), by=coordinator)
    db.session.commit()
    return last


def test_a_coordinator_of_both_cohorts_copies_the_rubrics(earlier, marking, cohort, coordinator, login):
    report = marking.components["report"]
    services.open_marking(report, by=coordinator)
    db.session.commit()
    opened = db.session.scalar(select(db.func.count(MarkSheet.id)))
    client = login(coordinator)
    form = get_form(client, rules_url(cohort), has_field="source")
    response = form.select("source", str(earlier.id)).submit(client, follow_redirects=True)
    assert response.status_code == 200 and f"Copied from {earlier.title}" in response.get_data(as_text=True)
    components = {c.key: c for c in services.components_of(cohort)}
    assert [c.title for c in components["report"].current_rubric.criteria] == ["Substance", "Form"]
    assert components["report"].milestone.cohort_id == cohort.id
    # The sheets not yet started are made again on the copy.
    assert db.session.scalar(select(db.func.count(MarkSheet.id))) == opened
    assert {s.rubric_id for s in db.session.scalars(select(MarkSheet))} == {components["report"].current_rubric.id}
    # Copying again changes nothing.
    response = get_form(client, rules_url(cohort), has_field="source").select("source", str(earlier.id)).submit(
        client, follow_redirects=True)
    assert "the same as" in response.get_data(as_text=True) and len(events("assessment.rubrics_copied")) == 1


def test_copying_is_refused_once_a_mark_exists(earlier, marking, cohort, coordinator, login):
    report = marking.components["report"]
    services.open_marking(report, by=coordinator)
    sheet = db.session.scalars(select(MarkSheet).order_by(MarkSheet.id)).first()
    services.save_sheet(sheet, [], overall_comment="Begun", private_note="", by=sheet.marker)
    db.session.commit()
    client = login(coordinator)
    assert "Copying is no longer possible" in client.get(rules_url(cohort)).get_data(as_text=True)
    response = client.post(f"/cohorts/{cohort.id}/marking/copy", data={"source": str(earlier.id)})
    assert response.status_code == 409 and "Marking of" in response.get_data(as_text=True)
    assert not events("assessment.rubrics_copied")


def test_a_cohort_one_does_not_run_cannot_be_copied(make, marking, cohort, coordinator, login):
    other = make.cohort(coordinator=make.coordinator(name="Otto"), year=cohort.academic_year - 1)
    services.set_up_marking(other, by=None)
    db.session.commit()
    client = login(coordinator)
    response = client.post(f"/cohorts/{cohort.id}/marking/copy", data={"source": str(other.id)})
    assert response.status_code == 422 and not events("assessment.rubrics_copied")
    with pytest.raises(setup.NotAllowed):
        setup.copy_marking(cohort, other, by=coordinator)


@pytest.mark.parametrize("path", ["/marking/rules", "/marking/components/{cid}/rubric"])
def test_only_the_cohorts_coordinators_see_the_set_up_pages(marking, cohort, login, path):
    url = f"/cohorts/{cohort.id}" + path.format(cid=marking.components["report"].id)
    client = login(marking.nlp)  # staff of the cohort, marking nothing
    assert client.get(url).status_code == 403


def test_a_frozen_rubric_sent_back_unchanged_makes_no_new_version(marking, coordinator, login):
    """A browser sends a descriptor's line breaks as CRLF: that is no change."""
    poster = marking.components["poster"]
    client = login(coordinator)
    assert _rubric_form(client, poster).set("c0_band0", "Exceptional:\nbeyond an MSc.").submit(client).status_code == 302
    poster.rubrics[-1].frozen_at = poster.rubrics[-1].created_at
    db.session.commit()
    response = _rubric_form(client, poster).submit(client, follow_redirects=True)
    assert "Nothing changed in the rubric." in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(poster.rubrics) == 1 and poster.rubrics[0].criteria[0].descriptors[0] == "Exceptional:\nbeyond an MSc."
