"""PDF documents: Jinja templates under ``templates/pdf/`` printed by WeasyPrint.

Every document extends ``pdf/base.html`` and is printed with the one stylesheet ``pdf/print.css``, so
feedback forms and mark sheets look like one family. Rendering is in two steps:

- ``render_html(template, **context)`` fills the template (needs the app, for Jinja and ``url_for``);
- ``html_to_pdf(html)`` prints that HTML (needs nothing but this module, so a process pool's workers
  can run it without an app or a database).

Every document's header names whose it is (``letterhead(cohort)``), and every PDF route answers with
``pdf_response``: feedback forms, the exam board's mark sheet and the poster day's programme alike.

``content_hash(html)`` names what a document shows: the HTML, the stylesheet, the fonts and this
module's ``RENDERING`` version. Two documents with the same hash print the same, which is what lets a
batch reuse a PDF it already printed.

Nothing is fetched from the network: the fonts ship in ``projectflow/static/fonts`` (so a name in
Chinese or Arabic prints the same on every host), and any other URL a document names is refused.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app, render_template, send_file

if TYPE_CHECKING:  # core imports no domain package at run time
    from ..cohorts.models import Cohort

_PACKAGE = Path(__file__).resolve().parent.parent
FONTS_DIR = _PACKAGE / "static" / "fonts"
# Bump when a change here alters how the same HTML prints (the cache keys follow it).
RENDERING = "1"

# The fonts the documents use, in the order Pango tries them for a character no earlier one has:
# (family, file, weight, style). Noto covers Latin with its accents, Greek and Cyrillic; Arabic and
# Chinese have their own families.
FONT_FACES = (
    ("Noto Sans", "NotoSans-Regular.ttf", "normal", "normal"),
    ("Noto Sans", "NotoSans-Bold.ttf", "bold", "normal"),
    ("Noto Sans", "NotoSans-Italic.ttf", "normal", "italic"),
    ("Noto Sans Arabic", "NotoSansArabic-Regular.ttf", "normal", "normal"),
    ("Noto Sans Arabic", "NotoSansArabic-Bold.ttf", "bold", "normal"),
    ("Noto Sans SC", "NotoSansSC-Regular.otf", "normal", "normal"),
)

log = logging.getLogger(__name__)
_lock = threading.Lock()


def _templates_dir() -> Path:
    inside = _PACKAGE / "templates"
    return inside if inside.is_dir() else _PACKAGE.parent / "templates"


def stylesheet_path() -> Path:
    return _templates_dir() / "pdf" / "print.css"


def font_face_css() -> str:
    """``@font-face`` rules for the shipped fonts (those present: a missing file is skipped, and
    Pango falls back to the host's fonts for it)."""
    rules = []
    for family, name, weight, style in FONT_FACES:
        path = FONTS_DIR / name
        if path.is_file():
            rules.append(f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); '
                         f"font-weight: {weight}; font-style: {style}; }}")
    return "\n".join(rules)


@lru_cache(maxsize=1)
def _inputs_digest() -> str:
    """A digest of everything besides the HTML that decides how a document prints."""
    digest = hashlib.sha256(RENDERING.encode())
    digest.update(stylesheet_path().read_bytes())
    for _family, name, *_ in FONT_FACES:
        path = FONTS_DIR / name
        digest.update(name.encode())
        if path.is_file():
            stat = path.stat()
            digest.update(f"{stat.st_size}".encode())
    return digest.hexdigest()


def content_hash(html: str) -> str:
    """What a document shows, as a hex digest: equal hashes print equal PDFs."""
    return hashlib.sha256(_inputs_digest().encode() + html.encode("utf-8")).hexdigest()


def render_html(template: str, **context) -> str:
    """The document's HTML from ``templates/pdf/<template>`` (inside an app context)."""
    return render_template(f"pdf/{template}", **context)


def _fetcher():
    """WeasyPrint's URL fetcher, limited to ``data:`` URLs and files shipped with projectflow: a
    document never reaches the network, whatever its text holds."""
    from weasyprint.urls import URLFetcher

    class LocalOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file:"):
                path = Path(url.removeprefix("file://").split("?")[0]).resolve()
                if not (path.is_relative_to(_PACKAGE) or path.is_relative_to(_templates_dir())):
                    raise ValueError(f"projectflow documents read no file outside the package: {url[:80]}")
            return super().fetch(url, headers)

    return LocalOnly(allowed_protocols={"file", "data"}, allow_redirects=False)


@lru_cache(maxsize=1)
def _printer():
    """The font configuration and the compiled stylesheet, made once per process."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    fetcher = _fetcher()
    css = CSS(string=font_face_css() + "\n" + stylesheet_path().read_text(encoding="utf-8"),
              font_config=fonts, url_fetcher=fetcher, base_url=str(stylesheet_path()))
    return fonts, css, fetcher


# Let the font configuration go while the modules it calls on at its end still exist.
atexit.register(_printer.cache_clear)


def html_to_pdf(html: str) -> bytes:
    """Print ``html`` as a tagged PDF (its title and language come from ``<title>`` and ``<html
    lang>``). Safe to call from worker processes: it needs no app."""
    from weasyprint import HTML

    with _lock:  # one FontConfiguration per process: WeasyPrint's font objects are not thread-safe
        fonts, css, fetcher = _printer()
        document = HTML(string=html, base_url=str(_templates_dir() / "pdf") + "/", url_fetcher=fetcher)
        return document.write_pdf(stylesheets=[css], font_config=fonts, pdf_tags=True)


def render_pdf(template: str, **context) -> bytes:
    """``render_html`` then ``html_to_pdf``: one document, in this process."""
    return html_to_pdf(render_html(template, **context))


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
    response = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=not inline,
                         download_name=filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
