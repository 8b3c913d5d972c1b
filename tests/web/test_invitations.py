"""Invitations: imported and admin-created accounts are e-mailed a set-your-password link (a password reset
with the purpose 'invitation'), the coordinator and the admin can send a new one, and the cohort's people
list shows where each account stands. Mail goes through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from projectflow.core import clock, jobs
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from projectflow.people import invitations, services
from projectflow.people.models import INVITATION, STUDENT, PasswordReset, User
from tests.forms import get_form
from tests.html import flashes, main_text

LINK = re.compile(r"https?://[^/\s]+(/password/reset/[A-Za-z0-9_-]+)")
PASSWORD = "my own new passphrase"
PEOPLE = (b"email,name,role\n"
          b"ada@example.ac.uk,Ada Lovelace,student\n"
          b"jo@example.ac.uk,Dr Jo Bloggs,staff\n")
SENT = datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc)


def link_in(message) -> str:
    match = LINK.search(message.get_body(("plain",)).get_content())
    assert match, "the e-mail has no set-your-password link"
    return match.group(1)


def events(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def set_password_through(client, path: str, password: str = PASSWORD):
    form = get_form(client, path, has_field="password")
    return form.set("password", password).set("confirm", password).submit(client)


def resend_form(client, cohort, person):
    return get_form(client, f"/cohorts/{cohort.id}", action=f"/cohorts/{cohort.id}/people/{person.id}/invitation")


def account_cell(page: str, email: str) -> str:
    """The text of the Account cell on the row of ``email`` (a student) or name (staff) in the people list."""
    row = re.search(rf"<tr>(?:(?!</tr>).)*{re.escape(email)}(?:(?!</tr>).)*</tr>", page, re.S)
    assert row, f"no row for {email}"
    return " ".join(re.sub(r"<[^>]+>", " ", row.group(0).split("<td class=\"small\">")[-1]).split())


# The admin's new account ------------------------------------------------------------------------

def test_an_account_the_admin_creates_is_mailed_an_invitation_whose_link_sets_the_password_and_signs_in(
        client, login, make, smtp_server):
    admin = make.admin(name="Ada Admin")
    login(admin)
    form = get_form(client, "/admin/users/new", has_field="email")
    form.set("email", "nora@example.ac.uk").set("name", "Nora Newcomer").check("roles", STUDENT)
    response = form.submit(client, submit="Create account")
    assert response.status_code == 302
    assert "an invitation to set a password e-mailed to them (the link works for 14 days)" in \
        flashes(client.get("/admin/users").get_data(as_text=True))[0]
    client.post("/logout")

    [message] = smtp_server.wait_for(1)
    assert message["To"] == "nora@example.ac.uk"
    assert message["Subject"] == "Welcome to projectflow: set your password"
    body = message.get_body(("plain",)).get_content()
    assert "Hello Nora Newcomer" in body and "Ada Admin has opened an account for you" in body
    assert "It works once, for 14 days" in body
    path = link_in(message)
    invitation = db.session.scalars(select(PasswordReset)).one()
    assert invitation.purpose == INVITATION
    assert invitation.expires_at - invitation.created_at == timedelta(days=14)

    page = client.get(path)
    text = main_text(page.get_data(as_text=True))
    assert page.status_code == 200
    assert "Set your password" in text and "Welcome to projectflow, Nora Newcomer." in text
    assert "reset" not in text.lower()

    done = set_password_through(client, path)
    assert done.status_code == 302 and done.headers["Location"] == "/"
    home = client.get("/", follow_redirects=True)
    assert "Welcome, Nora Newcomer: your password is set and you are signed in." in flashes(home.get_data(as_text=True))
    assert client.get("/notifications").status_code == 200  # signed in: no sign-in redirect
    nora = User.by_email("nora@example.ac.uk")
    assert nora.last_login_at is not None
    assert [e.action for e in events("user.invitation_accepted")] == ["user.invitation_accepted"]
    client.post("/logout")
    assert client.post("/login", data={"email": nora.email, "password": PASSWORD}).status_code == 302
    # The link worked once.
    assert client.get(path).status_code == 410


# Imports invite through the job runner ------------------------------------------------------------

def test_an_import_invites_each_new_account_through_the_job_runner(client, login, make, smtp_server):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    login(coordinator)
    form = get_form(client, f"/cohorts/{cohort.id}/import", has_field="file")
    assert form.submit(client, files={"file": (PEOPLE, "people.csv")}).status_code == 302
    assert smtp_server.messages == []  # nothing mailed inside the request
    page = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert account_cell(page, "ada@example.ac.uk").startswith("Not invited")

    assert jobs.run_pending() == 1
    messages = smtp_server.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["ada@example.ac.uk", "jo@example.ac.uk"]
    assert all(cohort.title in m.get_body(("plain",)).get_content() for m in messages)
    [job] = db.session.scalars(select(jobs.Job)).all()
    assert (job.state, job.message) == ("done", "Invited 2 new accounts.")

    ada = next(m for m in messages if m["To"] == "ada@example.ac.uk")
    client.post("/logout")
    assert set_password_through(client, link_in(ada)).headers["Location"] == "/"
    client.post("/logout")
    login(coordinator)
    page = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert account_cell(page, "ada@example.ac.uk") == "Signed in"
    assert account_cell(page, "Dr Jo Bloggs").startswith("Invited ")


# The people list -------------------------------------------------------------------------------

def test_the_people_list_shows_each_account_s_invitation_state(app, client, login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    invited = make.student(cohort, email="invited@example.ac.uk", password=None)
    expired = make.student(cohort, email="expired@example.ac.uk", password=None)
    make.student(cohort, email="never@example.ac.uk", password=None)
    make.student(cohort, email="set@example.ac.uk")
    make.student(cohort, email="gone@example.ac.uk", active=False, password=None)
    signed_in = make.student(cohort, email="in@example.ac.uk")
    signed_in.last_login_at = SENT
    with app.test_request_context(), clock.frozen(SENT - timedelta(days=20)):
        invitations.invite(expired, by=coordinator, base_url="http://x", cohort=cohort)
        invitations.invite(invited, by=coordinator, base_url="http://x", cohort=cohort)
        from projectflow.core import mail
        mail.discard_queued()
    with clock.frozen(SENT):
        invitations.invite(invited, by=coordinator, base_url="http://x", cohort=cohort)
        mail.discard_queued()
        db.session.commit()
        login(coordinator)
        page = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)

    assert account_cell(page, "invited@example.ac.uk") == "Invited 3 Dec, expires 17 Dec Resend"
    assert account_cell(page, "expired@example.ac.uk") == "Invitation expired 27 Nov Resend"
    assert account_cell(page, "never@example.ac.uk") == "Not invited Invite"
    assert account_cell(page, "set@example.ac.uk") == "Password set"
    assert account_cell(page, "in@example.ac.uk") == "Signed in"
    assert account_cell(page, "gone@example.ac.uk") == "Deactivated"
    # The coordinator's own row, on the staff side, has a password.
    assert account_cell(page, coordinator.name) in ("Password set", "Signed in")


# Sending a new invitation --------------------------------------------------------------------------

def test_the_coordinator_sends_a_new_invitation_and_the_earlier_link_stops_working(
        app, client, login, make, smtp_server):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    ada = make.student(cohort, name="Ada Lovelace", password=None)
    with app.test_request_context():
        invitations.invite(ada, by=coordinator, base_url=app.config["BASE_URL"], cohort=cohort)
    db.session.commit()
    first = link_in(smtp_server.wait_for(1)[0])
    login(coordinator)

    response = resend_form(client, cohort, ada).submit(client)

    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "An invitation to set a password is on its way to" in flashes(page)[0]
    second = link_in(smtp_server.wait_for(2)[1])
    assert second != first
    client.post("/logout")
    stale = client.get(first)
    assert stale.status_code == 410
    assert "This invitation link has already been used or replaced by a newer one." in main_text(
        stale.get_data(as_text=True))
    assert client.get(second).status_code == 200
    [resent] = events("user.invitation_resent")
    assert (resent.actor_id, resent.object_id, resent.cohort_id) == (coordinator.id, ada.id, cohort.id)


def test_the_same_resend_button_pressed_twice_sends_one_invitation(client, login, make, smtp_server):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    ada = make.student(cohort, password=None)
    login(coordinator)
    form = resend_form(client, cohort, ada)
    assert form.submit(client).status_code == 302
    assert form.submit(client).status_code == 302
    assert len(smtp_server.wait_for(1)) == 1
    assert len(db.session.scalars(select(PasswordReset).where(PasswordReset.user_id == ada.id)).all()) == 1


@pytest.mark.parametrize("change, message", [
    ("password", "has already set a password, so no invitation was sent"),
    ("deactivated", "is deactivated: an admin must reactivate the account before it can be sent an invitation"),
])
def test_a_new_invitation_is_refused_politely_once_the_password_is_set_or_the_account_deactivated(
        client, login, make, change, message):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    ada = make.student(cohort, password=None)
    login(coordinator)
    form = resend_form(client, cohort, ada)  # the page as it was before the change
    if change == "password":
        ada.password_hash = "$argon2id$set-meanwhile"
    else:
        ada.is_active = False
    db.session.commit()

    response = form.submit(client)

    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert message in flashes(page)[0]
    assert db.session.scalars(select(PasswordReset)).all() == []
    assert not events("user.invited")
    # Nor is a button offered for that account any more.
    assert f"/people/{ada.id}/invitation" not in page


def test_the_admin_sends_an_invitation_from_the_account_page(client, login, make, smtp_server):
    admin = make.admin()
    nora = make.student(email="nora@example.ac.uk", password=None)
    login(admin)
    page = client.get(f"/admin/users/{nora.id}").get_data(as_text=True)
    assert "Invitation: <strong>Not invited</strong>" in page
    form = get_form(client, f"/admin/users/{nora.id}", action=f"/admin/users/{nora.id}/invitation")
    response = form.submit(client)
    assert response.status_code == 302
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "nora@example.ac.uk"
    assert "Invitation: <strong>Invited " in client.get(f"/admin/users/{nora.id}").get_data(as_text=True)
    assert events("user.invited")[0].actor_id == admin.id


def test_only_the_cohort_s_coordinators_and_admins_send_invitations_and_only_to_its_people(client, login, make):
    coordinator = make.coordinator()
    cohort = make.cohort(coordinator=coordinator)
    other = make.cohort()
    ada = make.student(cohort, password=None)
    outsider = make.student(other, password=None)
    staff = make.staff(cohort)

    login(staff)
    assert client.post(f"/cohorts/{cohort.id}/people/{ada.id}/invitation").status_code == 403
    assert client.post(f"/admin/users/{ada.id}/invitation").status_code == 403
    client.post("/logout")
    login(next(s.member for s in other.staff if s.is_coordinator))
    assert client.post(f"/cohorts/{cohort.id}/people/{ada.id}/invitation").status_code == 403
    client.post("/logout")
    login(coordinator)
    assert client.post(f"/cohorts/{cohort.id}/people/{outsider.id}/invitation").status_code == 404
    assert db.session.scalars(select(PasswordReset)).all() == []


def test_an_expired_invitation_says_so_and_how_to_get_a_new_one(app, client, make):
    ada = make.student(password=None)
    with app.test_request_context(), clock.frozen(SENT):
        link = invitations.invite(ada, by=None, base_url="http://x")
        from projectflow.core import mail
        mail.discard_queued()
        db.session.commit()
    token = "known-token-for-the-expiry-test-xxxxxxxxxxx"
    link.token_hash = PasswordReset.hash_token(token)
    db.session.commit()
    with clock.frozen(SENT + timedelta(days=14) - timedelta(seconds=1)):
        assert client.get(f"/password/reset/{token}").status_code == 200
    with clock.frozen(SENT + timedelta(days=14)):
        page = client.get(f"/password/reset/{token}")
    assert page.status_code == 410
    assert ("This invitation has expired: invitations work for 14 days. Ask your programme coordinator to send a "
            "new one") in main_text(page.get_data(as_text=True))


def test_a_password_reset_still_says_reset_and_does_not_sign_in(client, make, smtp_server):
    user = make.student()
    form = get_form(client, "/password/forgot", has_field="email")
    form.set("email", user.email).submit(client)
    path = link_in(smtp_server.wait_for(1)[0])
    assert "Set a new password" in main_text(client.get(path).get_data(as_text=True))
    assert set_password_through(client, path).headers["Location"] == "/login"
    assert services.find_reset  # the same mechanism serves both
