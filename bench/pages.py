"""Server time, SQL statements and size of every page of every role, on a cohort ten times the demo's.

``python -m bench.pages [--students 1200] [--requests 9] [--database-url URL]`` builds, once, an
installation like the demo's with 1,200 students this year and 800 last year (``tests.cohort_builder``:
400 staff, 1,800 projects a year, preferences, two allocation runs and a published one with second
markers, a lived-through timeline with submissions, extensions and meetings, audit events and
notifications) on SQLite in a temporary directory, then opens each page of ``tests.page_tour`` as
its persona through Flask's test client: one request to warm up, then ``--requests`` timed ones.
It prints p50 and p95 of the server time, the statements of one request, and the size of the page.

Targets (issue 9): every page under 150 ms at p50 and under 300 KiB, on one core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from projectflow import create_app
from projectflow.core import clock
from projectflow.extensions import db

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the tour and the builder live with the tests
    sys.path.insert(0, str(ROOT))

from tests.cohort_builder import Scale, build  # noqa: E402
from tests.page_tour import PAGES, PERSONAS, StatementLog, sign_in  # noqa: E402

TARGET_MS, TARGET_KIB = 150, 300


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(students: int, requests: int, database_url: str | None) -> tuple[list[dict], dict]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench-" + "x" * 40,
                          "MAIL_BACKEND": "blocked", "LOGIN_RATE_LIMIT": "100 per minute",
                          "WTF_CSRF_ENABLED": False})  # the tour only reads pages
        with app.app_context():
            db.drop_all()
            db.create_all()
            started = time.perf_counter()
            installation = build(Scale(students, round(students * 2 / 3), round(students / 3)))
            built = {"seconds": time.perf_counter() - started, "scale": installation.scale}
            people = {persona: getattr(installation, attr).email for persona, (attr, _r) in PERSONAS.items()}
            addresses = {page.key: page.address(installation) for page in PAGES}
            log = StatementLog(db.engine)
        rows, clients = [], {}
        try:
            with clock.frozen(installation.now):
                for page in PAGES:
                    if page.persona not in clients:
                        clients[page.persona] = sign_in(app.test_client(), people[page.persona],
                                                        PERSONAS[page.persona][1])
                    client = clients[page.persona]
                    with log.recording() as statements:
                        response = client.get(addresses[page.key])
                    times = []
                    for _ in range(requests):
                        t0 = time.perf_counter()
                        timed = client.get(addresses[page.key])
                        times.append((time.perf_counter() - t0) * 1000)
                        assert timed.status_code == response.status_code
                    rows.append({"page": page, "status": response.status_code, "queries": len(statements),
                                 "kib": len(response.data) / 1024, "p50": statistics.median(times),
                                 "p95": _percentile(times, 0.95)})
        finally:
            log.close()
            with app.app_context():
                db.drop_all()
                db.engine.dispose()
    return rows, built


def table(rows: list[dict]) -> str:
    lines = ["| persona | page | p50 (ms) | p95 (ms) | queries | KiB | target |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        misses = [what for what, bad in (("time", r["p50"] >= TARGET_MS), ("size", r["kib"] >= TARGET_KIB)) if bad]
        verdict = "misses: " + ", ".join(misses) if misses else "yes"
        if r["status"] != 200:
            verdict = f"answered {r['status']}"
        lines.append(f"| {r['page'].persona} | {r['page'].name} | {r['p50']:.0f} | {r['p95']:.0f} | {r['queries']} "
                     f"| {r['kib']:.0f} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=1200, help="this year's cohort (last year's is 2/3)")
    parser.add_argument("--requests", type=int, default=9, help="timed requests per page")
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args(argv)
    rows, built = run(args.students, args.requests, args.database_url)
    scale = built["scale"]
    print(f"Pages at {scale.students} students this year, {scale.previous} last year, {scale.staff} staff "
          f"(built in {built['seconds']:.0f} s); {args.requests} timed requests per page.\n")
    print(table(rows))
    slow = [r for r in rows if r["p50"] >= TARGET_MS or r["kib"] >= TARGET_KIB or r["status"] != 200]
    print(f"\n{len(rows) - len(slow)} of {len(rows)} pages meet the targets "
          f"(p50 < {TARGET_MS} ms, < {TARGET_KIB} KiB).")


if __name__ == "__main__":
    main()
