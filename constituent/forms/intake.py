"""The log-a-call form: the caller (new or found), the district and the concern."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional, Regexp

from constituent.forms import Marked, OneTimeKey, choices, limit, optional_int
from constituent.forms.constituents import district_choice
from constituent.models import Channel, Priority
from constituent.services.addresses import ZIP_INPUT_RE, ZIP_MESSAGE
from constituent.services.constituents import LIMITS, OUTSIDE_DISTRICT
from constituent.services.intake import (
    MAX_DESCRIPTION,
    MAX_SUBJECT,
    CallDetails,
    DistrictQuestion,
)


class NewCaseFields(OneTimeKey, FlaskForm):
    """Who a new case is about (found or new) and what it is: shared by the log-a-call form
    and by opening a case from an email. Name, email, street and ZIP double as look-ups."""

    constituent_id = StringField("Constituent", validators=[Optional(), limit(20)])
    first_name = StringField(
        "First name",
        validators=[Marked(), limit(LIMITS["first_name"])],
        render_kw={"autocomplete": "off"},
    )
    last_name = StringField(
        "Last name",
        validators=[Marked(), limit(LIMITS["last_name"])],
        render_kw={"autocomplete": "off"},
    )
    email = StringField(
        "Email",
        validators=[limit(LIMITS["email"])],
        render_kw={"autocomplete": "off", "inputmode": "email"},
    )
    street = StringField(
        "Street address", validators=[limit(LIMITS["street"])], render_kw={"autocomplete": "off"}
    )
    street2 = StringField(
        "Apartment, suite, unit",
        validators=[limit(LIMITS["street2"])],
        render_kw={"autocomplete": "off"},
    )
    city = StringField(
        "City", validators=[limit(LIMITS["city"])], render_kw={"autocomplete": "off"}
    )
    state = StringField(
        "State",
        validators=[limit(LIMITS["state"])],
        render_kw={"autocomplete": "off", "maxlength": 2, "size": 2},
    )
    zip5 = StringField(
        "ZIP or ZIP+4",
        validators=[Optional(), Regexp(ZIP_INPUT_RE, message=ZIP_MESSAGE)],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "maxlength": 10},
    )
    zip_confirmed = BooleanField("This ZIP is right (flag the constituent out of district)")
    district_id = SelectField("District", coerce=district_choice, validate_choice=False, choices=[])
    category_id = SelectField(
        "Category", coerce=optional_int, validate_choice=False, choices=[], validators=[Marked()]
    )
    subject = StringField("Subject", validators=[Marked(), limit(MAX_SUBJECT)])
    priority = SelectField(
        "Priority",
        choices=choices((p.value, p.label) for p in Priority),
        default=Priority.ROUTINE.value,
    )
    confidential = BooleanField("Confidential (only supervisors and the assignee see it)")
    release_needed = BooleanField("Privacy release needed (an agency will be contacted)")

    def ask_district(self, question: DistrictQuestion) -> None:
        """Offer the district choices the question asks for (and "outside" when it may be)."""
        outside = (
            [(OUTSIDE_DISTRICT, "Outside this office's districts")]
            if question.outside_choice
            else []
        )
        self.district_id.choices = choices(
            [("", "Choose a district")]
            + [(d.id, f"{d.code} · {d.name}") for d in question.options]
            + outside
        )
        self.district_id.label.text = question.label
        self.district_id.flags.required = bool(question.options)  # shown only to be answered

    def details(self) -> CallDetails:
        """The submitted values as the intake service's plain dataclass (per subclass)."""
        raise NotImplementedError

    def call_details(self, *, channel: str, phone: str = "", description: str = "") -> CallDetails:
        """The submitted values, with what the subclass adds, as the intake service's
        plain dataclass."""
        return CallDetails(
            constituent_id=optional_int((self.constituent_id.data or "").strip()),
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            phone=phone,
            email=self.email.data or "",
            street=self.street.data or "",
            street2=self.street2.data or "",
            city=self.city.data or "",
            state=self.state.data or "",
            zip5=(self.zip5.data or "").strip(),
            zip_confirmed=bool(self.zip_confirmed.data),
            district_id=self.district_id.data,
            category_id=self.category_id.data,
            subject=self.subject.data or "",
            description=description,
            channel=channel,
            priority=self.priority.data or "",
            confidential=bool(self.confidential.data),
            release_needed=bool(self.release_needed.data),
        )


class IntakeForm(NewCaseFields):
    """Log a call: the shared fields, with the caller's phone, what they said and how."""

    phone = StringField(
        "Phone",
        validators=[limit(LIMITS["phone"])],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    description = TextAreaField(
        "What the caller said", validators=[limit(MAX_DESCRIPTION)], render_kw={"rows": 4}
    )
    channel = SelectField(
        "Channel", choices=choices((c.value, c.label) for c in Channel), default=Channel.PHONE.value
    )

    def details(self) -> CallDetails:
        """The submitted call as the service's plain dataclass."""
        return self.call_details(
            channel=self.channel.data or "",
            phone=self.phone.data or "",
            description=self.description.data or "",
        )
