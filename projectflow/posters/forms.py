"""Forms of the poster pages. The session form has a row per room; the availability form a choice per
session: both are built when the page is shown, from the session or the cohort's sessions."""

from __future__ import annotations

from wtforms import (BooleanField, DateField, DateTimeLocalField, HiddenField, IntegerField, RadioField, SelectChoice,
                     SelectField, StringField, SubmitField, TextAreaField, TimeField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..core.forms import FlaskForm, IdChoiceField
from ..core.ids import as_id
from ..core.once import FormTokenField
from . import availability, services
from .models import IF_NEEDED, UNAVAILABLE, PosterSession

BLANK_ROOM_ROWS = 2  # empty rows under a session's rooms, to add some
FEWEST_ROOM_ROWS = 3


class SettingsForm(FlaskForm):
    slot_minutes = IntegerField(
        "Length of a poster slot (minutes)", default=15,
        validators=[InputRequired(), NumberRange(*services.SLOT_MINUTES)],
        description="All of a poster's assessors see it together in one slot.")
    max_per_assessor_per_session = IntegerField(
        "Most posters one assessor sees in a session", default=8,
        validators=[InputRequired(), NumberRange(*services.MAX_PER_SESSION)])


class WindowForm(FlaskForm):
    closes = DateTimeLocalField(
        "Closes (optional)", format="%Y-%m-%dT%H:%M", validators=[Optional()],
        description="The cohort's local time. Leave it empty to keep the window open until you close it.")
    open = SubmitField("Open the availability window")
    close = SubmitField("Close it now")


class _SessionFormBase(FlaskForm):
    day = DateField("Day", validators=[InputRequired()])
    starts = TimeField("Starts", validators=[InputRequired()], description="The cohort's local time.")
    ends = TimeField("Ends", validators=[InputRequired()])

    def validate_ends(self, field) -> None:
        if field.data is not None and self.starts.data is not None and field.data <= self.starts.data:
            raise ValidationError("The session ends before it starts: its end must be later on the same day.")

    def room_rows(self) -> list[tuple]:
        """(id field, name field, boards field) per row, for the template."""
        return [(self[f"room_id_{i}"], self[f"room_name_{i}"], self[f"room_boards_{i}"]) for i in range(self.rows)]

    def values(self) -> services.SessionValues:
        rooms = []
        for room_id, name, boards in self.room_rows():
            try:
                ident = as_id(room_id.data) if room_id.data else None
            except ValueError:
                ident = -1  # not an id of this session's rooms: the service refuses the form
            rooms.append(services.RoomValues(ident, name.data or "", boards.data))
        return services.SessionValues(self.day.data, self.starts.data, self.ends.data, tuple(rooms))


def session_form(session: PosterSession | None = None, *, new: bool = False, fill: bool = False, **kwargs):
    """The form of one session: its day and times and a row per room, with ``BLANK_ROOM_ROWS`` empty
    rows to add rooms (a new session's form has a one-time token: sent twice, it adds one session).
    ``fill``: show the session as saved whatever the request sent (beside another form's errors)."""
    rooms = list(session.rooms) if session is not None else []
    count = max(FEWEST_ROOM_ROWS, len(rooms) + BLANK_ROOM_ROWS)

    class SessionForm(_SessionFormBase):
        pass

    for i in range(count):
        setattr(SessionForm, f"room_id_{i}", HiddenField())
        setattr(SessionForm, f"room_name_{i}", StringField(f"Name of room {i + 1}",
                                                           validators=[Length(max=services.ROOM_NAME_LENGTH)]))
        setattr(SessionForm, f"room_boards_{i}", IntegerField(f"Poster boards in room {i + 1}",
                                                              validators=[Optional(), NumberRange(*services.BOARDS)]))
    if new:
        SessionForm.form_token = FormTokenField()
    form = SessionForm(**kwargs)
    form.rows, form.rooms_errors = count, []
    if session is not None and (fill or not form.is_submitted()):
        zone = session.cohort.zone
        form.day.data = session.starts_at.astimezone(zone).date()
        form.starts.data = session.starts_at.astimezone(zone).time()
        form.ends.data = session.ends_at.astimezone(zone).time()
        for i, room in enumerate(rooms):
            form[f"room_id_{i}"].data = str(room.id)
            form[f"room_name_{i}"].data = room.name
            form[f"room_boards_{i}"].data = room.boards
    return form


class RemoveSessionForm(FlaskForm):
    confirm = BooleanField("Yes, remove this session, its rooms and everyone's answers for it",
                           validators=[DataRequired("Tick the box to confirm the removal.")])


STAFF_CHOICES = [SelectChoice(availability.AVAILABLE, "I can come"), SelectChoice(IF_NEEDED, "Only if needed"),
                 SelectChoice(UNAVAILABLE, "I cannot come")]
STUDENT_CHOICES = [SelectChoice("can", "I can come"), SelectChoice("cannot", "I cannot come")]


def availability_form(sessions: list[PosterSession], answers: dict, *, student: bool, **kwargs):
    """One choice per session (``s<id>``), and for a student a reason per session (``reason_<id>``),
    filled from the person's answers unless the form was sent."""

    class AvailabilityForm(FlaskForm):
        pass

    for s in sessions:
        setattr(AvailabilityForm, f"s{s.id}", RadioField(
            "Your answer", choices=STUDENT_CHOICES if student else STAFF_CHOICES,
            validators=[InputRequired("Choose an answer for this session.")]))
        if student:
            setattr(AvailabilityForm, f"reason_{s.id}", TextAreaField(
                "Why you cannot come", validators=[Length(max=availability.REASON_LENGTH)], render_kw={"rows": 3},
                description="Required when you cannot come: the coordinator accepts or refuses your reason."))
    form = AvailabilityForm(**kwargs)
    if not form.is_submitted():
        for s in sessions:
            row = answers.get(s.id)
            if student:
                form[f"s{s.id}"].data = "cannot" if row is not None else "can"
                form[f"reason_{s.id}"].data = row.reason if row is not None else ""
            else:
                form[f"s{s.id}"].data = row.kind if row is not None else availability.AVAILABLE
    form.sessions = sessions
    return form


def staff_answers(form) -> dict[int, str]:
    return {s.id: form[f"s{s.id}"].data for s in form.sessions}


def student_answers(form) -> dict[int, availability.StudentAnswer]:
    return {s.id: availability.StudentAnswer(form[f"s{s.id}"].data == "cannot", form[f"reason_{s.id}"].data or "")
            for s in form.sessions}


class DecisionForm(FlaskForm):
    note = StringField("Note to the student (optional)", validators=[Length(max=availability.REASON_LENGTH)])
    accept = SubmitField("Accept")
    refuse = SubmitField("Refuse")


# --- schedules -------------------------------------------------------------------------------------

class StartScheduleForm(FlaskForm):
    """Make a schedule from the sessions, posters and answers as they are now."""

    seconds = SelectField("Search for up to", coerce=int, default=30, choices=[
        SelectChoice(5, "5 seconds"), SelectChoice(10, "10 seconds"), SelectChoice(30, "30 seconds"),
        SelectChoice(60, "1 minute"), SelectChoice(120, "2 minutes")],
        description="It stops earlier when it proves its schedule the best. Longer searches bring assessors in on "
                    "fewer days at a faculty's scale.")


class PublishScheduleForm(FlaskForm):
    """Publish a schedule: students and assessors are told their slots."""


def _id_or_none(value):
    return None if value in ("", None) else as_id(value)


class ChangeForm(FlaskForm):
    """Move a poster to a slot of a room (``target``: ``<room id>-<slot number>``) or swap it with
    another poster's place (``other``)."""

    student = SelectField("Poster of", coerce=as_id, validators=[InputRequired()])
    action = RadioField("Change", choices=[SelectChoice("move", "Move it to a slot"),
                                           SelectChoice("swap", "Swap it with another poster's place")],
                        default="move", validators=[InputRequired()])
    target = SelectField("To", validate_choice=True, description="The board is the first free one in that room "
                                                                 "(the same board when it stays in its room).")
    other = SelectField("Swap with", coerce=_id_or_none)

    def validate_target(self, field) -> None:
        if self.action.data == "move" and not field.data:
            raise ValidationError("Choose the room and time to move the poster to.")

    def validate_other(self, field) -> None:
        if self.action.data == "swap" and field.data is None:
            raise ValidationError("Choose the poster to swap with.")


def change_form(review, zone, slot_minutes: int, **kwargs) -> ChangeForm:
    """The change form of a schedule's review: every poster of its input, and every room and slot."""
    form = ChangeForm(**kwargs)
    names = {e.slot.student_id: e.slot.student.name for e in review.entries}
    names |= {sid: name for sid, name in review.unplaced_names.items()}
    posters = sorted(names.items(), key=lambda item: (item[1].lower(), item[0]))
    form.student.choices = [SelectChoice(sid, name) for sid, name in posters]
    form.other.choices = [SelectChoice("", "Choose a poster")] + [
        SelectChoice(e.slot.student_id, f"{e.slot.student.name} ({e.slot.starts_at.astimezone(zone):%a %d %b %H:%M}, "
                                        f"{e.slot.room.name}, board {e.slot.board})")
        for e in sorted(review.entries, key=lambda e: (e.slot.student.name.lower(), e.slot.student_id))]
    form.target.choices = [SelectChoice("", "Choose a room and time")] + [
        SelectChoice(f"{room.id}-{k}", f"{t.astimezone(zone):%a %d %b %H:%M}, {room.name}")
        for session in review.sessions for k, t in enumerate(review.times(session)) for room in session.rooms]
    return form


# --- panel members ---------------------------------------------------------------------------------

class PanelMemberForm(FlaskForm):
    """Add a member of staff to a student's poster panel."""

    student = IdChoiceField("Poster of", what="student",
                            validators=[InputRequired("Choose the student whose poster they assess.")])
    member = IdChoiceField("Member of staff", what="member of staff",
                           validators=[InputRequired("Choose the member of staff who joins the panel.")],
                           description="They assess the poster together with its supervisor and second marker.")


def panel_member_form(students: list[tuple[int, str]], staff: list[tuple[int, str]], **kwargs) -> PanelMemberForm:
    form = PanelMemberForm(**kwargs)
    form.student.choices = [SelectChoice("", "Choose a student")] + [SelectChoice(i, label) for i, label in students]
    form.member.choices = [SelectChoice("", "Choose a member of staff")] + [SelectChoice(i, name) for i, name in staff]
    return form


class RemovePanelMemberForm(FlaskForm):
    """Take a member of staff off a poster panel (the button beside their name)."""
