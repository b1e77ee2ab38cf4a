"""The admin upload of a ZIP → district table."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField
from wtforms.validators import InputRequired

from constituent.forms import limit


class ZipUploadForm(FlaskForm):
    """A zccd.csv-format file, optional states, and whether this is a dry run."""

    file = FileField(
        "ZIP table (CSV: state_fips, state_abbr, zcta, cd)",
        validators=[FileRequired("Choose the CSV file to import.")],
    )
    states = StringField("Only these states (comma-separated, e.g. NY,VT)", validators=[limit(200)])
    dry_run = BooleanField("Dry run: show what would change, save nothing", default=True)


class DistrictForm(FlaskForm):
    """A district the office serves: any geography."""

    code = StringField(
        "Code (e.g. AL-04, WY-AL, NY-SD45)",
        validators=[InputRequired("Enter the district's code."), limit(16)],
    )
    name = StringField("Name", validators=[limit(120)])
    state = StringField("State (two letters; default: the code's prefix)", validators=[limit(2)])
    legislator_name = StringField("Legislator shown on letters", validators=[limit(120)])


class DistrictEditForm(FlaskForm):
    """A district's name and legislator."""

    name = StringField("Name", validators=[InputRequired("Enter the name."), limit(120)])
    legislator_name = StringField("Legislator shown on letters", validators=[limit(120)])


class ZipAddForm(FlaskForm):
    """One ZIP → district row (territories, PO boxes, new ZIPs)."""

    zip5 = StringField("ZIP", validators=[InputRequired("Enter the five-digit ZIP."), limit(5)])
    district = StringField(
        "District code", validators=[InputRequired("Enter the district's code."), limit(16)]
    )
