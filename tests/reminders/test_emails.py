"""Every e-mail projectflow sends, made through the path that really makes it (an account the admin
opens, a forgotten password, a submission, a notice, a reminder): a plain-text and an HTML part, both
ending with the link to the person's message preferences at the configured address, and the HTML part
showing hostile names and titles as text, never as markup."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from projectflow.core import clock, outbox
from projectflow.extensions import db
from projectflow.people.models import STUDENT
from projectflow.reminders import rules
from projectflow.submissions.models import Submission
from tests.forms import get_form
from tests.milestones.conftest import february, pdf_bytes, timeline  # noqa: F401 (fixtures)

from .conftest import DUE

BASE_URL = "https://projects.example.ac.uk"
PREFERENCES = f"{BASE_URL}/account/messages"
SCRIPT = '<script>alert("x")</script>'
IMAGE = '<img src=x onerror="alert(1)">'


@pytest.fixture(autouse=True)
def _site(app, smtp_server):
    """Links point at the site's public address (given with a trailing slash, as people write it)."""
    app.config["BASE_URL"] = BASE_URL + "/"
    return smtp_server


class _Reading(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.title = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data):
        self.text.append(data)
        if self.tags and self.tags[-1] == "title":
            self.title += data


def parts(row: outbox.OutboxMessage) -> tuple[str, str]:
    """(text, HTML) of an outbox row, checked to be one message in two alternative forms."""
    message = message_from_bytes(row.message, policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    return outbox.text_of(row), message.get_body(("html",)).get_content()


def read(page: str) -> _Reading:
    reading = _Reading()
    reading.feed(page)
    reading.close()
    return reading


def check(row: outbox.OutboxMessage, *hostile: str) -> tuple[str, str]:
    """The row's two parts, each with the preferences link; the HTML a self-contained document (a
    language, a title, no script, nothing loaded from elsewhere) in which each ``hostile`` string shows
    as the text it is."""
    text, page = parts(row)
    assert text.rstrip().endswith(PREFERENCES)
    assert f'href="{PREFERENCES}"' in page
    assert page.startswith("<!doctype html>") and '<html lang="en">' in page
    reading = read(page)
    assert {"html", "head", "title", "body"} <= set(reading.tags)
    assert not {"script", "img", "link", "style", "iframe"} & set(reading.tags)
    assert not [a for a, _ in reading.attributes if a in ("src", "style") or a.startswith("on")]
    shown = "".join(reading.text)
    for words in hostile:
        assert words in text  # plain text shows it as typed
        assert words in shown  # the HTML shows it as text, escaped
    assert reading.title.strip(), "the HTML part has an empty title"
    return text, page


def row_to(email: str) -> outbox.OutboxMessage:
    return db.session.scalars(select(outbox.OutboxMessage).where(outbox.OutboxMessage.to_address == email)).one()


def test_the_invitation_an_admin_sends_with_an_account(client, login, make):
    login(make.admin(name=f"Ada {IMAGE} Admin"))
    form = get_form(client, "/admin/users/new", has_field="email")
    form.set("email", "nora@example.ac.uk").set("name", f"Nora {SCRIPT}").check("roles", STUDENT)
    assert form.submit(client, submit="Create account").status_code == 302

    text, page = check(row_to("nora@example.ac.uk"), f"Nora {SCRIPT}", f"Ada {IMAGE} Admin")
    link = next(line for line in text.splitlines() if "/password/reset/" in line).strip()
    assert link.startswith(f"{BASE_URL}/password/reset/") and f'href="{link}"' in page
    # The account has no password yet: the preferences wait until the person has signed in.
    for words in (text, "".join(read(page).text)):
        assert "Once signed in, you can choose how messages reach you" in " ".join(words.split())


def test_the_password_reset_link(client, make):
    user = make.student(name=f"Pat {SCRIPT}")
    form = get_form(client, "/password/forgot", has_field="email")
    assert form.set("email", user.email).submit(client).status_code == 302

    text, page = check(row_to(user.email), f"Pat {SCRIPT}")
    link = next(line for line in text.splitlines() if "/password/reset/" in line).strip()
    assert link.startswith(f"{BASE_URL}/password/reset/") and f'href="{link}"' in page
    for words in (text, "".join(read(page).text)):
        assert "Once signed in, you can choose how messages reach you" in " ".join(words.split())


def test_the_receipt_of_a_submission(login, make, cohort, timeline, february):  # noqa: F811
    student = make.student(cohort, name=f"Sam {SCRIPT}")
    plan = timeline["project_plan"]
    plan.title = f"Plan {SCRIPT}"  # as the coordinator named it
    db.session.commit()
    c = login(student)
    form = get_form(c, f"/milestones/{plan.id}", action=f"/milestones/{plan.id}/submit")
    form.check("declaration")
    assert form.submit(c, files={"file": (pdf_bytes(2), f"{IMAGE}.pdf")}).status_code == 302

    text, page = check(row_to(student.email), f"Sam {SCRIPT}", f"Plan {SCRIPT}", f"{IMAGE}.pdf")
    receipt = f"{BASE_URL}/submissions/{db.session.scalar(select(Submission.id))}/receipt"
    assert receipt in text and f'href="{receipt}"' in page
    assert "Receipts always come by e-mail" in text and "Receipts always come by e-mail" in page


def test_a_notice_through_notify(login, make, cohort, coordinator, timeline, february):  # noqa: F811
    student = make.student(cohort, name=f"Sam {SCRIPT}")
    plan = timeline["project_plan"]
    plan.title = f"Plan {IMAGE}"
    db.session.commit()
    c = login(student)
    ask = get_form(c, f"/milestones/{plan.id}", submit="Send the request")
    assert ask.set("reason", "Broken laptop.").submit(c).status_code == 302

    row = row_to(coordinator.email)
    assert row.kind == "notice"
    text, page = check(row, f"Sam {SCRIPT} asks for an extension of “Plan {IMAGE}”.")
    assert f"{BASE_URL}/cohorts/{cohort.id}/extensions" in text
    assert f'href="{BASE_URL}/cohorts/{cohort.id}/extensions"' in page
    # The notice names its kind, as on the preferences page.
    why = "You receive this because of “Notices: allocation, poster slots, results, decisions on your requests”."
    assert why in text and why in page


def test_a_reminder_before_a_deadline(round_):
    ann = round_.students[0]
    ann.name = f"Ann {SCRIPT}"
    round_.milestone.title = f"Report {IMAGE}"
    db.session.commit()
    with clock.frozen(DUE - timedelta(days=7)):
        rules.send_reminders()

    text, page = check(row_to(ann.email), f"Ann {SCRIPT}", f"“Report {IMAGE}” is due")
    assert "You receive this because of “Reminders before your deadlines”." in page
