"""Forms of assessment. A mark sheet's form is built from its rubric when the page is shown: one band,
one mark and one comment per criterion the marker marks."""

from __future__ import annotations

from wtforms import HiddenField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..core.errors import ValidationFailed
from ..core.forms import FlaskForm
from ..core.once import FormTokenField
from .models import BANDS, MarkSheet
from .services import COMMENT_LIMIT, CriterionEntry, parse_mark

BAND_CHOICES = [SelectChoice("", "Choose a band")] + [SelectChoice(str(i), f"{b.name} ({b.low}–{b.high})")
                                                      for i, b in enumerate(BANDS)]


class _SheetFormBase(FlaskForm):
    overall_comment = TextAreaField(
        "Overall comment to the student", validators=[Length(max=COMMENT_LIMIT)], render_kw={"rows": 5},
        description="The student reads this once results are released.")
    private_note = TextAreaField(
        "Private note to the other markers", validators=[Length(max=COMMENT_LIMIT)], render_kw={"rows": 3},
        description="Never shown to the student; the other markers see it only once both sheets are submitted.")
    version = HiddenField()
    save = SubmitField("Save draft")
    submit = SubmitField("Submit marks")


def sheet_form(sheet: MarkSheet, formdata=None):
    """The form of ``sheet``'s criteria, filled from the sheet unless ``formdata`` is given."""
    criteria = sheet.rubric.criteria_for(sheet.role)

    class SheetForm(_SheetFormBase):
        pass

    for c in criteria:
        # Short labels: each criterion's fields sit in a fieldset whose legend names the criterion.
        setattr(SheetForm, f"band_{c.id}", SelectField("Band", choices=BAND_CHOICES, default=""))
        setattr(SheetForm, f"mark_{c.id}", StringField(
            "Mark", validators=[Length(max=10)], render_kw={"inputmode": "decimal"},
            description="0–100, up to two decimals."))
        setattr(SheetForm, f"comment_{c.id}", TextAreaField(
            "Comment", validators=[Length(max=COMMENT_LIMIT)], render_kw={"rows": 3}))
    form = SheetForm(formdata=formdata) if formdata is not None else SheetForm()
    if formdata is None:
        given = {m.criterion_id: m for m in sheet.marks}
        for c in criteria:
            m = given.get(c.id)
            form[f"band_{c.id}"].data = "" if m is None or m.band is None else str(m.band)
            form[f"mark_{c.id}"].data = "" if m is None or m.mark is None else f"{m.mark}"
            form[f"comment_{c.id}"].data = "" if m is None else m.comment
        form.overall_comment.data = sheet.overall_comment
        form.private_note.data = sheet.private_note
        form.version.data = str(sheet.version)
    form.criteria = criteria
    return form


def entries_of(form) -> tuple[list[CriterionEntry], dict[str, str]]:
    """The criterion entries the form holds, and the problems found, by field name."""
    entries, problems = [], {}
    for c in form.criteria:
        band_text = form[f"band_{c.id}"].data or ""
        band = int(band_text) if band_text.isdigit() and int(band_text) < len(BANDS) else None
        try:
            mark = parse_mark(form[f"mark_{c.id}"].data)
        except ValidationFailed as exc:
            problems[f"mark_{c.id}"] = exc.message
            mark = None
        entries.append(CriterionEntry(c.id, band, mark, form[f"comment_{c.id}"].data or ""))
    return entries, problems


class ReopenForm(FlaskForm):
    reason = StringField("Why reopen it", validators=[DataRequired("Say why the sheet is reopened."), Length(max=500)],
                         description="The marker and the audit log see this.")
    submit = SubmitField("Reopen the sheet")


class OpenMarkingForm(FlaskForm):
    component = HiddenField()
    submit = SubmitField("Open marking")


class SetUpForm(FlaskForm):
    submit = SubmitField("Set up marking with the standard components")


class MessageForm(FlaskForm):
    body = TextAreaField("Message to the other marker", validators=[DataRequired("Write a message first."),
                                                                    Length(max=COMMENT_LIMIT)],
                         render_kw={"rows": 3})
    form_token = FormTokenField()  # the same message sent twice is posted once
    submit = SubmitField("Send")


class ProposeForm(FlaskForm):
    mark = StringField("Agreed mark", validators=[DataRequired("Give the agreed mark."), Length(max=10)],
                       render_kw={"inputmode": "decimal"}, description="Between the two marks, up to two decimals.")
    justification = TextAreaField("Justification", validators=[DataRequired("Justify the agreed mark."),
                                                               Length(max=COMMENT_LIMIT)],
                                  render_kw={"rows": 3}, description="The external examiner reads this.")
    submit = SubmitField("Propose this mark")


class ConfirmForm(FlaskForm):
    submit = SubmitField("Confirm the proposed mark")


class CannotAgreeForm(FlaskForm):
    reason = TextAreaField("Why you cannot agree", validators=[DataRequired("Say why you cannot agree."),
                                                               Length(max=COMMENT_LIMIT)], render_kw={"rows": 2})
    submit = SubmitField("We cannot agree: ask for a third marker")


class ThirdMarkerForm(FlaskForm):
    marker = SelectField("Third marker", coerce=str, validators=[DataRequired("Choose the third marker.")])
    submit = SubmitField("Appoint the third marker")


class ReassignForm(FlaskForm):
    marker = SelectField("New marker", coerce=str, validators=[DataRequired("Choose the new marker.")])
    reason = StringField("Why", validators=[DataRequired("Say why the sheet is reassigned."), Length(max=500)],
                         description="Both markers and the audit log see this; the draft so far is kept in the log.")
    submit = SubmitField("Reassign the sheet")
