"""``projectflow schedule-posters``: the JSON file interface, run with no database and no app."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import projectflow.cli
from projectflow.cli import cli
from projectflow.solvers.posters_io import parse_placements, parse_poster_problem, poster_problem_to_dict

PROBLEM = {
    "slot_minutes": 15, "max_per_assessor_per_session": 8,
    "sessions": [{"id": "S1", "start": "2026-09-14T10:00:00+01:00", "end": "2026-09-14T12:00:00+01:00",
                  "rooms": [{"id": "R1", "boards": 20}]},
                 {"id": "S2", "start": "2026-09-15T10:00:00+01:00", "end": "2026-09-15T12:00:00+01:00",
                  "rooms": [{"id": "R1", "boards": 20}, {"id": "R2", "boards": 5}]}],
    "posters": [{"id": "P1", "assessors": ["t1", "t7"]}, {"id": "P2", "assessors": ["t1", "t2"], "student": "s2"}],
    "unavailable": [{"person": "t2", "session": "S1"}],
    "if_needed": [{"person": "t7", "session": "S2"}],
}


@pytest.fixture
def run(tmp_path, monkeypatch):
    # The command must never build the Flask app (no database, no configuration).
    monkeypatch.setattr(projectflow.cli, "create_app", lambda: pytest.fail("the app was created"))

    def invoke(data, *options):
        source = tmp_path / "posters.json"
        source.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        out = tmp_path / "schedule.json"
        result = CliRunner().invoke(cli, ["schedule-posters", "--input", str(source), "--output", str(out),
                                          "--time-limit", "5", *options])
        return result, (json.loads(out.read_text()) if out.exists() else None)

    return invoke


def test_a_complete_schedule_exits_0(run):
    result, written = run(PROBLEM)

    assert result.exit_code == 0, result.output
    assert written["status"] == "complete" and written["unplaced"] == []
    # P2 must be on the 15th (t2). P1 then would spare t1 a day, but t7 comes to S2 only "if needed",
    # which counts first: P1 is on the 14th.
    assert {p["poster"]: p["session"] for p in written["placements"]} == {"P1": "S1", "P2": "S2"}
    assert written["placements"][0] == {"poster": "P1", "session": "S1", "room": "R1", "board": 1,
                                        "start": "2026-09-14T10:00:00+01:00", "end": "2026-09-14T10:15:00+01:00"}
    assert (written["assessor_days"], written["lower_bound"], written["if_needed_used"]) == (4, 3, 0)
    assert written["validation"] == {"ok": True, "problems": []} and written["moved"] is None
    assert isinstance(written["solve_seconds"], float)
    assert "complete: 2 of 2 posters placed" in result.output and "4 assessor-days (lower bound 3)" in result.output


def test_posters_that_cannot_be_placed_exit_2_with_the_rest_scheduled(run):
    data = json.loads(json.dumps(PROBLEM))
    data["posters"].append({"id": "P9", "assessors": ["t2", "t8"]})
    data["unavailable"].append({"person": "t8", "session": "S2"})

    result, written = run(data)

    assert result.exit_code == 2
    reason = "Its assessors t2 and t8 share no session: t2 is unavailable in S1; t8 in S2."
    assert written["status"] == "partial" and written["unplaced"] == [{"poster": "P9", "reason": reason}]
    assert {p["poster"] for p in written["placements"]} == {"P1", "P2"}
    # The pre-check speaks before the solver starts.
    assert result.output.index(f"P9 cannot be placed: {reason}") < result.output.index("partial: 2 of 3 posters")


def test_too_few_boards_exit_2_naming_the_capacity(run):
    data = json.loads(json.dumps(PROBLEM))
    data["sessions"] = [dict(data["sessions"][0], rooms=[{"id": "R1", "boards": 1}])]
    data["unavailable"] = []
    data["if_needed"] = []

    result, written = run(data)

    assert result.exit_code == 2
    sentence = "2 posters but only 1 board in all sessions: at least 1 cannot be placed."
    assert written["warnings"] == [sentence] and written["unplaced"][0]["reason"] == sentence
    assert sentence in result.output


def test_previous_placements_are_kept(run, tmp_path):
    _, first = run(PROBLEM)
    previous = tmp_path / "before.json"
    previous.write_text(json.dumps(first), encoding="utf-8")
    data = json.loads(json.dumps(PROBLEM))
    data["posters"].append({"id": "P3", "assessors": ["t3", "t4"]})

    result, written = run(data, "--previous", str(previous))

    assert result.exit_code == 0, result.output
    assert [p for p in written["placements"] if p["poster"] != "P3"] == first["placements"]
    assert written["moved"] == 0 and "0 previous placement(s) changed" in result.output


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: "{\"sessions\": [", "posters.json: Not valid JSON: Expecting value at line 1, column 15."),
    (lambda d: [], "posters.json: The file must hold a JSON object with sessions and posters."),
    (lambda d: {k: v for k, v in d.items() if k != "posters"}, "posters.json: The field 'posters' is missing."),
    (lambda d: dict(d, rooms=[]), "posters.json: Unknown top-level field 'rooms'"),
    (lambda d: dict(d, slot_minutes=0), "posters.json: 'slot_minutes' must be a whole number of at least 1, not 0."),
    (lambda d: dict(d, max_per_assessor_per_session="8"),
     "posters.json: 'max_per_assessor_per_session' must be a whole number of at least 1, not \"8\"."),
    (lambda d: dict(d, posters=[{"id": "P1", "assessors": "t1"}]),
     "posters.json: posters[0] (id 'P1'): 'assessors' must be a list of strings."),
    (lambda d: dict(d, posters=[{"id": "P1", "assessors": []}]),
     "posters.json: posters[0] (id 'P1'): 'assessors' must name at least one person."),
    (lambda d: dict(d, posters=[{"id": 1, "assessors": ["t1"]}]),
     "posters.json: posters[0]: 'id' must be a string, not 1."),
    (lambda d: dict(d, posters=d["posters"] + [{"id": "P1", "assessors": ["t3"]}]),
     "posters.json: The poster id 'P1' appears 2 times."),
    (lambda d: dict(d, posters=[{"id": "P1", "assessors": ["t1"], "title": "x"}]),
     "posters.json: posters[0] (id 'P1') has unknown field(s) 'title'."),
    (lambda d: dict(d, sessions=[dict(d["sessions"][0], start="2026-09-14T10:00:00")]),
     "posters.json: sessions[0] (id 'S1'): 'start' needs a UTC offset, e.g. 2026-09-14T10:00:00+01:00 "
     "(got \"2026-09-14T10:00:00\")."),
    (lambda d: dict(d, sessions=[dict(d["sessions"][0], end="tomorrow")]),
     "posters.json: sessions[0] (id 'S1'): 'end' is not an ISO 8601 date and time (\"tomorrow\")."),
    (lambda d: dict(d, sessions=[dict(d["sessions"][0], end="2026-09-14T09:00:00+01:00")]),
     "posters.json: Session 'S1' ends before it starts."),
    (lambda d: dict(d, sessions=[d["sessions"][0], dict(d["sessions"][0], id="S2", start="2026-09-14T11:00:00+01:00",
                                                         end="2026-09-14T13:00:00+01:00")]),
     "posters.json: Sessions 'S1' and 'S2' overlap in time"),
    (lambda d: dict(d, sessions=[dict(d["sessions"][0], rooms=[{"id": "R1", "boards": -1}])]),
     "posters.json: sessions[0] (id 'S1'), rooms[0] (id 'R1'): 'boards' must not be negative (-1)."),
    (lambda d: dict(d, sessions=[dict(d["sessions"][0], rooms=[{"id": "R1"}])]),
     "posters.json: sessions[0] (id 'S1'), rooms[0] (id 'R1') is missing 'boards'."),
    (lambda d: dict(d, unavailable=[{"person": "t1", "session": "S9"}]),
     "posters.json: An unavailable entry names an unknown session 'S9' (person 't1')."),
    (lambda d: dict(d, if_needed=[{"person": "t9", "session": "S1"}]),
     "posters.json: An if_needed entry names 't9', who is on no poster (session 'S1')."),
    (lambda d: dict(d, if_needed=[{"person": "t2", "session": "S1"}]),
     "posters.json: 't2' is both unavailable and \"if needed\" in session 'S1'."),
])
def test_malformed_input_exits_1_naming_the_entry_and_writes_nothing(run, change, message):
    result, written = run(change(json.loads(json.dumps(PROBLEM))))

    assert result.exit_code == 1
    assert message in result.output
    assert "Nothing was scheduled" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert written is None


def test_a_malformed_previous_schedule_exits_1(run, tmp_path):
    previous = tmp_path / "before.json"
    previous.write_text(json.dumps({"placements": [{"poster": "P1", "session": "S1"}]}), encoding="utf-8")

    result, written = run(PROBLEM, "--previous", str(previous))

    assert result.exit_code == 1 and written is None
    assert "before.json: placements[0] is missing 'board', 'end', 'room', 'start'." in result.output


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    source = tmp_path / "latin1.json"
    source.write_bytes('{"posters": [{"id": "Zoë"}]}'.encode("latin-1"))
    out = tmp_path / "s.json"

    result = CliRunner().invoke(cli, ["schedule-posters", "--input", str(source), "--output", str(out)])

    assert result.exit_code == 1 and not out.exists()
    assert "latin1.json: The file is not UTF-8 text (byte 23)." in result.output


def test_a_problem_and_a_schedule_survive_the_round_trip_through_json(run):
    problem = parse_poster_problem(json.dumps(PROBLEM))
    assert parse_poster_problem(json.dumps(poster_problem_to_dict(problem))) == problem

    _, written = run(PROBLEM)
    placements = parse_placements(json.dumps(written))
    assert [p.poster for p in placements] == ["P1", "P2"] and placements[0].start.utcoffset().seconds == 3600
