"""File storage: uploads are checked, hashed and moved into place; refused or interrupted uploads
leave nothing but what ``sweep_orphans`` removes; keys never come from the uploader."""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfWriter
from werkzeug.datastructures import FileStorage

from projectflow.config import load_config
from projectflow.core import storage
from projectflow.core.storage import FileStore, UploadRejected, file_store, max_upload_bytes

REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
HOUR = timedelta(hours=1)
KEY = re.compile(r"^submissions/7/3/[0-9a-f]{32}\.pdf$")


def make_pdf(pages: int = 1, *, attachment: bytes | None = None, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if attachment is not None:
        writer.add_attachment("data.bin", attachment)
    if password is not None:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


class Endless:
    """A stream that never ends, counting what was read from it."""

    def __init__(self, start: bytes = b"%PDF-1.7\n"):
        self.start, self.read_bytes = start, 0

    def read(self, n: int = -1) -> bytes:
        chunk = (self.start if self.read_bytes == 0 else b"") + b"x" * n
        chunk = chunk[:n]
        self.read_bytes += len(chunk)
        return chunk


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def store(root) -> FileStore:
    return FileStore(root)


# --- receiving and committing a good PDF --------------------------------------------------------------

def test_a_pdf_is_received_hashed_and_moved_into_place(store, root):
    data = make_pdf(pages=3)
    received = store.receive(io.BytesIO(data), max_bytes=MIB)
    assert (received.size, received.sha256, received.page_count) == (
        len(data), hashlib.sha256(data).hexdigest(), 3)
    assert received.path.parent == root / "tmp"

    stored = store.commit(received, key_prefix="submissions/7/3")
    assert KEY.match(stored.key)
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert files_under(root) == [stored.key]
    with store.open(stored.key) as fh:
        assert fh.read() == data
    assert store.path_of(stored.key) == root.resolve() / stored.key


def test_short_reads_are_fine(store):
    # Request streams hand out fewer bytes than asked for; the hash must cover all of them.
    data = make_pdf(pages=2, attachment=random.Random(3).randbytes(3 * MIB))

    class Trickle(io.BytesIO):
        def read(self, n=-1):
            return super().read(min(n, 1000) if n and n > 0 else 1000)

    received = store.receive(Trickle(data), max_bytes=10 * MIB)
    assert (received.size, received.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_the_key_never_contains_the_uploaded_file_name(store):
    data = make_pdf()
    keys = set()
    for name in ("../../etc/passwd.pdf", "report.pdf"):
        upload = FileStorage(stream=io.BytesIO(data), filename=name, content_type="application/pdf")
        stored = store.commit(store.receive(upload, max_bytes=MIB), key_prefix="submissions/7/3")
        assert KEY.match(stored.key)
        assert "passwd" not in stored.key and "report" not in stored.key
        keys.add(stored.key)
    assert len(keys) == 2, "the same content uploaded twice is two files"


# --- refusals: each one has its sentence and leaves nothing behind ------------------------------------

def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(3000)


def _truncated() -> bytes:
    data = make_pdf(pages=2)
    return data[: len(data) // 2]


def _fake_header() -> bytes:
    return b"%PDF-1.7\n" + random.Random(0).randbytes(4000) + b"\n%%EOF\n"


@pytest.mark.parametrize("content, message", [
    (lambda: b"Dear examiner,\nplease find my report below.\n" * 50,
     "The file is not a PDF: export or save your document as PDF and upload that."),
    (_png, "The file is not a PDF (it is a PNG image): export or save your document as PDF and upload that."),
    (lambda: b"PK\x03\x04" + b"\0" * 2000, "(it is a Word document or another ZIP-based file)"),
    (lambda: b"", "The file is empty."),
    (_truncated, "The PDF is incomplete (its end is missing)"),
    (_fake_header, "The PDF cannot be opened: it is damaged."),
    (lambda: make_pdf(password="secret"), "The PDF is password-protected or encrypted"),
    (lambda: make_pdf(pages=0), "The PDF has no pages."),
], ids=["text-renamed", "png", "docx", "empty", "truncated", "junk-after-header", "encrypted", "no-pages"])
def test_files_that_are_not_usable_pdfs_are_refused_and_nothing_is_kept(store, root, content, message):
    with pytest.raises(UploadRejected) as refused:
        store.receive(io.BytesIO(content()), max_bytes=MIB)
    assert message in refused.value.message
    assert refused.value.status_code == 422
    assert files_under(root) == []


@pytest.mark.parametrize("spare, accepted", [(0, True), (-1, False)])
def test_the_size_limit_is_inclusive(store, root, spare, accepted):
    data = make_pdf()
    if accepted:
        assert store.receive(io.BytesIO(data), max_bytes=len(data) + spare).size == len(data)
    else:
        with pytest.raises(UploadRejected, match="larger than"):
            store.receive(io.BytesIO(data), max_bytes=len(data) + spare)
        assert files_under(root) == []


def test_an_oversize_upload_is_stopped_as_soon_as_it_passes_the_limit(store, root):
    stream = Endless()
    with pytest.raises(UploadRejected) as refused:
        store.receive(stream, max_bytes=2 * MIB)
    assert refused.value.message == "The file is larger than the 2 MB limit."
    assert stream.read_bytes <= 2 * MIB + storage.CHUNK_SIZE
    assert files_under(root) == []


def test_a_file_that_is_not_a_pdf_is_refused_after_its_first_chunk(store, root):
    stream = Endless(start=b"\x89PNG\r\n\x1a\n")
    with pytest.raises(UploadRejected, match="PNG image"):
        store.receive(stream, max_bytes=50 * MIB)
    assert stream.read_bytes <= storage.CHUNK_SIZE
    assert files_under(root) == []


def test_a_broken_connection_leaves_nothing(store, root):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise OSError("client went away")
            return super().read(4096)

    with pytest.raises(OSError, match="client went away"):
        store.receive(Broken(make_pdf() * 3), max_bytes=MIB)
    assert files_under(root) == []


def test_only_pdf_is_a_known_kind(store):
    with pytest.raises(ValueError, match="only 'pdf'"):
        store.receive(io.BytesIO(make_pdf()), max_bytes=MIB, kind="docx")


def test_discard_removes_the_temporary_file(store, root):
    received = store.receive(io.BytesIO(make_pdf()), max_bytes=MIB)
    assert received.path.exists()
    store.discard(received)
    assert files_under(root) == []


# --- keys and prefixes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", [
    "", "/submissions/7", "../submissions", "submissions/../../etc", "submissions/./7", "submissions//7",
    "submissions/7/", "Submissions/7", "submissions/7 3", "submissions\\7", "tmp", "tmp/7", "é", "a.b",
])
def test_prefixes_that_could_escape_or_collide_are_refused(store, root, prefix):
    received = store.receive(io.BytesIO(make_pdf()), max_bytes=MIB)
    with pytest.raises(ValueError, match="not a valid storage prefix"):
        store.commit(received, key_prefix=prefix)
    # Nothing was moved: the caller can still discard the upload.
    assert received.path.exists()
    store.discard(received)
    assert files_under(root) == []


@pytest.mark.parametrize("key", [
    "../outside.pdf", "submissions/../../etc/passwd", "/etc/passwd", "submissions/7/../../../x/"
    + "a" * 32 + ".pdf", "tmp/upload-abc.part", "tmp/" + "a" * 32 + ".pdf", "submissions/7/report.pdf",
    "submissions/7/" + "A" * 32 + ".pdf", "submissions\\7\\" + "a" * 32 + ".pdf", "", None,
])
def test_keys_that_are_not_ours_are_refused(store, key):
    for use in (store.path_of, store.open, store.delete, store.exists):
        with pytest.raises(ValueError, match="not a storage key"):
            use(key)


def test_a_symbolic_link_cannot_lead_out_of_the_store(store, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ("b" * 32 + ".pdf")).write_bytes(b"secret")
    root.mkdir()
    (root / "submissions").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside the store"):
        store.path_of("submissions/" + "b" * 32 + ".pdf")


def test_delete_removes_a_stored_file_once(store, root):
    stored = store.commit(store.receive(io.BytesIO(make_pdf()), max_bytes=MIB), key_prefix="submissions/7/3")
    assert store.exists(stored.key)
    assert store.delete(stored.key) is True
    assert store.delete(stored.key) is False
    assert not store.exists(stored.key)
    with pytest.raises(FileNotFoundError):
        store.open(stored.key)


# --- recovery: sweep_orphans ---------------------------------------------------------------------------

def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_sweep_removes_old_orphans_and_keeps_known_fresh_and_foreign_files(store, root):
    def put(prefix):
        return store.commit(store.receive(io.BytesIO(make_pdf()), max_bytes=MIB), key_prefix=prefix).key

    known, orphan, fresh_orphan = put("submissions/1/1"), put("submissions/1/2"), put("submissions/2/1")
    stale_tmp = store.receive(io.BytesIO(make_pdf()), max_bytes=MIB).path
    fresh_tmp = store.receive(io.BytesIO(make_pdf()), max_bytes=MIB).path
    (root / "README.txt").write_text("not ours")
    (root / "tmp" / "notes.txt").write_text("not ours either")
    for path in (store.path_of(known), store.path_of(orphan), stale_tmp, root / "README.txt",
                 root / "tmp" / "notes.txt"):
        _age(path, 2 * 3600)

    removed = store.sweep_orphans({known}, older_than=HOUR)

    assert removed == [f"tmp/{stale_tmp.name}", orphan]
    assert files_under(root) == sorted([known, fresh_orphan, f"tmp/{fresh_tmp.name}", "README.txt",
                                        "tmp/notes.txt"])
    assert store.sweep_orphans({known}, older_than=HOUR) == []


def test_sweep_of_an_empty_or_missing_store_does_nothing(store, root):
    assert store.sweep_orphans(set(), older_than=timedelta(0)) == []
    root.mkdir()
    assert store.sweep_orphans(set(), older_than=timedelta(0)) == []


def test_commit_restarts_the_age_of_a_file(store):
    # A slow service between receive and commit must not see its file swept before its row commits.
    received = store.receive(io.BytesIO(make_pdf()), max_bytes=MIB)
    _age(received.path, 2 * 3600)
    stored = store.commit(received, key_prefix="submissions/7/3")
    assert store.sweep_orphans(set(), older_than=HOUR) == []
    assert store.exists(stored.key)


# --- crashes: a killed upload, a crash between the file and its row -------------------------------------

# The upload as a service would run it, in its own process so that it can be killed: "halfway" streams
# the file slowly and stops half way (the test kills it there); "crash-before-row" stores the file,
# adds its row and dies before the database commit; "complete" commits both.
CHILD = r"""
import os, signal, sqlite3, sys, time
from projectflow.core.storage import FileStore

mode, root, source, database = sys.argv[1:5]
store = FileStore(root)
db = sqlite3.connect(database)
db.execute("CREATE TABLE IF NOT EXISTS submissions (storage_key TEXT NOT NULL)")
db.commit()

class Slow:
    def __init__(self, path):
        self.fh, self.total, self.sent = open(path, "rb"), os.path.getsize(path), 0

    def read(self, n=-1):
        if mode == "halfway" and self.sent >= self.total // 2:
            print("halfway", flush=True)
            time.sleep(120)
        time.sleep(0.002)
        chunk = self.fh.read(min(n, 64 * 1024))
        self.sent += len(chunk)
        return chunk

received = store.receive(Slow(source), max_bytes=64 * 1024 * 1024)
stored = store.commit(received, key_prefix="submissions/7/3")
db.execute("INSERT INTO submissions VALUES (?)", (stored.key,))
if mode == "crash-before-row":
    print(stored.key, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
db.commit()
print(stored.key, flush=True)
"""


def start_upload(mode: str, root: Path, source: Path, database: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", CHILD, mode, str(root), str(source), str(database)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)


def keys_in_database(database: Path) -> set[str]:
    with sqlite3.connect(database) as db:
        return {key for (key,) in db.execute("SELECT storage_key FROM submissions")}


@pytest.fixture
def large_pdf(tmp_path) -> Path:
    path = tmp_path / "large.pdf"
    path.write_bytes(make_pdf(pages=5, attachment=random.Random(2).randbytes(8 * MIB)))
    return path


def test_an_upload_killed_halfway_leaves_only_a_temporary_file_that_the_sweep_removes(
        store, root, tmp_path, large_pdf):
    database = tmp_path / "rows.db"
    upload = start_upload("halfway", root, large_pdf, database)
    try:
        line = upload.stdout.readline()
        assert line == "halfway\n", upload.stderr.read()
        # While the upload runs, its temporary file is young: the sweep leaves it alone.
        assert store.sweep_orphans(keys_in_database(database), older_than=HOUR) == []
        upload.send_signal(signal.SIGKILL)
        assert upload.wait(timeout=30) == -signal.SIGKILL
    finally:
        if upload.poll() is None:
            upload.kill()
            upload.wait()
        upload.stdout.close()
        upload.stderr.close()

    [partial] = files_under(root)
    assert partial.startswith("tmp/upload-")
    assert 0 < (root / partial).stat().st_size < large_pdf.stat().st_size
    assert keys_in_database(database) == set()

    assert store.sweep_orphans(set(), older_than=timedelta(0)) == [partial]
    assert files_under(root) == []


def test_a_crash_between_the_file_and_its_row_leaves_an_orphan_that_the_sweep_removes(
        store, root, tmp_path, large_pdf):
    database = tmp_path / "rows.db"
    crashed = start_upload("crash-before-row", root, large_pdf, database)
    out, err = crashed.communicate(timeout=60)
    assert crashed.returncode == -signal.SIGKILL, err
    key = out.strip()
    assert KEY.match(key)
    assert store.exists(key) and keys_in_database(database) == set(), "a file without a row"

    completed = start_upload("complete", root, large_pdf, database)
    out, err = completed.communicate(timeout=60)
    assert completed.returncode == 0, err
    kept = out.strip()
    assert keys_in_database(database) == {kept}

    # A young orphan may be an upload whose row is about to commit: only an old one goes.
    assert store.sweep_orphans(keys_in_database(database), older_than=HOUR) == []
    assert store.sweep_orphans(keys_in_database(database), older_than=timedelta(0)) == [key]
    assert files_under(root) == [kept]
    with store.open(kept) as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == hashlib.sha256(large_pdf.read_bytes()).hexdigest()


# --- configuration ---------------------------------------------------------------------------------------

@pytest.fixture
def configured(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("PROJECTFLOW_"):
            monkeypatch.delenv(key)

    def make(overrides=None) -> Flask:
        app = Flask("projectflow_storage_test", instance_path=str(tmp_path / "instance"))
        load_config(app, overrides)
        return app

    return make


def test_uploads_live_in_the_instance_folder_by_default(configured, tmp_path):
    with configured().app_context():
        assert file_store().root == (tmp_path / "instance" / "uploads").resolve()
        assert max_upload_bytes() == 50 * MIB


def test_the_upload_folder_and_limit_can_be_configured(configured, tmp_path):
    with configured({"UPLOAD_FOLDER": "files", "MAX_UPLOAD_MB": 20}).app_context():
        assert file_store().root == (tmp_path / "instance" / "files").resolve()
        assert max_upload_bytes() == 20 * MIB
    with configured({"UPLOAD_FOLDER": str(tmp_path / "elsewhere")}).app_context():
        assert file_store().root == (tmp_path / "elsewhere").resolve()
