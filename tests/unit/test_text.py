"""Counting in words: "1 page", "2 pages" (found when the app was tried: "1 pages", "1 students enrolled")."""

from __future__ import annotations

import pytest

from projectflow.core.text import counted, shortened, split_keywords


@pytest.mark.parametrize("n, noun, plural, written", [
    (1, "page", None, "1 page"), (2, "page", None, "2 pages"), (0, "page", None, "0 pages"),
    (1, "student enrolled", None, "1 student enrolled"), (3, "student enrolled", None, "3 students enrolled"),
    (2, "day", None, "2 days"), (2, "university", None, "2 universities"), (2, "box", None, "2 boxes"),
    (2, "staff", "staff", "2 staff"),
])
def test_counted(n, noun, plural, written):
    assert counted(n, noun, plural) == written


@pytest.mark.parametrize("text, limit, written", [
    ("Your project is approved.", 60, "Your project is approved."),
    ("The deadline of “Final report” is now Fri 10 Sep 2027 16:00 (an extension you were granted still applies).",
     60, "The deadline of “Final report” is now Fri 10 Sep 2027 16:00…"),
    ("abcdefghij klmnop", 12, "abcdefghij…"),
    ("abcdefghijklmnop", 8, "abcdefg…"),  # one long word: cut, there is no boundary
    ("Ten words, and then the rest of it", 11, "Ten words…"),
])
def test_shortened_never_cuts_a_word(text, limit, written):
    assert shortened(text, limit) == written
    assert len(shortened(text, limit)) <= limit


def test_a_notifications_subject_ends_on_a_whole_word(app, make):
    # Found when the app was tried: "projectflow: ... is now Fri 10 Sep 2027 16:00 (an exten".
    from projectflow.core import mail, outbox
    from projectflow.reminders.notices import notify
    from projectflow.extensions import db

    person = make.student()
    notify([person], "The deadline of “Final report” is now Fri 10 Sep 2027 16:00 (an extension you were "
                     "granted still applies).")
    [row_id] = db.session.info[mail._OUTBOX]
    message = db.session.get(outbox.OutboxMessage, row_id).email
    assert message["Subject"] == "projectflow: The deadline of “Final report” is now Fri 10 Sep 2027 16:00…"
    mail.discard_queued()


@pytest.mark.parametrize("typed, keywords", [
    ("robotics, vision", ["robotics", "vision"]), ("robotics;vision", ["robotics", "vision"]),
    ("robotics; reinforcement learning, vision ;", ["robotics", "reinforcement learning", "vision"]),
    ("", []), (" ; , ", []),
])
def test_keywords_are_separated_by_commas_or_semicolons_everywhere(typed, keywords):
    # Found when the app was tried: the project form took commas and the import semicolons.
    assert split_keywords(typed) == keywords
