"""The forgotten-password flow, end to end through a real SMTP server: one-time, expiring links that
reveal nothing about which addresses have accounts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from projectflow.core import clock, mail, outbox
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from projectflow.people import services
from projectflow.people.models import PasswordReset
from tests.forms import get_form
from tests.html import field_error, flashes, main_text

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"(https?://[^/\s]+)(/password/reset/([A-Za-z0-9_-]+))")


def ask_for_link(client, email: str):
    form = get_form(client, "/password/forgot", has_field="email")
    return form.set("email", email).submit(client, follow_redirects=True)


def link_in(message) -> tuple[str, str, str]:
    """(site, path, token) of the reset link in an e-mail."""
    match = LINK.search(message.get_body(("plain",)).get_content())
    assert match, "the e-mail has no reset link"
    return match.group(1), match.group(2), match.group(3)


def mailed_link(client, smtp_server, user) -> str:
    """Ask for a link for ``user`` and return its path from the e-mail that arrives."""
    before = len(smtp_server.messages)
    assert ask_for_link(client, user.email).status_code == 200
    messages = smtp_server.wait_for(before + 1)
    assert len(messages) == before + 1
    assert messages[-1]["To"] == user.email
    return link_in(messages[-1])[1]


def set_password(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(path, data={"password": password,
                                   "confirm": password if confirm is None else confirm})


def signs_in(client, user, password: str) -> bool:
    response = client.post("/login", data={"email": user.email, "password": password})
    if response.status_code == 302:
        client.post("/logout")
        return True
    assert response.status_code == 401
    return False


def test_known_and_unknown_addresses_get_the_same_answer_and_only_the_known_one_is_mailed(
        client, make, smtp_server):
    user = make.student(email="known@example.ac.uk")

    unknown = ask_for_link(client, "nobody@example.ac.uk")
    assert smtp_server.messages == []  # sending is synchronous: nothing was mailed, nothing is on its way
    assert db.session.scalar(select(func.count()).select_from(PasswordReset)) == 0
    known = ask_for_link(client, "Known@Example.ac.uk")

    assert unknown.status_code == known.status_code == 200
    assert unknown.request.path == known.request.path == "/login"
    assert flashes(unknown.get_data(as_text=True)) == flashes(known.get_data(as_text=True))
    assert "If that address belongs to an account" in flashes(known.get_data(as_text=True))[0]
    messages = smtp_server.wait_for(1)
    assert [m["To"] for m in messages] == [user.email]


def test_the_mail_holds_a_one_time_link_and_only_a_hash_of_it_is_stored(client, make, smtp_server):
    user = make.student(name="Ada Lovelace")
    ask_for_link(client, user.email)
    [message] = smtp_server.wait_for(1)

    assert message["Subject"] == "Reset your projectflow password"
    body = message.get_body(("plain",)).get_content()
    assert "Hello Ada Lovelace" in body
    assert "It works once, for 2 hours" in body
    _, _, token = link_in(message)
    assert len(token) >= 40  # 32 random bytes
    reset = db.session.scalars(select(PasswordReset)).one()
    assert reset.user_id == user.id
    assert reset.token_hash == PasswordReset.hash_token(token) != token
    assert reset.expires_at - reset.created_at == timedelta(hours=2)


def test_the_link_sets_a_new_password_then_the_new_one_signs_in_and_the_old_one_does_not(
        client, make, smtp_server):
    user = make.student()
    path = mailed_link(client, smtp_server, user)

    page = client.get(path)
    assert page.status_code == 200
    assert user.email in page.get_data(as_text=True)
    response = set_password(client, path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "Your password is set" in flashes(client.get("/login").get_data(as_text=True))[0]

    assert signs_in(client, user, NEW_PASSWORD)
    assert not signs_in(client, user, make.PASSWORD)
    db.session.refresh(user)
    assert user.password_hash.startswith("$argon2id$")
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == user.id)
                                 .order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["user.password_reset_requested", "user.password_reset"]


def test_a_used_link_answers_410_with_a_clear_message(client, make, smtp_server):
    user = make.student()
    path = mailed_link(client, smtp_server, user)
    assert set_password(client, path).status_code == 302

    again = client.get(path)
    assert again.status_code == 410
    assert "already been used" in main_text(again.get_data(as_text=True))
    # Posting to it changes nothing either.
    assert set_password(client, path, "yet another passphrase").status_code == 410
    assert signs_in(client, user, NEW_PASSWORD)


@pytest.mark.parametrize("after, status", [
    (timedelta(hours=2) - timedelta(seconds=1), 200),  # the last second it works
    (timedelta(hours=2), 410),
    (timedelta(days=3), 410),
])
def test_a_link_works_for_password_reset_hours_then_answers_410(client, make, smtp_server, after, status):
    user = make.student()
    sent_at = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    with clock.frozen(sent_at):
        path = mailed_link(client, smtp_server, user)
    with clock.frozen(sent_at + after):
        page = client.get(path)
        assert page.status_code == status
        if status == 410:
            assert "has expired" in main_text(page.get_data(as_text=True))
            assert "links work for 2 hours" in main_text(page.get_data(as_text=True))
            assert set_password(client, path).status_code == 410
            assert not signs_in(client, user, NEW_PASSWORD)


def test_the_validity_follows_the_configured_hours(app, client, make, smtp_server):
    app.config["PASSWORD_RESET_HOURS"] = 24
    user = make.student()
    sent_at = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    with clock.frozen(sent_at):
        path = mailed_link(client, smtp_server, user)
    assert "It works once, for 24 hours" in smtp_server.messages[-1].get_body(("plain",)).get_content()
    with clock.frozen(sent_at + timedelta(hours=23)):
        assert client.get(path).status_code == 200
    with clock.frozen(sent_at + timedelta(hours=24)):
        assert client.get(path).status_code == 410


def test_an_unknown_token_answers_404(client, make):
    make.student()
    response = client.get("/password/reset/not-a-real-token")
    assert response.status_code == 404
    assert "not valid" in main_text(response.get_data(as_text=True))
    assert client.post("/password/reset/not-a-real-token",
                       data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404


def test_asking_again_makes_the_earlier_link_stop_working(client, make, smtp_server):
    user = make.student()
    first = mailed_link(client, smtp_server, user)
    second = mailed_link(client, smtp_server, user)
    assert first != second

    old = client.get(first)
    assert old.status_code == 410
    assert "replaced by a newer one" in main_text(old.get_data(as_text=True))
    assert set_password(client, first).status_code == 410
    assert set_password(client, second).status_code == 302
    assert signs_in(client, user, NEW_PASSWORD)


@pytest.mark.parametrize("password, confirm, field, message", [
    (NEW_PASSWORD, NEW_PASSWORD + "x", "confirm", "The two passwords differ."),
    ("short one", "short one", "password", "Choose a password of at least 10 characters."),
    ("", "", "password", "This field is required."),
])
def test_bad_new_passwords_get_422_next_to_the_field_and_the_link_stays_usable(
        client, make, smtp_server, password, confirm, field, message):
    user = make.student()
    path = mailed_link(client, smtp_server, user)

    response = set_password(client, path, password, confirm)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field) == message
    assert not signs_in(client, user, password or NEW_PASSWORD)
    assert signs_in(client, user, make.PASSWORD)

    assert set_password(client, path).status_code == 302
    assert signs_in(client, user, NEW_PASSWORD)


def test_a_ten_character_password_is_long_enough(client, make, smtp_server):
    user = make.student()
    path = mailed_link(client, smtp_server, user)
    assert set_password(client, path, "ten chars!").status_code == 302
    assert signs_in(client, user, "ten chars!")


def test_a_deactivated_account_gets_no_mail_and_its_earlier_link_stops_working(client, make, smtp_server):
    user = make.student()
    path = mailed_link(client, smtp_server, user)
    user.is_active = False
    db.session.commit()

    response = ask_for_link(client, user.email)
    assert response.status_code == 200
    assert "If that address belongs to an account" in flashes(response.get_data(as_text=True))[0]
    assert len(smtp_server.messages) == 1  # only the link sent while the account was active

    page = client.get(path)
    assert page.status_code == 410
    assert "deactivated" in main_text(page.get_data(as_text=True))
    assert set_password(client, path).status_code == 410


def test_an_imported_account_without_a_password_sets_its_first_one_through_a_link(client, make, smtp_server):
    user = make.student(password=None)
    assert not signs_in(client, user, make.PASSWORD)
    path = mailed_link(client, smtp_server, user)
    assert set_password(client, path).status_code == 302
    assert signs_in(client, user, NEW_PASSWORD)


def test_the_link_points_at_the_configured_site_whatever_host_the_request_named(app, client, make, smtp_server):
    # A forged Host header must not put someone's reset token into a link to another site.
    app.config["BASE_URL"] = "https://projects.example.ac.uk/"
    user = make.student()
    client.post("/password/forgot", data={"email": user.email}, headers={"Host": "attacker.example.com"})
    [message] = smtp_server.wait_for(1)
    site, path, _ = link_in(message)
    assert site == "https://projects.example.ac.uk"
    assert "attacker" not in message.get_body(("plain",)).get_content()
    assert client.get(path).status_code == 200


def test_asking_for_links_again_and_again_is_paused(client):
    # Ten an hour from one address: enough for a person, too few to mail-bomb someone's inbox.
    for n in range(10):
        assert ask_for_link(client, f"nobody{n}@example.ac.uk").status_code == 200
    response = client.post("/password/forgot", data={"email": "nobody@example.ac.uk"})
    assert response.status_code == 429
    assert "Too many attempts" in main_text(response.get_data(as_text=True))


def test_the_form_needs_a_valid_address(client, make):
    response = client.post("/password/forgot", data={"email": "not an address"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "email") == "Invalid email address."
    assert client.get("/password/forgot").status_code == 200


# --- mail backends -------------------------------------------------------------------------------

def test_mail_is_blocked_unless_a_test_asks_for_the_smtp_server(app, client, make):
    assert app.config["MAIL_BACKEND"] == "blocked"
    user = make.student()
    with pytest.raises(mail.MailBlocked, match=user.email):
        client.post("/password/forgot", data={"email": user.email})
    with pytest.raises(mail.MailBlocked):
        message = mail.build("someone@example.ac.uk", "Hello", "password_reset", user=user, link="http://x/", hours=2)
        mail.send_now(outbox.Outgoing("someone@example.ac.uk", message.as_bytes()))


def test_the_file_backend_writes_an_eml_file_under_instance_mail(app, client, make):
    app.config["MAIL_BACKEND"] = "file"
    user = make.student()
    assert ask_for_link(client, user.email).status_code == 200

    [eml] = (Path(app.instance_path) / "mail").glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == user.email
    assert message["Subject"] == "Reset your projectflow password"
    _, path, _ = link_in(message)
    assert client.get(path).status_code == 200


def test_a_rolled_back_change_sends_no_mail(app, make, smtp_server):
    user = make.student()
    services.request_password_reset(user.email, base_url="http://localhost")
    db.session.rollback()
    db.session.commit()
    assert smtp_server.messages == []
    assert db.session.scalar(select(func.count()).select_from(PasswordReset)) == 0
