"""Configuration: defaults, then instance/config.py, then PROJECTFLOW_* variables, then create_app's
argument; database addresses; the production checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask

from projectflow import create_app
from projectflow.config import DEFAULT_SECRET_KEY, check_production, load_config, normalise_database_url


@pytest.fixture
def clean_environment(monkeypatch):
    """No PROJECTFLOW_* setting from the shell running the tests leaks into these tests."""
    for key in list(os.environ):
        if key.startswith("PROJECTFLOW_"):
            monkeypatch.delenv(key)
    return monkeypatch


def configured(tmp_path: Path, overrides: dict | None = None) -> Flask:
    app = Flask("projectflow_config_test", instance_path=str(tmp_path))
    load_config(app, overrides)
    return app


@pytest.mark.parametrize("given, used", [
    ("postgresql://pf:secret@db.example.ac.uk:5432/projectflow",
     "postgresql+psycopg://pf:secret@db.example.ac.uk:5432/projectflow"),
    ("postgres://pf@localhost/projectflow", "postgresql+psycopg://pf@localhost/projectflow"),
    ("postgresql+psycopg://pf@localhost/projectflow", "postgresql+psycopg://pf@localhost/projectflow"),
    ("postgresql+psycopg2://pf@localhost/projectflow", "postgresql+psycopg2://pf@localhost/projectflow"),
    ("sqlite:////srv/projectflow/projectflow.db", "sqlite:////srv/projectflow/projectflow.db"),
])
def test_plain_postgresql_addresses_use_the_psycopg_3_driver(given, used):
    assert normalise_database_url(given) == used


def test_the_default_database_is_sqlite_in_the_instance_folder(tmp_path, clean_environment):
    app = configured(tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'projectflow.db'}"
    assert app.config["ENV"] == "development"
    assert app.config["TESTING"] is False
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_a_database_address_from_the_environment_is_normalised(tmp_path, clean_environment):
    clean_environment.setenv("PROJECTFLOW_DATABASE_URL", "postgresql://pf@db.example.ac.uk/projectflow")
    app = configured(tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://pf@db.example.ac.uk/projectflow"


def test_instance_config_is_read_and_the_environment_and_the_argument_win_over_it(tmp_path, clean_environment):
    (tmp_path / "config.py").write_text(
        "PASSWORD_RESET_HOURS = 7\n"
        "MAIL_SENDER = 'From the instance file <file@example.ac.uk>'\n"
        "AUDIT_PAGE_SIZE = 20\n"
    )
    clean_environment.setenv("PROJECTFLOW_MAIL_SENDER", "From the environment <env@example.ac.uk>")
    clean_environment.setenv("PROJECTFLOW_AUDIT_PAGE_SIZE", "30")
    app = configured(tmp_path, {"AUDIT_PAGE_SIZE": 40})
    assert app.config["PASSWORD_RESET_HOURS"] == 7
    assert app.config["MAIL_SENDER"] == "From the environment <env@example.ac.uk>"
    assert app.config["AUDIT_PAGE_SIZE"] == 40


def test_create_app_reads_the_instance_config_of_its_instance_folder(tmp_path, clean_environment):
    (tmp_path / "config.py").write_text("PASSWORD_MIN_LENGTH = 14\n")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.instance_path == str(tmp_path)
    assert app.config["PASSWORD_MIN_LENGTH"] == 14


@pytest.mark.parametrize("raw, value", [
    ("587", 587),
    ("true", True),
    ("false", False),
    ('{"pool_pre_ping": true}', {"pool_pre_ping": True}),
    ("smtp.example.ac.uk", "smtp.example.ac.uk"),
])
def test_environment_values_are_parsed_when_they_look_like_json(tmp_path, clean_environment, raw, value):
    clean_environment.setenv("PROJECTFLOW_SOME_SETTING", raw)
    assert configured(tmp_path).config["SOME_SETTING"] == value


@pytest.mark.parametrize("key, raw", [
    ("SECRET_KEY", "12345678901234567890123456789012345678"),
    ("MAIL_PASSWORD", "123456"),
    ("MAIL_USERNAME", "1001"),
    ("MAIL_SENDER", "null"),
    ("BASE_URL", "true"),
])
def test_text_settings_from_the_environment_stay_text(tmp_path, clean_environment, key, raw):
    # A secret made only of digits once became an int, and every signed cookie then failed.
    clean_environment.setenv(f"PROJECTFLOW_{key}", raw)
    assert configured(tmp_path).config[key] == raw


def test_a_numeric_secret_key_from_the_environment_signs_sessions(tmp_path, clean_environment):
    clean_environment.setenv("PROJECTFLOW_SECRET_KEY", "9" * 40)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "ENV": "production"})
    response = app.test_client().get("/login")  # stores the CSRF token in a signed session cookie
    assert response.status_code == 200
    assert any(c.startswith("session=") for c in response.headers.getlist("Set-Cookie"))


def test_test_settings_of_the_suite_are_not_copied_into_the_app(tmp_path, clean_environment):
    clean_environment.setenv("PROJECTFLOW_TEST_DATABASE_URL", "postgresql://elsewhere/db")
    app = configured(tmp_path)
    assert "TEST_DATABASE_URL" not in app.config
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


@pytest.mark.parametrize("env, secure", [("development", False), ("testing", False), ("production", True)])
def test_cookies_are_secure_in_production_only_unless_set(tmp_path, clean_environment, env, secure):
    app = configured(tmp_path, {"ENV": env, "SECRET_KEY": "s" * 40})
    assert app.config["SESSION_COOKIE_SECURE"] is secure
    assert app.config["REMEMBER_COOKIE_SECURE"] is secure
    assert app.config["TESTING"] is (env == "testing")
    explicit = configured(tmp_path, {"ENV": env, "SECRET_KEY": "s" * 40, "SESSION_COOKIE_SECURE": True})
    assert explicit.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("secret, refused", [
    (DEFAULT_SECRET_KEY, True),
    ("", True),
    (None, True),
    ("k" * 31, True),
    ("k" * 32, False),
])
def test_production_needs_a_secret_of_at_least_32_characters(secret, refused):
    config = {"ENV": "production", "SECRET_KEY": secret}
    if refused:
        with pytest.raises(RuntimeError, match="PROJECTFLOW_SECRET_KEY"):
            check_production(config)
    else:
        check_production(config)
    # Outside production the development key is fine (the demo runs on it).
    check_production({"ENV": "development", "SECRET_KEY": secret})
