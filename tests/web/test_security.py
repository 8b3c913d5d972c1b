"""Security of the web layer: CSRF tokens on every form, headers, cookies, the production secret,
error pages inside the layout, assets served locally, passwords hashed with Argon2id."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

import projectflow
from projectflow import create_app
from projectflow.config import DEFAULT_SECRET_KEY
from projectflow.core.audit import AuditEvent
from projectflow.extensions import db
from projectflow.people.models import ADMIN, STAFF, User
from tests.forms import get_form
from tests.html import csrf_token, has_layout, main_text, nav_links

CSRF_MESSAGE = "its security token was missing or invalid"
LONG_SECRET = "a-production-secret-that-is-long-enough-" + "0" * 16
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def sign_in_through_the_form(client, user, password):
    """Sign in as a browser would: read the form, its token included, send it back."""
    form = get_form(client, "/login", has_field="password")
    assert form.get("csrf_token")
    response = form.set("email", user.email).set("password", password).submit(client)
    assert response.status_code == 302
    return client


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def assert_csrf_refusal(response):
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert has_layout(page)
    assert CSRF_MESSAGE in main_text(page)
    assert "nothing was saved" in main_text(page)


# --- CSRF ----------------------------------------------------------------------------------------

@pytest.mark.csrf
@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_sign_in_without_a_valid_token_is_refused_and_signs_nobody_in(client, make, token):
    user = make.student()
    data = {"email": user.email, "password": make.PASSWORD}
    if token:
        client.get("/login")  # a session with a real token exists; a wrong one still fails
        data["csrf_token"] = token
    assert_csrf_refusal(client.post("/login", data=data))
    assert client.get("/student").status_code == 302
    db.session.refresh(user)
    assert user.last_login_at is None


@pytest.mark.csrf
def test_sign_in_with_the_forms_token_works(client, make):
    user = make.student()
    sign_in_through_the_form(client, user, make.PASSWORD)
    assert client.get("/student").status_code == 200


@pytest.mark.csrf
def test_sign_out_without_a_token_is_refused_and_the_session_stays(client, make):
    user = make.student()
    sign_in_through_the_form(client, user, make.PASSWORD)
    assert_csrf_refusal(client.post("/logout"))
    assert client.get("/student").status_code == 200

    token = csrf_token(client.get("/student").get_data(as_text=True))  # the sign-out button's token
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/student").status_code == 302


@pytest.mark.csrf
def test_creating_a_user_without_a_token_is_refused_and_writes_nothing(client, make, smtp_server):
    admin = make.admin()
    sign_in_through_the_form(client, admin, make.PASSWORD)
    form = {"email": "new.person@example.ac.uk", "name": "New Person", "roles": ["student"]}
    before = counts()

    assert_csrf_refusal(client.post("/admin/users/new", data=form))
    assert counts() == before
    assert User.by_email("new.person@example.ac.uk") is None

    page_form = get_form(client, "/admin/users/new", has_field="email")
    page_form.set("email", form["email"]).set("name", form["name"]).check("roles", "student")
    response = page_form.submit(client)
    assert response.status_code == 302
    assert User.by_email("new.person@example.ac.uk") is not None
    assert counts() == (before[0] + 1, before[1] + 2)  # the account created, its invitation sent


@pytest.mark.csrf
def test_switching_role_and_deactivating_need_the_token_too(client, make):
    admin = make.user(ADMIN, STAFF)
    other = make.student()
    sign_in_through_the_form(client, admin, make.PASSWORD)

    assert_csrf_refusal(client.post("/switch-role", data={"role": "staff"}))
    assert client.get("/").headers["Location"] == "/admin"
    assert_csrf_refusal(client.post(f"/admin/users/{other.id}/active", data={}))
    db.session.refresh(other)
    assert other.is_active


# --- headers and cookies -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/password/forgot", "/", "/no-such-page", "/static/css/app.css",
                                  "/admin", "/admin/users"])
def test_every_response_carries_the_security_headers(client, make, path):
    with client.get(path) as response:
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_signed_in_pages_carry_the_headers_too(login, make):
    client = login(make.admin())
    for path in ("/admin", "/admin/users", "/admin/users/new", "/student"):
        response = client.get(path)
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], path


def test_no_template_has_inline_scripts_styles_or_event_handlers():
    # The Content-Security-Policy forbids them: they would silently stop working in the browser.
    offending = []
    for template in TEMPLATES.rglob("*.html"):
        if template.parent.name == "pdf":
            continue  # printed by WeasyPrint (core/pdf.py), never served to a browser: no CSP applies
        source = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source) or re.search(r"<style\b", source) \
                or re.search(r"\sstyle=", source) or re.search(r"\son[a-z]+=", source):
            offending.append(str(template.relative_to(TEMPLATES)))
    assert offending == []


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "no session cookie was set"
    return cookies[0]


def test_the_session_cookie_is_http_only_and_same_site_lax(client, make):
    user = make.student()
    response = client.post("/login", data={"email": user.email, "password": make.PASSWORD})
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in development and tests


def production_app(tmp_path, **config):
    return create_app({"ENV": "production", "SECRET_KEY": LONG_SECRET,
                       "INSTANCE_PATH": str(tmp_path / "instance"), **config})


def test_in_production_the_cookies_are_secure_and_https_gets_hsts(tmp_path):
    app = production_app(tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["TESTING"] is False
    assert app.config["WTF_CSRF_ENABLED"] is True

    client = app.test_client()
    response = client.get("/login", base_url="https://projects.example.ac.uk")
    assert response.status_code == 200
    cookie = session_cookie(response)  # the CSRF token lives in the session
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "x" * 31, "", None])
def test_production_refuses_the_default_or_a_short_secret_key(tmp_path, secret):
    with pytest.raises(RuntimeError, match="PROJECTFLOW_SECRET_KEY"):
        production_app(tmp_path, SECRET_KEY=secret)


def test_production_accepts_a_secret_of_32_characters(tmp_path):
    assert production_app(tmp_path, SECRET_KEY="y" * 32).config["SECRET_KEY"] == "y" * 32


def test_production_chosen_through_the_environment_still_needs_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("PROJECTFLOW_ENV", "production")
    with pytest.raises(RuntimeError, match="PROJECTFLOW_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("PROJECTFLOW_SECRET_KEY", LONG_SECRET)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["ENV"] == "production"
    assert app.config["SECRET_KEY"] == LONG_SECRET


def test_projectflow_environment_variables_override_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("PROJECTFLOW_PASSWORD_RESET_HOURS", "6")
    monkeypatch.setenv("PROJECTFLOW_MAIL_SENDER", "Projects Office <projects@example.ac.uk>")
    monkeypatch.setenv("PROJECTFLOW_MAIL_USE_STARTTLS", "true")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["PASSWORD_RESET_HOURS"] == 6
    assert app.config["MAIL_SENDER"] == "Projects Office <projects@example.ac.uk>"
    assert app.config["MAIL_USE_STARTTLS"] is True


# --- error pages ---------------------------------------------------------------------------------

def test_a_403_is_a_page_of_the_site_with_the_reason(login, make):
    client = login(make.student())
    response = client.get("/admin/users")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert has_layout(page)
    assert nav_links(page)["Home"] == "/student" and "Users" not in nav_links(page)
    assert "Not allowed" in main_text(page)
    assert "This page is for admins." in main_text(page)


def test_a_404_is_a_page_of_the_site_with_the_reason(login, make):
    client = login(make.admin())
    response = client.get("/admin/users/999999")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert has_layout(page)
    assert "Users" in nav_links(page)
    assert "There is no user with id 999999." in main_text(page)


def test_an_unknown_address_is_a_404_page_for_anonymous_visitors_too(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert has_layout(page)
    assert "does not exist" in main_text(page)
    assert "404 Not Found" not in page  # not Werkzeug's bare page


def test_a_wrong_method_is_a_405_page_naming_the_allowed_ones(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert has_layout(response.get_data(as_text=True))


@pytest.mark.own_app  # adds a route of its own
def test_an_unexpected_error_is_a_500_page_of_the_site_and_is_logged(app, login, make, caplog):
    @app.get("/test-boom")
    def boom():
        raise RuntimeError("kaboom in a view")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = login(make.staff())
    response = client.get("/test-boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert has_layout(page)
    assert nav_links(page)["Home"] == "/staff"
    assert "Something went wrong" in main_text(page)
    assert "The error has been logged" in main_text(page)
    assert "kaboom" not in page  # no internals shown
    assert response.headers["X-Frame-Options"] == "DENY"
    assert any("kaboom in a view" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


# --- assets --------------------------------------------------------------------------------------

def test_styles_and_scripts_are_served_from_the_package(app, client):
    assert Path(app.static_folder) == Path(projectflow.__file__).parent / "static"
    css = client.get("/static/css/app.css")
    assert css.status_code == 200
    assert css.mimetype == "text/css"
    css.close()
    page = client.get("/login").get_data(as_text=True)
    assets = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page) + \
        re.findall(r'<link[^>]*\bhref="([^"]+)"', page)
    assert any(a.endswith("bootstrap.min.css") for a in assets)
    assert any(a.endswith("bootstrap.bundle.min.js") for a in assets)
    for asset in assets:
        assert not re.match(r"(https?:)?//", asset), f"{asset} is loaded from another site"
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()


def test_the_layout_template_names_no_other_site(client):
    source = (TEMPLATES / "base.html").read_text()
    assert not re.search(r"""(src|href)=["'](https?:)?//""", source)


# --- passwords -----------------------------------------------------------------------------------

def test_passwords_are_stored_as_argon2id_hashes_never_in_plain_text(make):
    user = make.student(password="my secret words")
    row = db.session.execute(text("SELECT * FROM users WHERE id = :id"), {"id": user.id}).mappings().one()
    assert row["password_hash"].startswith("$argon2id$")
    assert not any("my secret words" in str(value) for value in row.values())


def test_an_admin_created_account_has_no_password_until_the_person_sets_one(login, make, smtp_server):
    client = login(make.admin())
    client.post("/admin/users/new", data={"email": "fresh@example.ac.uk", "name": "Fresh", "roles": ["student"]})
    assert User.by_email("fresh@example.ac.uk").password_hash is None
    # The person sets it through the invitation they are sent.
    [invitation] = smtp_server.wait_for(1)
    assert invitation["To"] == "fresh@example.ac.uk" and "/password/reset/" in invitation.get_body().get_content()
