"""How fast the results engine is, on a generated marks file.

``python -m bench.results_engine [--students 5000 ...] [--seed S] [--repeat R]`` writes a seeded
marks.json of N students under the default rules (DESIGN.md section 3), then times the file interface
in this process (read and check the JSON, compute, write results.json; best of R), the engine alone
(``compute``), and the installed command ``projectflow results`` as a new process (Python's and the
package's start-up included).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np

from projectflow.results import ComponentMarks, StudentMarks, band_of, compute, default_rules
from projectflow.results.files import marks_to_dict, parse_marks, results_to_json


def _mark(value: float) -> Decimal:
    return Decimal(int(round(min(100.0, max(0.0, value)) * 100))) / 100


def make_students(n: int, seed: int = 1) -> list[StudentMarks]:
    """N students, each with an ability around 62 (sd 9): the report and the poster have two marks
    (each the ability plus the marker's noise, sd 3.5, in hundredths), so most pairs agree, some
    straddle a band or differ by more than 5 and are reconciled (or failed reconciliation and were
    third-marked), and a few differ by more than 10 and were third-marked (3% of those that need it
    are still in reconciliation or third marking); independence has one mark. About 8% of reports are
    late (1-7 working days), a third of those with an extension; 2% of students still wait for their
    poster marks."""
    rng = np.random.default_rng(seed)
    rules = default_rules()
    students = []
    for i in range(n):
        ability = rng.normal(62, 9)
        components = {}
        for cid in ("report", "poster"):
            if cid == "poster" and rng.random() < 0.02:
                continue  # awaiting marks
            a, b = _mark(ability + rng.normal(0, 3.5)), _mark(ability + rng.normal(0, 3.5))
            low, high = min(a, b), max(a, b)
            between = _mark(float(low) + rng.random() * float(high - low))
            between = min(max(between, low), high)
            extra = {}
            still_open = rng.random() < 0.03  # marking still going on for a few
            if high - low > rules.third_marker_above:
                if not still_open:
                    extra["third"] = between
            elif high - low > rules.agree_within or band_of(a, rules.boundaries) != band_of(b, rules.boundaries):
                if not still_open:
                    # Reconciled, or (one in ten) reconciliation failed and a third marker decided.
                    extra["reconciled" if rng.random() < 0.9 else "third"] = between
            late = int(rng.integers(1, 8)) if cid == "report" and rng.random() < 0.08 else 0
            components[cid] = ComponentMarks((a, b), late_working_days=late,
                                             extension=bool(late and rng.random() < 0.33), **extra)
        components["independence"] = ComponentMarks((_mark(ability + rng.normal(2, 5)),))
        students.append(StudentMarks(f"s{i + 1}", components))
    return students


def run(n: int, seed: int, repeat: int, tmp: Path) -> dict:
    rules = default_rules()
    source, out = tmp / f"marks-{n}.json", tmp / "results.json"
    source.write_text(json.dumps(marks_to_dict(rules, make_students(n, seed))), encoding="utf-8")
    end_to_end, engine = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        parsed_rules, students = parse_marks(source.read_bytes())
        computed = time.perf_counter()
        results = compute(parsed_rules, students)
        engine.append(time.perf_counter() - computed)
        out.write_text(results_to_json(results), encoding="utf-8")
        end_to_end.append(time.perf_counter() - started)
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("projectflow")), "results", "--input", str(source),
                           "--output", str(out)], capture_output=True, text=True)
    command = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"projectflow results failed: {done.stderr}")
    routes = Counter(o.route or o.state for r in results for o in r.components)
    return {"n": n, "kib": source.stat().st_size / 1024, "end_to_end_s": min(end_to_end),
            "engine_s": min(engine), "command_s": command,
            "final": sum(1 for r in results if r.final is not None),
            "flagged": sum(1 for r in results if r.flags), "routes": dict(sorted(routes.items()))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, nargs="+", default=[5000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs in this process (best kept)")
    args = parser.parse_args(argv)
    print("results engine (end to end = read and check marks.json, compute, write results.json, in process; "
          "command = `projectflow results` as a new process)")
    print(f"{'students':>8} {'file KiB':>8} {'engine s':>9} {'end-to-end s':>12} {'command s':>9} "
          f"{'with final':>10} {'flagged':>7}  components by route or state")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.students:
            r = run(n, args.seed, args.repeat, Path(tmp))
            print(f"{r['n']:>8} {r['kib']:>8.0f} {r['engine_s']:>9.3f} {r['end_to_end_s']:>12.3f} "
                  f"{r['command_s']:>9.2f} {r['final']:>10} {r['flagged']:>7}  {r['routes']}", flush=True)


if __name__ == "__main__":
    main()
