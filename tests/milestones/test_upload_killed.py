"""An upload cut off halfway by the death of the server process leaves no submission and no file;
the next server accepts the same upload whole. (The store's own kill test, which kills a process
inside ``FileStore.receive``, is in tests/unit/test_storage.py.)"""

from __future__ import annotations

import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import func, select

from projectflow.core.storage import file_store
from projectflow.extensions import db
from projectflow.submissions.models import Submission
from tests.factories import Factories

from .conftest import pdf_bytes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(app, database_url):
    """Start `projectflow run` in its own process on the test database and instance folder."""
    processes = []

    def start() -> tuple[subprocess.Popen, int]:
        port = free_port()
        env = {**os.environ, "PROJECTFLOW_DATABASE_URL": database_url,
               "PROJECTFLOW_INSTANCE_PATH": app.instance_path, "PROJECTFLOW_SECRET_KEY": "k" * 40,
               "PROJECTFLOW_WTF_CSRF_ENABLED": "false", "PROJECTFLOW_MAIL_BACKEND": "file"}
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "projectflow:create_app", "run",
                                    "--port", str(port), "--no-reload"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return process, port
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def sign_in(port: int, email: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/login", urlencode({"email": email, "password": Factories.PASSWORD}),
                       {"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    assert response.status == 302
    return response.getheader("Set-Cookie").split(";", 1)[0]


def multipart(pdf: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="form_token"\r\n\r\n{uuid.uuid4().hex}\r\n',
             f'--{boundary}\r\nContent-Disposition: form-data; name="declaration"\r\n\r\ny\r\n',
             f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="report.pdf"\r\n'
             f'Content-Type: application/pdf\r\n\r\n']
    body = "".join(parts).encode() + pdf + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def submissions() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Submission))


def test_killing_the_server_halfway_through_an_upload_leaves_nothing(app, server, timeline, student):
    plan = timeline["project_plan"]
    # A valid PDF of several megabytes (a large metadata entry), so that the upload takes a while.
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(1))))
    writer.add_metadata({"/Padding": "0" * (8 * 1024 * 1024)})
    out = io.BytesIO()
    writer.write(out)
    pdf = out.getvalue()
    body, content_type = multipart(pdf)

    process, port = server()
    cookie = sign_in(port, student.email)
    upload = socket.create_connection(("127.0.0.1", port), timeout=10)
    upload.sendall((f"POST /milestones/{plan.id}/submit HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Cookie: {cookie}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n")
                   .encode())
    upload.sendall(body[: len(body) // 2])
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    upload.close()

    assert submissions() == 0
    store = file_store()
    stored = [p for p in Path(store.root).rglob("*") if p.is_file() and "tmp" not in p.parts]
    assert stored == []
    # Whatever the dead process left in the store's tmp/ is swept; nothing the database knows is lost.
    store.sweep_orphans(set(), older_than=timedelta(0))
    assert [p for p in Path(store.root).rglob("*") if p.is_file()] == []

    # A new server takes the same upload whole.
    _process, port = server()
    cookie = sign_in(port, student.email)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", f"/milestones/{plan.id}/submit", body, {"Cookie": cookie, "Content-Type": content_type})
    assert connection.getresponse().status == 302
    assert submissions() == 1
    saved = db.session.scalar(select(Submission))
    assert store.path_of(saved.storage_key).stat().st_size == len(pdf) == saved.size


def test_sweep_uploads_removes_only_files_no_row_knows(app, login, timeline, student, february, smtp_server):
    from projectflow.submissions.services import sweep_uploads
    from tests.milestones.test_submissions import send

    send(login(student), timeline["project_plan"], pdf_bytes())
    kept = db.session.scalar(select(Submission)).storage_key
    store = file_store()
    orphan = store.commit(store.receive(io.BytesIO(pdf_bytes()), max_bytes=10**6), key_prefix="submissions/c0/m0/s0")
    from projectflow.cli import cli

    result = app.test_cli_runner().invoke(cli, ["sweep-uploads", "--older-than-hours", "0"])
    assert result.exit_code == 0 and f"removed {orphan.key}" in result.output
    assert store.exists(kept) and not store.exists(orphan.key)
    assert sweep_uploads(timedelta(0)) == []
