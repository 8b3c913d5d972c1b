"""Forms of the supervision log."""

from __future__ import annotations

from ..core.forms import FlaskForm  # the site's: cleaned text, one-line titles, sane dates
from wtforms import DateField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ..core.once import FormTokenField


class MeetingForm(FlaskForm):
    met_on = DateField("Date of the meeting", validators=[InputRequired("Give the date of the meeting.")],
                       description="The day you met (in person or online); not a day still to come.")
    notes = TextAreaField("What you discussed",
                          validators=[DataRequired("Write what you discussed: your supervisor confirms these "
                                                   "notes."), Length(max=5000)],
                          render_kw={"rows": 4},
                          description="Progress since the last meeting, problems, decisions. Your supervisor "
                                      "reads and confirms them.")
    actions = TextAreaField("Agreed actions", validators=[Length(max=5000)], render_kw={"rows": 3},
                            description="What each of you will do before the next meeting (optional).")
    form_token = FormTokenField()  # the same form sent twice logs one meeting


class DisputeForm(FlaskForm):
    comment = TextAreaField("What is not right",
                            validators=[DataRequired("Say what is wrong with the record: the student reads your "
                                                     "comment."),
                                        Length(max=2000, message="Keep the comment to 2000 characters.")],
                            render_kw={"rows": 3, "maxlength": 2000},
                            description="The student reads this. Confirm the record later if it is settled.")
