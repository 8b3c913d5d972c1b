"""``projectflow assign-markers``: the JSON file interface, run with no database and no app."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import projectflow.cli
from projectflow.cli import cli
from projectflow.solvers.markers_io import marker_problem_to_dict, parse_marker_problem

PROBLEM = {
    "projects": [{"id": "a1", "supervisors": ["t1"], "keywords": ["nlp"]},
                 {"id": "a2", "supervisors": ["t2", "t1"], "keywords": ["vision"]},
                 {"id": "a3", "supervisors": ["t3"], "keywords": []},
                 {"id": "a9", "supervisors": ["t1", "t2"], "keywords": []}],
    "staff": [{"id": "t1", "capacity": 2, "expertise": ["vision"]},
              {"id": "t2", "capacity": 6, "expertise": ["nlp", "vision"]},
              {"id": "t3", "capacity": 1, "expertise": ["NLP"]}],
    "conflicts": [{"project": "a9", "marker": "t3"}],
    "fixed": [{"project": "a3", "marker": "t1"}],
}


@pytest.fixture
def run(tmp_path, monkeypatch):
    # The command must never build the Flask app (no database, no configuration).
    monkeypatch.setattr(projectflow.cli, "create_app", lambda: pytest.fail("the app was created"))

    def invoke(data):
        source = tmp_path / "markers.json"
        source.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        out = tmp_path / "result.json"
        result = CliRunner().invoke(cli, ["assign-markers", "--input", str(source), "--output", str(out)])
        return result, (json.loads(out.read_text()) if out.exists() else None)

    return invoke


def test_it_writes_the_result_file(run):
    result, written = run(PROBLEM)

    assert result.exit_code == 0, result.output
    assert written["status"] == "optimal"
    # a2 can only have t3 (t1 and t2 supervise it), so a1 (nlp) goes to t2, who also knows nlp;
    # a9 has no eligible marker (t1, t2 supervise it, t3 declared a conflict).
    assert written["assignments"] == [
        {"project": "a1", "marker": "t2", "overlap": 1},
        {"project": "a2", "marker": "t3", "overlap": 0},
        {"project": "a3", "marker": "t1", "overlap": 0},
    ]
    assert written["unassigned"] == ["a9"]
    assert written["loads"] == {"t1": 1, "t2": 1, "t3": 1}
    assert (written["fair_share"], written["overlap_total"], written["load_cost"]) == (2, 1, 0)
    assert written["diagnosis"] == [{
        "reason": "no-eligible-marker",
        "message": "1 project has no eligible marker: every member of staff supervises it or declared a conflict.",
        "projects": ["a9"]}]
    assert written["validation"] == {"ok": True, "problems": []}
    assert written["message"] == "" and "certified" in written["solver"]["proof"]
    assert isinstance(written["solve_seconds"], float)
    assert "optimal: second markers for 3 of 4 projects" in result.output


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: "{\"projects\": [", "markers.json: Not valid JSON: Expecting value at line 1, column 15."),
    (lambda d: dict(d, conflicts=[{"project": "a1", "marker": "t7"}]),
     "markers.json: A conflict names an unknown marker 't7'."),
    (lambda d: dict(d, fixed=[{"project": "a42", "marker": "t2"}]),
     "markers.json: A fixed pair names an unknown project 'a42'."),
    (lambda d: dict(d, projects=d["projects"] + [{"id": "a5", "supervisors": ["t8"], "keywords": []}]),
     "markers.json: Project 'a5' names an unknown supervisor 't8'"),
    (lambda d: dict(d, staff=d["staff"] + [{"id": "t4", "capacity": -2, "expertise": []}]),
     "markers.json: staff[3] (id 't4'): 'capacity' must not be negative (-2)."),
    (lambda d: dict(d, staff=d["staff"] + [{"id": "t4", "capacity": 1.5, "expertise": []}]),
     "markers.json: staff[3] (id 't4'): 'capacity' must be a whole number, not 1.5."),
    (lambda d: dict(d, staff=d["staff"] + [{"id": "t1", "capacity": 1, "expertise": []}]),
     "markers.json: The staff id 't1' appears 2 times."),
    (lambda d: dict(d, projects=d["projects"] + [{"id": "a1", "supervisors": ["t2"], "keywords": []}]),
     "markers.json: The project id 'a1' appears 2 times."),
    (lambda d: dict(d, staff=d["staff"] + [{"id": "t4", "capacity": 1}]),
     "markers.json: staff[3] (id 't4') is missing 'expertise'."),
    (lambda d: dict(d, projects=[{"id": "a1", "supervisors": "t1", "keywords": []}]),
     "markers.json: projects[0] (id 'a1'): 'supervisors' must be a list of strings."),
    (lambda d: dict(d, projects=[{"id": 7, "supervisors": [], "keywords": []}]),
     "markers.json: projects[0]: 'id' must be a string, not 7."),
    (lambda d: dict(d, projects=[{"id": "a1", "supervisors": [], "keywords": [], "topic": "x"}]),
     "markers.json: projects[0] (id 'a1') has unknown field(s) 'topic'."),
    (lambda d: dict(d, conflict=[]), "markers.json: Unknown top-level field 'conflict'"),
    (lambda d: {k: v for k, v in d.items() if k != "staff"}, "markers.json: The field 'staff' is missing."),
    (lambda d: dict(d, fixed=[{"project": "a1", "marker": "t1"}]),
     "markers.json: The fixed pair 'a1' - 't1' makes a supervisor the second marker of their own project."),
    (lambda d: dict(d, fixed=[{"project": "a9", "marker": "t3"}]),
     "markers.json: The pair 'a9' - 't3' is both fixed and a conflict."),
    (lambda d: dict(d, fixed=[{"project": "a1", "marker": "t2"}, {"project": "a1", "marker": "t3"}]),
     "markers.json: Project 'a1' is fixed to 2 markers."),
])
def test_malformed_input_exits_1_naming_the_entry(run, change, message):
    result, written = run(change(json.loads(json.dumps(PROBLEM))))

    assert result.exit_code == 1
    assert message in result.output
    assert "No markers were assigned" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert written is None


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    source = tmp_path / "latin1.json"
    source.write_bytes('{"projects": [{"id": "Zoë"}]}'.encode("latin-1"))

    result = CliRunner().invoke(cli, ["assign-markers", "--input", str(source), "--output", str(tmp_path / "r.json")])

    assert result.exit_code == 1
    assert "latin1.json: The file is not UTF-8 text (byte 24)." in result.output


def test_an_infeasible_problem_writes_the_result_and_exits_2(run):
    data = dict(PROBLEM, fixed=[{"project": "a3", "marker": "t1"}, {"project": "a1", "marker": "t3"},
                                {"project": "a2", "marker": "t3"}])

    result, written = run(data)

    assert result.exit_code == 2
    assert written["status"] == "infeasible"
    assert written["validation"]["ok"] is True
    assert "Fixed pairs give marker 't3' 2 projects, more than their capacity of 1." in result.output


def test_a_problem_survives_the_round_trip_through_json():
    problem = parse_marker_problem(json.dumps(PROBLEM))

    assert parse_marker_problem(json.dumps(marker_problem_to_dict(problem))) == problem
