"""The permission layer every view uses.

Views declare who may act: ``@roles_required(COORDINATOR)`` for role checks, ``require(obj.can_x(user))``
for object checks (the predicates live on the models). Both answer 403 with a sentence, in the site's
layout. Which of their roles a person is currently "viewing as" is kept in the session.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, has_request_context, session
from flask_login import current_user, login_required

from ..extensions import db

VIEW_ROLE_KEY = "view_role"


def require(allowed: bool, message: str = "You do not have permission to do that.") -> None:
    """Stop the request with 403 unless ``allowed``."""
    if not allowed:
        abort(403, description=message)


def roles_required(*roles: str):
    """Sign-in plus at least one of ``roles``."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            require(current_user.has_role(*roles),
                    "This page is for " + " or ".join(r + "s" for r in roles) + ".")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def get_or_404(model, ident):
    """The object with this primary key, or a 404 page."""
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404, description=f"There is no {model.__name__.lower()} with id {ident}.")
    return obj


def current_view_role() -> str | None:
    """The role whose pages and navigation the signed-in person is looking at."""
    # Templates are also rendered outside requests (e-mails from the CLI and the scheduler).
    if not has_request_context() or not current_user.is_authenticated:
        return None
    roles = current_user.ordered_roles()
    if not roles:
        return None
    chosen = session.get(VIEW_ROLE_KEY)
    # Default to the most powerful role a person holds: that is usually why they signed in.
    return chosen if chosen in roles else roles[-1]


def switch_view_role(role: str) -> None:
    require(current_user.has_role(role), "You do not hold that role.")
    session[VIEW_ROLE_KEY] = role
