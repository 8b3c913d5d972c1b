"""The audit log pages: who sees which events, the filters, the detail of one event, paging."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from projectflow.cohorts import services as cohort_services
from projectflow.cohorts.importing import import_people
from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from tests.html import main_text

UTC = timezone.utc


def shown(page: str) -> set[int]:
    """The ids of the events listed on a log page."""
    return {int(n) for n in re.findall(r'href="/audit/(\d+)"', page)}


def ids(*actions: str, cohort=None) -> set[int]:
    query = select(AuditEvent.id)
    if actions:
        query = query.where(AuditEvent.action.in_(actions))
    if cohort is not None:
        query = query.where(AuditEvent.cohort_id == cohort.id)
    return set(db.session.scalars(query))


def rename(cohort, name: str, *, by, at: datetime | None = None) -> AuditEvent:
    """Edit the cohort's programme name through the service, at a given time."""
    values = {k: getattr(cohort, k) for k in cohort_services.COHORT_FIELDS} | {"programme_name": name}
    with clock.frozen(at or clock.now()):
        cohort_services.update_cohort(cohort, values, by=by)
    db.session.commit()
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


@pytest.fixture
def world(make):
    """Two cohorts with a coordinator each, and accounts (whose events belong to no cohort)."""
    helen = make.coordinator(name="Prof Helen Carter", email="h.carter@example.ac.uk")
    omar = make.coordinator(name="Dr Omar Said", email="o.said@example.ac.uk")
    return SimpleNamespace(helen=helen, omar=omar, admin=make.admin(name="Alex Admin"),
                           mine=make.cohort(coordinator=helen, code="I460"),
                           theirs=make.cohort(coordinator=omar, code="I461"))


def get(client, query: str = "", status: int = 200) -> str:
    response = client.get("/audit/" + query)
    assert response.status_code == status
    return response.get_data(as_text=True)


# Who sees what -------------------------------------------------------------------------------------

def test_a_coordinator_sees_the_events_of_their_cohorts_only(login, world):
    rename(world.mine, "Mine renamed", by=world.helen)
    rename(world.theirs, "Theirs renamed", by=world.omar)

    page = get(login(world.helen))

    assert shown(page) == ids(cohort=world.mine) and len(shown(page)) == 2
    assert "Theirs renamed" not in page
    assert "user.created" not in page  # account events belong to no cohort: admins only
    assert "I461" not in page          # not even in the cohort filter
    # Asking for the other cohort by its id shows nothing of it.
    assert shown(get(login(world.helen), f"?cohort={world.theirs.id}")) == set()


def test_a_coordinator_of_two_cohorts_sees_both_and_can_narrow_to_one(login, make, world):
    second = make.cohort(coordinator=world.helen, code="I470")
    client = login(world.helen)
    assert shown(get(client)) == ids(cohort=world.mine) | ids(cohort=second)
    assert shown(get(client, f"?cohort={second.id}")) == ids(cohort=second)


def test_an_admin_sees_every_event_including_account_events(login, world):
    page = get(login(world.admin))
    assert shown(page) == ids()
    assert "user.created" in page and "I460" in page and "I461" in page


@pytest.mark.parametrize("who", ["student", "staff"])
def test_students_and_staff_cannot_see_the_log_or_an_event(login, make, world, who):
    person = make.student(world.mine) if who == "student" else make.staff(world.mine)
    client = login(person)
    event_id = min(ids(cohort=world.mine))
    assert client.get("/audit/").status_code == 403
    assert client.get(f"/audit/{event_id}").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    assert client.get("/audit/").headers["Location"].startswith("/login")
    assert client.get(f"/audit/{min(ids())}").headers["Location"].startswith("/login")


# Filters ------------------------------------------------------------------------------------------

def test_filter_by_action(login, world):
    rename(world.mine, "Renamed", by=world.helen)
    page = get(login(world.helen), "?action=cohort.updated")
    assert shown(page) == ids("cohort.updated", cohort=world.mine) and len(shown(page)) == 1
    assert '<option selected>cohort.updated</option>' in page


