"""``projectflow allocate``: the JSON file interface, run with no database and no app."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import projectflow.cli
from projectflow.cli import cli
from projectflow.solvers.problem_io import parse_problem, problem_to_dict

PROBLEM = {
    "students": [{"id": "s1", "preferences": ["p3", "p7"]}, {"id": "s2", "preferences": ["p3"]},
                 {"id": "s5", "preferences": []}, {"id": "s9", "preferences": []}],
    "projects": [{"id": "p3", "supervisor": "t1", "capacity": 1}, {"id": "p7", "supervisor": "t1", "capacity": 1},
                 {"id": "p12", "supervisor": "t2", "capacity": 1}],
    "supervisors": [{"id": "t1", "capacity": 4, "preferences": ["s1", "s2"]}, {"id": "t2", "capacity": 1}],
    "fixed": [{"student": "s9", "project": "p12"}],
    "forbidden": [{"student": "s1", "project": "p3"}],
}


@pytest.fixture
def run(tmp_path, monkeypatch):
    # The command must never build the Flask app (no database, no configuration).
    monkeypatch.setattr(projectflow.cli, "create_app", lambda: pytest.fail("the app was created"))

    def invoke(data, *options):
        source = tmp_path / "problem.json"
        source.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        out = tmp_path / "result.json"
        result = CliRunner().invoke(cli, ["allocate", "--input", str(source), "--output", str(out), *options])
        return result, (json.loads(out.read_text()) if out.exists() else None)

    return invoke


def test_it_writes_the_result_file(run):
    result, written = run(PROBLEM)

    assert result.exit_code == 0, result.output
    assert written["status"] == "optimal" and written["objective"] == "min-cost"
    assert written["assignments"] == [
        {"student": "s1", "project": "p7", "supervisor": "t1", "rank": 2},
        {"student": "s2", "project": "p3", "supervisor": "t1", "rank": 1},
        {"student": "s9", "project": "p12", "supervisor": "t2", "rank": None},
    ]
    assert written["unassigned"] == ["s5"]
    assert (written["profile"], written["worst_rank"], written["loads"]) == ([1, 1], 2, {"t1": 2, "t2": 1})
    assert written["diagnosis"] == [{"reason": "no-preferences", "message": "1 student has no preferences.",
                                     "students": ["s5"]}]
    assert written["validation"] == {"ok": True, "problems": []}
    assert isinstance(written["solve_seconds"], float)
    assert "optimal: min-cost allocation of 3 of 4 students" in result.output


@pytest.mark.parametrize("objective", ["greedy", "generous"])
def test_the_objective_can_be_chosen(run, objective):
    result, written = run(PROBLEM, "--objective", objective)

    assert result.exit_code == 0, result.output
    assert written["objective"] == objective


def test_stable_uses_the_supervisors_rankings(run):
    data = dict(PROBLEM, supervisors=[{"id": "t1", "capacity": 4, "preferences": ["s2", "s1"]},
                                      {"id": "t2", "capacity": 1, "preferences": []}])

    result, written = run(data, "--objective", "stable")

    assert result.exit_code == 0, result.output
    assert written["status"] == "stable"


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: "{\"students\": [", "problem.json: Not valid JSON: Expecting value at line 1, column 15."),
    (lambda d: dict(d, students=d["students"] + [{"id": "s3", "preferences": ["p3", "p99"]}]),
     "problem.json: Student 's3' ranks an unknown project 'p99'."),
    (lambda d: dict(d, students=d["students"] + [{"id": "s3", "preferences": ["p7", "p3", "p7"]}]),
     "problem.json: Student 's3' ranks project 'p7' 2 times."),
    (lambda d: dict(d, projects=d["projects"] + [{"id": "p8", "supervisor": "t1", "capacity": -2}]),
     "problem.json: projects[3] (id 'p8'): 'capacity' must not be negative (-2)."),
    (lambda d: dict(d, projects=d["projects"] + [{"id": "p8", "supervisor": "t1"}]),
     "problem.json: projects[3] (id 'p8') is missing 'capacity'."),
    (lambda d: dict(d, projects=d["projects"] + [{"id": "p8", "supervisor": "t7", "capacity": 1}]),
     "problem.json: Project 'p8' names an unknown supervisor 't7'."),
    (lambda d: dict(d, fixed=[{"student": "s42", "project": "p3"}]),
     "problem.json: A fixed pair names an unknown student 's42'."),
    (lambda d: dict(d, students=d["students"] + [{"id": "s1", "preferences": []}]),
     "problem.json: The student id 's1' appears 2 times."),
    (lambda d: dict(d, students=[{"id": 7, "preferences": []}]),
     "problem.json: students[0]: 'id' must be a string, not 7."),
    (lambda d: dict(d, forbiden=[]), "problem.json: Unknown top-level field 'forbiden'"),
    (lambda d: dict(d, students=[{"id": "s1", "prefs": ["p3"]}]),
     "problem.json: students[0] (id 's1') has unknown field(s) 'prefs'."),
    (lambda d: dict(d, fixed=[{"student": "s1", "project": "p3"}]),
     "problem.json: The pair 's1' - 'p3' is both fixed and forbidden."),
    (lambda d: {k: v for k, v in d.items() if k != "supervisors"}, "problem.json: The field 'supervisors' is missing."),
])
def test_malformed_input_exits_non_zero_naming_the_entry(run, change, message):
    result, written = run(change(json.loads(json.dumps(PROBLEM))))

    assert result.exit_code == 1
    assert message in result.output
    assert "Nothing was allocated" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert written is None


def test_a_file_that_is_not_utf8_is_refused(run, tmp_path):
    source = tmp_path / "latin1.json"
    source.write_bytes('{"students": [{"id": "Zoë"}]}'.encode("latin-1"))

    result = CliRunner().invoke(cli, ["allocate", "--input", str(source), "--output", str(tmp_path / "r.json")])

    assert result.exit_code == 1
    assert "latin1.json: The file is not UTF-8 text (byte 24)." in result.output


def test_stable_without_supervisor_rankings_is_refused(run):
    data = dict(PROBLEM, supervisors=[{"id": "t1", "capacity": 4}, {"id": "t2", "capacity": 1}])

    result, _ = run(data, "--objective", "stable")

    assert result.exit_code == 1
    assert "Objective 'stable' needs every supervisor's ranking of students: supervisor 't1' has none." \
        in result.output


def test_an_infeasible_problem_writes_the_result_and_exits_2(run):
    data = dict(PROBLEM, fixed=[{"student": "s9", "project": "p12"}, {"student": "s5", "project": "p12"}])

    result, written = run(data)

    assert result.exit_code == 2
    assert written["status"] == "infeasible"
    assert "Fixed pairs put 2 students on project 'p12', which has room for 1." in result.output


def test_a_problem_survives_the_round_trip_through_json():
    problem = parse_problem(json.dumps(PROBLEM))

    assert parse_problem(json.dumps(problem_to_dict(problem))) == problem
