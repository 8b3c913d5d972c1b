"""A student's ranked list: the rules a list must follow, the deadline, lists entered by a coordinator,
two windows saving at once, the list editor's buttons, and what the coordinator learns from the lists."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from projectflow.cohorts.models import Cohort
from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.extensions import db
from projectflow.people.models import User
from projectflow.proposals.preferences import (StaleList, popularity, preference_list, rearrange, save_preferences,
                                               students_without_preferences, set_bookmark)

LONDON = ZoneInfo("Europe/London")
# 14:00 London on a December day is 14:00 UTC; on a June day it is 13:00 UTC.
DEADLINES = [datetime(2026, 12, 3, 14, 0, tzinfo=LONDON), datetime(2027, 6, 3, 14, 0, tzinfo=LONDON)]


@pytest.fixture
def cohort(make):
    cohort = make.cohort(coordinator=make.coordinator(name="Cora Ordinator"))
    cohort.min_preferences, cohort.max_preferences, cohort.max_choices_per_supervisor = 2, 4, 2
    db.session.commit()
    return cohort


@pytest.fixture
def projects(make, cohort):
    """Six approved projects, two by each of three supervisors: a, a, b, b, c, c."""
    a, b, c = (make.staff(cohort, name=f"Dr {x}") for x in "ABC")
    return [make.project(cohort, owner=owner, title=f"Project {i}") for i, owner in enumerate([a, a, b, b, c, c])]


def ids(projects) -> list[int]:
    return [p.id for p in projects]


def saved(cohort, student) -> list[int] | None:
    db.session.expire_all()
    plist = preference_list(cohort, student)
    return None if plist is None else [c.project_id for c in plist.choices]


def save(cohort, student, projects, *, by=None, version=None):
    return save_preferences(cohort, student, ids(projects), expected_version=version, by=by or student)


# --- what a list may hold ------------------------------------------------------------------------------

def test_a_list_is_saved_in_order_and_audited(cohort, student, projects):
    chosen = [projects[4], projects[0], projects[2]]
    plist = save(cohort, student, chosen)
    db.session.flush()
    assert [(c.rank, c.project_id) for c in plist.choices] == [(1, chosen[0].id), (2, chosen[1].id), (3, chosen[2].id)]
    assert plist.entered_by_id == student.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "preferences.saved"))
    assert (event.actor_id, event.before, event.after) == (
        student.id, {"projects": []}, {"projects": ids(chosen), "on_behalf": False})


def test_a_new_list_replaces_the_old_one(cohort, student, projects):
    first = save(cohort, student, projects[:2])
    save(cohort, student, [projects[3], projects[0]], version=first.version)
    assert saved(cohort, student) == [projects[3].id, projects[0].id]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "preferences.saved")
                                .order_by(AuditEvent.id)).all()
    assert events[-1].before == {"projects": ids(projects[:2])}


@pytest.mark.parametrize("how_many, ok", [(1, False), (2, True), (4, True), (5, False)])
def test_a_list_holds_between_the_fewest_and_the_most(cohort, student, projects, how_many, ok):
    chosen = [projects[0], projects[2], projects[4], projects[1], projects[3]][:how_many]
    if ok:
        save(cohort, student, chosen)
        assert saved(cohort, student) == ids(chosen)
    else:
        with pytest.raises(ValidationFailed, match="at least 2" if how_many < 2 else "at most 4"):
            save(cohort, student, chosen)
        assert saved(cohort, student) is None


def test_no_project_twice(cohort, student, projects):
    with pytest.raises(ValidationFailed, match="twice"):
        save(cohort, student, [projects[0], projects[2], projects[0]])
    assert saved(cohort, student) is None


def test_at_most_k_choices_with_one_supervisor(make, cohort, student, projects):
    a = projects[0].owner
    third_of_a = make.project(cohort, owner=a, title="A third")
    plist = save(cohort, student, [projects[0], projects[1], projects[2]])  # two with A: allowed
    with pytest.raises(ValidationFailed, match=f"you have 3 with {a.name}"):
        save(cohort, student, [projects[0], projects[1], third_of_a], version=plist.version)
    assert saved(cohort, student) == ids(projects[:3])


def test_co_supervising_does_not_count_towards_the_limit(make, cohort, student, projects):
    a = projects[0].owner
    with_a = make.project(cohort, co_supervisors=[a])
    save(cohort, student, [projects[0], projects[1], with_a])
    assert saved(cohort, student) == ids([projects[0], projects[1], with_a])


@pytest.mark.parametrize("kind", ["other cohort", "draft", "submitted", "withdrawn", "rejected",
                                  "another student's proposal", "unknown"])
def test_only_approved_staff_projects_of_the_students_own_cohort(make, cohort, student, projects, kind):
    if kind == "other cohort":
        other = make.cohort(code="ELSE")
        bad_id = make.project(other, owner=make.staff(other)).id
    elif kind == "another student's proposal":
        bad_id = make.proposal(cohort, state="approved").id
    elif kind == "unknown":
        bad_id = 999_999
    else:
        bad_id = make.project(cohort, state=kind).id
    with pytest.raises(ValidationFailed):
        save_preferences(cohort, student, [projects[0].id, bad_id], expected_version=None, by=student)
    assert saved(cohort, student) is None


def test_only_students_of_the_cohort_have_a_list_and_only_coordinators_enter_one_for_them(
        make, cohort, student, projects):
    outsider = make.student(make.cohort(code="ELSE"))
    with pytest.raises(NotAllowed):
        save(cohort, outsider, projects[:2])
    for stranger in (make.student(cohort), make.staff(cohort), make.coordinator()):
        with pytest.raises(NotAllowed):
            save(cohort, student, projects[:2], by=stranger)
    assert saved(cohort, student) is None


# --- the deadline ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("deadline", DEADLINES, ids=["winter", "summer"])
@pytest.mark.parametrize("offset, ok", [
    (timedelta(seconds=-1), True),            # the last second before the deadline
    (timedelta(microseconds=-1), True),
    (timedelta(0), False),                    # at 14:00:00 it has passed
    (timedelta(seconds=1), False),
])
def test_students_save_until_the_deadline_and_not_after(cohort, student, projects, deadline, offset, ok):
    cohort.preferences_deadline_at = deadline
    db.session.commit()
    with clock.frozen(deadline + offset):
        if ok:
            save(cohort, student, projects[:2])
        else:
            with pytest.raises(InvalidState, match=r"preferences deadline \(.*\) has passed"):
                save(cohort, student, projects[:2])
    assert saved(cohort, student) == (ids(projects[:2]) if ok else None)


def test_the_deadline_is_stored_in_utc(cohort):
    cohort.preferences_deadline_at = DEADLINES[1]
    db.session.commit()
    db.session.expire_all()
    assert cohort.preferences_deadline_at == datetime(2027, 6, 3, 13, 0, tzinfo=ZoneInfo("UTC"))


def test_a_students_list_cannot_change_after_the_deadline(cohort, student, projects):
    cohort.preferences_deadline_at = DEADLINES[0]
    with clock.frozen(DEADLINES[0] - timedelta(hours=1)):
        plist = save(cohort, student, projects[:2])
    with clock.frozen(DEADLINES[0] + timedelta(hours=1)), pytest.raises(InvalidState):
        save(cohort, student, projects[2:4], version=plist.version)
    assert saved(cohort, student) == ids(projects[:2])


def test_a_coordinator_enters_a_list_on_a_students_behalf_after_the_deadline(
        cohort, coordinator, student, projects):
    cohort.preferences_deadline_at = DEADLINES[0]
    with clock.frozen(DEADLINES[0] + timedelta(days=2)):
        plist = save(cohort, student, projects[1:3], by=coordinator)
    db.session.flush()
    assert saved(cohort, student) == ids(projects[1:3])
    assert plist.entered_by_id == coordinator.id and plist.student_id == student.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "preferences.saved"))
    assert event.actor_id == coordinator.id
    assert event.after == {"projects": ids(projects[1:3]), "on_behalf": True}
    assert "on their behalf" in event.summary


def test_the_coordinators_list_still_follows_the_rules(cohort, coordinator, student, projects):
    with pytest.raises(ValidationFailed):
        save(cohort, student, projects[:1], by=coordinator)


# --- two windows, one list -------------------------------------------------------------------------------

def test_the_later_of_two_saves_from_the_same_version_is_refused_and_the_first_kept(cohort, student, projects):
    start = save(cohort, student, projects[:2])
    db.session.commit()
    version = start.version
    # Two windows opened on this version; the first saves, then the second.
    save(cohort, student, [projects[2], projects[3]], version=version)
    db.session.commit()
    with pytest.raises(StaleList, match="changed elsewhere"):
        save(cohort, student, [projects[4], projects[5]], version=version)
    db.session.rollback()
    assert saved(cohort, student) == ids(projects[2:4])


def test_two_first_lists_cannot_both_be_saved(cohort, student, projects):
    save(cohort, student, projects[:2], version=None)
    db.session.commit()
    with pytest.raises(StaleList):
        save(cohort, student, projects[2:4], version=None)
    db.session.rollback()
    assert saved(cohort, student) == ids(projects[:2])


def test_a_list_the_coordinator_saved_meanwhile_is_not_overwritten(cohort, coordinator, student, projects):
    version = save(cohort, student, projects[:2]).version
    db.session.commit()
    save(cohort, student, projects[4:6], by=coordinator, version=version)
    db.session.commit()
    with pytest.raises(StaleList):
        save(cohort, student, projects[2:4], version=version)
    db.session.rollback()
    assert saved(cohort, student) == ids(projects[4:6])


def test_every_save_moves_the_version_on_even_within_the_same_instant(cohort, student, projects):
    # The clock is frozen, and so nothing but the choices differs between the saves: the version must
    # still move, or a window opened before the second save could overwrite it.
    with clock.frozen(datetime(2026, 11, 20, 10, 0, tzinfo=LONDON)):
        v1 = save(cohort, student, projects[:2]).version
        db.session.commit()
        v2 = save(cohort, student, projects[2:4], version=v1).version
        db.session.commit()
        assert v2 > v1
        with pytest.raises(StaleList):
            save(cohort, student, projects[4:6], version=v1)
    db.session.rollback()
    assert saved(cohort, student) == ids(projects[2:4])


@pytest.mark.postgres
@pytest.mark.parametrize("first_list", [False, True], ids=["existing list", "first list (a double click)"])
def test_two_saves_at_the_same_moment_the_second_is_refused_as_stale(app, cohort, student, projects, first_list):
    """Two transactions at once (PostgreSQL only: SQLite has one writer at a time anyway)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set PROJECTFLOW_TEST_DATABASE_URL")
    version = None
    if not first_list:
        version = save(cohort, student, projects[:2]).version
        db.session.commit()
    cohort_id, student_id = cohort.id, student.id
    first_choices, second_choices = ids(projects[2:4]), ids(projects[4:6])
    first_wrote, second_started = threading.Event(), threading.Event()
    outcome = {}

    def window(name, choices, before_commit):
        with app.app_context():
            try:
                c, s = db.session.get(Cohort, cohort_id), db.session.get(User, student_id)
                save_preferences(c, s, choices, expected_version=version, by=s)
                before_commit()
                db.session.commit()
                outcome[name] = "saved"
            except Exception as exc:  # noqa: BLE001 - the test reports whatever each window met
                db.session.rollback()
                outcome[name] = exc
            finally:
                db.session.remove()

    def first_waits_for_the_second():
        first_wrote.set()
        second_started.wait(5)
        time.sleep(0.3)  # the second window is now waiting for this transaction's rows

    def second():
        first_wrote.wait(5)
        second_started.set()
        window("second", second_choices, lambda: None)

    threads = [threading.Thread(target=window, args=("first", first_choices, first_waits_for_the_second)),
               threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert outcome["first"] == "saved"
    assert isinstance(outcome["second"], StaleList), outcome["second"]
    assert saved(cohort, student) == first_choices


# --- the list editor's buttons --------------------------------------------------------------------------

@pytest.mark.parametrize("before, action, after", [
    ([1, 2, 3], "add:4", [1, 2, 3, 4]),
    ([], "add:4", [4]),
    ([1, 2, 3], "add:2", [1, 2, 3]),          # already there: not twice
    ([1, 2, 3], "remove:2", [1, 3]),
    ([1], "remove:1", []),
    ([1, 2, 3], "remove:9", [1, 2, 3]),
    ([1, 2, 3], "up:2", [2, 1, 3]),
    ([1, 2, 3], "up:1", [1, 2, 3]),           # the first cannot go higher
    ([1, 2, 3], "down:2", [1, 3, 2]),
    ([1, 2, 3], "down:3", [1, 2, 3]),         # the last cannot go lower
    ([1, 2, 3], "top:3", [3, 1, 2]),
    ([1, 2, 3], "top:1", [1, 2, 3]),
    ([1, 2, 3], "up:9", [1, 2, 3]),
    ([1, 2, 3], "sideways:2", [1, 2, 3]),
    ([1, 2, 3], "up:", [1, 2, 3]),
    ([1, 2, 3], "up", [1, 2, 3]),
    ([1, 2, 3], "", [1, 2, 3]),
    ([1, 2, 3], "up:-1", [1, 2, 3]),
    ([1, 2, 3], "up:x", [1, 2, 3]),
    ([1, 2, 3], "up:²", [1, 2, 3]),           # a digit to str.isdigit, not to int()
    ([1, 2, 1, 3], "down:1", [2, 1, 3]),      # a list sent with a project twice comes back once
    ([1, 2, 1, 3], "save", [1, 2, 3]),
])
def test_rearrange(before, action, after):
    assert rearrange(before, action) == after


VERBS = st.sampled_from(["add", "remove", "up", "down", "top", "save", "", "nonsense"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.integers(1, 8), max_size=10),
       action=st.one_of(st.builds(lambda v, n: f"{v}:{n}", VERBS, st.integers(-2, 10)),
                        st.builds(lambda v, t: f"{v}:{t}", VERBS, st.text(max_size=3)),
                        st.text(max_size=6)))
def test_rearrange_always_gives_a_list_without_duplicates_drawn_from_the_list_and_the_added_one(ids, action):
    result = rearrange(ids, action)
    unique = list(dict.fromkeys(ids))
    assert len(result) == len(set(result))
    verb, _, raw = action.partition(":")
    allowed = set(unique) | ({int(raw)} if verb == "add" and raw.isascii() and raw.isdigit() else set())
    assert set(result) <= allowed
    if verb in ("up", "down", "top"):
        assert sorted(result) == sorted(unique)  # a move never loses or gains a project
    if verb == "remove":
        assert len(result) >= len(unique) - 1


# --- what the coordinator learns ----------------------------------------------------------------------

def test_popularity_counts_students_per_rank_in_this_cohort_only(make, cohort, projects):
    p0, p1, p2 = projects[0], projects[2], projects[4]
    for choices in ([p0, p1], [p0, p2], [p1, p0], [p1, p0, p2]):
        make.preferences(cohort, make.student(cohort), choices)
    other = make.cohort(code="ELSE")
    other.min_preferences = 1
    make.preferences(other, make.student(other), [make.project(other)])
    withdrawn = make.project(cohort, state="withdrawn")

    rows = {r.project.id: r for r in popularity(cohort)}
    assert rows[p0.id].by_rank == {1: 2, 2: 2} and rows[p0.id].total == 4
    assert rows[p1.id].by_rank == {1: 2, 2: 1}
    assert rows[p2.id].by_rank == {2: 1, 3: 1}
    assert rows[projects[1].id].total == 0  # nobody ranked it: still listed
    assert withdrawn.id not in rows
    assert set(rows) == set(ids(projects))
    order = [r.project.id for r in popularity(cohort)]
    assert order.index(p0.id) < order.index(p1.id) < order.index(p2.id)  # first choices, then totals
    assert rows[p0.id].oversubscribed and not rows[p2.id].oversubscribed


def test_students_without_preferences(make, cohort, student, projects):
    ranked = make.student(cohort)
    make.preferences(cohort, ranked, projects[:2])
    own_approved = make.proposal(cohort, state="approved").proposed_by
    own_pending = make.proposal(cohort, state="submitted").proposed_by
    make.student(make.cohort(code="ELSE"))  # another cohort's student is not this cohort's concern
    missing = [e.user_id for e in students_without_preferences(cohort)]
    assert sorted(missing) == sorted([student.id, own_pending.id])
    assert own_approved.id not in missing and ranked.id not in missing


# --- bookmarks --------------------------------------------------------------------------------------------

def test_a_bookmark_toggles_and_only_on_catalogue_projects(make, cohort, student, projects):
    assert set_bookmark(projects[0], student) is True
    db.session.flush()
    assert set_bookmark(projects[0], student) is False
    db.session.flush()
    for project in (make.project(cohort, state="draft"), make.proposal(cohort, state="approved"),
                    make.project(make.cohort(code="ELSE"))):
        with pytest.raises(NotAllowed):
            set_bookmark(project, student)
