"""The results, charts, moderation and release pages as the signed_in sends them, and the student's
results page: who sees what, and when."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from projectflow.assessment.models import Result
from projectflow.core import clock
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from tests.assessment.test_results import PRIVATE, mark_everyone, set_rules
from tests.forms import get_form

BOARD_DAY = datetime(2027, 10, 21, 9, tzinfo=timezone.utc)


def test_the_coordinator_reads_every_result_and_nobody_else_does(marking, coordinator, signed_in):
    failing, near, best = mark_everyone(marking, coordinator, (45, 58, 75))
    url = f"/cohorts/{marking.cohort.id}/results"
    client = signed_in(marking.lee)
    assert client.get(url).status_code == 403
    assert client.get(url + ".csv").status_code == 403
    assert signed_in(failing.student).get(url).status_code == 403
    client = signed_in(coordinator)
    page = client.get(url).get_data(as_text=True)
    assert all(r.student.name in page for r in (failing, near, best))
    assert "45.45" in page and "Near a boundary" in page and "The exam-board date is not set" in page
    filtered = client.get(url + "?flag=moderation_fail").get_data(as_text=True)
    assert failing.student.name in filtered and best.student.name not in filtered
    assert client.get(url + "?flag=nonsense&class=%00&page=abc").status_code == 200  # unknown filters: none
    rows = list(csv.reader(io.StringIO(client.get(url + ".csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:6] == ["Candidate number", "Student", "E-mail", "report: state", "report: route", "report: agreed"]
    assert rows[0][-9:] == ["Final (engine)", "Moderated final", "Final", "Class", "Flags", "In sample", "Moderation",
                            "Result", "Released at"]
    assert [r[1] for r in rows[1:]] == [failing.student.name, near.student.name, best.student.name]
    assert rows[1][3:8] == ["agreed", "automatic", "45.5", "0.0", "45.5"] and rows[1][-5] == "moderation_fail"
    xlsx = client.get(url + ".xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    response = client.get(url + "/charts")
    charts = response.get_data(as_text=True)
    assert response.status_code == 200, charts[charts.find("<main"):][:2000]
    assert charts.count("<svg") == 4 and 'role="img"' in charts and "style=" not in charts.split("<svg", 1)[1]
    assert "Final report: first against second mark" in charts and "<details" in charts


def test_release_through_the_page_is_refused_before_the_exam_board_then_tells_each_student(
        marking, coordinator, signed_in):
    failing, near, best = mark_everyone(marking, coordinator)
    url = f"/cohorts/{marking.cohort.id}/results"
    client = signed_in(coordinator)
    assert "Release every provisional result" not in client.get(url).get_data(as_text=True)
    set_rules(marking.cohort, exam_board_on=date(2027, 10, 21))
    page = client.get(url).get_data(as_text=True)
    assert "released on or after the exam board of 21 October 2027" in page
    # A form kept open from a later day (or sent by hand) is still refused, with why.
    response = client.post(url + "/release", data={})
    assert response.status_code in (400, 409)
    with clock.frozen(BOARD_DAY):
        form = get_form(client, url, submit=f"Release{''} the result of {near.student.name}")
        assert form.submit(client).status_code == 302
        assert db.session.get(Result, near.id).state == "released"
        form = get_form(client, url, submit="Release every provisional result")
        response = form.submit(client, follow_redirects=True)
        assert "2 results released" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Result.id)).where(Result.state == "released")) == 3


def test_moderation_through_the_page(marking, coordinator, signed_in):
    everyone = mark_everyone(marking, coordinator, (45, 58, 75))
    cohort = marking.cohort
    url = f"/cohorts/{cohort.id}/moderation"
    set_rules(cohort, moderation_sample_min=1, moderation_sample_percent=10)
    client = signed_in(coordinator)
    page = client.get(url).get_data(as_text=True)
    assert all(r.student.name in page for r in everyone)  # a fail, a near boundary, a distinction
    response = get_form(client, url, submit="Draw the sample").submit(client, follow_redirects=True)
    assert "The sample holds 1 student" in response.get_data(as_text=True)
    # Name a moderator who marked one student but not another.
    from projectflow.assessment import results

    moderator = next(u for u in (marking.kim, marking.lee, marking.nlp)
                     if 0 < len(results.marked_students(cohort, u)) < len(everyone))
    marked = results.marked_students(cohort, moderator)
    form = get_form(client, url, has_field="moderators")
    form.check("moderators", str(moderator.id))
    assert form.submit(client).status_code == 302
    client = signed_in(moderator)
    theirs = next(r for r in everyone if r.student_id in marked)
    other = next(r for r in everyone if r.student_id not in marked)
    page = client.get(url).get_data(as_text=True)
    assert "you marked this student" in page and "Release every" not in page
    assert client.get(f"{url}/{theirs.student_id}").status_code == 403
    form_url = f"{url}/{other.student_id}"
    form = get_form(client, form_url, has_field="reason")
    response = form.set("mark", "71.5").submit(client, submit="Adjust to the mark given")
    assert response.status_code == 422 and "Give the reason for your decision" in response.get_data(as_text=True)
    form = get_form(client, form_url, has_field="reason")
    response = form.set("mark", "71.505").set("reason", "Generous.").submit(client, submit="Adjust to the mark given")
    assert response.status_code == 422 and "more than two decimals" in response.get_data(as_text=True)
    form = get_form(client, form_url, has_field="reason")
    form.set("mark", "71.50").set("reason", "The evaluation deserved more credit.")
    assert form.submit(client, submit="Adjust to the mark given").status_code == 302
    db.session.refresh(other)
    assert other.moderated_final is not None and str(other.moderated_final) == "71.50"
    assert db.session.scalar(select(AuditEvent.summary).where(AuditEvent.action == "assessment.moderated"))
    # Staff who are not moderators see no moderation list.
    outsider = next(u for u in (marking.kim, marking.lee, marking.nlp) if u.id != moderator.id)
    assert signed_in(outsider).get(url).status_code == 403


def test_a_student_sees_nothing_before_release_then_marks_and_comments_never_the_private_note(
        marking, coordinator, signed_in):
    _, cat, _ = mark_everyone(marking, coordinator, (45, 62, 75))
    url = f"/cohorts/{marking.cohort.id}/my-results"
    client = signed_in(cat.student)
    page = client.get(url).get_data(as_text=True)
    assert "not released yet" in page and str(cat.final) not in page and "marker's comment" not in page
    assert "My results" in client.get("/student").get_data(as_text=True)  # in the navigation
    set_rules(marking.cohort, exam_board_on=date(2027, 10, 21))
    from projectflow.assessment import results

    with clock.frozen(BOARD_DAY):
        results.release(marking.cohort, by=coordinator, student=cat.student)
        db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert str(cat.final) in page and cat.classification in page
    assert "Overall, from the second marker." in page and "Aims, context and literature: first marker&#39;s comment." in page
    assert PRIVATE not in page and "Between us" not in page
    assert "released" in client.get("/student").get_data(as_text=True)
    # Another student of the cohort reads only their own (not released): nothing of Cat's.
    other = next(r for r in db.session.scalars(select(Result)) if r.id != cat.id)
    page = signed_in(other.student).get(url).get_data(as_text=True)
    assert "not released yet" in page and str(cat.final) not in page


def test_a_moderator_who_supervises_nobody_moderates_by_candidate_number(marking, coordinator, make, signed_in):
    from projectflow.assessment import results
    from projectflow.cohorts.models import Enrolment

    everyone = mark_everyone(marking, coordinator, (45, 58, 75))
    cohort = marking.cohort
    assert cohort.marks_anonymously
    set_rules(cohort, moderation_sample_min=1, moderation_sample_percent=10)
    moss = make.staff(cohort, name="Dr Moss")
    results.set_moderators(cohort, {moss.id}, by=coordinator)
    db.session.commit()
    numbers = dict(db.session.execute(select(Enrolment.user_id, Enrolment.candidate_number).where(
        Enrolment.cohort_id == cohort.id)).all())
    client = signed_in(moss)
    url = f"/cohorts/{cohort.id}/moderation"
    page = client.get(url).get_data(as_text=True)
    for result in everyone:  # a fail, a near boundary, a distinction: all listed
        assert f"Candidate {numbers[result.student_id]}" in page
        assert result.student.name not in page
    listed = [page.index(f"Candidate {numbers[r.student_id]}") for r in everyone]
    by_number = sorted(everyone, key=lambda r: numbers[r.student_id])
    assert [page.index(f"Candidate {numbers[r.student_id]}") for r in by_number] == sorted(listed)
    one = everyone[0]
    page = client.get(f"{url}/{one.student_id}").get_data(as_text=True)
    assert f"Moderate Candidate {numbers[one.student_id]}" in page and one.student.name not in page
    form = get_form(client, f"{url}/{one.student_id}", has_field="reason").set("reason", "Fair.")
    done = form.submit(client, submit=f"Confirm {one.final}", follow_redirects=True).get_data(as_text=True)
    assert f"the final mark of Candidate {numbers[one.student_id]}" in done and one.student.name not in done
