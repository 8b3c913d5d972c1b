"""Every submission of a milestone as one zip, for the coordinator: the latest version of each
student's file and a manifest.

Files are named by candidate number (``<candidate>-<kind>-v<version>.pdf``), never by name: the zip
is what gets handed to markers. When the cohort marks anonymously (its ``marks_anonymously``
setting, the default) the manifest names nobody either; otherwise it has a ``student_name`` column
beside the candidate numbers.

The zip is written into a spooled temporary file: small archives stay in memory, large ones go
to disk, and each PDF is copied in chunks, so a cohort's worth of reports is never held in memory.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, select

from ..cohorts.models import Cohort
from ..core.sheets import SafeCSVWriter
from ..core.storage import CHUNK_SIZE, FileStore, file_store
from ..extensions import db
from ..milestones.models import GRANTED, Extension, Milestone
from .models import Submission

# Past this size the archive moves from memory to a temporary file on disk.
SPOOL_BYTES = 16 * 1024 * 1024
MANIFEST = "manifest.csv"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Row:
    """A student of the cohort and the version of their work that counts (if any)."""

    candidate_number: str
    student_name: str
    submission: Submission | None
    extension: Extension | None


def archive_name(milestone: Milestone) -> str:
    cohort = milestone.cohort
    return _safe(f"{cohort.programme_code}-{cohort.year_label}-{milestone.kind}-m{milestone.id}") + ".zip"


def file_name(candidate_number: str, submission: Submission) -> str:
    """The file's name inside the zip: candidate number, kind of milestone, version. No names."""
    return f"{_safe(candidate_number)}-{submission.milestone.kind}-v{submission.version}.pdf"


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text)


def archive_rows(milestone: Milestone) -> list[Row]:
    """Every student of the cohort (and anyone else who submitted) with their latest submission, by
    candidate number."""
    cohort: Cohort = milestone.cohort
    latest = (select(Submission.student_id, func.max(Submission.version).label("version"))
              .where(Submission.milestone_id == milestone.id).group_by(Submission.student_id).subquery())
    submissions = {s.student_id: s for s in db.session.scalars(
        select(Submission).join(latest, (Submission.student_id == latest.c.student_id)
                                & (Submission.version == latest.c.version))
        .where(Submission.milestone_id == milestone.id))}
    # The latest granted extension per student (a later grant replaces an earlier one).
    extensions = {e.student_id: e for e in db.session.scalars(
        select(Extension).where(Extension.milestone_id == milestone.id, Extension.state == GRANTED)
        .order_by(Extension.decided_at))}
    rows = [Row(e.candidate_number, e.student.name, submissions.pop(e.user_id, None), extensions.get(e.user_id))
            for e in cohort.enrolments]
    # Work from someone no longer enrolled is still handed over, under their account number.
    rows += [Row(f"unenrolled-{s.student_id}", s.student.name, s, extensions.get(s.student_id))
             for s in submissions.values()]
    return sorted(rows, key=lambda r: r.candidate_number)


def milestone_archive(milestone: Milestone) -> BinaryIO:
    """A zip of the latest version of each student's file and ``manifest.csv``, as an open binary
    file positioned at its start (the caller sends and closes it).

    The manifest has one row per student of the cohort, those who did not submit included (named only
    when the cohort does not mark anonymously), with the time of submission in the cohort's local time,
    the size and SHA-256 recorded when the file was received, lateness and any extension's new deadline.
    A file missing from the store, or whose content no longer matches its SHA-256, is left out of the
    zip and said so in the manifest's ``problem`` column rather than failing the whole download.
    """
    cohort = milestone.cohort
    zone = cohort.zone
    store = file_store()
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, prefix="projectflow-archive-", suffix=".zip")
    try:
        manifest = io.StringIO()
        writer = SafeCSVWriter(manifest)
        # Anonymous marking: the markers who get this zip know students by candidate number only.
        named = not cohort.marks_anonymously
        writer.writerow(["candidate_number"] + (["student_name"] if named else [])
                        + ["file", "version", f"submitted_at ({cohort.timezone})", "size_bytes", "sha256",
                           "late_working_days", "late_hours", f"extension_new_deadline ({cohort.timezone})",
                           "problem"])
        with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
            for row in archive_rows(milestone):
                s = row.submission
                who = [row.candidate_number] + ([row.student_name] if named else [])
                extended = (row.extension.new_due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                            if row.extension else "")
                if s is None:
                    writer.writerow(who + ["", "", "", "", "", "", "", extended, "no submission"])
                    continue
                name = file_name(row.candidate_number, s)
                added, problem = _add_file(zf, store, s, name)
                writer.writerow(who + [name if added else "", s.version,
                                       s.submitted_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), s.size,
                                       s.sha256, s.late_working_days, f"{s.late_hours:.2f}", extended, problem])
            # With a byte-order mark, so that spreadsheet programs read the names' accents right.
            zf.writestr(MANIFEST, manifest.getvalue().encode("utf-8-sig"), compress_type=zipfile.ZIP_DEFLATED)
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise


def _add_file(zf: zipfile.ZipFile, store: FileStore, submission: Submission, name: str) -> tuple[bool, str]:
    """Copy the stored file into the zip in chunks, checking its SHA-256 on the way: (added, problem)."""
    try:
        source = store.open(submission.storage_key)
    except FileNotFoundError:
        return False, "file missing from the store"
    local = submission.submitted_at.astimezone(submission.milestone.cohort.zone)
    info = zipfile.ZipInfo(name, date_time=local.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED  # PDFs are compressed already
    info.file_size = submission.size
    digest = hashlib.sha256()
    with source, zf.open(info, "w") as target:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
            target.write(chunk)
    if digest.hexdigest() != submission.sha256:
        # zipfile cannot take an entry back out; the manifest says which file not to trust.
        return True, "stored file differs from its receipt's SHA-256: do not use this copy"
    return True, ""
