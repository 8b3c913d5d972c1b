"""Milestones in a real browser: a student uploads and resubmits a report, asks for an extension that
the coordinator grants (moving only their deadline), and submits another milestone late."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from projectflow.core import clock
from projectflow.extensions import db
from projectflow.milestones import services
from tests.browser.test_sign_in import sign_in
from tests.milestones.conftest import pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.csrf]


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_upload_resubmit_extension_and_a_late_submission(page, live_server, cohort, coordinator, student,
                                                          smtp_server, tmp_path, browser_problems, screenshot):
    with clock.frozen(datetime(2026, 11, 20, 9, tzinfo=timezone.utc)):
        milestones = {m.kind: m for m in services.create_timeline(cohort, by=coordinator)}
        db.session.commit()
    ethics, interim = milestones["ethics"], milestones["interim_report"]
    first, second = tmp_path / "plan-v1.pdf", tmp_path / "plan-v2.pdf"
    first.write_bytes(pdf_bytes(2))
    second.write_bytes(pdf_bytes(5))

    with clock.frozen(datetime(2027, 2, 15, 10, tzinfo=timezone.utc)):
        sign_in(page, live_server, student)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Timeline").click()
        expect(page.locator("#next-due")).to_contain_text("Next: Project plan")
        screenshot(page, "milestones-student-timeline")
        page.get_by_role("row", name=re.compile("Project plan")).get_by_role("link").click()

        # Upload, then resubmit: both versions kept, the latest counts.
        page.get_by_label("Your PDF").set_input_files(str(first))
        page.get_by_label("I make the declaration above.").check()
        page.get_by_role("button", name="Submit", exact=True).click()
        expect(page.locator("#timeliness")).to_contain_text("On time")
        expect(page.locator("#sha256")).to_have_text(re.compile("^[0-9a-f]{64}$"))
        screenshot(page, "milestones-receipt")
        page.get_by_role("link", name="Back to the milestone").click()
        page.get_by_label("Your PDF").set_input_files(str(second))
        page.get_by_label("I make the declaration above.").check()
        page.get_by_role("button", name="Submit", exact=True).click()
        page.get_by_role("link", name="Back to the milestone").click()
        expect(page.locator("#versions tbody tr")).to_have_count(2)
        expect(page.locator("#versions tbody tr").first).to_contain_text("2 counts")
        screenshot(page, "milestones-versions")

        # Ask for an extension of the ethics form.
        page.goto(live_server(f"/milestones/{ethics.id}"))
        page.get_by_text("Ask for an extension").click()
        page.get_by_label("Why you need more time").fill("My ethics supervisor is away until the 22nd.")
        page.get_by_role("button", name="Send the request").click()
        expect(page.get_by_text("Your request is sent")).to_be_visible()
        sign_out(page)

        sign_in(page, live_server, coordinator)
        page.goto(live_server(f"/cohorts/{cohort.id}/extensions"))
        page.get_by_label("Working days").first.fill("3")
        page.get_by_label("Note to the student").first.fill("Fine: three working days.")
        page.get_by_role("button", name="Decide").click()
        expect(page.get_by_text("Granted", exact=True).first).to_be_visible()
        screenshot(page, "milestones-extensions")
        page.goto(live_server(f"/cohorts/{cohort.id}/progress"))
        expect(page.locator("#progress-grid")).to_contain_text("Extended")
        screenshot(page, "milestones-progress-grid")
        sign_out(page)

        sign_in(page, live_server, student)
        page.goto(live_server(f"/milestones/{ethics.id}"))
        # Friday 19 March 2027 16:00 + 3 working days = Wednesday 24 March 16:00.
        expect(page.locator("#deadline")).to_contain_text("Wed 24 Mar 2027 16:00")
        expect(page.get_by_text("Extended", exact=True)).to_be_visible()
        sign_out(page)

    # The interim report, a day and a bit after its deadline.
    with clock.frozen(interim.due_at + timedelta(days=1, hours=2)):
        sign_in(page, live_server, student)
        page.goto(live_server(f"/milestones/{interim.id}"))
        page.get_by_label("Your PDF").set_input_files(str(first))
        page.get_by_label("I make the declaration above.").check()
        page.get_by_role("button", name="Submit", exact=True).click()
        expect(page.locator("#timeliness")).to_contain_text("Late")
        expect(page.locator("#timeliness")).to_contain_text("working day")
        screenshot(page, "milestones-late-receipt")
    browser_problems.assert_clean()
