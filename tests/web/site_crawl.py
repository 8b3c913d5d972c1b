"""The demo site as each demo role sees it, through the test client: build the demo once for a test
module, sign a role in through the login form, and follow the site's own links from its home page
(same site, GET, HTML pages only; at most ``PER_ROUTE`` addresses per route), keeping every page's
forms as tests/forms.py reads them. Used by the form sweep and the hostile-input gate; the
accessibility gate walks the same ``Frontier`` in a real browser."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from flask import request_started
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from projectflow import create_app, demo
from projectflow.core import clock
from projectflow.extensions import db
from tests.conftest import _empty_all_tables, _fresh_g, _is_postgres
from tests.conftest import test_config as app_config  # (not named test_*: pytest would collect it)
from tests.forms import Form, get_form, parse_forms

PER_ROUTE = 3
NOT_PAGES = re.compile(r"\.(zip|json|ics|pdf|csv|xlsx)$|^/static/")
NOW = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)  # the demo's "today": the proposal round is open
HREF = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)

# role -> (the demo login's label in demo.demo_logins(), the view role to switch to, its home page)
ROLES = {
    "student": ("student", None, "/student"),
    "student-last-year": ("student (last year, allocated)", None, "/student"),
    "staff": ("staff", None, "/staff"),
    "coordinator": ("coordinator", "Coordinator", "/coordinator"),
    "coordinator-as-staff": ("coordinator", "Staff", "/staff"),
    "admin": ("admin", None, "/admin"),
}


@dataclass
class Page:
    path: str
    endpoint: str
    forms: list[Form]


@dataclass
class Crawl:
    role: str
    pages: list[Page] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


class DemoSite:
    """The demo on its own app and database, the clock frozen at ``NOW`` while it is used."""

    def __init__(self, app, logins: dict[str, str]):
        self.app = app
        self.logins = logins

    def client(self, role: str):
        """A test client signed in as the demo's ``role``, viewing the site in that role."""
        label, view, home = ROLES[role]
        client = self.app.test_client()
        form = get_form(client, "/login", has_field="password")
        response = form.set("email", self.logins[label]).set("password", demo.DEMO_PASSWORD).submit(client)
        assert response.status_code == 302, f"the demo's {role} could not sign in ({response.status_code})"
        if view is not None:
            switch = get_form(client, home_of(client), action="/switch-role", submit=view)
            assert switch.submit(client, submit=view).status_code == 302
        assert home_of(client) == home, f"{role} lands on {home_of(client)}, not {home}"
        return client

    def endpoint(self, path: str, method: str = "GET") -> str | None:
        adapter = self.app.url_map.bind("localhost")
        try:
            rule, _args = adapter.match(urlsplit(path).path, method=method, return_rule=True)
        except (HTTPException, RequestRedirect):
            return None
        return rule.endpoint

    def crawl(self, role: str, client=None) -> Crawl:
        """Every page ``role`` reaches by links from their home page, with its forms."""
        client = client or self.client(role)
        result = Crawl(role)
        frontier = Frontier(self.app, ROLES[role][2], PER_ROUTE)
        for path in frontier:
            response = client.get(path)
            if response.status_code >= 500:
                result.server_errors.append(f"GET {path} answered {response.status_code}")
                continue
            if response.status_code != 200 or not response.content_type.startswith("text/html"):
                result.skipped[f"answer {response.status_code} {response.content_type.split(';')[0]}"] += 1
                continue
            page = response.get_data(as_text=True)
            result.pages.append(Page(path, self.endpoint(path) or "?", parse_forms(page, path)))
            for match in HREF.finditer(page):
                frontier.offer((match.group(1) if match.group(1) is not None else match.group(2))
                               .replace("&amp;", "&"))
        result.skipped.update(frontier.skipped)
        return result


