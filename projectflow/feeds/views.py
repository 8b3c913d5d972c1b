"""The deadline calendar: the signed-in person's page about their feed, and the feed itself.

The feed (``/calendar/<token>.ics``) is public on purpose: calendar programs fetch it without
signing in, so its secret token is the only key. It has no ``login_required`` and no rate limit
beyond the site's defaults.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from ..core import clock, once
from ..extensions import db
from . import services as feeds
from .forms import FeedForm

bp = Blueprint("feeds", __name__)


def _page(new_url: str | None = None):
    response = Response(render_template(
        "feeds/calendar.html", feed=feeds.feed_of(current_user), events=feeds.feed_events(current_user),
        slots=feeds.feed_slots(current_user), new_url=new_url, form=FeedForm(), now=clock.now()))
    if new_url:
        # The secret address is on this page only once: no cache may keep a copy.
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/calendar")
@login_required
def calendar():
    return _page()


@bp.post("/calendar")
@login_required
def regenerate():
    form = FeedForm()
    if not form.validate_on_submit():
        flash("The form had expired: nothing was changed. Try again.", "danger")
        return redirect(url_for(".calendar"))
    if once.claim(form.form_token.data, current_user) is not None:
        # The address it made was shown once, in answer to that sending; only its hash is kept.
        abort(409, description="That form was already sent, and the new address was shown in answer to it. "
                               "If you did not see it, make a new address again.")
    token = feeds.regenerate_feed(current_user)
    db.session.commit()
    # Shown in this response rather than after a redirect: the token is never put in the session cookie.
    return _page(new_url=feeds.feed_url(token))


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    user = feeds.user_for_token(token)
    if user is None:
        abort(404, description="There is no calendar at this address: it may have been replaced by a newer one.")
    response = Response(feeds.calendar_for(user), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="projectflow-deadlines.ics"'
    # The address is a secret: shared caches must not keep the feed, nor search engines list it.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
