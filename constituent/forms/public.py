"""The public help form (/help), in English and Spanish: every label and message goes through
the catalog (lazy, so each request reads its own language)."""

from __future__ import annotations

from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional, Regexp

from constituent.forms import choices, optional_int
from constituent.models import IdentifierKind, PreferredContact
from constituent.services.addresses import ZIP_INPUT_RE
from constituent.services.online_requests import (
    LIMITS,
    MESSAGES,
    HelpRequest,
    Signature,
)

STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI"
).split()


def most(n: int) -> Length:
    """A length limit whose message names the limit, in the resident's language."""
    return Length(max=n, message=_l("Use at most %(n)s characters.", n=f"{n:,}"))


def needed(key: str) -> InputRequired:
    return InputRequired(message=_l(MESSAGES[key]))


def limited(
    label: LazyString,
    key: str,
    *,
    required: bool = False,
    field: type[StringField] = StringField,
    **attrs: object,
) -> StringField:
    """A field the resident types, kept to the service's ``LIMITS[key]`` characters here and
    in the browser (``maxlength``); ``required`` when the service refuses it empty."""
    validators = [needed(key), most(LIMITS[key])] if required else [most(LIMITS[key])]
    return field(label, validators=validators, render_kw={**attrs, "maxlength": LIMITS[key]})


class HelpForm(FlaskForm):
    """One page, in sections: the problem, the resident, how to reach them, the release."""

    agency_id = SelectField(
        _l("Which agency is it? (if you know)"),
        coerce=optional_int,
        validate_choice=False,
        choices=[],
    )
    agency_named = StringField(
        _l("Or write the name of the agency or office"),
        validators=[most(LIMITS["agency_named"])],
    )
    what_happened = limited(
        _l("What happened?"), "what_happened", required=True, rows=6, field=TextAreaField
    )
    tried = limited(
        _l("What have you already tried? (if anything)"), "tried", rows=4, field=TextAreaField
    )
    first_name = limited(_l("First name"), "first_name", required=True, autocomplete="given-name")
    last_name = limited(_l("Last name"), "last_name", required=True, autocomplete="family-name")
    address_line1 = limited(
        _l("Street address"),
        "address_line1",
        required=True,
        autocomplete="address-line1",
    )
    address_line2 = limited(
        _l("Apartment, unit or floor (if any)"),
        "address_line2",
        autocomplete="address-line2",
    )
    city = limited(_l("City or town"), "city", required=True, autocomplete="address-level2")
    state = SelectField(
        _l("State"),
        choices=choices([("", "-")] + [(s, s) for s in STATES]),
        validators=[needed("state"), AnyOf(STATES, message=_l(MESSAGES["state"]))],
        validate_choice=False,
        render_kw={"autocomplete": "address-level1"},
    )
    zip_code = StringField(
        _l("ZIP code"),
        validators=[needed("zip_code"), Regexp(ZIP_INPUT_RE, message=_l(MESSAGES["zip_code"]))],
        render_kw={
            "autocomplete": "postal-code",
            "inputmode": "numeric",
            "maxlength": LIMITS["zip_code"],
        },
    )
    phone = limited(_l("Phone number"), "phone", autocomplete="tel", inputmode="tel")
    email = limited(_l("Email address"), "email", autocomplete="email", inputmode="email")
    preferred_contact = RadioField(
        _l("How should we contact you?"),
        choices=choices(
            [
                (PreferredContact.PHONE.value, _l("Phone")),
                (PreferredContact.EMAIL.value, _l("Email")),
                (PreferredContact.MAIL.value, _l("Mail (a letter)")),
            ]
        ),
        validators=[needed("preferred_contact")],
        validate_choice=False,
    )
    contact_times = limited(
        _l("When is a good time to reach you? (if it matters)"), "contact_times"
    )
    claim_number = limited(_l("Claim or case number"), "claim_number", autocomplete="off")
    a_number = limited(_l("A-number (Alien Registration Number)"), "a_number", autocomplete="off")
    ssn_last4 = limited(
        _l("Last 4 numbers of your Social Security number"),
        "ssn_last4",
        autocomplete="off",
        inputmode="numeric",
    )
    release_version = HiddenField(validators=[Optional(), Length(max=12)])
    attest = BooleanField(
        _l(
            "I am the person named on this form. I know that giving false information to get "
            "someone else's records is a crime."
        )
    )
    consent = BooleanField(
        _l("I agree to the release above, and I sign it by typing my name below.")
    )
    signed_name = limited(_l("Type your full name to sign"), "signed_name", autocomplete="name")
    # A field people never see: a bot that fills it is refused without being told.
    website = StringField(
        _l("Leave this empty"),
        validators=[Length(max=200)],
        render_kw={"autocomplete": "off", "tabindex": "-1"},
    )
    started = HiddenField(validators=[Length(max=200)])

    def offer_agencies(self, agencies: list[Any]) -> None:
        self.agency_id.choices = choices(
            [("", _l("I don't know, or it is not in this list"))]
            + [(a.id, a.name) for a in agencies]
        )

    def details(
        self, *, category_id: int, language: str, address: str, form_key: str | None = None
    ) -> HelpRequest:
        """The submitted values as the service's plain dataclass."""
        return HelpRequest(
            category_id=category_id,
            agency_id=self.agency_id.data,
            agency_named=self.agency_named.data or "",
            what_happened=self.what_happened.data or "",
            tried=self.tried.data or "",
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            address_line1=self.address_line1.data or "",
            address_line2=self.address_line2.data or "",
            city=self.city.data or "",
            state=self.state.data or "",
            zip_code=(self.zip_code.data or "").strip(),
            phone=self.phone.data or "",
            email=self.email.data or "",
            preferred_contact=self.preferred_contact.data or "",
            contact_times=self.contact_times.data or "",
            identifiers={
                kind.value: getattr(self, kind.value).data or "" for kind in IdentifierKind
            },
            signature=Signature(
                version_id=optional_int((self.release_version.data or "").strip()),
                attested=bool(self.attest.data),
                consented=bool(self.consent.data),
                signed_name=self.signed_name.data or "",
            ),
            language=language,
            submitted_from=address,
            form_key=form_key,
        )
