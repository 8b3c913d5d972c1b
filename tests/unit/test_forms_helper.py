"""The form reader of tests/forms.py: it must build the form data set as a browser does, or the web
tests built on it would test something no browser sends."""

from __future__ import annotations

import json

import pytest
from flask import Flask, request

from tests.forms import find_form, get_form, parse_forms


def one(page: str, url: str = "/page"):
    [form] = parse_forms(page, url)
    return form


def test_checkboxes_are_sent_only_when_ticked_with_on_as_their_default_value():
    form = one("""<form method=post>
        <input type=checkbox name=a checked><input type=checkbox name=b value=yes>
        <input type=checkbox name=c value=1 checked disabled>
        <input type=radio name=r value=x checked><input type=radio name=r value=y></form>""")
    assert form.fields == [("a", "on"), ("r", "x")]
    form.check("b").uncheck("a").check("r", "y")
    assert form.fields == [("b", "yes"), ("r", "y")]
    assert form.has("a") and not form.has("c")  # a disabled control is not part of the form data set
    with pytest.raises(KeyError):
        form.check("missing")


def test_a_single_select_sends_its_selected_option_or_its_first_and_a_multiple_one_its_selection():
    form = one("""<form>
        <select name=s><option value=1>One<option value=2>Two</select>
        <select name=t><option>  Plain   text </option><option value=b selected>B</option></select>
        <select name=m multiple><option value=x selected>X</option><option value=y>Y</option>
          <option value=z selected>Z</option></select>
        <select name=n multiple><option value=q>Q</option></select>
        <select name=d><option value=gone disabled>Gone</option><option value=here>Here</option></select>
        </form>""")
    assert form.fields == [("s", "1"), ("t", "b"), ("m", "x"), ("m", "z"), ("d", "here")]
    form.select("m", "y").select("t", "Plain text")
    assert form.values("m") == ["y"] and form.get("t") == "Plain text"
    with pytest.raises(ValueError):
        form.select("s", "3")  # the page offers no such option
    form.set("s", "3")  # ... but a test may send it anyway
    assert form.get("s") == "3"


def test_duplicate_names_are_kept_in_document_order_and_set_replaces_them_all():
    form = one("""<form method=post action="/save">
        <input type=hidden name=csrf_token value=tok><input type=hidden name=version value="">
        <input type=hidden name=choice value=3><input name=title value="A"><input type=hidden name=choice value=1>
        <input type=hidden name=version value="4"></form>""")
    assert form.fields == [("csrf_token", "tok"), ("version", ""), ("choice", "3"), ("title", "A"),
                           ("choice", "1"), ("version", "4")]
    assert form.names().count("version") == 2
    form.set("choice", "1", "3", "7")
    assert form.values("choice") == ["1", "3", "7"]
    form.set("title", "B").remove("version")
    assert form.names() == ["csrf_token", "choice", "title", "choice", "choice"]
    with pytest.raises(KeyError):
        form.set("not_on_the_page", "x")


def test_the_default_action_is_the_page_itself_and_relative_actions_resolve_against_it():
    forms = parse_forms("""<form></form><form action="edit?x=1" method=POST></form>
                           <form action="/other" method=dialog enctype="multipart/form-data"></form>""",
                        "/cohorts/4/page?tab=2")
    assert [(f.action, f.method) for f in forms] == [
        ("/cohorts/4/page?tab=2", "get"), ("/cohorts/4/edit?x=1", "post"), ("/other", "get")]
    assert forms[2].enctype == "multipart/form-data"
    with pytest.raises(AssertionError):
        parse_forms('<form action="https://elsewhere.example/steal"></form>', "/")


