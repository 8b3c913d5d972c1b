"""The notifications page: a page at a time (a busy year gives hundreds), newest first, with all or only
the unread; "Mark all as read" reaches the ones on later pages too."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from projectflow.core.notifications import Notification
from projectflow.extensions import db
from projectflow.people.models import STUDENT
from tests.forms import get_form


def listed(page: str) -> list[str]:
    return re.findall(r"Message number (\d+)\b", page)


def test_notifications_come_a_page_at_a_time_and_filter_to_the_unread(login, make):
    person = make.user(STUDENT)
    start = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc)
    for i in range(60):   # every third one read
        db.session.add(Notification(user_id=person.id, message=f"Message number {i}.",
                                    created_at=start + timedelta(hours=i),
                                    read_at=start + timedelta(days=5) if i % 3 == 0 else None))
    db.session.commit()
    client = login(person)
    first = client.get("/notifications").get_data(as_text=True)
    assert listed(first) == [str(i) for i in range(59, 34, -1)]          # 25, newest first
    assert "60 notifications, page 1 of 3." in first
    assert 'href="/notifications?page=3"' in first
    last = client.get("/notifications?page=3").get_data(as_text=True)
    assert listed(last) == [str(i) for i in range(9, -1, -1)]
    unread = client.get("/notifications?show=unread").get_data(as_text=True)
    assert listed(unread) == [str(i) for i in range(59, 0, -1) if i % 3][:25]
    assert "40 notifications unread, page 1 of 2." in unread
    assert 'href="/notifications?show=unread&amp;page=2"' in unread or \
        'href="/notifications?page=2&amp;show=unread"' in unread
    # Nonsense in the query string is no error: the first page of all of them.
    assert listed(client.get("/notifications?page=x&show=bogus").get_data(as_text=True)) == listed(first)
    # Marking all as read reaches those beyond the first page.
    get_form(client, "/notifications?page=2", action="/notifications/read").submit(client)
    assert "Nothing unread." in client.get("/notifications?show=unread").get_data(as_text=True)
    assert db.session.query(Notification).filter(Notification.read_at.is_(None)).count() == 0
