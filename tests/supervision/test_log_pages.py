"""The supervision log a page at a time (a year gives hundreds of meetings), filtered by student,
supervisor, confirmation and dates; a date that is not one is refused with a sentence."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from projectflow.extensions import db
from projectflow.supervision.models import Meeting
from tests.supervision.test_meetings import Published

pytestmark = pytest.mark.usefixtures("smtp_server")


@pytest.fixture
def busy(make, cohort, coordinator):
    """Lee's two students and Kim's one, 30 meetings each (every other one confirmed)."""
    pub = Published(make, cohort, coordinator)
    when = datetime(2027, 1, 1, 12, tzinfo=timezone.utc)
    for student, supervisor in [(s, pub.lee) for s in pub.of_lee] + [(s, pub.kim) for s in pub.of_kim]:
        for i in range(30):
            db.session.add(Meeting(cohort_id=cohort.id, student_id=student.id, supervisor_id=supervisor.id,
                                   met_on=date(2027, 1, 11) + timedelta(days=i), notes=f"Meeting {i} of {student.name}.",
                                   recorded_at=when, confirmed_at=when if i % 2 else None,
                                   confirmed_by_id=supervisor.id if i % 2 else None))
    db.session.commit()
    return pub


def shown(page: str) -> list[str]:
    return re.findall(r"Meeting (\d+) of ([^.<]+)\.", page)


def test_the_coordinator_sees_the_log_a_page_at_a_time_and_filters_it(login, busy):
    client = login(busy.coordinator)
    url = f"/cohorts/{busy.cohort.id}/meetings/supervision"
    first = client.get(url).get_data(as_text=True)
    assert len(shown(first)) == 50 and "90 meetings, page 1 of 2." in first
    assert len(shown(client.get(url + "?page=2").get_data(as_text=True))) == 40
    kims = client.get(f"{url}?supervisor={busy.kim.id}").get_data(as_text=True)
    assert {name for _, name in shown(kims)} == {busy.of_kim[0].name} and len(shown(kims)) == 30
    one = busy.of_lee[1]
    narrow = client.get(f"{url}?student={one.id}&state=awaiting&since=2027-01-15&until=2027-01-24")
    assert narrow.status_code == 200
    page = narrow.get_data(as_text=True)
    # days 4 .. 13 after 11 Jan, the unconfirmed (even) ones: 4, 6, 8, 10, 12
    assert sorted(int(i) for i, name in shown(page)) == [4, 6, 8, 10, 12]
    assert {name for _, name in shown(page)} == {one.name}
    assert "5 meetings found." in page


def test_a_supervisor_sees_only_their_students_and_bad_dates_get_a_sentence(login, busy):
    client = login(busy.lee)
    url = f"/cohorts/{busy.cohort.id}/meetings/supervision"
    page = client.get(f"{url}?student={busy.of_kim[0].id}").get_data(as_text=True)   # not Lee's: ignored
    assert {name for _, name in shown(page)} <= {s.name for s in busy.of_lee}
    assert "60 meetings, page 1 of 2." in page
    bad = client.get(f"{url}?since=31/02/2027")
    assert bad.status_code == 400 and "is not a date" in bad.get_data(as_text=True)
