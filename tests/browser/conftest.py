"""Real-browser tests: Playwright drives the system Chromium against the app served on a free local port.

The browser is the machine's own Chromium (``chromium`` on the PATH, else /usr/bin/chromium); the
tests never download one. Without it they are skipped with the reason. The app is the ``app`` fixture
of tests/conftest.py (its SQLite file or PostgreSQL database), served by Werkzeug in a background
thread, with CSRF protection on so that the real forms are exercised.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
pytest.importorskip("pytest_playwright", reason="pytest-playwright is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from projectflow.core import jobs  # noqa: E402
from projectflow.extensions import db  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"

# Assertions wait for the state they expect; on a machine busy with other work a page can take longer
# than Playwright's default 5 s to get there. Only a failing assertion waits this long.
expect.set_options(timeout=15_000)

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Records Content-Security-Policy violations even if Chromium words (or stops writing) its console
# message differently. Init scripts run through the DevTools protocol, so the CSP does not block them.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
                + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, pointed at the system Chromium."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine (looked for `chromium` on the PATH and /usr/bin/chromium); "
                    "install it with `apt-get install chromium` to run the browser tests")
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A browser set up like a UK user's (dates in day/month order), without animations so that
    screenshots never catch a menu half-open."""
    return {**browser_context_args, "locale": "en-GB", "timezone_id": "Europe/London",
            "reduced_motion": "reduce"}


@dataclass
class LiveServer:
    url: str

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@contextmanager
def serve(app) -> Iterator[LiveServer]:
    """``app`` served on 127.0.0.1 at a free port, with CSRF protection on, inside the block."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def live_server(app):
    """The test ``app`` served on 127.0.0.1 at a free port, for as long as the test runs."""
    with serve(app) as server:
        yield server


@dataclass
class BrowserProblems:
    """What the browser complained about: console errors and warnings, uncaught exceptions, CSP
    violations and static files that failed to load."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.add_init_script(_CSP_LISTENER)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.messages.append(f"uncaught JS error: {exc}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _console(self, msg) -> None:
        if msg.type in ("error", "warning"):
            self.messages.append(f"console {msg.type}: {msg.text}")

    def _request_failed(self, request) -> None:
        # ERR_ABORTED: the page went on to the next one before this load finished (a favicon, say).
        if "ERR_ABORTED" not in (request.failure or ""):
            self.messages.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _response(self, response) -> None:
        if response.request.resource_type in ("stylesheet", "script", "image", "font") and response.status >= 400:
            self.messages.append(f"{response.status} for {response.url}")

    def assert_clean(self, allow: tuple[str, ...] = ()) -> None:
        """No problems, except messages matching one of the ``allow`` regular expressions."""
        left = [m for m in self.messages if not any(re.search(pattern, m) for pattern in allow)]
        csp = [m for m in left if "Content Security Policy" in m or "CSP violation" in m]
        assert not csp, "Content-Security-Policy violations:\n" + "\n".join(csp)
        assert not left, "the browser reported problems:\n" + "\n".join(left)


@pytest.fixture
def browser_problems(page) -> BrowserProblems:
    problems = BrowserProblems()
    problems.watch(page)
    return problems


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")`` saves a full-page PNG under artifacts/screenshots/ for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


class JobRunner:
    """Plays `projectflow scheduler`: runs queued jobs in a thread of its own, with its own session."""

    def __init__(self, app):
        self.app = app
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="job-runner", daemon=True)

    def _loop(self):
        with self.app.app_context():
            while not self.stop.is_set():
                jobs.run_pending()
                db.session.remove()
                self.stop.wait(0.2)

    def start(self):
        self.thread.start()

    def close(self):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=30)


@pytest.fixture
def job_runner(app):
    runner = JobRunner(app)
    yield runner
    runner.close()
