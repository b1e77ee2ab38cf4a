"""Constituent forms: edit (with the version for optimistic locking), contacts, household,
merge."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, Regexp

from constituent.forms import choices, limit, optional_int
from constituent.models import ContactKind, ContactMethod
from constituent.services.addresses import ZIP_INPUT_RE, ZIP_MESSAGE
from constituent.services.constituents import LIMITS, OUTSIDE_DISTRICT, ConstituentData


def district_choice(value: object) -> int | None:
    """A district select's value: a district id, or "outside this office's districts"."""
    if str(value) == str(OUTSIDE_DISTRICT):
        return OUTSIDE_DISTRICT
    return optional_int(value)


class ConstituentForm(FlaskForm):
    """Edit a constituent's own fields; ``version`` is the one the form was loaded with."""

    version = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])
    first_name = StringField(
        "First name",
        validators=[DataRequired("Enter the first name."), limit(LIMITS["first_name"])],
    )
    middle_name = StringField("Middle name", validators=[limit(LIMITS["middle_name"])])
    last_name = StringField(
        "Last name", validators=[DataRequired("Enter the last name."), limit(LIMITS["last_name"])]
    )
    suffix = StringField("Suffix", validators=[limit(LIMITS["suffix"])])
    street = StringField("Street address", validators=[limit(LIMITS["street"])])
    street2 = StringField("Apartment, suite", validators=[limit(LIMITS["street2"])])
    city = StringField("City", validators=[limit(LIMITS["city"])])
    state = StringField("State", validators=[limit(LIMITS["state"])])
    zip5 = StringField(
        "ZIP or ZIP+4",
        validators=[Optional(), Regexp(ZIP_INPUT_RE, message=ZIP_MESSAGE)],
        render_kw={"inputmode": "numeric", "maxlength": 10},
    )
    district_id = SelectField("District", coerce=district_choice, validate_choice=False, choices=[])
    preferred_contact = SelectField(
        "Preferred contact",
        choices=choices(
            [("", "No preference")] + [(m.value, m.value.capitalize()) for m in ContactMethod]
        ),
    )
    language = StringField("Preferred language", validators=[limit(LIMITS["language"])])
    is_veteran = BooleanField("Veteran")
    is_senior = BooleanField("Senior")
    has_disability = BooleanField("Disability")
    do_not_contact = BooleanField("Do not contact")
    do_not_contact_reason = StringField(
        "Do-not-contact reason", validators=[limit(LIMITS["do_not_contact_reason"])]
    )
    notes = TextAreaField("Notes", validators=[limit(LIMITS["notes"])], render_kw={"rows": 3})

    def data_for_service(self) -> ConstituentData:
        """The submitted values as the service's plain dataclass."""
        return ConstituentData(
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            middle_name=self.middle_name.data or "",
            suffix=self.suffix.data or "",
            street=self.street.data or "",
            street2=self.street2.data or "",
            city=self.city.data or "",
            state=self.state.data or "",
            zip5=self.zip5.data or "",
            preferred_contact=self.preferred_contact.data or "",
            language=self.language.data or "",
            is_veteran=bool(self.is_veteran.data),
            is_senior=bool(self.is_senior.data),
            has_disability=bool(self.has_disability.data),
            do_not_contact=bool(self.do_not_contact.data),
            do_not_contact_reason=self.do_not_contact_reason.data or "",
            notes=self.notes.data or "",
        )


class ContactPointForm(FlaskForm):
    """Add a phone number or an email address."""

    kind = SelectField(
        "Kind", choices=choices((k.value, k.value.capitalize()) for k in ContactKind)
    )
    value = StringField(
        "Number or address",
        validators=[DataRequired("Enter the number or address."), limit(LIMITS["email"])],
    )
    label = StringField("Label (home, work, cell)", validators=[limit(LIMITS["contact_label"])])


class HouseholdForm(FlaskForm):
    """Add a household member."""

    name = StringField(
        "Name", validators=[DataRequired("Enter the name."), limit(LIMITS["household_name"])]
    )
    relationship = StringField("Relationship", validators=[limit(LIMITS["household_relationship"])])


class MergeForm(FlaskForm):
    """Pick the record to keep and the duplicate to merge into it."""

    kept = IntegerField(
        "Record to keep (number)",
        validators=[InputRequired("Enter the number of the record to keep."), NumberRange(min=1)],
    )
    duplicate = IntegerField(
        "Duplicate to merge into it (number)",
        validators=[InputRequired("Enter the number of the duplicate record."), NumberRange(min=1)],
    )
    confirm = BooleanField("I checked that these are the same person")


class RemoveForm(FlaskForm):
    """An empty form: the CSRF token of the remove buttons."""
