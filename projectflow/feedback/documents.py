"""What every feedback document shares: its letterhead and how it is printed."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..cohorts.models import Cohort
from ..core import pdf


@dataclass(frozen=True)
class Letterhead:
    """The header of a document: whose it is (institution, programme, module, cohort)."""

    institution: str
    programme: str
    programme_code: str
    module: str
    cohort: str  # "MSc Applied Machine Learning (H6X1) 2025-26"
    year: str  # "2025-26"


def letterhead(cohort: Cohort) -> Letterhead:
    config = current_app.config
    return Letterhead(institution=config["INSTITUTION_NAME"], programme=cohort.programme_name,
                      programme_code=cohort.programme_code, module=config["MODULE_NAME"],
                      cohort=cohort.title, year=cohort.year_label)


def pdf_response(data: bytes, filename: str, *, inline: bool = True):
    """A PDF download, shown in the browser (``inline``) or saved; never kept by shared caches."""
    import io

    from flask import send_file

    response = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=not inline,
                         download_name=filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


render_html = pdf.render_html
html_to_pdf = pdf.html_to_pdf
