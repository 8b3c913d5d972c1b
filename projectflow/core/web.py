"""Cross-cutting web behaviour: security headers, error pages, template helpers."""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..extensions import db

from .auth import current_view_role
from .forms import CleanRequest
from .ids import IdConverter
from .errors import DomainError
from .text import counted, render_markdown

# No inline scripts or styles anywhere: every script and stylesheet is a file served from the package.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Link no longer valid",
    413: "File too large",
    422: "Could not process that",
    429: "Too many attempts",
    500: "Something went wrong",
}


def init_app(app: Flask) -> None:
    # Before the blueprints add their routes: every <int:...> id is then checked against 1..MAX_ID.
    app.url_map.converters["int"] = IdConverter
    app.request_class = CleanRequest  # no control characters in any query-string or form value
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(StaleDataError, _edited_meanwhile)
    app.register_error_handler(IntegrityError, _clashed)
    app.register_error_handler(500, _server_error)
    app.context_processor(lambda: {"view_role": current_view_role()})
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["counted"] = counted
    app.jinja_env.filters["until"] = time_until


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def error_page(status: int, message: str | None = None):
    return render_template(
        "errors/error.html", status=status, title=ERROR_TITLES.get(status, "Error"), message=message,
        back=_page_before(),
    ), status


def _page_before() -> str | None:
    """The page of this site the person came from (a form whose file was too large, say), to offer a
    way back to it; None when they came from elsewhere or the browser did not say."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return None
    back = same_site_path(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
    # A form posted to its own page goes back there; a page that failed to open is no way back.
    return None if request.method == "GET" and back == request.full_path.rstrip("?") else back


def _http_error(exc: HTTPException):
    if exc.code is None or exc.code < 400:
        return exc
    # Werkzeug's generic descriptions are written for developers; ours say what to do.
    message = exc.description if exc.description != type(exc).description else None
    if exc.code == 413:
        message = "The file is larger than this site accepts. Split it or make it smaller, then try again."
    response = error_page(exc.code, message)
    if exc.code == 405:
        return response[0], 405, {"Allow": ", ".join(exc.valid_methods or [])}
    return response


def _csrf_error(exc: CSRFError):
    return error_page(
        400,
        "This form had expired or was not sent from this site (its security token was missing "
        "or invalid). Go back, reload the page and send it again; nothing was saved.",
    )


def _domain_error(exc: DomainError):
    return error_page(exc.status_code, exc.message)


def _edited_meanwhile(exc: StaleDataError):
    # Optimistic locking (version columns): someone else saved the same record first.
    db.session.rollback()
    return error_page(409, "Someone else changed this record while you were working on it, so your change "
                           "was not saved. Reload the page to see their version, then try again.")


def _clashed(exc: IntegrityError):
    # A unique (or other) constraint refused the change: most often the same form sent twice at once,
    # where the database let the first in. The transaction is unusable until rolled back, and the page
    # below reads from the database (the navigation), so roll back first.
    db.session.rollback()
    current_app.logger.warning("the database refused a change (answered 409): %s", exc.orig)
    return error_page(409, "This was not saved: it clashes with something saved at the same moment (the same "
                           "form sent twice, or someone else's change). Reload the page to see what is saved now.")


def _server_error(exc):
    message = "The error has been logged. Please try again; if it persists, tell the coordinator."
    # The failed transaction must not be queried again (PostgreSQL refuses every statement after an
    # error until it is rolled back): the layout reads the signed-in person and their notifications.
    db.session.rollback()
    try:
        return error_page(500, message)
    except SQLAlchemyError:
        # The database itself is unwell: the page without anything read from it (rendered straight from
        # the template, so no context processor queries it either).
        db.session.rollback()
        page = current_app.jinja_env.get_template("errors/plain.html")
        return page.render(status=500, title=ERROR_TITLES[500], message=message), 500


def same_site_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: a "next" or "back" parameter must not send
    people to another site (``//host`` and ``/\\host`` are other sites to a browser)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def local_time(value, zone: str | ZoneInfo = "Europe/London", fmt: str = "%d %b %Y %H:%M") -> str:
    """Show a UTC datetime as wall-clock time in ``zone`` (a cohort's timezone)."""
    if value is None:
        return ""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    return value.astimezone(tz).strftime(fmt)


def time_until(when, now) -> str:
    """ "in 3 days", "in 5 hours", "2 days ago": how far ``when`` is from ``now``, roughly."""
    seconds = (when - now).total_seconds()
    future = seconds >= 0
    seconds = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            words = f"{n} {unit}{'' if n == 1 else 's'}"
            break
    else:
        words = "less than a minute"
    return f"in {words}" if future else f"{words} ago"