def test_textareas_buttons_form_attributes_fieldsets_and_browser_sanitising():
    forms = parse_forms("""<input name=early form=f value=1>
        <form id=f method=post><textarea name=body>
line one
line &lt;two&gt;</textarea>
          <input type=email name=e value="  a@b.example ">
          <input name=t value="one\ntwo"><input type=number name=n value="12abc">
          <input type=date name=d value="2027-02-30"><input type=date name=ok value="2027-02-28">
          <fieldset disabled><input name=off value=1></fieldset>
          <input type=reset name=r><button type=button name=b>Nothing</button>
          <button name=action value=save>Save <b>it</b></button>
          <button name=action value=remove aria-label="Remove the thing">✕</button>
          <form><input name=nested value=1></form>
        </form><input name=late form=f value=2><input name=orphan value=3>""", "/p")
    form = forms[0]
    assert len(forms) == 1  # a form inside a form is ignored by the browser
    assert form.fields == [("early", "1"), ("body", "line one\nline <two>"), ("e", "a@b.example"),
                           ("t", "onetwo"), ("n", ""), ("d", ""), ("ok", "2027-02-28"), ("nested", "1"),
                           ("late", "2")]
    assert [b.label for b in form.buttons] == ["Save it", "✕"]
    assert form.data()[-2:] == [("nested", "1"), ("late", "2")]
    assert ("action", "save") in form.data()  # Enter presses the first submit button
    assert ("action", "remove") in form.data("Remove the thing")
    assert ("action", "save") not in form.data("remove")


def test_find_form_by_action_field_or_button_and_index():
    forms = parse_forms("""<form action="/a" method=post><input name=x></form>
        <form action="/b" method=post><input name=version><button>Save</button></form>
        <form action="/b" method=post><button>Delete</button></form>""", "/")
    assert find_form(forms, has_field="version").action == "/b"
    assert find_form(forms, submit="Delete").index == 2
    assert find_form(forms, action="/b", index=1).index == 2
    with pytest.raises(AssertionError):
        find_form(forms, action="/b")


@pytest.fixture
def echo():
    """A tiny app that shows what it received: the form it serves, the request's fields and files."""
    app = Flask(__name__)
    page = """<form method=post action="/echo" enctype="{enctype}">
        <input type=hidden name=csrf_token value=tok><textarea name=notes>
a
b</textarea><input type=file name=evidence><input type=checkbox name=ok value=1 checked>
        <button name=go value=1>Send</button><button name=go value=2 formaction="/echo?alt=1">Other</button>
        </form><form action="/echo"><input name=q value="a b"><button>Find</button></form>"""

    @app.get("/form")
    def form():
        return page.format(enctype=request.args.get("enctype", "multipart/form-data"))

    @app.route("/echo", methods=["GET", "POST"])
    def echo_():
        return app.response_class(json.dumps({
            "method": request.method,
            "args": list(request.args.items(multi=True)),
            "form": list(request.form.items(multi=True)),
            "files": [(k, f.filename, f.read().decode()) for k, f in request.files.items(multi=True)],
            "referrer": request.referrer,
        }), mimetype="application/json")

    return app.test_client()


def received(response) -> dict:
    """What the echo app received, with its pairs as tuples."""
    seen = response.get_json()
    return {k: [tuple(x) for x in v] if isinstance(v, list) else v for k, v in seen.items()}


def test_submit_sends_a_multipart_form_with_its_files_button_and_crlf_line_breaks(echo):
    form = get_form(echo, "/form", action="/echo", has_field="notes")
    seen = received(form.submit(echo, files={"evidence": (b"%PDF-1.4", "a.pdf")}))
    assert seen["method"] == "POST"
    assert seen["form"] == [("csrf_token", "tok"), ("notes", "a\r\nb"), ("ok", "1"), ("go", "1")]
    assert seen["files"] == [("evidence", "a.pdf", "%PDF-1.4")]
    assert seen["referrer"] == "http://localhost/form"

    nothing_chosen = received(form.submit(echo, submit="Other"))
    assert nothing_chosen["args"] == [("alt", "1")] and ("go", "2") in nothing_chosen["form"]
    assert nothing_chosen["files"] == [("evidence", "", "")]  # an empty part, as when no file is chosen


def test_a_form_without_multipart_sends_only_the_file_name_and_a_get_form_a_query(echo):
    form = get_form(echo, "/form?enctype=", has_field="notes")
    seen = received(form.submit(echo, files={"evidence": (b"data", "a.pdf")}))
    assert ("evidence", "a.pdf") in seen["form"] and seen["files"] == []

    search = get_form(echo, "/form", submit="Find")
    search.set("q", "x&y=z")
    seen = received(search.submit(echo))
    assert seen["method"] == "GET" and seen["args"] == [("q", "x&y=z")]
