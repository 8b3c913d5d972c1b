"""The exam-board mark sheet's routes (PDF, CSV, XLSX): the cohort's coordinators and admins, and the
moderators they named."""

from __future__ import annotations

from flask_login import current_user, login_required

from ..cohorts.access import cohort_for
from ..core import sheets
from ..core.auth import require
from ..core.pdf import html_to_pdf, pdf_response, render_html
from . import board
from .views import bp


def _readable(cohort_id: int):
    cohort = cohort_for(cohort_id)
    require(board.can_read(cohort, current_user),
            "Only the cohort's coordinators and its moderators read the exam board's mark sheet.")
    return cohort


@bp.get("/cohorts/<int:cohort_id>/mark-sheet.pdf")
@login_required
def mark_sheet_pdf(cohort_id: int):
    """The mark sheet for the exam board: A4 landscape, every student, the distribution."""
    cohort = _readable(cohort_id)
    table = board.mark_sheet(cohort, current_user)
    html = render_html("board_mark_sheet.html", sheet=table, zone=cohort.zone)
    return pdf_response(html_to_pdf(html), f"{table.filename}.pdf")


@bp.get("/cohorts/<int:cohort_id>/mark-sheet.<any(csv, xlsx):fmt>")
@login_required
def mark_sheet_table(cohort_id: int, fmt: str):
    """The same columns for the registry (names: docs/mark-sheet-columns.md)."""
    cohort = _readable(cohort_id)
    table = board.mark_sheet(cohort, current_user)
    return sheets.download(table.names, table.rows, fmt, table.filename, title="Mark sheet", zone=cohort.zone)
