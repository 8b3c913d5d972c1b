"""A cohort ready to mark: the matching round's allocation published, second markers published, the
typical-year timeline, and marking set up with DESIGN.md's components and rubrics."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from projectflow.assessment import services
from projectflow.core import clock
from projectflow.extensions import db
from projectflow.matching import second_markers
from projectflow.matching import services as matching
from tests.factories import Factories
from tests.matching.conftest import build_round, solve
from tests.milestones.conftest import timeline  # noqa: F401 (fixture)

# Mid-September of the cohort's second year: the final report (early September) is in.
SEPTEMBER = datetime(2027, 9, 14, 9, tzinfo=timezone.utc)


def build_marking(make, cohort, coordinator, timeline):
    """The matching round allocated and published, with second markers published and marking set up;
    the coordinator marks nobody (which people mark is then the same every run)."""
    r = build_round(make, cohort, coordinator)
    r.nlp = make.staff(cohort, name="Dr Nadia", expertise=("graphs",), max_load=4)
    for member in cohort.staff:
        if member.user_id == coordinator.id:
            member.load_limit = 0
    db.session.commit()
    run = solve(cohort, coordinator)
    matching.publish_run(run, by=coordinator)
    second_markers.assign_second_markers(cohort, by=coordinator)
    second_markers.publish_second_markers(cohort, by=coordinator)
    db.session.commit()
    r.run = run
    r.timeline = timeline
    r.components = {c.key: c for c in services.set_up_marking(cohort, by=coordinator)}
    db.session.commit()
    return r


@pytest.fixture
def marking(make, cohort, coordinator, timeline, smtp_server):  # noqa: F811
    r = build_marking(make, cohort, coordinator, timeline)
    with clock.frozen(SEPTEMBER):
        yield r


@pytest.fixture
def as_(client, login):
    """Sign out whoever is signed in, then sign ``user`` in (one browser, several people in turn)."""
    def sign_in(user, role=None):
        client.post("/logout")
        return login(user, role=role)

    return sign_in


@pytest.fixture
def signed_in(app):
    """A fresh client signed in as ``user`` (through the sign-in form), one per person."""

    def sign_in(user):
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": Factories.PASSWORD})
        assert response.status_code == 302
        return client

    return sign_in
