"""Fixtures for every test: an app on a clean database, factories, signed-in clients, a real SMTP server.

The database is SQLite (a file, so the live server of the browser tests sees it too) unless
``PROJECTFLOW_TEST_DATABASE_URL`` names a PostgreSQL server: then the suite runs in a fresh database
created on that server for the run and dropped afterwards. Tests that need PostgreSQL whatever the
main database is (the migration tests) ask for ``postgres_server``: the configured server, else a
throwaway cluster started from the installed binaries, else they are skipped.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import contextmanager

import pytest
from flask import g, request_started
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import Engine

from projectflow import create_app
from projectflow.config import normalise_database_url
from projectflow.extensions import db, limiter
from tests.factories import Factories
from tests.pg_cluster import ThrowawayCluster, find_bin_dir

TEST_DATABASE_URL = os.environ.get("PROJECTFLOW_TEST_DATABASE_URL", "").strip()


@contextmanager
def fresh_postgres_database(server_url: str, prefix: str = "projectflow_test"):
    """A new, empty database on the server, dropped on the way out."""
    server = make_url(normalise_database_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A test database need not survive a power cut: commits return without waiting for the disk
        # (every connection to it, the tests' subprocesses' too). What a commit makes visible is the same.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# The modules that take minutes start first: the other worker shares out the rest meanwhile, instead of
# the run ending with one worker alone on a long module. (xdist hands out whole modules in this order.)
LONGEST_FIRST = (
    "tests/web/test_hostile_input.py",
    "tests/web/test_query_counts.py",
    "tests/browser/test_accessibility.py",  # (builds the demo the forms sweep below then copies)
    "tests/web/test_access_matrix.py",
    "tests/web/test_forms_sweep.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    rank = {module: i for i, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))  # stable: else as collected


@event.listens_for(Engine, "connect")
def _sqlite_commits_without_waiting_for_the_disk(dbapi_connection, _record) -> None:
    # The same for the tests' SQLite files: a crashed test process still leaves them whole (the journal
    # is kept); only a power cut could lose the last commits, which no test is about.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql"))


@pytest.fixture(scope="session")
def postgres_server():
    """The address of a PostgreSQL server's maintenance database, for tests that need PostgreSQL."""
    if _is_postgres(TEST_DATABASE_URL):
        yield TEST_DATABASE_URL
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL: set PROJECTFLOW_TEST_DATABASE_URL or install the server binaries")
    cluster = ThrowawayCluster(bin_dir)
    try:
        url = cluster.start()
    except Exception:
        cluster.stop()
        raise
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if _is_postgres(TEST_DATABASE_URL):
        with fresh_postgres_database(TEST_DATABASE_URL) as url:
            yield url
    elif TEST_DATABASE_URL:
        raise pytest.UsageError("PROJECTFLOW_TEST_DATABASE_URL must be a postgresql:// address")
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def test_config(database_url: str, instance_path) -> dict:
    return {
        "ENV": "testing",
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "MAIL_BACKEND": "blocked",
        # Cheap hashing: the tests sign in hundreds of times. Production uses the defaults.
        "PASSWORD_TIME_COST": 1,
        "PASSWORD_MEMORY_COST": 1024,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    """Create the tables once per run; tests then empty them after use."""
    app = create_app(test_config(database_url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _empty_all_tables() -> None:
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


def _fresh_g(_app, **_extra) -> None:
    # Requests made inside a test share the test's app context, and so its ``g``; in production each
    # request has its own. Without this, Flask-Login's cached user (``g._login_user``) and Flask-WTF's
    # token would leak from one client's request into the next one's.
    g.__dict__.clear()


@pytest.fixture(scope="session")
def _shared_app(database_url, _schema, tmp_path_factory):
    """One app per worker, as production serves every request from one: building an app (routes,
    templates) and warming its engine's statement cache for each test would cost more than most tests.
    Each test gets it back as it was built (``app`` restores its configuration)."""
    app = create_app(test_config(database_url, tmp_path_factory.mktemp("instance")))
    request_started.connect(_fresh_g, app)
    yield app, dict(app.config)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(request, database_url, _schema, _shared_app, tmp_path):
    """The app on a clean database, its configuration as built and its files in the test's own folder.
    ``@pytest.mark.csrf`` keeps CSRF protection on; ``@pytest.mark.own_app`` builds an app for the test
    alone (one that adds routes of its own: a shared app takes none once it has served a request)."""
    instance = tmp_path / "instance"
    own_app = request.node.get_closest_marker("own_app") is not None
    if own_app:
        app = create_app(test_config(database_url, instance))
        request_started.connect(_fresh_g, app)
    else:
        app, built = _shared_app
        app.config.clear()
        app.config.update(built, INSTANCE_PATH=str(instance))
        app.instance_path = str(instance)
        instance.mkdir(parents=True, exist_ok=True)
        # The sign-in limits count per address; another test's attempts must not count against this one,
        # and an app built by a test with limits off must not leave them off.
        limiter.enabled = app.config["RATELIMIT_ENABLED"]
        limiter.reset()
    if request.node.get_closest_marker("csrf"):
        app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        yield app
        _empty_all_tables()
        if own_app:
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make(app) -> Factories:
    """Factories: ``make.student()``, ``make.cohort(coordinator=...)``, ``make.staff(...)`` ..."""
    return Factories()


@pytest.fixture
def login(client):
    """Sign a person in on the test client (through the real sign-in form) and return the client."""

    def sign_in(user, password: str = Factories.PASSWORD, role: str | None = None):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, f"sign-in of {user.email} failed ({response.status_code})"
        if role:
            with client.session_transaction() as session:
                session["view_role"] = role
        return client

    return sign_in


@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) on a free local port; the app sends its mail there."""
    from tests.smtp import RecordingSMTPServer

    server = RecordingSMTPServer()
    server.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER=server.host, MAIL_PORT=server.port)
    try:
        yield server
    finally:
        server.stop()


# --- a cohort with its people, for the tests of what happens inside one ----------------------------

@pytest.fixture
def cohort(make):
    return make.cohort(coordinator=make.coordinator(name="Cora Ordinator"))


@pytest.fixture
def coordinator(cohort):
    return next(s.member for s in cohort.staff if s.is_coordinator)


@pytest.fixture
def supervisor(make, cohort):
    return make.staff(cohort, name="Stella Staff")


@pytest.fixture
def student(make, cohort):
    return make.student(cohort, name="Sam Student")
