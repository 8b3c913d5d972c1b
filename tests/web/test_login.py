"""Signing in and out: the same answer for unknown e-mails and wrong passwords, rate limiting."""

from __future__ import annotations

import pytest

from projectflow.people.views import SIGN_IN_FAILED
from tests.forms import get_form


def test_sign_in_lands_on_the_home_page_of_the_persons_role(client, make):
    student = make.student()
    form = get_form(client, "/login", has_field="password")
    response = form.set("email", student.email.upper()).set("password", make.PASSWORD).submit(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/student"
    page = client.get("/student")
    assert page.status_code == 200
    assert student.name in page.get_data(as_text=True)


@pytest.mark.parametrize("email, password", [
    ("nobody@example.ac.uk", "correct horse battery"),
    ("known@example.ac.uk", "wrong password here"),
    ("inactive@example.ac.uk", "correct horse battery"),
])
def test_unknown_email_wrong_password_and_deactivated_account_get_the_same_answer(client, make, email, password):
    make.student(email="known@example.ac.uk")
    make.student(email="inactive@example.ac.uk", active=False)
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 401
    assert SIGN_IN_FAILED in response.get_data(as_text=True)
    assert client.get("/student").status_code == 302  # still signed out


def test_missing_fields_are_named(client):
    response = client.post("/login", data={"email": ""})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


def test_repeated_failures_are_paused_with_a_clear_message(app, client, make):
    user = make.student()
    app.config["LOGIN_RATE_LIMIT"] = "3 per 5 minutes"
    for _ in range(3):
        assert client.post("/login", data={"email": user.email, "password": "nope nope nope"}).status_code == 401
    blocked = client.post("/login", data={"email": user.email, "password": make.PASSWORD})
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts for this account" in blocked.get_data(as_text=True)
    # Another person signing in from the same address is not blocked by this account's limit.
    other = make.student()
    assert client.post("/login", data={"email": other.email, "password": make.PASSWORD}).status_code == 302


def test_successful_sign_ins_do_not_count_towards_the_limit(app, client, make):
    user = make.student()
    app.config["LOGIN_RATE_LIMIT"] = "2 per 5 minutes"
    for _ in range(4):
        assert client.post("/login", data={"email": user.email, "password": make.PASSWORD}).status_code == 302
        client.post("/logout")


def test_sign_out_needs_a_post_and_ends_the_session(login, make):
    client = login(make.student())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/student").status_code == 302


def test_next_only_follows_paths_on_this_site(client, make):
    user = make.student()
    response = client.post("/login?next=https://evil.example.com/", data={"email": user.email, "password": make.PASSWORD})
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/student", data={"email": user.email, "password": make.PASSWORD})
    assert response.headers["Location"] == "/student"


def test_an_app_made_without_limits_does_not_switch_them_off_for_the_next_one(database_url, tmp_path, make):
    # The limiter is one object for every app: an app made with limits off (as some tests make theirs)
    # once left them off for every app made after it, in production code paths too.
    from projectflow import create_app
    from tests.conftest import test_config as app_config

    create_app({**app_config(database_url, tmp_path / "unlimited"), "RATELIMIT_ENABLED": False})
    limited = create_app({**app_config(database_url, tmp_path / "limited"), "LOGIN_RATE_LIMIT": "2 per 5 minutes"})
    client = limited.test_client()
    user = make.student()
    answers = [client.post("/login", data={"email": user.email, "password": "nope nope nope"}).status_code
               for _ in range(3)]
    assert answers == [401, 401, 429]
