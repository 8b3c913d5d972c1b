"""`make demo`: the links it mails and feeds point at the address it serves."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_venv(tmp_path):
    """A virtual environment whose `projectflow` only writes down how it was called."""
    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    calls = tmp_path / "calls.txt"
    script = bin_dir / "projectflow"
    script.write_text(f'#!/bin/sh\necho "$1 $PROJECTFLOW_BASE_URL" >> {calls}\n')
    script.chmod(0o755)
    (bin_dir / "python").symlink_to(shutil.which("python3") or "/usr/bin/python3")  # no venv to create
    (tmp_path / "venv" / ".installed").touch()
    os.utime(tmp_path / "venv" / ".installed", (4_102_444_800, 4_102_444_800))  # newer than pyproject.toml
    return tmp_path / "venv", calls


@pytest.mark.parametrize("args, base_url", [([], "http://127.0.0.1:5000"),
                                            (["PORT=5055"], "http://127.0.0.1:5055"),
                                            (["HOST=0.0.0.0", "PORT=8080"], "http://0.0.0.0:8080")])
def test_make_demo_links_to_the_port_it_serves(fake_venv, args, base_url):
    venv, calls = fake_venv
    env = {k: v for k, v in os.environ.items() if k != "PROJECTFLOW_BASE_URL"}
    subprocess.run(["make", "-s", "demo", f"VENV={venv}", *args], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=60)
    lines = calls.read_text().splitlines()
    assert f"demo {base_url}" in lines and f"run {base_url}" in lines


def test_a_base_url_from_the_environment_wins(fake_venv):
    venv, calls = fake_venv
    env = {**os.environ, "PROJECTFLOW_BASE_URL": "https://projects.example.ac.uk"}
    subprocess.run(["make", "-s", "demo", f"VENV={venv}", "PORT=5055"], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=60)
    assert "run https://projects.example.ac.uk" in calls.read_text().splitlines()
