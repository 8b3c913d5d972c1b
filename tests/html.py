"""Reading rendered pages in tests: the error next to a field, flash messages, navigation, form tokens.

Plain regular expressions over the HTML our own templates write (``macros/forms.html``, ``base.html``,
``_nav.html``); enough to say "this message is next to that field" without a browser.
"""

from __future__ import annotations

import html
import re


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def field_error(page: str, field_id: str) -> str | None:
    """The error message shown under the field with this id, or None when it has none."""
    match = re.search(rf'<div id="{re.escape(field_id)}-error"[^>]*>(.*?)</div>', page, re.S)
    return _text(match.group(1)) if match else None


def flashes(page: str) -> list[str]:
    """The flash messages at the top of the page, as text."""
    return [_text(m) for m in re.findall(r'<div class="alert alert-[a-z]+ alert-dismissible[^>]*>(.*?)<button',
                                         page, re.S)]


def nav_links(page: str) -> dict[str, str]:
    """The main navigation of the signed-in person: label -> address."""
    match = re.search(r'<ul class="navbar-nav me-auto">(.*?)</ul>', page, re.S)
    if not match:
        return {}
    return {_text(label): href for href, label in re.findall(r'href="([^"]+)">(.*?)</a>', match.group(1), re.S)}


def has_layout(page: str) -> bool:
    """True when the page is rendered inside the site's layout (navigation bar and footer)."""
    return '<nav class="navbar' in page and 'class="navbar-brand' in page and "<footer" in page


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on the page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


def main_text(page: str) -> str:
    """The text of the page's <main> (the content, without navigation and footer)."""
    match = re.search(r"<main[^>]*>(.*?)</main>", page, re.S)
    return _text(match.group(1) if match else page)


def href(page: str, text: str) -> str:
    """The address of the one link whose text (or id) is ``text``, as the page rendered it."""
    found = [html.unescape(h) for h, attrs, label in re.findall(r'<a\s+[^>]*?href="([^"]+)"([^>]*)>(.*?)</a>', page, re.S)
             if _text(label) == text]
    found += [html.unescape(h) for h in re.findall(rf'<a\s+[^>]*id="{re.escape(text)}"[^>]*href="([^"]+)"', page)]
    found += [html.unescape(h) for h in re.findall(rf'<a\s+[^>]*href="([^"]+)"[^>]*id="{re.escape(text)}"', page)]
    assert len(set(found)) == 1, f"expected one link {text!r}, found {found}"
    return found[0]