def test_filter_by_object_type_and_id(login, make, world):
    student = make.student()
    other = make.student()
    client = login(world.admin)
    history = shown(get(client, f"?object_type=users&object_id={student.id}"))
    assert history == set(db.session.scalars(select(AuditEvent.id).where(
        AuditEvent.object_type == "users", AuditEvent.object_id == student.id)))
    assert history and not history & shown(get(client, f"?object_type=users&object_id={other.id}"))
    assert shown(get(client, "?object_type=cohorts")) == ids("cohort.created")


@pytest.mark.parametrize("who", ["carter", "HELEN", "h.carter@", "EXAMPLE.AC.UK"])
def test_filter_by_who_matches_name_or_email_in_any_case(login, world, who):
    rename(world.mine, "By Helen", by=world.helen)
    page = get(login(world.admin), f"?who={who}")
    expected = set(db.session.scalars(select(AuditEvent.id).where(AuditEvent.actor_id == world.helen.id)))
    if who == "EXAMPLE.AC.UK":  # everyone's address: every event with an actor
        expected = set(db.session.scalars(select(AuditEvent.id).where(AuditEvent.actor_id.is_not(None))))
    assert shown(page) == expected and expected


def test_filter_by_text_in_the_summary(login, world):
    rename(world.mine, "Quantum Basket Weaving", by=world.helen)
    rename(world.mine, "Applied Machine Learning", by=world.helen)
    page = get(login(world.helen), "?q=basket+WEAVING")
    assert len(shown(page)) == 1 and "Quantum Basket Weaving" in page


def test_filters_combine(login, make, world):
    with clock.frozen(datetime(2026, 9, 1, 10, tzinfo=UTC)):
        import_people(world.mine, b"email,name,role\nada@example.ac.uk,Ada,student\n", by=world.helen,
                      filename="september.csv")
        db.session.commit()
    rename(world.mine, "Renamed in October", by=world.helen, at=datetime(2026, 10, 5, 9, tzinfo=UTC))
    page = get(login(world.helen), f"?cohort={world.mine.id}&action=cohort.people_imported&who=carter"
                                   "&q=september&since=2026-09-01&until=2026-09-01")
    assert shown(page) == ids("cohort.people_imported")
    assert "1 event" in main_text(page)


def test_the_date_range_is_in_uk_local_dates(login, world):
    at = {
        # British Summer Time: 23:30 UTC on 30 June is already 1 July in the UK.
        "jun30_late": datetime(2026, 6, 30, 22, 30, tzinfo=UTC),   # 23:30 BST, 30 June
        "jul01_early": datetime(2026, 6, 30, 23, 30, tzinfo=UTC),  # 00:30 BST, 1 July
        "jul01_last": datetime(2026, 7, 1, 22, 59, 59, tzinfo=UTC),  # 23:59:59 BST, 1 July
        # Greenwich Mean Time in winter: UTC and UK dates agree.
        "jan31_late": datetime(2027, 1, 31, 23, 30, tzinfo=UTC),   # 23:30 GMT, 31 January
        "feb01_early": datetime(2027, 2, 1, 0, 30, tzinfo=UTC),    # 00:30 GMT, 1 February
    }
    event = {key: rename(world.mine, key, by=world.helen, at=when).id for key, when in at.items()}
    client = login(world.helen)

    def between(since="", until=""):
        return shown(get(client, f"?action=cohort.updated&since={since}&until={until}"))

    assert between("2026-07-01", "2026-07-01") == {event["jul01_early"], event["jul01_last"]}
    assert between(until="2026-06-30") == {event["jun30_late"]}
    assert between(since="2026-07-02", until="2027-01-31") == {event["jan31_late"]}
    assert between(since="2027-02-01") == {event["feb01_early"]}
    assert between("2026-07-02", "2026-07-01") == set()
    # The page shows UK times too.
    assert "01 Jul 2026 00:30" in get(client, "?q=jul01_early")


@pytest.mark.parametrize("query, message", [
    ("?since=31/12/2026", "“31/12/2026” is not a date (use YYYY-MM-DD)."),
    ("?until=2026-02-30", "“2026-02-30” is not a date (use YYYY-MM-DD)."),
    ("?since=yesterday&until=2026-13-01", "“yesterday” is not a date (use YYYY-MM-DD)."),
    ("?until=9999-12-31", "“9999-12-31” is not a date (use YYYY-MM-DD)."),
])
def test_an_invalid_date_is_a_400_with_a_message_and_the_page_still_works(login, world, query, message):
    page = get(login(world.helen), query, status=400)
    assert message in page
    assert 'aria-label="Filter the log"' in page  # the form is there to correct it
    assert shown(page) == ids(cohort=world.mine)


