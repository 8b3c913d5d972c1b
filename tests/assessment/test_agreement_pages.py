"""The page where two markers agree a mark, and the coordinator appoints a third marker, as the
browser sends it."""

from __future__ import annotations

from decimal import Decimal

from projectflow.extensions import db
from tests.forms import get_form

from .test_reconciliation import disagreeing  # noqa: F401 (fixture)


def test_two_markers_reconcile_through_the_page(disagreeing, as_):  # noqa: F811
    r = disagreeing
    a = r.agreement
    url = f"/marking/agreements/{a.id}"
    client = as_(r.one.marker)
    queue = client.get("/marking").get_data(as_text=True)
    assert url in queue and "In reconciliation" in queue
    page = client.get(url).get_data(as_text=True)
    assert "Between us." in page and "60.00 and 67.00" in page  # both sheets, private notes included
    form = get_form(client, url, action=f"{url}/propose")
    form.set("mark", "70")
    form.set("justification", "Outside the range")
    response = form.submit(client)
    assert response.status_code == 422 and "between the two marks" in response.get_data(as_text=True)
    form.set("mark", "63.5")
    form.set("justification", "A strong method, a thin evaluation.")
    assert form.submit(client).status_code == 302
    # The proposer is not offered confirmation; the other marker is, and confirms.
    assert "Confirm the proposed mark" not in client.get(url).get_data(as_text=True)
    other = as_(r.two.marker)
    queue = other.get("/marking").get_data(as_text=True)
    assert "the other marker proposed 63.50" in queue
    form = get_form(other, url, submit="Confirm the proposed mark")
    assert form.submit(other).status_code == 302
    db.session.refresh(a)
    assert (a.state, a.route, a.agreed_mark) == ("agreed", "reconciled", Decimal("63.50"))
    assert "Agreed by reconciliation" in other.get(url).get_data(as_text=True)


def test_cannot_agree_then_the_coordinator_appoints_the_proposed_third_marker(disagreeing, as_, coordinator):  # noqa: F811
    r = disagreeing
    a = r.agreement
    url = f"/marking/agreements/{a.id}"
    client = as_(r.two.marker)
    form = get_form(client, url, action=f"{url}/cannot-agree")
    assert form.submit(client).status_code == 422  # a reason is needed
    form.set("reason", "We read the contribution differently.")
    assert form.submit(client).status_code == 302
    db.session.refresh(a)
    assert a.state == "third_marking" and a.third_marker_proposed_id
    if coordinator.id in {r.one.marker_id, r.two.marker_id}:
        return  # a coordinator who marks this work does not appoint for it (covered in the unit test)
    boss = as_(coordinator)
    form = get_form(boss, url, action=f"{url}/third-marker")
    assert form.get("marker") == str(a.third_marker_proposed_id)  # the engine's proposal is preselected
    assert form.submit(boss).status_code == 302
    page = boss.get(url).get_data(as_text=True)
    assert "is the third marker" in page


def test_before_both_sheets_are_in_nobody_who_marks_sees_the_agreement_page(marking, coordinator, as_):
    from tests.assessment.test_sheets import pair, submit

    from sqlalchemy import select
    from projectflow.assessment.models import Agreement

    student, (one, two) = pair(marking, coordinator)
    submit(one, [60] * 5)
    db.session.commit()
    a = db.session.scalars(select(Agreement)).one()
    for marker in (one.marker, two.marker):
        assert as_(marker).get(f"/marking/agreements/{a.id}").status_code == 403
