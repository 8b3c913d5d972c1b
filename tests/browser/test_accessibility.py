"""Accessibility gate: axe-core checks every page each demo role can reach, in a real browser.

The demo is built once for the module and served; each role signs in and follows the site's own links
from its home page (same site, GET, pages only: no downloads, feeds or static files), at most
``PER_ROUTE`` addresses per route so that 120 students' pages do not make the run long. On every page
axe-core (tests/browser/assets/axe.min.js, a test asset never served to users) runs the WCAG 2.x A and
AA rules: a serious or critical violation fails the test, listed with its page and element.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from projectflow import demo
from tests.browser.conftest import serve
from tests.web.site_crawl import Frontier, built_demo

pytestmark = [pytest.mark.browser]

AXE_SOURCE = (Path(__file__).parent / "assets" / "axe.min.js").read_text(encoding="utf-8")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = {"serious", "critical"}
# Held to whatever axe rates their impact: a table column without a name.
ALWAYS_FAILING_RULES = {"empty-table-header"}
PER_ROUTE = 2

# role -> (demo login, home path, addresses per route, fewest pages the crawl must reach). The
# coordinator's staff view and the admin reach mostly the coordinator's pages: one address per route.
ROLES = {
    "anonymous": (None, "/login", PER_ROUTE, 2),
    "student": ("student", "/student", PER_ROUTE, 10),
    "student-last-year": ("student (last year, allocated)", "/student", PER_ROUTE, 10),
    "staff": ("staff", "/staff", PER_ROUTE, 12),
    "coordinator": ("coordinator", "/coordinator", PER_ROUTE, 35),
    "coordinator-as-staff": ("coordinator", "/staff", 1, 20),
    "admin": ("admin", "/admin", 1, 15),
}

RUN_AXE = """async ([tags, extra]) => {
  const rules = Object.fromEntries(extra.map(id => [id, {enabled: true}]));
  const found = await axe.run(document, {runOnly: {type: "tag", values: tags}, rules, resultTypes: ["violations"]});
  return found.violations.map(v => ({
    rule: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")),
    summary: v.nodes.length ? v.nodes[0].failureSummary : "",
  }));
}"""

# The house rule behind axe's scrollable-region-focusable, checked whether or not the box overflows with
# this page's data: every table wrapper that may scroll is a focusable region with a name.
UNNAMED_SCROLL_BOXES = """() => [...document.querySelectorAll("div.table-responsive, div.table-scroll")]
  .filter(box => box.getAttribute("role") !== "region" || box.getAttribute("tabindex") !== "0"
                 || !(box.getAttribute("aria-label") || box.getAttribute("aria-labelledby") || "").trim())
  .map(box => box.tagName.toLowerCase() + "." + [...box.classList].join(".")
              + (box.parentElement.id ? " in #" + box.parentElement.id : ""))"""


@dataclass
class Violation:
    rule: str
    impact: str
    help: str
    summary: str
    pages_by_target: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.rule} ({self.impact}): {self.help}"]
        for target, pages in self.pages_by_target.items():
            more = f" and {len(pages) - 3} more pages" if len(pages) > 3 else ""
            lines.append(f"    at {target} on {', '.join(pages[:3])}{more}")
        lines += ["    " + line.strip() for line in self.summary.splitlines()]
        return "\n".join(lines)


@dataclass
class Crawl:
    pages: list[str] = field(default_factory=list)
    violations: dict[tuple[str, str], Violation] = field(default_factory=dict)
    broken_links: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    def add(self, path: str, found: dict) -> None:
        v = self.violations.setdefault((found["rule"], found["impact"]), Violation(
            found["rule"], found["impact"], found["help"], found["summary"]))
        for target in found["targets"]:
            v.pages_by_target.setdefault(target, []).append(path)

    def report(self) -> str:
        return "\n".join([str(v) for v in self.violations.values()] + self.broken_links)


@pytest.fixture(scope="module")
def demo_site(database_url, _schema, tmp_path_factory):
    """The demo, built as of NOW on its own app and database, served for the module's tests."""
    # The browser keeps the stylesheets and scripts instead of asking for each of them on every page.
    for site in built_demo(database_url, tmp_path_factory, "a11y-instance", SEND_FILE_MAX_AGE_DEFAULT=3600):
        with serve(site.app) as server:
            yield site.app, server, site.logins


def sign_in(page, server, email: str) -> None:
    page.goto(server("/login"))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def switch_view(page, role: str) -> None:
    page.locator("#role-switcher").click()
    with page.expect_navigation():
        page.locator(".dropdown-menu").get_by_role("button", name=role).click()
    expect(page.locator("#role-switcher")).to_have_text(f"Viewing as {role}")


def crawl(page, app, server, start: str, per_route: int) -> Crawl:
    """Visit every page reachable by links from ``start`` (at most ``per_route`` addresses of one route)
    and run axe on each."""
    result = Crawl()
    frontier = Frontier(app, start, per_route, origin=server(""))
    for path in frontier:
        try:
            response = page.goto(server(path))
        except PlaywrightError as error:  # a file sent as an attachment
            if "Download is starting" not in error.message:
                raise
            result.skipped["download"] += 1
            continue
        if response is None or not response.headers.get("content-type", "").startswith("text/html"):
            result.skipped["not a page"] += 1
            continue
        if response.status >= 400:
            result.broken_links.append(f"a link to {path} answers HTTP {response.status}")
            continue
        page.wait_for_load_state()
        landed = urlsplit(page.url)
        if landed.path != urlsplit(path).path:  # redirected (the site's root to one's home)
            frontier.reached(landed.path)
            continue
        result.pages.append(path)
        page.evaluate(AXE_SOURCE)
        for found in page.evaluate(RUN_AXE, [WCAG_TAGS, sorted(ALWAYS_FAILING_RULES)]):
            if found["impact"] in FAILING_IMPACTS or found["rule"] in ALWAYS_FAILING_RULES:
                result.add(path, found)
        for target in page.evaluate(UNNAMED_SCROLL_BOXES):
            result.add(path, {"rule": "scroll-region-attributes", "impact": "house rule", "targets": [target],
                              "help": "A box that may scroll is a named, focusable region",
                              "summary": 'Add {{ scroll_region("its name") }} (templates/macros/ui.html) '
                                         "to the wrapper's tag"})
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            frontier.offer(href, found_on=path)
    result.broken_links += frontier.no_page
    result.skipped.update(frontier.skipped)
    return result


@pytest.mark.timeout(300)  # a crawl of up to 50 pages; the first test also builds the demo
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_a_demo_role_reaches_has_no_serious_accessibility_violation(demo_site, page, screenshot,
                                                                               role):
    app, server, logins = demo_site
    login, home, per_route, fewest = ROLES[role]
    if login is not None:
        sign_in(page, server, logins[login])
        if role == "coordinator-as-staff":
            switch_view(page, "Staff")
    screenshot(page, f"accessibility-home-{role}")
    result = crawl(page, app, server, home, per_route)

    if result.violations or result.broken_links:
        pytest.fail(f"{role}: accessibility violations on the {len(result.pages)} pages visited "
                    f"(rule (impact): what it asks, where, how to fix it):\n{result.report()}", pytrace=False)
    assert len(result.pages) >= fewest, (f"{role}: the crawl reached only {len(result.pages)} pages "
                                         f"(at least {fewest} expected): {result.pages}")
