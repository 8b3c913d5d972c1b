"""Marking in a real browser: the coordinator opens marking; the supervisor and the second marker mark
blind (the second sees a candidate number and cannot open the supervisor's sheet); their marks are 7
apart, so they reconcile on the agreement page; another pair 12 apart goes to a third marker whom the
coordinator appoints and who marks within the range."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from projectflow.assessment import services
from projectflow.assessment.models import FIRST, SECOND, Agreement, MarkSheet
from projectflow.core import clock
from projectflow.extensions import db
from projectflow.submissions import services as submissions
from tests.assessment.conftest import SEPTEMBER, build_marking
from tests.browser.test_allocation_round import sign_out
from tests.browser.test_sign_in import sign_in
from tests.milestones.conftest import pdf_bytes, timeline  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.csrf]

def mark_every_criterion(page, mark: str, comment: str) -> None:
    form = page.locator("#sheet-form")
    for criterion in form.locator("fieldset").all():
        criterion.get_by_label("Mark").fill(mark)
        criterion.get_by_label("Mark").dispatch_event("change")
        criterion.get_by_label("Comment").fill(comment)
    form.get_by_label("Overall comment to the student").fill("A careful project.")


@pytest.fixture
def round_ready(make, cohort, coordinator, timeline, smtp_server):  # noqa: F811
    r = build_marking(make, cohort, coordinator, timeline)
    final = timeline["final_report"]
    with clock.frozen(final.due_at.replace(hour=8)):
        for allocation in r.run.allocations:
            submissions.submit(final, allocation.student, io.BytesIO(pdf_bytes(2)), file_name="report.pdf",
                               declared=True, form_token=f"browser-{allocation.student_id}", by=allocation.student,
                               receipt=False)
    db.session.commit()
    with clock.frozen(SEPTEMBER):
        yield r


def test_two_markers_mark_blind_then_reconcile_and_a_third_marker_decides(
        page, live_server, round_ready, coordinator, browser_problems, screenshot):
    r = round_ready
    sign_in(page, live_server, coordinator)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Marking").click()
    page.get_by_role("button", name=re.compile("Open marking of Final report")).click()
    expect(page.get_by_text(re.compile(r"new mark sheets for Final report"))).to_be_visible()
    sign_out(page)

    db.session.expire_all()
    pairs = {}
    for s in db.session.scalars(select(MarkSheet)):
        pairs.setdefault(s.student_id, {})[s.role] = s
    pair = next(p for p in pairs.values() if SECOND in p)
    first, second = pair[FIRST], pair[SECOND]
    student = first.student

    # The supervisor marks: the PDF beside the rubric, a draft saved as they go, then submitted.
    sign_in(page, live_server, first.marker)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Marking").click()
    page.get_by_role("link", name=re.compile(re.escape(student.name))).click()
    expect(page.locator("iframe[title='The submitted work (PDF)']")).to_be_visible()
    mark_every_criterion(page, "60", "Solid, with a thin evaluation.")
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved", timeout=15_000)
    # A typed mark chose its band.
    expect(page.locator("#sheet-form fieldset").first.get_by_label("Band")).to_have_value("3")  # Merit (60–69)
    screenshot(page, "marking-sheet-draft")
    page.get_by_role("button", name="Submit marks").click()
    expect(page.get_by_text("Marks submitted: 60.00")).to_be_visible()
    sign_out(page)

    # The second marker sees a candidate number, never the name, and nothing of the first sheet.
    sign_in(page, live_server, second.marker)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Marking").click()
    queue = page.locator("#marking-queue")
    expect(queue).to_contain_text("Candidate ")
    expect(queue).not_to_contain_text(student.name)
    page.goto(live_server(f"/marking/sheets/{first.id}"))
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    page.goto(live_server(f"/marking/sheets/{second.id}"))
    mark_every_criterion(page, "67", "Original and well argued.")
    page.get_by_role("button", name="Submit marks").click()
    expect(page.get_by_text("Marks submitted: 67.00")).to_be_visible()

    # 7 apart: reconciliation. The second marker proposes, with a justification.
    page.get_by_role("link", name=re.compile("Final report: Candidate")).click()
    expect(page.locator("#agreement-state")).to_contain_text("In reconciliation")
    expect(page.get_by_text("Solid, with a thin evaluation.").first).to_be_visible()  # both sheets now
    page.get_by_label("Agreed mark").fill("64")
    page.get_by_label("Justification").fill("Good method and original idea; the evaluation is thin.")
    page.get_by_role("button", name="Propose this mark").click()
    expect(page.get_by_text("Mark proposed")).to_be_visible()
    screenshot(page, "marking-reconciliation")
    sign_out(page)

    sign_in(page, live_server, first.marker)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Marking").click()
    expect(page.get_by_text("the other marker proposed 64.00")).to_be_visible()
    page.get_by_role("link", name=re.compile("Final report: ")).first.click()
    page.get_by_role("button", name="Confirm the proposed mark").click()
    expect(page.get_by_role("alert").filter(has_text="Agreed by reconciliation")).to_be_visible()
    sign_out(page)
    db.session.expire_all()
    agreement = db.session.scalars(select(Agreement).where(Agreement.student_id == student.id)).one()
    assert (agreement.route, str(agreement.agreed_mark)) == ("reconciled", "64.00")

    # Another student's pair, 12 apart (marked through the services): a third marker.
    other = next(p for p in pairs.values() if SECOND in p and p[FIRST].student_id != student.id)
    for sheet, mark in ((other[FIRST], 55), (other[SECOND], 67)):
        services.save_sheet(sheet, [services.CriterionEntry(c.id, None, mark, "Seen.")
                                    for c in sheet.rubric.criteria_for(sheet.role)],
                            overall_comment="Overall.", private_note="", by=sheet.marker)
        services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()
    third_case = db.session.scalars(select(Agreement).where(Agreement.student_id == other[FIRST].student_id)).one()
    assert third_case.state == "third_marking"
    proposed = db.session.get(type(coordinator), third_case.third_marker_proposed_id)
    assert coordinator.id not in {other[FIRST].marker_id, other[SECOND].marker_id}
    sign_in(page, live_server, coordinator)
    page.goto(live_server(f"/cohorts/{r.cohort.id}/marking"))
    page.get_by_role("link", name=re.compile(re.escape(other[FIRST].student.name) + ": Final report")).click()
    expect(page.get_by_label("Third marker")).to_have_value(str(proposed.id))
    page.get_by_role("button", name="Appoint the third marker").click()
    expect(page.get_by_text("Third marker appointed")).to_be_visible()
    sign_out(page)

    sign_in(page, live_server, proposed)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Marking").click()
    db.session.expire_all()
    third = db.session.scalars(select(MarkSheet).where(MarkSheet.role == "third")).one()
    page.locator(f"#marking-queue a[href='/marking/sheets/{third.id}']").click()
    mark_every_criterion(page, "70", "Beyond both.")
    page.get_by_role("button", name="Submit marks").click()
    expect(page.get_by_text(re.compile("lies between the first two marks"))).to_be_visible()
    mark_every_criterion(page, "61", "Closer to the first view.")
    page.get_by_role("button", name="Submit marks").click()
    expect(page.get_by_text("Marks submitted: 61.00")).to_be_visible()
    db.session.expire_all()
    third_case = db.session.get(Agreement, third_case.id)
    assert (third_case.state, third_case.route, str(third_case.agreed_mark)) == ("agreed", "third_marker", "61.00")
    sign_out(page)

    # The reconciled student's poster and independence are marked too (through the services): their
    # result is final. After the exam board the coordinator releases it, and the student reads it.
    for key in ("poster", "independence"):
        component = next(c for c in services.components_of(r.cohort) if c.key == key)
        services.open_marking(component, by=coordinator)
        for sheet in db.session.scalars(select(MarkSheet).where(MarkSheet.component_id == component.id,
                                                                MarkSheet.student_id == student.id)):
            services.save_sheet(sheet, [services.CriterionEntry(c.id, None, 66, "Clear and confident.")
                                        for c in sheet.rubric.criteria_for(sheet.role)],
                                overall_comment="Well presented.", private_note="Not for the student.",
                                by=sheet.marker)
            services.submit_sheet(sheet, by=sheet.marker)
    rules = services.rules_of(r.cohort)
    rules.exam_board_on = SEPTEMBER.date()
    db.session.commit()
    sign_in(page, live_server, student)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="My results")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My results").click()
    expect(page.locator("#my-final")).to_have_count(0)  # nothing before release
    sign_out(page)
    sign_in(page, live_server, coordinator)
    page.goto(live_server(f"/cohorts/{r.cohort.id}/results"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#release-h").locator("..").get_by_role("button").first.click()
    expect(page.get_by_role("alert").first).to_contain_text("eleased")
    sign_out(page)
    sign_in(page, live_server, student)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My results").click()
    # (64 * 75 + 66 * 15 + 66 * 10) / 100 = 64.50: a Merit
    expect(page.locator("#my-final")).to_contain_text("64.50")
    expect(page.locator("#my-final")).to_contain_text("Merit")
    expect(page.get_by_text("Clear and confident.").first).to_be_visible()
    expect(page.get_by_text("Not for the student.")).to_have_count(0)
    screenshot(page, "marking-my-results")
    browser_problems.assert_clean(allow=(r"status of 403", r"status of 422"))
