"""``projectflow results``: the JSON file interface of the results engine, run with no database and no app."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal

import pytest
from click.testing import CliRunner

import projectflow.cli
from projectflow.cli import cli
from projectflow.results import compute, default_rules
from projectflow.results.files import marks_to_dict, parse_marks

# The example, with a second student who is late, reconciled and third-marked.
MARKS = {
    "rules": {"components": [{"id": "report", "weight": 75}, {"id": "poster", "weight": 15},
                             {"id": "independence", "weight": 10}],
              "agree_within": 5, "third_marker_above": 10,
              "boundaries": [70, 60, 50, 40],
              "classes": [{"name": "Distinction", "from": 70}, {"name": "Merit", "from": 60},
                          {"name": "Pass", "from": 50}], "fail_name": "Fail",
              "discretion_below": 2.5, "moderation_near_below": 2,
              "penalty": {"preset": "per-day", "points": 5, "days": 5}},
    "students": [
        {"id": "s1", "components": {
            "report": {"marks": [67, 69], "reconciled": None, "third": None,
                       "late_working_days": 0, "extension": False},
            "poster": {"marks": [65, 66]}, "independence": {"marks": [70]}}},
        {"id": "s2", "components": {
            "report": {"marks": [55, 63.5], "reconciled": 61, "late_working_days": 1},
            "poster": {"marks": [48, 62], "third": 52.25},
            "independence": {"marks": [58]}}},
        {"id": "s3", "components": {
            "report": {"marks": [72, 77], "late_working_days": 3, "extension": True},
            "poster": {"marks": [40, 60]}}},
    ],
}


@pytest.fixture
def run(tmp_path, monkeypatch):
    # The command must never build the Flask app (no database, no configuration).
    monkeypatch.setattr(projectflow.cli, "create_app", lambda: pytest.fail("the app was created"))

    def invoke(data):
        source = tmp_path / "marks.json"
        source.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        out = tmp_path / "results.json"
        result = CliRunner().invoke(cli, ["results", "--input", str(source), "--output", str(out)])
        return result, (json.loads(out.read_text()) if out.exists() else None)

    invoke.out = tmp_path / "results.json"
    return invoke


def test_it_writes_every_students_result(run):
    result, written = run(MARKS)
    out = run.out

    assert result.exit_code == 0, result.output
    s1, s2, s3 = written["students"]
    assert s1 == {"id": "s1",
                  "components": {
                      "report": {"state": "agreed", "route": "automatic", "agreed": 68.0, "penalty": 0.0, "mark": 68.0},
                      "poster": {"state": "agreed", "route": "automatic", "agreed": 65.5, "penalty": 0.0, "mark": 65.5},
                      "independence": {"state": "agreed", "route": "single", "agreed": 70.0, "penalty": 0.0,
                                       "mark": 70.0}},
                  "final": 67.83, "classification": "Merit", "flags": ["board_discretion"]}
    # Reconciled at 61, one day late (-5); the poster's gap of 14 went to a third marker:
    # (75 x 56 + 15 x 52.25 + 10 x 58) / 100 = 55.6375 -> 55.64, a Pass.
    assert s2["components"]["report"] == {"state": "agreed", "route": "reconciled", "agreed": 61.0, "penalty": 5.0,
                                          "mark": 56.0}
    assert s2["components"]["poster"] == {"state": "agreed", "route": "third_marker", "agreed": 52.25,
                                          "penalty": 0.0, "mark": 52.25}
    assert (s2["final"], s2["classification"], s2["flags"]) == (55.64, "Pass", [])
    # Late with an extension: no penalty; a poster gap of 20 waits for a third marker; no independence yet.
    assert s3 == {"id": "s3",
                  "components": {
                      "report": {"state": "agreed", "route": "automatic", "agreed": 74.5, "penalty": 0.0, "mark": 74.5},
                      "poster": {"state": "third_marking"},
                      "independence": {"state": "awaiting_marks"}},
                  "final": None, "classification": None, "flags": []}
    assert result.stdout == ("Results for 3 student(s): 2 with a final mark, 1 awaiting agreement; 1 flagged. "
                             f"Written to {out}.\n")


def test_marks_are_written_as_numbers_exact_to_two_decimals(run):
    data = copy.deepcopy(MARKS)
    data["students"] = [{"id": "s1", "components": {"report": {"marks": [67.01, 67.00]},
                                                    "poster": {"marks": [0.01]}, "independence": {"marks": [99.99]}}}]
    result, written = run(data)
    assert result.exit_code == 0, result.output
    s1 = written["students"][0]
    # 67.005 -> 67.01 (half up); (75 x 67.01 + 15 x 0.01 + 10 x 99.99) / 100 = 60.258 -> 60.26.
    assert s1["components"]["report"]["agreed"] == 67.01
    assert (s1["final"], s1["classification"]) == (60.26, "Merit")


def _with(change):
    data = copy.deepcopy(MARKS)
    change(data)
    return data


def _report(data, **fields):
    data["students"][0]["components"]["report"].update(fields)


@pytest.mark.parametrize(("data", "faults"), [
    (_with(lambda d: d["students"][0]["components"].update(viva={"marks": [60]})),
     ["student 's1', component 'viva': unknown component (the rules list 'report', 'poster', 'independence')."]),
    (_with(lambda d: _report(d, marks=[60, 65, 70])),
     ["student 's1', component 'report': 3 marks; a component has one or two."]),
    (_with(lambda d: _report(d, marks=[])),
     ["student 's1', component 'report': 0 marks; a component has one or two."]),
    (_with(lambda d: _report(d, marks=[67, 100.001])),
     ["student 's1', component 'report': mark 100.001 is not a mark from 0 to 100 with at most two decimals."]),
    (_with(lambda d: _report(d, marks=[67, 67.005])),
     ["student 's1', component 'report': mark 67.005 is not a mark from 0 to 100 with at most two decimals."]),
    (_with(lambda d: _report(d, marks=[58, 66], reconciled=66.5)),
     ["student 's1', component 'report': reconciled mark 66.5 is outside the markers' range 58-66."]),
    (_with(lambda d: _report(d, marks=[50, 62], third=49)),
     ["student 's1', component 'report': third mark 49 is outside the markers' range 50-62."]),
    (_with(lambda d: _report(d, marks="67")),
     ["student 's1', component 'report': 'marks' must be a list of one or two numbers, not \"67\"."]),
    (_with(lambda d: _report(d, marks=[67, True])),
     ["student 's1', component 'report': a mark must be a number, not true."]),
    (_with(lambda d: _report(d, late_working_days=1.5, extension="yes")),
     ["student 's1', component 'report': 'late_working_days' must be a whole number, not 1.5.",
      "student 's1', component 'report': 'extension' must be true or false, not \"yes\"."]),
    (_with(lambda d: d["students"][1]["components"]["poster"].pop("marks")),
     ["student 's2', component 'poster' is missing 'marks'."]),
    (_with(lambda d: d["students"][1]["components"]["poster"].update(mark=[60])),
     ["student 's2', component 'poster' has an unknown field 'mark'."]),
    (_with(lambda d: d["students"][1].pop("components")), ["student 's2' is missing 'components'."]),
    (_with(lambda d: d["students"][2].update(id="s1")), ["student 's1' is listed more than once."]),
    (_with(lambda d: d["rules"].pop("agree_within")), ["rules is missing 'agree_within'."]),
    (_with(lambda d: d["rules"]["penalty"].update(preset="weekly")),
     ["rules: penalty preset 'weekly' is unknown (use per-day, ucl, cap, none)."]),
    (_with(lambda d: d["rules"]["penalty"].pop("days")), ["rules: the per-day penalty needs 'days'."]),
    (_with(lambda d: d.pop("students")), ["The file is missing 'students'."]),
    ("{\"rules\": {", ["Not valid JSON: Expecting property name enclosed in double quotes at line 1, column 12."]),
    ("[1, 2]", ["The file must hold a JSON object with 'rules' and 'students'."]),
    ('{"rules": {}, "students": [{"id": "s1", "components": {"report": {"marks": [NaN]}}}]}',
     ["Not valid JSON: NaN is not a number JSON allows."]),
    ('{"students": [{"id": "s1", "components": {"report": {"marks": [60]}, "report": {"marks": [61]}}}]}',
     ["The file is missing 'rules'.", "student 's1', component 'report': given more than once."]),
])
def test_malformed_input_names_every_fault_and_writes_nothing(run, data, faults):
    result, written = run(data)

    assert result.exit_code == 1
    assert written is None
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"marks.json: {f}" for f in faults] + [
        f"Nothing was computed ({len(faults)} problem(s) in the input)."]


def test_every_fault_of_every_student_is_named_at_once(run):
    data = copy.deepcopy(MARKS)
    data["students"] = [{"id": f"s{i}", "components": {"report": {"marks": [101]}, "viva": {"marks": "x"}}}
                        for i in range(60)]
    result, written = run(data)
    assert result.exit_code == 1 and written is None
    lines = result.stderr.splitlines()
    # Two faults on each of 60 students, then the total: none is left out.
    assert len(lines) == 60 * 3 + 1
    assert "marks.json: student 's59', component 'viva': unknown component" in lines[-2]
    assert lines[-1] == "Nothing was computed (180 problem(s) in the input)."


def test_an_existing_output_file_is_left_alone_on_error(tmp_path):
    source, out = tmp_path / "marks.json", tmp_path / "results.json"
    source.write_text("{}", encoding="utf-8")
    out.write_text("earlier results\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["results", "--input", str(source), "--output", str(out)])
    assert result.exit_code == 1
    assert out.read_text() == "earlier results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["marks.json", "results.json"]


def test_the_installed_command_reads_stdin_and_writes_stdout_without_a_database(tmp_path):
    # The real console entry point in a fresh process, with no database to be found.
    env = {"PATH": "/usr/bin:/bin", "PROJECTFLOW_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    done = subprocess.run([sys.executable, "-c", "from projectflow.cli import cli; cli()", "results",
                           "--input", "-", "--output", "-"], input=json.dumps(MARKS), capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [s["final"] for s in json.loads(done.stdout)["students"]] == [67.83, 55.64, None]
    assert done.stderr == "Results for 3 student(s): 2 with a final mark, 1 awaiting agreement; 1 flagged.\n"

    bad = subprocess.run([sys.executable, "-c", "from projectflow.cli import cli; cli()", "results",
                          "--input", "-", "--output", str(tmp_path / "out.json")], input="{}",
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[:2] == ["stdin: The file is missing 'rules'.",
                                           "stdin: The file is missing 'students'."]
    assert not (tmp_path / "out.json").exists()


def test_a_written_marks_file_reads_back_to_the_same_results():
    rules, students = parse_marks(json.dumps(MARKS))
    again = parse_marks(json.dumps(marks_to_dict(rules, students), default=str))
    assert again == (rules, students)
    assert compute(*again) == compute(rules, students)
    defaults = default_rules()
    assert parse_marks(json.dumps({**marks_to_dict(defaults, []), "students": []}))[0] == defaults
    assert rules.agree_within == Decimal(5) and isinstance(students[1].components["poster"].third, Decimal)


def test_the_results_file_is_readable_like_any_new_file_and_a_missing_folder_is_said(tmp_path):
    import os

    source, out = tmp_path / "marks.json", tmp_path / "results.json"
    source.write_text(json.dumps(MARKS), encoding="utf-8")
    umask = os.umask(0o022)
    try:
        result = CliRunner().invoke(cli, ["results", "--input", str(source), "--output", str(out)])
    finally:
        os.umask(umask)
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["marks.json", "results.json"]

    result = CliRunner().invoke(cli, ["results", "--input", str(source), "--output", str(tmp_path / "no" / "r.json")])
    assert result.exit_code == 1
    assert "Cannot write" in result.stderr and "No such file or directory" in result.stderr
