"""How long a cohort CSV import takes: parse and validate every row, then write everything.

``python -m bench.import_people [--rows N ...] [--database-url URL]`` builds a seeded CSV of N people
(10% staff), imports it into an empty cohort of a fresh database and reports the time of each stage.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from projectflow import create_app
from projectflow.cohorts import importing, services
from projectflow.extensions import db
from projectflow.people.services import create_user


def make_csv(rows: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    lines = ["email,name,role,expertise,max_load"]
    for i in range(rows):
        if i % 10 == 0:
            lines.append(f"staff{i}@example.ac.uk,Dr Staff {i},staff,robotics;vision,{rng.randint(2, 8)}")
        else:
            lines.append(f"student{i}@example.ac.uk,\"Student {i}, Jr\",student,,")
    return ("\n".join(lines) + "\n").encode()


def run(rows: int, database_url: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "MAIL_BACKEND": "blocked",
                          "IMPORT_MAX_ROWS": max(rows, 20000)})
        with app.app_context():
            db.drop_all()
            db.create_all()
            coordinator = create_user(email="c@example.ac.uk", name="C", roles=["coordinator"], by=None)
            cohort = services.create_cohort({
                "programme_name": "Bench", "programme_code": "B1", "academic_year": 2026,
                "timezone": "Europe/London", **services.default_phase_dates(2026)}, by=coordinator)
            db.session.commit()
            data = make_csv(rows)
            t0 = time.perf_counter()
            importing.parse(importing.decode(data))
            t1 = time.perf_counter()
            importing.import_people(cohort, data, by=coordinator, filename="bench.csv")
            db.session.commit()
            t2 = time.perf_counter()
            db.drop_all()
            db.engine.dispose()
    return {"validate_s": t1 - t0, "import_total_s": t2 - t1}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    print("cohort CSV import")
    print(f"{'rows':>8} {'validate (s)':>13} {'validate+write+commit (s)':>26}")
    for rows in args.rows:
        r = run(rows, args.database_url)
        print(f"{rows:>8} {r['validate_s']:>13.3f} {r['import_total_s']:>26.3f}")


if __name__ == "__main__":
    main()
