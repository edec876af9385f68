"""Notification forms: delivery choices per group, mark read, unsubscribe."""

from __future__ import annotations

from wtforms import RadioField, SubmitField

from app.core.forms import PortalForm, choices
from app.notifications.kinds import DELIVERY_LABELS, GROUPS


class MarkReadForm(PortalForm):
    submit = SubmitField("Mark as read")


class MarkAllReadForm(PortalForm):
    submit = SubmitField("Mark all as read")


class UnsubscribeForm(PortalForm):
    submit = SubmitField("Stop these emails")


def preferences_form(current: dict[str, str], formdata=None):
    """A form with one radio group per notification group, set to `current`."""

    class PreferencesForm(PortalForm):
        submit = SubmitField("Save my choices")

    for group in GROUPS:
        setattr(
            PreferencesForm,
            group.key,
            RadioField(
                group.label,
                description=group.hint,
                choices=choices(*((str(k), v) for k, v in DELIVERY_LABELS.items())),
                default=str(current[group.key]),
            ),
        )
    form = PreferencesForm(formdata=formdata) if formdata is not None else PreferencesForm()
    return form
