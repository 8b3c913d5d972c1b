"""The coordinator's download of every submission of a milestone as one zip with a manifest."""

from __future__ import annotations

from flask import Blueprint, send_file
from flask_login import current_user, login_required

from ..core.auth import get_or_404, require
from ..milestones.models import Milestone
from .archive import archive_name, milestone_archive

bp = Blueprint("archives", __name__)


@bp.get("/milestones/<int:milestone_id>/archive.zip")
@login_required
def milestone_zip(milestone_id: int):
    milestone = get_or_404(Milestone, milestone_id)
    require(milestone.cohort.can_manage(current_user),
            "Only the cohort's coordinators download every submission: it names the students.")
    archive = milestone_archive(milestone)
    size = archive.seek(0, 2)
    archive.seek(0)
    # send_file streams the file in chunks and closes it (removing the temporary file) when done.
    response = send_file(archive, mimetype="application/zip", as_attachment=True,
                         download_name=archive_name(milestone))
    response.content_length = size
    response.headers["Cache-Control"] = "private, no-store"
    return response
