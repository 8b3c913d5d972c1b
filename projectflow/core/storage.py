"""Storage of uploaded files (submitted reports), crash-safe: a file and its database row exist
together or not at all.

The protocol a service follows, in this order::

    received = store.receive(stream, max_bytes=max_upload_bytes())   # 1. temp file, checked, hashed
    stored = store.commit(received, key_prefix=f"submissions/{cohort.id}/{student.id}")  # 2. in place
    db.session.add(Submission(storage_key=stored.key, size=stored.size, sha256=stored.sha256, ...))
    db.session.commit()                                               # 3. the row
    # if the commit fails: store.delete(stored.key), then re-raise
    # if checks between 1 and 2 refuse the upload: store.discard(received)

1. ``receive`` streams the upload in chunks into a temporary file in the store's own ``tmp/`` folder,
   computing the size and SHA-256 on the way, and checks that the content really is a PDF. It stops
   and deletes the temporary file as soon as the file is too large or not acceptable
   (``UploadRejected``, a sentence for the person), or when reading fails (a client that went away).
2. ``commit`` flushes the file to disk and moves it into place with ``os.replace``, which is atomic
   because ``tmp/`` is on the same filesystem; the directory is flushed too. The key (the file's
   path inside the store) is made here from the caller's prefix, built from ids only, and a random
   name: it never comes from what the person typed or from the uploaded file's name.
3. Only then is the row committed: a row never names a file that is not complete on disk.

A crash at any moment leaves one of: nothing; a temporary file in ``tmp/`` (crash during 1 or
before 2); a stored file with no row (crash between 2 and 3); or the file and its row. The first and
last are consistent; the middle two are orphans that ``sweep_orphans`` removes, given the keys the
database knows. It only removes files older than ``older_than``, which must comfortably exceed the
longest upload and the time from ``commit`` to the database commit: an upload in progress is not yet
known to the database either.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from pypdf import PdfReader

from .errors import ValidationFailed

log = logging.getLogger(__name__)

MIB = 1024 * 1024
CHUNK_SIZE = MIB
TMP_DIR = "tmp"
_TMP_PREFIX, _TMP_SUFFIX = "upload-", ".part"

# A prefix is made by the caller from ids ("submissions/12/345"): lower-case segments, no dots, no
# empty segments, so it can never climb out of the store or be absolute.
_PREFIX = r"[a-z0-9_-]+(?:/[a-z0-9_-]+)*"
PREFIX_PATTERN = re.compile(rf"^{_PREFIX}$")
KEY_PATTERN = re.compile(rf"^{_PREFIX}/[0-9a-f]{{32}}\.pdf$")
_TMP_NAME = re.compile(rf"^{re.escape(_TMP_PREFIX)}[A-Za-z0-9_]+{re.escape(_TMP_SUFFIX)}$")

# The PDF specification lets readers look for the header in the first 1024 bytes and the end-of-file
# marker in the last 1024 (Acrobat's tolerance); files made by real tools meet both.
_HEADER_WINDOW = 1024
_EOF_WINDOW = 1024

# What students upload by mistake, so the message can say what the file is instead.
_OTHER_KINDS = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"PK\x03\x04", "a Word document or another ZIP-based file"),
    (b"\xd0\xcf\x11\xe0", "an old-style Word document"),
    (b"{\\rtf", "an RTF document"),
]


class UploadRejected(ValidationFailed):
    """The uploaded file is not acceptable (too large, empty, not a readable PDF)."""


@dataclass(frozen=True)
class ReceivedFile:
    """An upload that passed the checks, still in a temporary file: ``commit`` or ``discard`` it."""

    path: Path
    size: int
    sha256: str
    page_count: int


@dataclass(frozen=True)
class StoredFile:
    """A file in place in the store. ``key`` is what the database row records."""

    key: str
    size: int
    sha256: str


class FileStore:
    """Files under one root folder: ``<root>/<prefix>/<random>.pdf``, temporary files in ``<root>/tmp``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self.tmp = self.root / TMP_DIR

    # --- 1. receiving -------------------------------------------------------------------------------

    def receive(self, stream: BinaryIO, *, max_bytes: int, kind: str = "pdf") -> ReceivedFile:
        """Stream ``stream`` into a temporary file, hashing it, and check it is a PDF of at most
        ``max_bytes`` bytes. Raises ``UploadRejected`` (and keeps nothing) when it is not."""
        if kind != "pdf":
            raise ValueError(f"unknown kind of file {kind!r}: only 'pdf' is supported")
        _make_dirs(self.tmp)
        fd, name = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=self.tmp)
        path = Path(name)
        kept = False
        try:
            size, digest, head = 0, hashlib.sha256(), b""
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if size > max_bytes:
                        raise UploadRejected(f"The file is larger than the {_describe_size(max_bytes)} limit.")
                    if len(head) < _HEADER_WINDOW:
                        head += chunk[:_HEADER_WINDOW - len(head)]
                        if len(head) == _HEADER_WINDOW:
                            _check_header(head)  # a 50 MB photo is refused after its first chunk
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise UploadRejected("The file is empty.")
            _check_header(head)
            page_count = _check_pdf(path)
            kept = True
            return ReceivedFile(path=path, size=size, sha256=digest.hexdigest(), page_count=page_count)
        finally:
            # Refused, or reading failed (the client went away): nothing is left behind.
            if not kept:
                path.unlink(missing_ok=True)

    def discard(self, received: ReceivedFile) -> None:
        """Forget a received file that will not be committed."""
        received.path.unlink(missing_ok=True)

    # --- 2. moving into place -----------------------------------------------------------------------

    def commit(self, received: ReceivedFile, *, key_prefix: str) -> StoredFile:
        """Move a received file into place, durably, under a new random key below ``key_prefix``
        (made by the caller from ids only, e.g. ``"submissions/12/345"``)."""
        if not PREFIX_PATTERN.match(key_prefix) or key_prefix.split("/")[0] == TMP_DIR:
            raise ValueError(f"not a valid storage prefix: {key_prefix!r}")
        if received.path.parent != self.tmp:
            raise ValueError("this file was not received by this store")
        key = f"{key_prefix}/{uuid.uuid4().hex}.pdf"
        target = self.root / key
        _make_dirs(target.parent)
        # The sweep's age limit counts from the move into place, not from the end of the upload.
        os.utime(received.path)
        _fsync(received.path)
        os.replace(received.path, target)
        _fsync_dir(target.parent)
        return StoredFile(key=key, size=received.size, sha256=received.sha256)

    # --- reading and removing -----------------------------------------------------------------------

    def path_of(self, key: str) -> Path:
        """The file's path; refuses anything that is not a key this store makes."""
        if not isinstance(key, str) or not KEY_PATTERN.match(key) or key.split("/")[0] == TMP_DIR:
            raise ValueError(f"not a storage key: {key!r}")
        path = (self.root / key).resolve()
        # A symbolic link inside the store must not lead out of it either.
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key {key!r} leads outside the store")
        return path

    def open(self, key: str) -> BinaryIO:
        """The stored file, open for reading in binary (``FileNotFoundError`` when it is missing)."""
        return open(self.path_of(key), "rb")

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    def delete(self, key: str) -> bool:
        """Remove a stored file; False when it was not there."""
        path = self.path_of(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    # --- recovery -----------------------------------------------------------------------------------

    def sweep_orphans(self, known_keys: set[str], older_than: timedelta) -> list[str]:
        """Remove temporary files and stored files not in ``known_keys`` (the keys the database
        records) whose last change is older than ``older_than``; returns what was removed (temporary
        files as ``tmp/<name>``). Files this store would never have made are left alone, so a store
        pointed at the wrong folder by mistake cannot delete anything else."""
        # File times are real time; clock.now() may be frozen by tests or the demo.
        cutoff = time.time() - older_than.total_seconds()
        removed = []
        for path in sorted(self.tmp.iterdir()) if self.tmp.is_dir() else []:
            if _TMP_NAME.match(path.name) and _changed_before(path, cutoff):
                path.unlink(missing_ok=True)
                removed.append(f"{TMP_DIR}/{path.name}")
        for folder, dirs, files in os.walk(self.root):
            if Path(folder) == self.root:
                dirs[:] = [d for d in dirs if d != TMP_DIR]
            dirs.sort()
            for name in sorted(files):
                path = Path(folder, name)
                key = path.relative_to(self.root).as_posix()
                if KEY_PATTERN.match(key) and key not in known_keys and _changed_before(path, cutoff):
                    path.unlink(missing_ok=True)
                    removed.append(key)
        # Empty folders stay: removing one could race with a commit about to move a file into it.
        if removed:
            log.info("removed %d orphaned upload file(s) from %s", len(removed), self.root)
        return removed


def file_store() -> FileStore:
    """The app's store: ``UPLOAD_FOLDER``, by default (and when relative) inside the instance folder."""
    folder = current_app.config.get("UPLOAD_FOLDER") or "uploads"
    return FileStore(Path(current_app.instance_path) / str(folder))


def max_upload_bytes() -> int:
    """The app's upload size limit in bytes (``MAX_UPLOAD_MB``)."""
    return int(float(current_app.config["MAX_UPLOAD_MB"]) * MIB)


# --- checks -------------------------------------------------------------------------------------------

_NOT_PDF = "The file is not a PDF{what}: export or save your document as PDF and upload that."


def _check_header(head: bytes) -> None:
    if b"%PDF-" in head:
        return
    for magic, what in _OTHER_KINDS:
        if head.startswith(magic):
            raise UploadRejected(_NOT_PDF.format(what=f" (it is {what})"))
    raise UploadRejected(_NOT_PDF.format(what=""))


def _check_pdf(path: Path) -> int:
    """The page count of the PDF at ``path``, or ``UploadRejected`` with the reason it is not usable."""
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - _EOF_WINDOW))
        if b"%%EOF" not in fh.read():
            raise UploadRejected("The PDF is incomplete (its end is missing): the file may be damaged or "
                                 "was not fully saved. Export it again and upload the new file.")
        fh.seek(0)
        try:
            reader = PdfReader(fh, strict=False)
            encrypted = reader.is_encrypted
            page_count = None if encrypted else len(reader.pages)
        # The parser reads untrusted bytes and a damaged file can fail inside it in many ways (its own
        # errors, but also KeyError, ValueError, zlib errors ...); each means "this PDF cannot be read".
        except Exception:
            log.info("uploaded PDF could not be read", exc_info=True)
            raise UploadRejected("The PDF cannot be opened: it is damaged. Export it again from your "
                                 "document and upload the new file.") from None
    if encrypted:
        raise UploadRejected("The PDF is password-protected or encrypted: save it without a password or "
                             "restrictions and upload it again.")
    if page_count == 0:
        raise UploadRejected("The PDF has no pages.")
    return page_count


def _describe_size(n: int) -> str:
    if n >= MIB:
        return f"{n / MIB:g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"


# --- durable files ------------------------------------------------------------------------------------

def _changed_before(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:  # removed meanwhile (committed, discarded or swept by another process)
        return False


def _make_dirs(path: Path) -> None:
    """``mkdir -p`` that also flushes each new folder's parent, so a crash cannot lose the folder
    a committed file was moved into."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:  # made by another upload meanwhile
            continue
        _fsync_dir(folder.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Windows cannot open a folder to flush it; its filesystems journal renames themselves.
    if os.name == "nt":
        return
    _fsync(path)
