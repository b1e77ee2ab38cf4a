"""Forms of the Incoming mail pages: upload, file onto a case, open a new case."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import StringField
from wtforms.validators import DataRequired, ValidationError

from constituent.forms import limit
from constituent.forms.intake import NewCaseFields
from constituent.models import Channel
from constituent.services.intake import CallDetails

MAX_FILES = 200


class UploadForm(FlaskForm):
    """One or several saved messages (.eml, or an mbox of many)."""

    files = MultipleFileField(
        "Saved messages",
        render_kw={"accept": ".eml,.mbox,message/rfc822,application/mbox", "multiple": True},
    )

    def chosen(self) -> list[Any]:
        """The uploaded files that have a name (browsers send an empty part for none)."""
        return [f for f in (self.files.data or []) if f and getattr(f, "filename", "")]

    def validate_files(self, field: MultipleFileField) -> None:
        """At least one file, and not more than a browser upload should carry."""
        chosen = self.chosen()
        if not chosen:
            raise ValidationError("Choose one or more saved messages (.eml files or an mbox).")
        if len(chosen) > MAX_FILES:
            raise ValidationError(
                f"Upload at most {MAX_FILES} files at a time, or ask the "
                "office IT staff to run `flask mail import` on the folder."
            )


class FileMessageForm(FlaskForm):
    """File a queued message onto a case by its number."""

    case_number = StringField(
        "Case number",
        validators=[DataRequired("Type the case number, such as 1042."), limit(40)],
        render_kw={"autocomplete": "off", "inputmode": "text", "maxlength": 40},
    )


class NewCaseForm(NewCaseFields):
    """Open a new case from a queued message: who it is about, and what it is."""

    def details(self) -> CallDetails:
        """The submitted values as the intake service's plain dataclass (channel: email)."""
        return self.call_details(channel=Channel.EMAIL.value)
