"""A throwaway PostgreSQL cluster for the test suite, when no server address is given.

Started with the server binaries found on this machine (``initdb``, ``pg_ctl``) on a free port of
127.0.0.1, with trust authentication, in a temporary folder that is removed afterwards. PostgreSQL
refuses to run as root, so as root the binaries run as the ``postgres`` user through ``runuser``.

Usable from the shell too: ``python tests/pg_cluster.py -- make test`` runs a command with
``PROJECTFLOW_TEST_DATABASE_URL`` pointing at a fresh cluster.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL's server is not installed."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    candidates += sorted(glob.glob("/usr/pgsql-*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayCluster:
    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="projectflow-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = hasattr(os, "geteuid") and os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> str:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync", "--locale=C")
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "server.log"), "-o",
                  f"-p {self.port} -h 127.0.0.1 -k {self.root} -F -c fsync=off -c full_page_writes=off",
                  "start")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("PostgreSQL server binaries not found (initdb, pg_ctl)", file=sys.stderr)
        return 2
    cluster = ThrowawayCluster(bin_dir)
    url = cluster.start()
    try:
        return subprocess.call(argv, env={**os.environ, "PROJECTFLOW_TEST_DATABASE_URL": url})
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
