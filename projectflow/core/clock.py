"""The one source of "now", so that tests (and demo data) can move time.

Everything that compares with the present asks ``clock.now()``; nothing calls ``datetime.now()``.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

_frozen_at: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return _frozen_at if _frozen_at is not None else datetime.now(timezone.utc)


@contextmanager
def frozen(at: datetime):
    """Make ``now()`` answer ``at`` inside the block (tests and the demo generator)."""
    global _frozen_at
    if at.tzinfo is None:
        raise ValueError("clock.frozen needs a timezone-aware datetime")
    previous, _frozen_at = _frozen_at, at.astimezone(timezone.utc)
    try:
        yield
    finally:
        _frozen_at = previous
