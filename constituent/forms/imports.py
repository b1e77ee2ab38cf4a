"""The admin upload of a caseload file (constituents or cases)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField

from constituent.forms import choices


class CaseloadUploadForm(FlaskForm):
    """Which layout, the CSV file, and whether this is a dry run."""

    kind = SelectField(
        "What the file holds",
        choices=choices([("constituents", "Constituents"), ("cases", "Cases")]),
    )
    file = FileField("CSV file", validators=[FileRequired("Choose the CSV file to import.")])
    dry_run = BooleanField("Dry run: check every row, save nothing", default=True)
