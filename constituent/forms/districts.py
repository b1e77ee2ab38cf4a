"""The admin upload of a ZIP → district table."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField

from constituent.forms import limit


class ZipUploadForm(FlaskForm):
    """A zccd.csv-format file, optional states, and whether this is a dry run."""

    file = FileField(
        "ZIP table (CSV: state_fips, state_abbr, zcta, cd)",
        validators=[FileRequired("Choose the CSV file to import.")],
    )
    states = StringField("Only these states (comma-separated, e.g. NY,VT)", validators=[limit(200)])
    dry_run = BooleanField("Dry run: show what would change, save nothing", default=True)
