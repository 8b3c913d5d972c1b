"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL, and undo it again.

Each test runs Alembic through Flask-Migrate (as ``projectflow init`` does) against an empty database
of its own: a new SQLite file, or a new database on the PostgreSQL server of the ``postgres_server``
fixture (skipped only when no PostgreSQL is available). The invariants declared on the models
(CHECK and UNIQUE constraints) must be in the migrated database, not only in Python.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, UniqueConstraint, inspect, text
from sqlalchemy.exc import IntegrityError

from projectflow import create_app
from projectflow.extensions import db
from tests import conftest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path):
    """The address of an empty database, for each kind of database projectflow supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        with conftest.fresh_postgres_database(server, prefix="projectflow_migrations") as url:
            yield url


@pytest.fixture
def migrated_app(empty_database_url, tmp_path):
    """An app whose database the test migrates; pushed in an app context, disposed afterwards."""
    app = create_app(conftest.test_config(empty_database_url, tmp_path / "instance"))
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_upgrade_from_empty_gives_the_models_schema_and_downgrade_removes_it(migrated_app):
    assert table_names() == set(), "the database should start empty"

    upgrade()

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], (
        "the migrations and the models disagree; write a migration (`projectflow db migrate -m ...`), "
        "read it, and commit it:\n" + "\n".join(map(repr, differences)))
    assert table_names() == set(db.metadata.tables) | {"alembic_version"}

    downgrade(revision="base")

    assert table_names() <= {"alembic_version"}
    with db.engine.connect() as conn:
        if "alembic_version" in table_names():
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 0

    # And back up again: a downgrade leaves nothing behind that gets in the way of an upgrade.
    upgrade()
    assert table_names() == set(db.metadata.tables) | {"alembic_version"}


def test_every_check_and_unique_constraint_of_the_models_is_in_the_migrated_database(migrated_app):
    """compare_metadata does not look at CHECK constraints (nor, everywhere, at UNIQUE ones): compare
    their names table by table, so an invariant added to a model without a migration is caught."""
    upgrade()
    inspector = inspect(db.engine)
    missing, extra = [], []
    for table in db.metadata.sorted_tables:
        for kind, cls, reflect in (("CHECK", CheckConstraint, inspector.get_check_constraints),
                                   ("UNIQUE", UniqueConstraint, inspector.get_unique_constraints)):
            declared = {str(c.name) for c in table.constraints if isinstance(c, cls) and c.name}
            present = {c["name"] for c in reflect(table.name) if c["name"]}
            missing += [f"{kind} {table.name}.{name}" for name in sorted(declared - present)]
            extra += [f"{kind} {table.name}.{name}" for name in sorted(present - declared)]
    assert not missing, "declared on the models but not created by the migrations: " + ", ".join(missing)
    assert not extra, "created by the migrations but not declared on the models: " + ", ".join(extra)


NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def insert(conn, table: str, **values) -> int | None:
    """A plain INSERT (SQLAlchemy Core: the models' Python-side column defaults fill what is not given,
    but no ORM validator runs), so only the database can refuse it."""
    t = db.metadata.tables[table]
    result = conn.execute(t.insert().values(**values))
    return result.inserted_primary_key[0] if result.inserted_primary_key else None


def insert_user(conn, email: str, name: str = "A Person") -> int:
    return insert(conn, "users", email=email, name=name, is_active=True, created_at=NOW)


def insert_cohort(conn, **overrides) -> int:
    values = {"programme_name": "Applied Machine Learning", "programme_code": "I460", "academic_year": 2026,
              "timezone": "Europe/London", "part_time_start": date(2027, 1, 11),
              "part_time_end": date(2027, 5, 28), "full_time_start": date(2027, 5, 31),
              "full_time_end": date(2027, 9, 10), "created_at": NOW, **overrides}
    return insert(conn, "cohorts", **values)


@contextmanager
def violates():
    """The statement inside is refused by the database itself (nothing in Python checks it here)."""
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            yield conn


def test_the_invariants_are_enforced_by_the_migrated_database(migrated_app):
    upgrade()
    with db.engine.begin() as conn:
        user_id = insert_user(conn, "ada@example.ac.uk")
        insert_cohort(conn)

    # users: e-mail stored lower-case, unique; a name is required.
    with violates() as conn:
        insert_user(conn, "Upper.Case@example.ac.uk")
    with violates() as conn:
        insert_user(conn, "ada@example.ac.uk")
    with violates() as conn:
        insert_user(conn, "nameless@example.ac.uk", name="")
    # roles: only the four known ones; a role is held once.
    with violates() as conn:
        insert(conn, "user_roles", user_id=user_id, role="wizard")
    with db.engine.begin() as conn:
        insert(conn, "user_roles", user_id=user_id, role="staff")
    with violates() as conn:
        insert(conn, "user_roles", user_id=user_id, role="staff")
    # roles belong to an existing account (SQLite enforces foreign keys because the app asks it to).
    with violates() as conn:
        insert(conn, "user_roles", user_id=999999, role="staff")
    # cohorts: one per programme and year; phases in order; a sane year.
    with violates() as conn:
        insert_cohort(conn)
    with violates() as conn:
        insert_cohort(conn, programme_code="I461", part_time_end=date(2027, 1, 1))
    with violates() as conn:
        insert_cohort(conn, programme_code="I462", full_time_start=date(2027, 5, 1))
    with violates() as conn:
        insert_cohort(conn, programme_code="I463", academic_year=1999)
    # staff profiles: no negative load.
    with violates() as conn:
        insert(conn, "staff_profiles", user_id=user_id, expertise=[], max_load=-1)

    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT email FROM users")).scalars().all() == ["ada@example.ac.uk"]
        assert conn.execute(text("SELECT count(*) FROM cohorts")).scalar() == 1


def test_the_head_revision_is_the_only_head_and_the_database_is_at_it(migrated_app):
    from alembic.script import ScriptDirectory

    upgrade()
    config = migrated_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migrations have several heads, merge them: {heads}"
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == tuple(heads)
