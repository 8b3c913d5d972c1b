"""Counting in words: "1 page", "2 pages" (found when the app was tried: "1 pages", "1 students enrolled")."""

from __future__ import annotations

import pytest

from projectflow.core.text import counted


@pytest.mark.parametrize("n, noun, plural, written", [
    (1, "page", None, "1 page"), (2, "page", None, "2 pages"), (0, "page", None, "0 pages"),
    (1, "student enrolled", None, "1 student enrolled"), (3, "student enrolled", None, "3 students enrolled"),
    (2, "day", None, "2 days"), (2, "university", None, "2 universities"), (2, "box", None, "2 boxes"),
    (2, "staff", "staff", "2 staff"),
])
def test_counted(n, noun, plural, written):
    assert counted(n, noun, plural) == written
