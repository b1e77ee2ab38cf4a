"""Forms of the agency directory: agencies, contacts, filters, routing rules, CSV import."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from constituent.forms import choices
from constituent.models import AgencyLevel

LEVEL_PAIRS = [(lv.value, lv.label) for lv in AgencyLevel]
LEVEL_CHOICES = choices(LEVEL_PAIRS)
STATUS_CHOICES = choices([("active", "Active"), ("inactive", "Inactive"), ("all", "All")])


def optional_int(value: object) -> int | None:
    """Coerce a select's value to int, with '' meaning none."""
    if value in (None, "", "None"):
        return None
    return int(value)  # type: ignore[call-overload]


class AgencyFilterForm(FlaskForm):
    """Search and filters of the directory list (a GET form)."""

    class Meta:
        csrf = False

    q = StringField("Search name, acronym or notes", validators=[Optional(), Length(max=100)])
    level = SelectField(
        "Level", choices=choices([("", "Any level"), *LEVEL_PAIRS]), validators=[Optional()]
    )
    category = SelectField("Category", coerce=optional_int, validators=[Optional()])
    status = SelectField(
        "Status", choices=STATUS_CHOICES, default="active", validators=[Optional()]
    )


# A number of days an agency or a rule waits for an answer.
DAYS = NumberRange(min=1, max=365, message="Enter a number from 1 to 365.")


class AgencyForm(FlaskForm):
    """Create or edit an agency."""

    name = StringField(
        "Name", validators=[DataRequired("Enter the agency's name."), Length(max=200)]
    )
    acronym = StringField("Acronym", validators=[Optional(), Length(max=20)])
    level = SelectField(
        "Level", choices=LEVEL_CHOICES, validators=[DataRequired("Choose a level.")]
    )
    category_ids = SelectMultipleField("Categories served", coerce=int, validators=[Optional()])
    expected_response_days = IntegerField(
        "Expected response days",
        validators=[InputRequired("Enter how many days the agency usually takes to answer."), DAYS],
        default=30,
    )
    website = URLField("Website", validators=[Optional(), Length(max=300)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])
    version = HiddenField(validators=[Optional(), Length(max=12)])


class ContactForm(FlaskForm):
    """Add or edit an agency contact."""

    name = StringField(
        "Name", validators=[DataRequired("Enter the contact's name."), Length(max=120)]
    )
    title = StringField("Title", validators=[Optional(), Length(max=120)])
    email = EmailField(
        "Email", validators=[Optional(), Length(max=254), Email("Enter a valid email address.")]
    )
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])


class RuleForm(FlaskForm):
    """Create or edit a routing rule."""

    category_id = SelectField(
        "Category", coerce=optional_int, validators=[InputRequired("Choose a category.")]
    )
    district_id = SelectField("District", coerce=optional_int, validators=[Optional()])
    agency_id = SelectField(
        "Agency", coerce=optional_int, validators=[InputRequired("Choose an agency.")]
    )
    contact_id = SelectField("Contact", coerce=optional_int, validators=[Optional()])
    follow_up_days = IntegerField("Follow-up days", validators=[Optional(), DAYS])


class RuleTryForm(FlaskForm):
    """Ask which rule a category and district would get (a GET form)."""

    class Meta:
        csrf = False

    try_category = SelectField("Category", coerce=optional_int, validators=[Optional()])
    try_district = SelectField("District", coerce=optional_int, validators=[Optional()])


class ImportForm(FlaskForm):
    """Upload a directory CSV."""

    file = FileField("Directory file (CSV)", validators=[FileRequired("Choose a CSV file.")])


class ConfirmForm(FlaskForm):
    """A button that changes something (CSRF only)."""
