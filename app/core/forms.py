"""Form helpers shared by every area."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.boundary import refuse, refused
from app.core.errors import ServiceError


def attach_error(form: FlaskForm, error: ServiceError) -> None:
    """Discard the request's changes and show the service's refusal next to the field at
    fault, or at the top of the form."""
    refuse()
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)


class ConfirmForm(FlaskForm):
    """An empty form: a CSRF-protected button for actions without fields."""

    submit = SubmitField("Confirm")


def choices(*pairs: tuple[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def perform(action, success):
    """Run a button-style service call and flash `success` (text, or a function of the
    result), or discard its changes and flash the service's refusal. Returns the result or
    None. The request boundary commits."""
    from flask import flash

    try:
        result = action()
    except ServiceError as error:
        refused(error)
        return None
    flash(success(result) if callable(success) else success, "success")
    return result
