"""The demo's generators: the same people every time, a valid import file, the academic year.
(The demo installation itself is checked in test_demo_loaded.py.)"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from projectflow import demo
from projectflow.cohorts import importing

# Every keyword a member of staff may list: the programme's areas and their topics.
PROGRAMME_KEYWORDS = set(demo.AREAS) | {topic for topics in demo.AREAS.values() for topic in topics}


def test_people_csv_is_the_same_for_the_same_seed_and_different_for_another():
    assert demo.people_csv(2026, 2026) == demo.people_csv(2026, 2026)
    assert demo.people_csv(2026, 2026) != demo.people_csv(7, 2026)
    # The year only changes the students' addresses.
    assert demo.people_csv(2026, 2027) != demo.people_csv(2026, 2026)
    assert demo.people_csv(2026, 2027).replace("27@", "26@") == demo.people_csv(2026, 2026)


@pytest.mark.parametrize("seed", [1, 2026, 99])
def test_people_csv_is_a_valid_file_of_distinct_people_that_imports_cleanly(app, seed):
    text = demo.people_csv(seed, 2026)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 160
    assert len({r["email"] for r in rows}) == len({r["name"] for r in rows}) == 160
    assert sum(r["role"] == "staff" for r in rows) == 40
    assert all(r["email"].endswith("@example.ac.uk") for r in rows)
    assert all(set(r["expertise"].split(";")) <= PROGRAMME_KEYWORDS for r in rows if r["role"] == "staff")
    # Every row passes the importer's checks (parse raises ImportRejected otherwise).
    assert len(importing.parse(text)) == 160


@pytest.mark.parametrize("today, year", [
    (datetime(2026, 8, 31, 12, tzinfo=timezone.utc), 2025),
    (datetime(2026, 9, 1, 12, tzinfo=timezone.utc), 2026),
    (datetime(2027, 1, 15, tzinfo=timezone.utc), 2026),
])
def test_the_academic_year_starts_in_september(today, year):
    assert demo.current_academic_year(today) == year
