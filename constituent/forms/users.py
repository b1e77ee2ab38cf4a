"""The admin's form for a new staff account."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from constituent.forms import choices, limit
from constituent.models import Role


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewUserForm(FlaskForm):
    """Email, name, role, districts and the mail triage grant; the password is generated."""

    email = StringField("Email", validators=[InputRequired("Enter the email."), limit(254)])
    full_name = StringField("Full name", validators=[InputRequired("Enter the name."), limit(120)])
    role = SelectField(
        "Role", choices=choices((r.value, r.label) for r in Role), validators=[InputRequired()]
    )
    districts = CheckboxesField("Districts", coerce=str, choices=[])
    mail_triage = BooleanField("Mail triage: may work the unfiled-mail queue (caseworkers)")
