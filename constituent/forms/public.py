"""The public help form (/help), in English and Spanish: every label and message goes through
the catalog (lazy, so each request reads its own language)."""

from __future__ import annotations

from typing import Any

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
    what_happened = TextAreaField(
        _l("What happened?"),
        validators=[needed("what_happened"), most(LIMITS["what_happened"])],
        render_kw={"rows": 6, "maxlength": LIMITS["what_happened"]},
    )
    tried = TextAreaField(
        _l("What have you already tried? (if anything)"),
        validators=[most(LIMITS["tried"])],
        render_kw={"rows": 4, "maxlength": LIMITS["tried"]},
    )
    first_name = StringField(
        _l("First name"),
        validators=[needed("first_name"), most(LIMITS["first_name"])],
        render_kw={"autocomplete": "given-name", "maxlength": LIMITS["first_name"]},
    )
    last_name = StringField(
        _l("Last name"),
        validators=[needed("last_name"), most(LIMITS["last_name"])],
        render_kw={"autocomplete": "family-name", "maxlength": LIMITS["last_name"]},
    )
    address_line1 = StringField(
        _l("Street address"),
        validators=[needed("address_line1"), most(LIMITS["address_line1"])],
        render_kw={"autocomplete": "address-line1", "maxlength": LIMITS["address_line1"]},
    )
    address_line2 = StringField(
        _l("Apartment, unit or floor (if any)"),
        validators=[most(LIMITS["address_line2"])],
        render_kw={"autocomplete": "address-line2", "maxlength": LIMITS["address_line2"]},
    )
    city = StringField(
        _l("City or town"),
        validators=[needed("city"), most(LIMITS["city"])],
        render_kw={"autocomplete": "address-level2", "maxlength": LIMITS["city"]},
    )
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
    phone = StringField(
        _l("Phone number"),
        validators=[most(LIMITS["phone"])],
        render_kw={"autocomplete": "tel", "inputmode": "tel", "maxlength": LIMITS["phone"]},
    )
    email = StringField(
        _l("Email address"),
        validators=[most(LIMITS["email"])],
        render_kw={"autocomplete": "email", "inputmode": "email", "maxlength": LIMITS["email"]},
    )
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
    contact_times = StringField(
        _l("When is a good time to reach you? (if it matters)"),
        validators=[most(LIMITS["contact_times"])],
        render_kw={"maxlength": LIMITS["contact_times"]},
    )
    claim_number = StringField(
        _l("Claim or case number"),
        validators=[most(LIMITS["claim_number"])],
        render_kw={"autocomplete": "off", "maxlength": LIMITS["claim_number"]},
    )
    a_number = StringField(
        _l("A-number (Alien Registration Number)"),
        validators=[most(LIMITS["a_number"])],
        render_kw={"autocomplete": "off", "maxlength": LIMITS["a_number"]},
    )
    ssn_last4 = StringField(
        _l("Last 4 numbers of your Social Security number"),
        validators=[most(LIMITS["ssn_last4"])],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "maxlength": 4},
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
    signed_name = StringField(
        _l("Type your full name to sign"),
        validators=[most(LIMITS["signed_name"])],
        render_kw={"autocomplete": "name", "maxlength": LIMITS["signed_name"]},
    )
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
