"""Filter forms of the auditor console (GET forms: no CSRF token, nothing changes)."""

from __future__ import annotations

from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from app.certificates.models import KINDS, STATUS_LABELS
from app.core.audit import action_labels
from app.core.forms import PortalForm, choices
from app.organisations.models import NATIONS

REGISTER_SORTS = {
    "issued": "Issued (newest first)",
    "issued_asc": "Issued (oldest first)",
    "expires": "Expires (soonest first)",
    "serial": "Serial",
    "organisation": "Organisation",
}


class _GetForm(PortalForm):
    class Meta:
        csrf = False

    def validate_to(self, field):
        start = getattr(self, "start", None)
        if start is not None and start.data and field.data and field.data < start.data:
            raise ValidationError("The end date is before the start date; swap them.")


def _dates(label: str):
    return (
        DateField(f"{label} from", validators=[Optional()], format="%Y-%m-%d"),
        DateField(f"{label} to", validators=[Optional()], format="%Y-%m-%d"),
    )


class RegisterFilterForm(_GetForm):
    q = StringField(
        "Search serial, organisation or person",
        validators=[Optional(), Length(max=200, message="Use at most 200 characters.")],
    )
    status = SelectField(
        "Status",
        choices=choices(("", "Any status"), *STATUS_LABELS.items()),
        validators=[Optional()],
    )
    kind = SelectField(
        "Type", choices=choices(("", "Any type"), *KINDS.items()), validators=[Optional()]
    )
    nation = SelectField(
        "Nation or region",
        choices=choices(("", "Anywhere"), *NATIONS.items()),
        validators=[Optional()],
    )
    start, to = _dates("Issued")
    sort = SelectField("Sort by", choices=choices(*REGISTER_SORTS.items()), validators=[Optional()])


class EventFilterForm(_GetForm):
    organisation = StringField(
        "Organisation name",
        validators=[Optional(), Length(max=200, message="Use at most 200 characters.")],
    )
    actor = StringField(
        "Who (email)",
        validators=[Optional(), Length(max=254, message="Use at most 254 characters.")],
    )
    action = SelectField("What", validators=[Optional()])
    start, to = _dates("Date")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form: the areas register their actions when the app is created.
        by_words = sorted(action_labels().items(), key=lambda item: item[1])
        self.action.choices = choices(("", "Any action"), *by_words)
