"""The built wheel is a working installation on its own: templates, static files and migrations are
inside it, and `projectflow init`, a page render and `projectflow allocate` work from a fresh virtual
environment, away from the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]

MUST_SHIP = [
    "projectflow/__init__.py",
    "projectflow/templates/base.html",
    "projectflow/templates/auth/login.html",
    "projectflow/migrations/env.py",
    "projectflow/migrations/alembic.ini",
    "projectflow/migrations/script.py.mako",
    "projectflow/migrations/versions/0001_foundation.py",
    "projectflow/static/vendor/bootstrap/bootstrap.min.css",
    "projectflow/static/vendor/bootstrap/bootstrap.bundle.min.js",
    "projectflow/static/css/app.css",
    "projectflow/static/js/app.js",
]


def run(cmd, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, **kw)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that could lead Python back to the source tree or to another
    projectflow configuration."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "FLASK_APP")
           and not k.startswith("PROJECTFLOW_")}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1", **extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", dist, REPO_ROOT], env=clean_env())
    wheels = list(dist.glob("projectflow-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_carries_templates_static_files_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in MUST_SHIP if name not in names]
    assert not missing, f"missing from {wheel.name}: {missing}"
    # Every migration in the source tree is shipped.
    for migration in (REPO_ROOT / "migrations" / "versions").glob("*.py"):
        assert f"projectflow/migrations/versions/{migration.name}" in names
    # And nothing that belongs to a checkout or an installation.
    leaked = [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith(("tests/", "instance/"))
              or "/instance/" in n or n.endswith(".db")]
    assert not leaked, leaked
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "projectflow = projectflow.cli:cli" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_wheel_initialises_a_database_and_serves_the_sign_in_page(wheel, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    # The wheel goes in first, by this environment's pip acting on the new one (no pip inside it) ...
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
         "--no-index", wheel], env=clean_env())
    # ... then the new environment borrows the already installed dependencies. A plain path in a .pth
    # file adds that folder but does not run the .pth files inside it, so this environment's editable
    # install of projectflow (a .pth pointing at the source tree) stays out of the new one.
    new_site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        env=clean_env()).stdout.strip())
    (new_site / "_borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    instance = tmp_path / "instance"
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = clean_env(PROJECTFLOW_INSTANCE_PATH=str(instance))

    script = venv / "bin" / "projectflow"
    assert script.read_text().splitlines()[0] == f"#!{python}"
    init = run([script, "init"], cwd=work, env=env)
    assert "Database ready" in init.stdout
    assert (instance / "projectflow.db").exists()

    check = textwrap.dedent(f"""
        import sqlite3, sys
        from pathlib import Path
        import projectflow
        venv = Path({str(venv)!r}).resolve()
        here = Path(projectflow.__file__).resolve()
        assert venv in here.parents, f"projectflow imported from {{here}}, not from the new environment"
        assert not any(p and Path(p).resolve() == Path({str(REPO_ROOT)!r}) for p in sys.path), sys.path

        app = projectflow.create_app()
        assert venv in Path(app.template_folder).resolve().parents, app.template_folder
        assert venv in Path(app.extensions["migrate"].directory).resolve().parents
        assert Path(app.instance_path) == Path({str(instance)!r}), app.instance_path

        tables = {{r[0] for r in sqlite3.connect({str(instance / "projectflow.db")!r})
                  .execute("SELECT name FROM sqlite_master WHERE type = 'table'")}}
        assert {{"alembic_version", "users", "cohorts"}} <= tables, tables

        client = app.test_client()
        page = client.get("/login")
        html = page.get_data(as_text=True)
        assert page.status_code == 200, page.status_code
        assert "<h1" in html and "Sign in" in html
        assert 'name="email"' in html and 'name="password"' in html and 'name="csrf_token"' in html
        css = client.get("/static/vendor/bootstrap/bootstrap.min.css")
        assert css.status_code == 200 and b"Bootstrap" in css.data[:200]
        css.close()
        print("ok", here)
    """)
    result = run([python, "-c", check], cwd=work, env=env)
    assert result.stdout.startswith("ok "), result.stdout

    # The allocation engine ships too, and its file interface runs without any database.
    (work / "problem.json").write_text(json.dumps({
        "students": [{"id": "s1", "preferences": ["p1", "p2"]}, {"id": "s2", "preferences": ["p1"]}],
        "projects": [{"id": "p1", "supervisor": "t1", "capacity": 1},
                     {"id": "p2", "supervisor": "t1", "capacity": 1}],
        "supervisors": [{"id": "t1", "capacity": 2}]}))
    allocated = run([script, "allocate", "--input", "problem.json", "--output", "result.json"], cwd=work, env=env)
    assert "optimal" in allocated.stdout, allocated.stdout
    answer = json.loads((work / "result.json").read_text())
    assert sorted((a["student"], a["project"]) for a in answer["assignments"]) == [("s1", "p2"), ("s2", "p1")]
