"""Formatted text written by people (project descriptions, comments): Markdown in, safe HTML out.

markdown-it-py renders CommonMark with raw HTML switched off, and nh3 (ammonia) then keeps only an
allow-list of tags and attributes, so neither script nor event handlers nor ``javascript:`` links can
reach a page, whatever was typed.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}


def render_markdown(source: str | None) -> Markup:
    """Safe HTML for ``source``. Headings are demoted so a description cannot outrank the page's own."""
    if not source:
        return Markup("")
    html = _markdown.render(source)
    for level in (2, 1):  # h1 -> h3, h2 -> h4
        html = html.replace(f"<h{level}>", f"<h{level + 2}>").replace(f"</h{level}>", f"</h{level + 2}>")
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    return Markup(clean)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with its noun in the right number: "1 page", "2 pages", "1 student enrolled" (``noun`` may
    carry words after the counted one: "student enrolled" -> "students enrolled")."""
    if n == 1:
        return f"{n} {noun}"
    if plural is None:
        first, _, rest = noun.partition(" ")
        plural = (first[:-1] + "ies" if first.endswith("y") and first[-2:-1] not in "aeiou" else
                  first + "es" if first.endswith(("s", "x", "ch", "sh")) else first + "s") + (f" {rest}" if rest else "")
    return f"{n} {plural}"


def shortened(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with "…" when cut (an e-mail
    subject made from a message: never half a word)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.–-") + "…"


def split_keywords(text: str) -> list[str]:
    """Keywords as people type them, separated by commas or semicolons (one rule for the project form,
    the profile form and the CSV import, whose commas separate columns): trimmed, blanks dropped."""
    return [k.strip() for k in re.split(r"[,;]", text or "") if k.strip()]
