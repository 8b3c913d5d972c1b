"""One-submission form tokens are kept while their form can still be sent, and forgotten after."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from projectflow.core import clock, once
from projectflow.core.once import FormToken
from projectflow.extensions import db

NOW = datetime(2027, 1, 10, 12, tzinfo=timezone.utc)


def test_tokens_older_than_a_form_can_live_are_forgotten_and_the_rest_kept(app, make):
    person = make.student()
    for hours_ago, token in ((9, "a" * 32), (8.01, "b" * 32), (7.99, "c" * 32), (0, "d" * 32)):
        with clock.frozen(NOW - timedelta(hours=hours_ago)):
            assert once.claim(token, person) is None
    db.session.commit()

    with clock.frozen(NOW):
        assert once.forget_spent_tokens(timedelta(hours=8)) == 2
        db.session.commit()

    assert db.session.scalars(select(FormToken.token).order_by(FormToken.token)).all() == ["c" * 32, "d" * 32]
    # A kept token still answers a repeat with the earlier sending.
    assert once.claim("c" * 32, person) is not None
