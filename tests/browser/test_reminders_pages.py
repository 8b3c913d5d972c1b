"""Issue 14's two pages in a real browser: a student chooses how messages reach them (a deadline kind
offers no "in the app only"), and the coordinator finds a failed message in the cohort's outbox, with
the mail server's words, and sends it again. axe-core checks both pages; screenshots to look at."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from projectflow.core import clock, outbox
from projectflow.extensions import db
from projectflow.reminders.kinds import channel_of
from tests.browser.test_accessibility import AXE_SOURCE, FAILING_IMPACTS, RUN_AXE, WCAG_TAGS
from tests.browser.test_allocation_round import sign_out
from tests.browser.test_sign_in import sign_in
from tests.reminders.test_pages import _fail, _put

pytestmark = [pytest.mark.browser, pytest.mark.csrf]

START = datetime(2027, 2, 1, 9, tzinfo=timezone.utc)


def _axe(page) -> list[dict]:
    page.evaluate(AXE_SOURCE)
    return [v for v in page.evaluate(RUN_AXE, [WCAG_TAGS, []]) if v["impact"] in FAILING_IMPACTS]


def test_preferences_and_the_outbox(page, live_server, make, cohort, coordinator, student, browser_problems, screenshot,
                                    smtp_server):
    with clock.frozen(START):
        for n in range(3):
            row = _put(cohort, student, f"Reminder {n + 1}: your project plan is due", kind="deadline")
            outbox.deliver(lambda m: None, [row])
        _put(cohort, student, "Notice: the allocation is published", kind="notice", state=outbox.HELD)
    with clock.frozen(START + timedelta(hours=2)):
        failed = _put(cohort, student, "Your interim report is due in a week")
        _fail(failed)

    sign_in(page, live_server, student)
    page.goto(live_server("/notifications"))
    page.get_by_role("link", name="Message preferences").click()
    expect(page.get_by_role("heading", name="Message preferences")).to_be_visible()
    deadlines = page.get_by_role("group", name="Reminders before your deadlines")
    expect(deadlines.get_by_role("radio")).to_have_count(2)  # e-mail or digest, never in the app only
    deadlines.get_by_label("In my digest e-mail").check()
    page.get_by_role("group", name="Notices: allocation, poster slots, results, decisions on your requests") \
        .get_by_label("In the app only").check()
    assert _axe(page) == []
    screenshot(page, "reminders-preferences")
    page.get_by_role("button", name="Save my preferences").click()
    expect(page.get_by_text("Your message preferences are saved.")).to_be_visible()
    db.session.expire_all()
    assert (channel_of(student.id, "deadline"), channel_of(student.id, "notice")) == ("digest", "in_app")
    sign_out(page)

    sign_in(page, live_server, coordinator)
    page.goto(live_server(f"/cohorts/{cohort.id}"))
    page.get_by_role("link", name="Outbox").click()
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    expect(page.get_by_text("Recipient address rejected")).to_be_visible()
    assert _axe(page) == []
    screenshot(page, "reminders-outbox")
    page.get_by_role("link", name="Failed (1)").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    screenshot(page, "reminders-outbox-failed")
    page.get_by_role("button", name="Resend").click()
    expect(page.get_by_text("is sent again now")).to_be_visible()
    screenshot(page, "reminders-outbox-resent")
    # Tried right after the commit: the mail server has it, and the row says sent.
    assert [m["Subject"] for m in smtp_server.wait_for(1)] == ["Your interim report is due in a week"]
    assert db.session.get(outbox.OutboxMessage, failed, populate_existing=True).state == outbox.SENT
    browser_problems.assert_clean()
