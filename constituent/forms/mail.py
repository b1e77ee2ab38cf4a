"""Forms of the Incoming mail pages: upload, file onto a case, open a new case."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from constituent.models import Channel, Priority
from constituent.services.constituents import LIMITS
from constituent.services.intake import MAX_SUBJECT, CallDetails

MAX_FILES = 200


def limit(n: int) -> Length:
    """A length limit whose message names the limit."""
    return Length(max=n, message=f"Use at most {n:,} characters.")


MAX_ID = 2**31 - 1  # any record id; larger numbers would overflow the database's integer


def optional_int(value: object) -> int | None:
    """A select's value as an id; '', junk and impossible numbers become None (the service
    then says what is missing)."""
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number <= MAX_ID else None


class UploadForm(FlaskForm):
    """One or several saved messages (.eml, or an mbox of many)."""

    files = MultipleFileField(
        "Saved messages",
        render_kw={"accept": ".eml,.mbox,message/rfc822,application/mbox", "multiple": True},
    )

    def chosen(self) -> list:  # type: ignore[type-arg]
        """The uploaded files that have a name (browsers send an empty part for none)."""
        return [f for f in (self.files.data or []) if f and getattr(f, "filename", "")]

    def validate_files(self, field: MultipleFileField) -> None:
        """At least one file, and not more than a browser upload should carry."""
        chosen = self.chosen()
        if not chosen:
            raise ValidationError("Choose one or more saved messages (.eml files or an mbox).")
        if len(chosen) > MAX_FILES:
            raise ValidationError(f"Upload at most {MAX_FILES} files at a time, or ask the "
                                  "office IT staff to run `flask mail import` on the folder.")


class FileMessageForm(FlaskForm):
    """File a queued message onto a case by its number."""

    case_number = StringField(
        "Case number",
        validators=[DataRequired("Type the case number, such as 1042."), limit(40)],
        render_kw={"autocomplete": "off", "inputmode": "text", "maxlength": 40},
    )


class NewCaseForm(FlaskForm):
    """Open a new case from a queued message: who it is about, and what it is."""

    constituent_id = StringField("Constituent", validators=[Optional(), limit(20)])
    first_name = StringField("First name", validators=[limit(LIMITS["first_name"])],
                             render_kw={"autocomplete": "off"})
    last_name = StringField("Last name", validators=[limit(LIMITS["last_name"])],
                            render_kw={"autocomplete": "off"})
    email = StringField("Email", validators=[limit(LIMITS["email"])],
                        render_kw={"autocomplete": "off", "inputmode": "email"})
    street = StringField("Street address", validators=[limit(LIMITS["street"])],
                         render_kw={"autocomplete": "off"})
    city = StringField("City", validators=[limit(LIMITS["city"])],
                       render_kw={"autocomplete": "off"})
    zip5 = StringField("ZIP", validators=[
        Optional(), Regexp(r"^\d{5}$", message="Enter a ZIP code of five digits, like 12901.")],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "maxlength": 10})
    zip_confirmed = BooleanField("This ZIP is right (flag the constituent out of district)")
    district_id = SelectField("District", coerce=optional_int, validate_choice=False,
                              choices=[])
    category_id = SelectField("Category", coerce=optional_int, validate_choice=False,
                              choices=[])
    subject = StringField("Subject", validators=[limit(MAX_SUBJECT)])
    priority = SelectField("Priority", choices=[SelectChoice(p.value, p.label) for p in Priority],
                           default=Priority.ROUTINE.value)
    confidential = BooleanField("Confidential (only supervisors and the assignee see it)")
    release_needed = BooleanField("Privacy release needed (an agency will be contacted)")

    def details(self) -> CallDetails:
        """The submitted values as the intake service's plain dataclass (channel: email)."""
        return CallDetails(
            constituent_id=optional_int((self.constituent_id.data or "").strip()),
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            email=self.email.data or "",
            street=self.street.data or "",
            city=self.city.data or "",
            zip5=(self.zip5.data or "").strip(),
            zip_confirmed=bool(self.zip_confirmed.data),
            district_id=self.district_id.data,
            category_id=self.category_id.data,
            subject=self.subject.data or "",
            channel=Channel.EMAIL.value,
            priority=self.priority.data or "",
            confidential=bool(self.confidential.data),
            release_needed=bool(self.release_needed.data),
        )
