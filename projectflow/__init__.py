"""projectflow: runs the Individual Research Project of a taught MSc."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

_PACKAGE = Path(__file__).resolve().parent


def _shipped_or_source(name: str) -> str:
    """An installed wheel carries ``templates``/``migrations`` inside the package; a source checkout
    keeps them at the top of the repository."""
    inside = _PACKAGE / name
    return str(inside if inside.is_dir() else _PACKAGE.parent / name)


def create_app(config: dict | None = None) -> Flask:
    """The application factory: configuration, extensions, blueprints. ``config`` overrides settings."""
    from . import config as config_module
    from .core import web
    from .extensions import csrf, db, limiter, login_manager, migrate

    app = Flask(
        __name__,
        instance_path=os.environ.get("PROJECTFLOW_INSTANCE_PATH") or (config or {}).get("INSTANCE_PATH"),
        template_folder=_shipped_or_source("templates"),
    )
    config_module.load_config(app, config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=_shipped_or_source("migrations"), render_as_batch=True,
                     compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    web.init_app(app)

    from .assessment.views import bp as assessment_bp
    from .audit.views import bp as audit_bp
    from .cohorts.views import bp as cohorts_bp
    from .home.views import bp as home_bp
    from .matching.views import bp as matching_bp
    from .milestones.views import bp as milestones_bp
    from .people.views import bp as people_bp
    from .posters.views import bp as posters_bp
    from .proposals.views import bp as proposals_bp
    from .reminders.views import bp as reminders_bp
    from .feedback.views import bp as feedback_bp
    from .feeds.views import bp as feeds_bp
    from .submissions.archive_views import bp as archives_bp
    from .submissions.views import bp as submissions_bp
    from .supervision.views import bp as meetings_bp

    for blueprint in (home_bp, people_bp, cohorts_bp, proposals_bp, matching_bp, milestones_bp, meetings_bp,
                      submissions_bp, archives_bp, assessment_bp, feedback_bp, posters_bp,
                      feeds_bp, audit_bp, reminders_bp):
        app.register_blueprint(blueprint)
    return app
