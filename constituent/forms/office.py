"""The admin Office page: every setting of the office."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired

from constituent.forms import CarriesVersion, choices, limit
from constituent.models import Body


class OfficeSettingsForm(CarriesVersion, FlaskForm):
    """Name, legislator, body, home state, office code, time zone, default area code."""

    name = StringField(
        "Office name", validators=[InputRequired("Enter the office's name."), limit(120)]
    )
    legislator_name = StringField(
        "Legislator's name",
        validators=[InputRequired("Enter the legislator's name."), limit(120)],
    )
    legislator_title = StringField("Title (e.g. Representative)", validators=[limit(60)])
    body = SelectField(
        "Body", choices=choices((b.value, b.label) for b in Body), validators=[InputRequired()]
    )
    state = StringField(
        "Home state (two-letter code)",
        validators=[InputRequired("Enter the home state, e.g. AL."), limit(2)],
    )
    office_code = StringField(
        "Office code (in case tags)",
        validators=[InputRequired("Enter the office code, e.g. AL04."), limit(8)],
    )
    timezone = StringField(
        "Time zone (e.g. America/Chicago)",
        validators=[InputRequired("Enter the office's time zone."), limit(64)],
    )
    default_area_code = StringField(
        "Default area code for 7-digit phone numbers (optional)", validators=[limit(3)]
    )
