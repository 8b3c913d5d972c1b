"""Sessions end when they should: a session cookie copied from a signed-in browser stops working when
its owner signs out (anywhere), sets a new password, or is deactivated, and reactivating the account
does not bring it back."""

from __future__ import annotations

import pytest

from projectflow.extensions import db
from projectflow.people import services
from tests.web.test_password_reset import NEW_PASSWORD, mailed_link, set_password


def signed_in_client(app, user, password):
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302
    return client


def replay(app, captured_cookie: str):
    """A fresh client (another person's browser) presenting a captured session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", captured_cookie)
    return thief


def is_signed_in(client) -> bool:
    response = client.get("/notifications")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    return False


@pytest.fixture
def person(make):
    return make.student()


def test_a_captured_cookie_dies_when_its_owner_signs_out(app, person, make):
    owner = signed_in_client(app, person, make.PASSWORD)
    captured = owner.get_cookie("session").value
    assert is_signed_in(replay(app, captured))

    owner.post("/logout")

    assert not is_signed_in(replay(app, captured))
    assert not is_signed_in(owner)


def test_signing_out_on_one_device_signs_out_every_device(app, person, make):
    laptop = signed_in_client(app, person, make.PASSWORD)
    phone = signed_in_client(app, person, make.PASSWORD)

    phone.post("/logout")

    assert not is_signed_in(laptop)
    # Signing in again works, and gives a session that lives.
    assert is_signed_in(signed_in_client(app, person, make.PASSWORD))


def test_a_password_reset_ends_every_session(app, person, make, smtp_server):
    owner = signed_in_client(app, person, make.PASSWORD)
    captured = owner.get_cookie("session").value
    anonymous = app.test_client()
    link = mailed_link(anonymous, smtp_server, person)

    assert set_password(anonymous, link).status_code == 302

    assert not is_signed_in(owner)
    assert not is_signed_in(replay(app, captured))
    assert is_signed_in(signed_in_client(app, person, NEW_PASSWORD))


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(app, person, make):
    admin = make.admin()
    owner = signed_in_client(app, person, make.PASSWORD)
    captured = owner.get_cookie("session").value

    services.set_active(person, False, by=admin)
    db.session.commit()
    assert not is_signed_in(replay(app, captured))

    services.set_active(person, True, by=admin)
    db.session.commit()
    assert not is_signed_in(replay(app, captured))
    assert not is_signed_in(owner)
    assert is_signed_in(signed_in_client(app, person, make.PASSWORD))


@pytest.mark.parametrize("forged", ["1", "1.x", "x.0", "99999999999999999999999.0", "1.0.0", ""])
def test_a_forged_session_id_is_treated_as_signed_out(app, person, forged):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = forged.replace("1", str(person.id), 1) if forged.startswith("1") else forged
        session["_fresh"] = True
    assert not is_signed_in(client)
