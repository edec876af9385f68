"""Form helpers shared by every area."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.errors import ServiceError


def attach_error(form: FlaskForm, error: ServiceError) -> None:
    """Show a service's refusal next to the field at fault, or at the top of the form."""
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


def commit_or_refuse(action, success):
    """Run a button-style service call: commit and flash `success` (text, or a function of
    the result), or roll back and flash the service's refusal. Returns the result or None."""
    from flask import flash

    from app.extensions import db

    try:
        result = action()
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return None
    db.session.commit()
    flash(success(result) if callable(success) else success, "success")
    return result
