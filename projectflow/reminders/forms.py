"""The message-preferences form, built for one person from the kinds of message that concern them."""

from __future__ import annotations

from wtforms import RadioField, SelectChoice
from wtforms.validators import ValidationError

from ..core.forms import FlaskForm
from .kinds import CHANNEL_LABELS, KINDS, Kind
from .models import CHANNELS, IN_APP

# Who receives which kinds (Kind.audience), by the roles a person holds. A coordinator also marks and
# supervises in most departments, so they see the staff kinds too; "everyone" kinds concern every role.
AUDIENCES_OF_ROLE = {"student": {"students"}, "staff": {"markers", "supervisors"},
                     "coordinator": {"markers", "supervisors", "coordinators"}, "admin": set()}


def kinds_for(user) -> list[Kind]:
    """The kinds of message that may reach ``user``, in the order of ``KINDS``."""
    audiences = {"everyone"}.union(*(AUDIENCES_OF_ROLE.get(r, set()) for r in user.roles))
    return [k for k in KINDS.values() if k.audience in audiences]


def _allowed(kind: Kind):
    def check(form, field) -> None:
        if field.data not in CHANNELS:
            raise ValidationError("Choose one of the ways offered for these messages.")
        if field.data == IN_APP and kind.critical:
            raise ValidationError("These messages are about deadlines, so they always reach your inbox: "
                                  "choose e-mail or your digest.")
        if field.data not in kind.channels:
            raise ValidationError("Choose one of the ways offered for these messages.")
    return check


class _PreferencesForm(FlaskForm):
    pass


def preferences_form(kinds: list[Kind], current: dict[str, str], **kwargs) -> FlaskForm:
    """One radio group per kind (named by the kind's key), set to ``current`` (kind -> channel)."""

    class PreferencesForm(_PreferencesForm):
        pass

    for kind in kinds:
        setattr(PreferencesForm, kind.key, RadioField(
            kind.label, choices=[SelectChoice(c, CHANNEL_LABELS[c]) for c in kind.channels], default=current[kind.key],
            validate_choice=False, validators=[_allowed(kind)],
            description=("About a deadline: it always reaches your inbox, on its own or in your digest (on its "
                         "own when the digest would come too late), so it cannot be in the app only."
                         if kind.critical else "")))
    form = PreferencesForm(**kwargs)
    form.kinds = kinds
    return form
