"""Form helpers shared by every area."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import (
    DateTimeField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.boundary import refuse, refused
from app.core.errors import ServiceError
from app.core.inputs import MAX_ID, multi_line, single_line


def _storable_number(value):
    """A filter (WTForms records a filter's ValueError as the field's error)."""
    if isinstance(value, int) and not -MAX_ID <= value <= MAX_ID:
        raise ValueError("Enter a smaller number.")
    return value


# Dates a person can mean here; outside them date arithmetic (a day after 31 December 9999,
# an expiry three years on) overflows.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def _calendar_date(value):
    """A filter on date and date-time fields: a year from EARLIEST_YEAR to LATEST_YEAR."""
    if isinstance(value, date) and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"Enter a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}.")
    return value


class PortalForm(FlaskForm):
    """Every form of the portal: text is cleaned before validation, the same way for every
    field (see app.core.inputs) — single-line fields lose line breaks and control
    characters, multi-line text keeps its lines; whole numbers stay within what the
    databases can store; dates fall in the years 1900 to 2999. Passwords are taken exactly
    as typed."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if issubclass(field_class, TextAreaField):
                extra = (multi_line,)
            elif issubclass(field_class, PasswordField):
                extra = ()
            elif issubclass(field_class, StringField):
                extra = (single_line,)
            elif issubclass(field_class, IntegerField):
                extra = (_storable_number,)
            elif issubclass(field_class, DateTimeField):
                extra = (_calendar_date,)
            else:
                extra = ()
            if extra:
                options["filters"] = extra + tuple(unbound_field.kwargs.get("filters") or ())
            return super().bind_field(form, unbound_field, options)


def attach_error(form: FlaskForm, error: ServiceError) -> None:
    """Discard the request's changes and show the service's refusal next to the field at
    fault, or at the top of the form."""
    refuse()
    problems = getattr(error, "problems", None) or [(error.field, error.message)]
    for name, message in problems:
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            field.errors.append(message)
        else:
            form.form_errors.append(message)


class ConfirmForm(PortalForm):
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