class Frontier:
    """The pages a crawl still has to visit, in the order found: links on this site to pages (no
    downloads, feeds or static files), each address once, at most ``per_route`` addresses of one route
    so that a cohort's hundred students' pages do not make a crawl long. Shared by every crawl of the
    site (the form sweep, the hostile-input gate and the accessibility gate)."""

    def __init__(self, app, start: str, per_route: int, origin: str = ""):
        self.adapter = app.url_map.bind("localhost")
        self.per_route = per_route
        self.origin = origin  # the served site's address, when links are absolute (a browser's)
        self.seen = {start}
        self.queue = deque([start])
        self.visits: Counter = Counter()
        self.skipped: Counter = Counter()
        self.no_page: list[str] = []

    def __iter__(self):
        while self.queue:
            yield self.queue.popleft()

    def reached(self, path: str) -> None:
        """A redirect landed on ``path``: it is visited already."""
        self.seen.add(path)

    def offer(self, href: str, found_on: str = "") -> None:
        url, _fragment = urldefrag(href)
        if self.origin and url.startswith(self.origin + "/"):
            url = url[len(self.origin):]
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            return
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if target in self.seen:
            return
        self.seen.add(target)
        if NOT_PAGES.search(parts.path):
            self.skipped["download or static file"] += 1
            return
        try:
            rule, _args = self.adapter.match(parts.path, method="GET", return_rule=True)
        except (HTTPException, RequestRedirect):
            self.skipped["no page"] += 1
            self.no_page.append(f"{found_on or 'a page'} links to {target}, which is no page")
            return
        if self.visits[rule.rule] >= self.per_route:
            self.skipped["route seen often enough"] += 1
            return
        self.visits[rule.rule] += 1
        self.queue.append(target)


def home_of(client) -> str:
    response = client.get("/")
    assert response.status_code == 302
    return response.headers["Location"]


def built_demo(database_url, tmp_path_factory, name: str, **settings):
    """A generator for a module-scoped fixture: the demo as of NOW on its own app (with ``settings``);
    the clock stays at NOW while the module's tests run. On SQLite each module gets its own copy of a
    demo built once for the whole run (its database file and instance folder); on PostgreSQL the demo
    is built in the run's database and the tables are emptied afterwards."""
    instance = tmp_path_factory.mktemp(name)
    own_copy = not _is_postgres(database_url)
    if own_copy:
        database_url = _copy_of_the_demo(tmp_path_factory, instance)
    app = _demo_app(database_url, instance, **settings)
    request_started.connect(_fresh_g, app)
    with app.app_context():
        with clock.frozen(NOW):
            if not own_copy:
                _load_the_demo()
            logins = dict(demo.demo_logins())
            db.session.remove()
            yield DemoSite(app, logins)
        if not own_copy:
            _empty_all_tables()
        db.engine.dispose()


def _demo_app(database_url: str, instance: Path, **settings):
    config = app_config(database_url, instance)
    config["MAIL_BACKEND"] = "file"  # saving forms tells people: the messages land in the instance folder
    return create_app({**config, **settings})


def _load_the_demo() -> None:
    demo.load_demo(seed=2026)
    db.session.commit()


def _copy_of_the_demo(tmp_path_factory, instance: Path) -> str:
    """A copy, in ``instance``, of the SQLite demo built once for the run (by whichever pytest worker
    asks first, the others waiting for it); the address of the copy's database."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the run's workers
    template = root / "demo-template"
    with open(root / "demo-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (template / "built").exists():
            shutil.rmtree(template, ignore_errors=True)
            template.mkdir()
            app = _demo_app(f"sqlite:///{template / 'demo.db'}", template / "instance")
            with app.app_context():
                db.create_all()
                with clock.frozen(NOW):
                    _load_the_demo()
                db.session.remove()
                db.engine.dispose()
            (template / "built").touch()
    shutil.copytree(template / "instance", instance, dirs_exist_ok=True)
    shutil.copyfile(template / "demo.db", instance / "demo.db")
    return f"sqlite:///{instance / 'demo.db'}"