@pytest.mark.parametrize("query", ["?cohort=²", "?object_id=٣", "?cohort=abc&object_id=-1", "?page=x", "?page=-4"])
def test_odd_numbers_in_the_address_are_ignored_not_a_500(login, world, query):
    assert get(login(world.helen), query)


def test_search_text_is_shown_back_escaped(login, world):
    page = get(login(world.helen), '?who=<script>alert(1)</script>&q="><b>')
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert '"><b>' not in page


# One event ---------------------------------------------------------------------------------------

def test_an_event_shows_who_when_and_what_changed(login, world):
    event = rename(world.mine, "Applied ML", by=world.helen, at=datetime(2026, 7, 1, 8, 15, 30, tzinfo=UTC))
    response = login(world.helen).get(f"/audit/{event.id}")
    page = main_text(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "01 Jul 2026 09:15:30 (UK time)" in page
    assert "Prof Helen Carter <h.carter@example.ac.uk>" in page
    assert f"cohort.updated Object cohorts #{world.mine.id}" in page
    assert "programme_name Applied Machine Learning Applied ML" in page
    # Only what changed is listed.
    assert "full_time_end" not in page and "timezone" not in page
    assert f'href="/audit/?object_type=cohorts&amp;object_id={world.mine.id}"' in response.get_data(as_text=True)


def test_an_import_event_lists_the_file_and_the_people(login, world):
    import_people(world.mine, b"email,name,role\nada@example.ac.uk,Ada,student\nbo@example.ac.uk,Bo,staff\n",
                  by=world.helen, filename="people.csv")
    db.session.commit()
    [event_id] = ids("cohort.people_imported")
    page = main_text(login(world.helen).get(f"/audit/{event_id}").get_data(as_text=True))
    assert "file — people.csv" in page
    assert "students — ada@example.ac.uk" in page and "staff — bo@example.ac.uk" in page


def test_a_coordinator_cannot_open_an_event_of_another_cohort_or_an_account_event(login, make, world):
    client = login(world.helen)
    other = min(ids(cohort=world.theirs))
    response = client.get(f"/audit/{other}")
    assert response.status_code == 403
    assert "This event belongs to a cohort you do not coordinate." in response.get_data(as_text=True)
    account_event = min(ids("user.created"))
    assert client.get(f"/audit/{account_event}").status_code == 403
    assert client.get(f"/audit/{min(ids(cohort=world.mine))}").status_code == 200


def test_an_admin_opens_any_event_and_an_unknown_one_is_a_404(login, world):
    client = login(world.admin)
    assert client.get(f"/audit/{min(ids('user.created'))}").status_code == 200
    assert client.get(f"/audit/{min(ids(cohort=world.theirs))}").status_code == 200
    assert client.get("/audit/999999").status_code == 404


# Paging ------------------------------------------------------------------------------------------

def test_the_log_is_paged_newest_first_and_the_pages_keep_the_filters(app, login, world):
    app.config["AUDIT_PAGE_SIZE"] = 3
    made = [rename(world.mine, f"Name {i}", by=world.helen, at=datetime(2026, 8, 1 + i, tzinfo=UTC)).id
            for i in range(7)]
    client = login(world.helen)

    first = get(client, "?action=cohort.updated")
    assert shown(first) == set(made[4:])
    assert "7 events" in main_text(first)
    assert 'href="/audit/?action=cohort.updated&amp;page=2"' in first
    assert 'href="/audit/?action=cohort.updated&amp;page=3"' in first
    assert shown(get(client, "?action=cohort.updated&page=2")) == set(made[1:4])
    assert shown(get(client, "?action=cohort.updated&page=3")) == {made[0]}
    assert shown(get(client, "?action=cohort.updated&page=4")) == set()
    # Newest first on a page too.
    listed = [int(n) for n in re.findall(r'href="/audit/(\d+)"', first)]
    assert listed == sorted(made[4:], reverse=True)
