"""Gate 8: browser tests wait for states, never for time. A fixed pause passes on a quiet laptop and
fails on a busy CI machine (or wastes minutes on every run), so none may appear in tests/browser:
wait for what the page shows (``expect(...)``, ``wait_for_selector``, ``wait_for_function``)."""

from __future__ import annotations

import ast
from pathlib import Path

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"
PAUSES = {"sleep", "wait_for_timeout"}


def _pauses(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in PAUSES:
                lines.append(node.lineno)
    return lines


def test_the_check_finds_a_pause():
    assert _pauses("import time\ntime.sleep(2)\npage.wait_for_timeout(500)\n") == [2, 3]
    assert _pauses("expect(page.locator('#done')).to_be_visible()\n") == []


def test_no_browser_test_waits_for_time():
    files = sorted(BROWSER_TESTS.glob("*.py"))
    assert files, "no browser tests found"
    found = {f"{path.name}:{line}" for path in files for line in _pauses(path.read_text(encoding="utf-8"))}
    assert not found, f"fixed pauses in browser tests (wait for a state instead): {sorted(found)}"
