"""Signing in and out, password resets, switching role, and the admin's user management."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..core import once
from ..core.auth import get_or_404, roles_required, switch_view_role
from ..core.errors import DomainError
from ..core.web import same_site_path
from ..core.forms import search_text, page_number, show_error
from ..extensions import db, limiter, login_manager
from . import invitations, services
from .forms import (ActiveForm, ForgotPasswordForm, InvitationForm, LoginForm, ResetPasswordForm, SwitchRoleForm,
                    UserForm)
from .models import ADMIN, INVITATION, ROLES, StaffProfile, User, UserRole

bp = Blueprint("people", __name__)

login_manager.login_view = "people.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"

SIGN_IN_FAILED = "That e-mail address and password do not match an active account."


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    return User.load_signed_in(session_id)


def _submitted_email() -> str:
    return (request.form.get("email") or "").strip().lower() or request.remote_addr or "-"


def _failed(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_submitted_email,
               methods=["POST"], deduct_when=_failed, scope="login-email",
               error_message="Too many failed sign-in attempts for this account. Wait a few minutes, "
                             "then try again, or reset your password.")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"], methods=["POST"],
               deduct_when=_failed, scope="login-address",
               error_message="Too many failed sign-in attempts from your network. Wait a few minutes, "
                             "then try again.")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422 if form.is_submitted() else 200
    user = services.authenticate(form.email.data, form.password.data)
    if user is None:
        db.session.rollback()
        form.password.errors.append(SIGN_IN_FAILED)
        return render_template("auth/login.html", form=form), 401
    db.session.commit()
    login_user(user)
    return redirect(same_site_path(request.args.get("next")) or url_for("home.index"))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Signing out here signs out everywhere: a copied session cookie dies with this one.
        current_user.end_sessions()
        db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("people.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], scope="password-forgot")
def forgot_password():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot.html", form=form), 422 if form.is_submitted() else 200
    # The configured address, never the request's Host header: a forged Host would otherwise put a
    # person's reset token into a link to someone else's site.
    if once.claim(form.form_token.data, None) is None:
        services.request_password_reset(form.email.data, base_url=current_app.config["BASE_URL"])
    db.session.commit()
    # The same answer whether or not the address has an account.
    flash("If that address belongs to an account, a link to set a new password is on its way. "
          f"It works once, for {current_app.config['PASSWORD_RESET_HOURS']} hours.", "info")
    return redirect(url_for("people.login"))


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        reset = services.find_reset(token)
    except DomainError as exc:
        return render_template("auth/reset_invalid.html", message=exc.message), exc.status_code
    form = ResetPasswordForm()
    welcome = reset.purpose == INVITATION
    if form.validate_on_submit():
        try:
            user = services.reset_password(token, form.password.data)
        except services.LinkInvalid as exc:  # used by another request a moment ago
            db.session.rollback()
            return render_template("auth/reset_invalid.html", message=exc.message), exc.status_code
        except DomainError as exc:
            show_error(form, exc, default="password")
        else:
            db.session.commit()
            if welcome:
                login_user(user)
                flash(f"Welcome, {user.name}: your password is set and you are signed in.", "success")
                return redirect(url_for("home.index"))
            flash("Your password is set. Sign in with it now.", "success")
            return redirect(url_for("people.login"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/reset.html", form=form, email=reset.user.email, user=reset.user,
                           welcome=welcome), status


@bp.post("/switch-role")
@login_required
def switch_role():
    form = SwitchRoleForm()
    if not form.validate_on_submit() or form.role.data not in ROLES:
        flash("Choose one of your roles.", "danger")
        return redirect(url_for("home.index")), 303
    switch_view_role(form.role.data)
    return redirect(url_for("home.index"))


# --- admin: users -------------------------------------------------------------------------------

@bp.get("/admin/users")
@roles_required(ADMIN)
def users():
    q = search_text("q")
    role = request.args.get("role") or ""
    status = request.args.get("status") or ""
    query = select(User).options(selectinload(User.role_rows)).order_by(func.lower(User.name))
    if q:
        # Taken literally: "_" and "%" in an e-mail address are not wildcards.
        query = query.where(or_(func.lower(User.name).contains(q.lower(), autoescape=True),
                                User.email.contains(q.lower(), autoescape=True)))
    if role in ROLES:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if status in ("active", "inactive"):
        query = query.where(User.is_active.is_(status == "active"))
    page = db.paginate(query, page=page_number(), per_page=50, error_out=False)
    return render_template("people/users.html", page=page, q=q, role=role, status=status, roles=ROLES)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(ADMIN)
def new_user():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                email=form.email.data, name=form.name.data, roles=form.roles.data, by=current_user,
                expertise=form.expertise.data, max_load=form.max_load.data,
                invite_from=current_app.config["BASE_URL"])
        except DomainError as exc:
            show_error(form, exc, default="email")
        else:
            db.session.commit()
            flash(f"Account created for {user.email}, and an invitation to set a password e-mailed to them "
                  f"(the link works for {current_app.config['INVITATION_DAYS']} days).", "success")
            return redirect(url_for("people.users"))
    return render_template("people/user_form.html", form=form, user=None), 422 if form.errors else 200


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(ADMIN)
def edit_user(user_id: int):
    user = get_or_404(User, user_id)
    form = UserForm(obj=user)
    if request.method == "GET":
        form.roles.data = user.ordered_roles()
        profile: StaffProfile | None = user.staff_profile
        form.expertise.data = list(profile.expertise) if profile else []
        form.max_load.data = profile.max_load if profile else None
    if form.validate_on_submit():
        try:
            services.update_user(user, by=current_user, email=form.email.data, name=form.name.data,
                                 roles=form.roles.data, expertise=form.expertise.data,
                                 max_load=form.max_load.data)
        except DomainError as exc:
            db.session.rollback()
            show_error(form, exc, default="roles")
        else:
            db.session.commit()
            flash(f"Saved {user.email}.", "success")
            return redirect(url_for("people.users"))
    return render_template("people/user_form.html", form=form, user=user, active_form=ActiveForm(),
                           invitation=invitations.invitation_states([user])[user.id],
                           invitation_form=InvitationForm()), 422 if form.errors else 200


@bp.post("/admin/users/<int:user_id>/invitation")
@roles_required(ADMIN)
def send_invitation(user_id: int):
    user = get_or_404(User, user_id)
    return send_invitation_answer(user, redirect_to=url_for("people.edit_user", user_id=user.id))


def send_invitation_answer(user: User, *, redirect_to: str, cohort=None):
    """The admin's and the coordinator's "Send invitation" button: sent once however often it is
    pressed (its form token), refused with a sentence for an account that cannot be invited."""
    form = InvitationForm()
    if not form.validate_on_submit():
        flash("The form was incomplete; no invitation was sent.", "danger")
        return redirect(redirect_to), 303
    try:
        if once.claim(form.form_token.data, current_user) is None:
            invitations.invite(user, by=current_user, base_url=current_app.config["BASE_URL"], cohort=cohort)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
        return redirect(redirect_to), 303
    db.session.commit()
    flash(f"An invitation to set a password is on its way to {user.email}; any earlier link of theirs no "
          f"longer works. The new one works for {current_app.config['INVITATION_DAYS']} days.", "success")
    return redirect(redirect_to)


@bp.post("/admin/users/<int:user_id>/active")
@roles_required(ADMIN)
def set_active(user_id: int):
    user = get_or_404(User, user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        flash("The form was incomplete; nothing changed.", "danger")
        return redirect(url_for("people.edit_user", user_id=user.id)), 303
    services.set_active(user, form.active.data, by=current_user)
    db.session.commit()
    flash(f"{user.email} is now {'active' if user.is_active else 'deactivated'}.", "success")
    return redirect(url_for("people.edit_user", user_id=user.id))
