"""Gate 7: bounded queries. Every page of every role runs as many SQL statements for a cohort of 400
students as for one of 40: a page that loads something per student, per project or per member of
staff fails here, whatever the size of the cohort that exposed it.

The installation (``tests.cohort_builder``: this year's cohort in its preference round, last year's
allocated, second-marked and lived through) is built once per size, on a clean database; each page is
then opened by a client signed in as its persona, at the same moment, outside any app context (so
each request has its own database session, as in production), counting the statements the engine
runs (``before_cursor_execute``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from projectflow import create_app
from projectflow.core import clock
from projectflow.extensions import db
from tests.cohort_builder import Scale, build
from tests.conftest import _empty_all_tables
from tests.conftest import test_config as app_config  # (not named test_*: pytest would collect it)
from tests.page_tour import PAGES, PERSONAS, StatementLog, sign_in

SIZES = {"small": 40, "large": 400}


@dataclass(frozen=True)
class Seen:
    status: int
    statements: tuple[str, ...]
    size: int


def _tour(database_url: str, instance_path, students: int) -> tuple[dict[str, Seen], dict[str, int]]:
    app = create_app(app_config(database_url, instance_path))
    with app.app_context():
        installation = build(Scale.of(students))
        people = {persona: getattr(installation, attr).email for persona, (attr, _role) in PERSONAS.items()}
        addresses = {page.key: page.address(installation) for page in PAGES}
        log = StatementLog(db.engine)
        built = {"students": installation.scale.students, "previous": installation.scale.previous}
    seen: dict[str, Seen] = {}
    try:
        clients = {}
        with clock.frozen(installation.now):
            for page in PAGES:
                if page.persona not in clients:
                    clients[page.persona] = sign_in(app.test_client(), people[page.persona], PERSONAS[page.persona][1])
                with log.recording() as statements:
                    response = clients[page.persona].get(addresses[page.key])
                seen[page.key] = Seen(response.status_code, tuple(statements), len(response.data))
    finally:
        log.close()
        with app.app_context():
            _empty_all_tables()
            db.engine.dispose()
    return seen, built


@pytest.fixture(scope="module")
def tours(database_url, _schema, tmp_path_factory):
    """Every page's statements at each size (each installation built once, then emptied)."""
    found = {}
    for label, students in SIZES.items():
        found[label] = _tour(database_url, tmp_path_factory.mktemp(f"queries-{label}"), students)
    return {label: seen for label, (seen, _built) in found.items()}, {label: built for label, (_s, built) in found.items()}


def test_the_larger_installation_is_ten_times_the_smaller(tours):
    seen, built = tours
    assert built["large"]["students"] == 10 * built["small"]["students"]
    assert built["large"]["previous"] >= 9 * built["small"]["previous"]
    # The pages really list the cohort: last year's progress grid and this year's cohort page grow.
    for key in ("coordinator: progress last year", "coordinator: cohort this year"):
        assert seen["large"][key].size > 5 * seen["small"][key].size, key


@pytest.mark.parametrize("key", [page.key for page in PAGES])
def test_queries_per_page_do_not_grow_with_the_cohort(tours, key):
    seen, _built = tours
    small, large = seen["small"][key], seen["large"][key]
    assert (small.status, large.status) == (200, 200), f"{key}: answered {small.status} and {large.status}"
    assert len(large.statements) <= len(small.statements), (
        f"{key}: {len(small.statements)} statements with {SIZES['small']} students, {len(large.statements)} with "
        f"{SIZES['large']}. Run more often at the larger size:\n" + _growth(small.statements, large.statements))


def _growth(small: tuple[str, ...], large: tuple[str, ...]) -> str:
    before, after = Counter(small), Counter(large)
    grown = sorted(((after[s] - before[s], s) for s in after if after[s] > before[s]), reverse=True)
    return "\n".join(f"  +{n}: {' '.join(s.split())[:300]}" for n, s in grown[:8])
