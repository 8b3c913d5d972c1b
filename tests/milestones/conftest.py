"""A cohort with a timeline, frozen in time so that deadlines are ahead or behind as a test needs."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from pypdf import PdfWriter

from projectflow.core import clock
from projectflow.extensions import db
from projectflow.milestones import services

# Mid-February of the cohort's year: the project plan (early March) is ahead.
FEBRUARY = datetime(2027, 2, 15, 10, tzinfo=timezone.utc)


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def timeline(cohort, coordinator):
    with clock.frozen(datetime(2026, 11, 20, 9, tzinfo=timezone.utc)):
        created = services.create_timeline(cohort, by=coordinator)
        db.session.commit()
    return {m.kind: m for m in created}


@pytest.fixture
def february():
    with clock.frozen(FEBRUARY):
        yield FEBRUARY
