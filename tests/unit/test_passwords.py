"""Password hashing: Argon2id with the configured cost, constant-shape failures, upgrades on sign-in."""

from __future__ import annotations

import pytest

from projectflow.config import Defaults
from projectflow.core.errors import ValidationFailed
from projectflow.core.passwords import hash_password, needs_rehash, verify_password
from projectflow.extensions import db
from projectflow.people import services


def test_a_hash_is_argon2id_with_the_configured_cost(app):
    app.config.update(PASSWORD_TIME_COST=2, PASSWORD_MEMORY_COST=2048)
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=2048,t=2,")
    assert "correct horse battery" not in hashed
    assert hash_password("correct horse battery") != hashed  # salted


def test_the_production_cost_is_rfc_9106s_second_recommendation(app):
    assert (Defaults.PASSWORD_TIME_COST, Defaults.PASSWORD_MEMORY_COST) == (3, 64 * 1024)
    app.config.update(PASSWORD_TIME_COST=Defaults.PASSWORD_TIME_COST,
                      PASSWORD_MEMORY_COST=Defaults.PASSWORD_MEMORY_COST)
    assert hash_password("x" * 12).startswith("$argon2id$v=19$m=65536,t=3,")


@pytest.mark.parametrize("password_hash, password, ok", [
    ("GOOD", "correct horse battery", True),
    ("GOOD", "correct horse batter", False),
    ("GOOD", "", False),
    (None, "correct horse battery", False),  # imported account with no password yet
    ("", "correct horse battery", False),
    ("not-a-hash", "correct horse battery", False),
    ("$argon2id$v=19$m=1024,t=1,p=4$broken", "correct horse battery", False),
])
def test_verify_answers_true_or_false_and_never_raises(app, password_hash, password, ok):
    if password_hash == "GOOD":
        password_hash = hash_password("correct horse battery")
    assert verify_password(password_hash, password) is ok


def test_a_hash_made_with_a_lower_cost_needs_rehashing(app):
    old = hash_password("correct horse battery")
    assert not needs_rehash(old)
    app.config["PASSWORD_TIME_COST"] += 1
    assert needs_rehash(old)


def test_signing_in_upgrades_a_hash_to_the_current_cost(app, make):
    user = make.student()
    old = user.password_hash
    app.config["PASSWORD_TIME_COST"] += 1
    assert services.authenticate(user.email, make.PASSWORD) is user
    db.session.commit()
    db.session.refresh(user)
    assert user.password_hash != old
    assert not needs_rehash(user.password_hash)
    assert verify_password(user.password_hash, make.PASSWORD)
    assert user.last_login_at is not None


def test_a_wrong_password_changes_nothing(app, make):
    user = make.student()
    old = user.password_hash
    app.config["PASSWORD_TIME_COST"] += 1
    assert services.authenticate(user.email, "wrong password") is None
    assert user.password_hash == old
    assert user.last_login_at is None


@pytest.mark.parametrize("password, ok", [("nine char", False), ("ten chars!", True)])
def test_the_minimum_length_is_enforced_when_an_account_gets_a_password(app, make, password, ok):
    if ok:
        assert make.user(password=password).password_hash.startswith("$argon2id$")
    else:
        with pytest.raises(ValidationFailed, match="at least 10 characters"):
            make.user(password=password)
