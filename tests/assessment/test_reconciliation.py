"""Reconciliation between the two markers, and the third marker when they cannot agree or are too far
apart: each step a service, audited, with the engine deciding the mark."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from projectflow.assessment import reconciliation, services
from projectflow.assessment.models import FIRST, SECOND, THIRD, Agreement, MarkSheet, ReconciliationMessage, Result
from projectflow.core.audit import AuditEvent
from projectflow.core.errors import InvalidState, NotAllowed, ValidationFailed
from projectflow.extensions import db

from .test_sheets import entries, pair


def submit(sheet, mark):
    services.save_sheet(sheet, entries(sheet, [mark] * 5), overall_comment="Overall.", private_note="Between us.",
                        by=sheet.marker)
    services.submit_sheet(sheet, by=sheet.marker)
    db.session.commit()


@pytest.fixture
def disagreeing(marking, coordinator):
    """A report the two markers marked 60 and 67: a gap of 7, to reconcile."""
    student, (one, two) = pair(marking, coordinator)
    submit(one, 60)
    submit(two, 67)
    marking.student, marking.one, marking.two = student, one, two
    marking.agreement = db.session.scalars(select(Agreement).where(Agreement.student_id == student.id)).one()
    assert marking.agreement.state == "in_reconciliation"
    return marking


def test_markers_reconcile_by_proposal_and_confirmation(disagreeing):
    r = disagreeing
    a = r.agreement
    reconciliation.post_message(a, "I weighed the evaluation more heavily.", by=r.two.marker)
    with pytest.raises(ValidationFailed, match="between the two marks, 60.00 and 67.00"):
        reconciliation.propose(a, Decimal("67.01"), "Too high", by=r.one.marker)
    with pytest.raises(ValidationFailed, match="Justify"):
        reconciliation.propose(a, Decimal(64), " ", by=r.one.marker)
    reconciliation.propose(a, Decimal(64), "Strong method, thin evaluation.", by=r.one.marker)
    with pytest.raises(NotAllowed, match="cannot confirm your own"):
        reconciliation.confirm(a, by=r.one.marker)
    reconciliation.confirm(a, by=r.two.marker)
    db.session.commit()
    assert (a.state, a.route, a.agreed_mark) == ("agreed", "reconciled", Decimal("64.00"))
    with pytest.raises(InvalidState, match="not in reconciliation"):
        reconciliation.confirm(a, by=r.two.marker)
    assert db.session.scalar(select(db.func.count(ReconciliationMessage.id))) == 1
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"assessment.reconciliation_proposed", "assessment.reconciliation_confirmed"} <= actions


def test_nobody_else_reconciles_and_the_markers_see_each_other_only_now(disagreeing, coordinator):
    r = disagreeing
    outsider = next(u for u in (r.lee, r.kim, r.nlp) if u.id not in {r.one.marker_id, r.two.marker_id})
    with pytest.raises(NotAllowed):
        reconciliation.propose(r.agreement, Decimal(63), "x", by=outsider)
    assert reconciliation.can_see(r.agreement, r.one.marker) and reconciliation.can_see(r.agreement, r.two.marker)
    assert not reconciliation.can_see(r.agreement, outsider)
    assert services.can_view(r.one, r.two.marker)


def test_markers_who_cannot_agree_send_it_to_a_third_marker_who_decides_within_the_range(disagreeing, coordinator):
    r = disagreeing
    a = r.agreement
    with pytest.raises(ValidationFailed, match="Say why"):
        reconciliation.cannot_agree(a, "", by=r.two.marker)
    reconciliation.cannot_agree(a, "We read the contribution differently.", by=r.two.marker)
    db.session.commit()
    assert a.state == "third_marking"
    proposed = db.session.get(type(r.one.marker), a.third_marker_proposed_id)
    # The engine's proposal is neither marker, nor a supervisor of the project.
    assert proposed is not None and proposed.id not in {r.one.marker_id, r.two.marker_id}
    with pytest.raises(NotAllowed):
        reconciliation.appoint_third_marker(a, proposed, by=r.one.marker)
    with pytest.raises(ValidationFailed, match="already marked this work"):
        reconciliation.appoint_third_marker(a, r.two.marker, by=coordinator)
    third = reconciliation.appoint_third_marker(a, proposed, by=coordinator)
    db.session.commit()
    with pytest.raises(InvalidState, match="third marker already"):
        reconciliation.appoint_third_marker(a, proposed, by=coordinator)
    # The third marker sees both sheets; their mark must lie between 60 and 67.
    assert services.can_view(r.one, proposed) and services.can_view(r.two, proposed)
    services.save_sheet(third, entries(third, [70] * 4), overall_comment="Third view.", private_note="",
                        by=proposed)
    with pytest.raises(ValidationFailed, match="between the first two marks"):
        services.submit_sheet(third, by=proposed)
    db.session.rollback()
    services.save_sheet(third, entries(third, [62] * 4), overall_comment="Third view.", private_note="",
                        by=proposed)
    services.submit_sheet(third, by=proposed)
    db.session.commit()
    db.session.refresh(a)
    assert (a.state, a.route, a.agreed_mark) == ("agreed", "third_marker", Decimal("62.00"))


def test_a_gap_above_ten_goes_straight_to_a_third_marker(marking, coordinator):
    student, (one, two) = pair(marking, coordinator)
    submit(one, 55)
    submit(two, 66)
    a = db.session.scalars(select(Agreement).where(Agreement.student_id == student.id)).one()
    assert a.state == "third_marking" and a.third_marker_proposed_id is not None
    with pytest.raises(InvalidState, match="not in reconciliation"):
        reconciliation.propose(a, Decimal(60), "Split the difference", by=one.marker)
    assert db.session.scalars(select(Result).where(Result.student_id == student.id)).one().final is None
