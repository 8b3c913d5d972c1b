"""Configuration: defaults, then ``instance/config.py``, then ``PROJECTFLOW_*`` environment variables.

The environment wins so that one installation can be pointed at another database or mail server
without editing files. Values from the environment are parsed as JSON when they look like JSON
(numbers, booleans), otherwise kept as strings; text settings (secret key, addresses, passwords) are
always kept as strings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# Used only when nothing else is configured; refused outright in production (see check_production).
DEFAULT_SECRET_KEY = "projectflow-development-key-not-secret"

ENV_PREFIX = "PROJECTFLOW_"


class Defaults:
    # "development" (the demo and a laptop), "testing" (the test suite) or "production".
    ENV = "development"
    SECRET_KEY = DEFAULT_SECRET_KEY
    # None means instance/projectflow.db (SQLite), resolved in load_config once the instance path is known.
    DATABASE_URL: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    # Sessions and cookies. None means "Secure in production only", decided in load_config.
    SESSION_COOKIE_SECURE: bool | None = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    # Uploads (CSV imports now; report PDFs later) above this size are answered with 413.
    MAX_CONTENT_LENGTH = 50 * 1024 * 1024
    # Submitted files (core/storage.py): None means instance/uploads; a relative folder is taken
    # inside the instance folder. The size limit of one submitted PDF, in MB.
    UPLOAD_FOLDER: str | None = None
    MAX_UPLOAD_MB = 50

    # Argon2id parameters (RFC 9106 "second recommended option" is t=3, m=64 MiB).
    PASSWORD_TIME_COST = 3
    PASSWORD_MEMORY_COST = 65536
    PASSWORD_MIN_LENGTH = 10

    # Failed sign-ins allowed per e-mail address and per client address before a pause.
    LOGIN_RATE_LIMIT = "5 per 5 minutes"
    LOGIN_RATE_LIMIT_PER_ADDRESS = "30 per 5 minutes"
    RATELIMIT_STORAGE_URI = "memory://"
    # Said explicitly: Flask-Limiter's one limiter object otherwise keeps the last app's choice, so an
    # app made with limits off (a test) would switch them off for every app made after it.
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False

    PASSWORD_RESET_HOURS = 2
    # An invitation (the set-your-password link a new account is e-mailed) is the same kind of link,
    # but the person did not ask for it and may read it days later: it lasts longer.
    INVITATION_DAYS = 14

    # Mail: "file" writes .eml files to instance/mail/ (development), "smtp" sends them,
    # "blocked" raises (the test suite, so nothing is mailed by accident).
    MAIL_BACKEND = "file"
    MAIL_SENDER = "projectflow <no-reply@projectflow.invalid>"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_STARTTLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_TIMEOUT = 10
    # The site's public address, for links in e-mails (set it in production). E-mails never use the
    # address a request names: its Host header is chosen by whoever sends the request.
    BASE_URL = "http://127.0.0.1:5000"

    # Cohort CSV imports: how many rows one file may hold.
    IMPORT_MAX_ROWS = 20000

    AUDIT_PAGE_SIZE = 50

    # How documents (feedback forms, the exam-board mark sheet) name the institution and the module.
    INSTITUTION_NAME = "University"
    MODULE_NAME = "Individual Research Project"


# Text settings whose default is None; with the settings whose default is a string they are never
# parsed as JSON: a secret key or mail password made only of digits must stay a string.
TEXT_SETTINGS = frozenset({"DATABASE_URL", "MAIL_USERNAME", "MAIL_PASSWORD", "UPLOAD_FOLDER"})


def _parse_env_value(key: str, raw: str):
    if key in TEXT_SETTINGS or isinstance(getattr(Defaults, key, None), str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def load_config(app, overrides: dict | None = None) -> None:
    """Fill ``app.config`` from defaults, the instance file, the environment and ``overrides``."""
    app.config.from_object(Defaults)
    instance_file = Path(app.instance_path) / "config.py"
    if instance_file.exists():
        app.config.from_pyfile(str(instance_file))
    for key, raw in os.environ.items():
        if key.startswith(ENV_PREFIX) and not key.startswith(ENV_PREFIX + "TEST_"):
            name = key[len(ENV_PREFIX):]
            app.config[name] = _parse_env_value(name, raw)
    if overrides:
        app.config.update(overrides)

    url = app.config.get("DATABASE_URL") or f"sqlite:///{Path(app.instance_path) / 'projectflow.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = app.config["ENV"] == "production"
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    # A request carries one PDF and a few form fields: room for the file limit plus 1 MB.
    app.config["MAX_CONTENT_LENGTH"] = max(app.config["MAX_CONTENT_LENGTH"] or 0,
                                           (int(app.config["MAX_UPLOAD_MB"]) + 1) * 1024 * 1024)
    app.config["TESTING"] = app.config["ENV"] == "testing" or app.config.get("TESTING", False)
    check_production(app.config)
    if app.config["ENV"] == "production" and app.config["BASE_URL"] == Defaults.BASE_URL:
        app.logger.warning("BASE_URL is not set: links in e-mails will point at %s. Set PROJECTFLOW_BASE_URL "
                           "to the site's public address.", Defaults.BASE_URL)


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` addresses and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def check_production(config) -> None:
    """Refuse to start in production with a secret anyone can read in the source."""
    if config["ENV"] == "production" and (
        not config.get("SECRET_KEY") or config["SECRET_KEY"] == DEFAULT_SECRET_KEY
        or len(str(config["SECRET_KEY"])) < 32
    ):
        raise RuntimeError(
            "projectflow will not start in production with the default or a short secret key: "
            "set PROJECTFLOW_SECRET_KEY to a random string of at least 32 characters "
            "(for example the output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
        )
