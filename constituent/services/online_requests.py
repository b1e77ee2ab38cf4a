"""Residents ask online: the public help form's rules. Which categories and agencies it
offers, which privacy-release wording the resident reads, and ``submit``, which checks a
request, keeps it (with its signed release and a rendered copy of it) and tells staff.

Intake staff review what lands here (services/online_review.py); nothing here opens a case.
Every refusal is a ``DomainError`` whose English message is also the msgid the public pages
translate (marked ``N_`` for the catalog), so a resident reads it in their own language.
"""

from __future__ import annotations

import io
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError

from constituent.extensions import db
from constituent.models import (
    Agency,
    Category,
    IdentifierKind,
    Language,
    OnlineRequest,
    PreferredContact,
    ReleaseTemplateVersion,
    User,
    utcnow,
)
from constituent.services import (
    addresses,
    constituents,
    notifications,
    permissions,
    release_templates,
    routing,
)
from constituent.services import districts as district_service
from constituent.services.errors import DomainError
from constituent.services.permissions import Capability
from constituent.services.uploads import FileKind, store_upload


def N_(message: str) -> str:
    """Marks a message for the catalog (gettext_noop): the view translates it when shown."""
    return message


# Length limits of the public form, the same as the columns (forms/public.py uses these).
LIMITS = {
    "agency_named": 200,
    "what_happened": 5000,
    "tried": 3000,
    "first_name": 80,
    "last_name": 80,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "state": 2,
    "zip_code": 10,
    "phone": 40,
    "email": 254,
    "contact_times": 200,
    "signed_name": 200,
    "claim_number": 30,
    "a_number": 12,
    "ssn_last4": 4,
}

# The shapes agency identifiers take; a resident is told the shape when one does not fit.
IDENTIFIER_SHAPES: dict[IdentifierKind, re.Pattern[str]] = {
    IdentifierKind.CLAIM_NUMBER: re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{2,28}[A-Za-z0-9]$"),
    IdentifierKind.A_NUMBER: re.compile(r"^[Aa]?-?(\d{3}-?\d{3}-?\d{3}|\d{8})$"),
    IdentifierKind.SSN_LAST4: re.compile(r"^\d{4}$"),
}
IDENTIFIER_MESSAGES = {
    IdentifierKind.CLAIM_NUMBER: N_(
        "Enter the claim or case number as it is on your letter: 4 to 30 letters and numbers."
    ),
    IdentifierKind.A_NUMBER: N_("Enter an A-number of 8 or 9 numbers, like A123456789."),
    IdentifierKind.SSN_LAST4: N_("Enter only the last 4 numbers of your Social Security number."),
}

MESSAGES = {
    "category": N_("This kind of help is not offered on this form anymore. Choose again."),
    "agency": N_("Choose an agency from the list, or leave it empty."),
    "what_happened": N_("Tell us what happened."),
    "first_name": N_("Enter your first name."),
    "last_name": N_("Enter your last name."),
    "address_line1": N_("Enter your street address."),
    "city": N_("Enter your city or town."),
    "state": N_("Choose your state."),
    "zip_code": N_("Enter a ZIP code of 5 numbers, or ZIP+4, like 35055 or 35055-1234."),
    "preferred_contact": N_("Choose how we should contact you."),
    "phone_needed": N_("Enter a phone number, or choose another way to contact you."),
    "email_needed": N_("Enter an email address, or choose another way to contact you."),
    "phone": N_("Enter a phone number that can be dialled, like (518) 555-0123."),
    "email": N_("Enter an email address with a name and a domain, like name@example.com."),
    "too_long": N_("This is too long."),
    "sign_all": N_(
        "To sign the release, tick both boxes and type your full name. Or leave all three "
        "empty to send your request without it."
    ),
    "name_match": N_("Type your full name the same way you wrote it above."),
    "release_changed": N_(
        "The release changed while you were on this page. Read the release below, then tick "
        "the boxes and type your name again."
    ),
    "release_gone": N_(
        "The release is no longer offered for this agency. You can send your request "
        "without it; our staff will send you a release to sign."
    ),
}

RELEASE_COPY = FileKind("text/html", "html")
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L or U to misread


@dataclass(frozen=True)
class ReleaseOffer:
    """The release wording a resident reads for the agency their request involves."""

    version: ReleaseTemplateVersion
    agencies: list[Agency]

    def text(self, language: str) -> str:
        return self.version.text_es if language == Language.SPANISH else self.version.text_en


@dataclass
class Signature:
    """What the resident did in the release section (all empty: they did not sign)."""

    version_id: int | None = None
    attested: bool = False
    consented: bool = False
    signed_name: str = ""

    @property
    def attempted(self) -> bool:
        return self.attested or self.consented or bool(self.signed_name.strip())


@dataclass
class HelpRequest:
    """A resident's request as plain values (forms/public.HelpForm builds it)."""

    category_id: int | None
    what_happened: str
    first_name: str
    last_name: str
    address_line1: str
    city: str
    state: str
    zip_code: str
    preferred_contact: str
    submitted_from: str
    language: str = Language.ENGLISH.value
    agency_id: int | None = None
    agency_named: str = ""
    tried: str = ""
    address_line2: str = ""
    phone: str = ""
    email: str = ""
    contact_times: str = ""
    identifiers: dict[str, str] = field(default_factory=dict)
    signature: Signature = field(default_factory=Signature)
    # The key of the form page it came from (one request per page drawn), if any.
    form_key: str | None = None


@dataclass(frozen=True)
class Submitted:
    """What the confirmation page may say: the reference, and whether staff must place the
    address themselves (a ZIP in no table). Nothing the resident typed."""

    request: OnlineRequest
    zip_unplaced: bool


# --- what the form offers ------------------------------------------------------------------


def public_categories() -> list[Category]:
    """The categories an admin marked public (and active), by name."""
    return list(
        db.session.scalars(
            sa.select(Category)
            .where(Category.public.is_(True), Category.active.is_(True))
            .order_by(Category.name)
        )
    )


def public_category(category_id: int | None) -> Category:
    """A category the form offers, or DomainError(field='category_id', code='category')."""
    category = db.session.get(Category, category_id) if category_id else None
    if category is None or not category.public or not category.active:
        raise DomainError(MESSAGES["category"], field="category_id", code="category")
    return category


def asked_identifiers(category: Category) -> list[IdentifierKind]:
    """The agency identifiers the category asks for, in the order IdentifierKind lists them."""
    asked = {part.strip() for part in (category.asks_identifiers or "").split(",")}
    return [kind for kind in IdentifierKind if kind.value in asked]


def agency_choices() -> list[Agency]:
    """Agencies a resident may name from the list: those an active release template covers."""
    seen: dict[int, Agency] = {}
    for template in release_templates.active_templates():
        for agency in template.agencies:
            if agency.active:
                seen.setdefault(agency.id, agency)
    return sorted(seen.values(), key=lambda a: a.name)


def routed_agency(category: Category) -> Agency | None:
    """The agency the category's routing rule sends cases to (any district), if any."""
    suggestion = routing.best_rule(category, None)
    return suggestion.agency if suggestion is not None else None


def involved_agency(category: Category, agency_id: int | None) -> Agency | None:
    """The agency the request involves: the one the resident chose, else the routed one."""
    routed = routed_agency(category)
    if agency_id:
        offered = {a.id for a in agency_choices()} | ({routed.id} if routed else set())
        agency = db.session.get(Agency, agency_id) if agency_id in offered else None
        if agency is None:
            raise DomainError(MESSAGES["agency"], field="agency_id", code="agency")
        return agency
    return routed


def release_offer(agency: Agency | None) -> ReleaseOffer | None:
    """The newest version of the active template covering ``agency`` (None: no release to
    sign here; staff ask for one as they do today)."""
    if agency is None:
        return None
    for template in release_templates.active_templates():
        if any(a.id == agency.id for a in template.agencies) and template.versions:
            return ReleaseOffer(version=template.versions[-1], agencies=[agency])
    return None


# --- checking a request --------------------------------------------------------------------


def _required(data: HelpRequest) -> None:
    for name in ("what_happened", "first_name", "last_name", "address_line1", "city"):
        if not str(getattr(data, name)).strip():
            raise DomainError(MESSAGES[name], field=name)
    for name in LIMITS:
        value = getattr(data, name, None)
        if isinstance(value, str) and len(value) > LIMITS[name]:
            raise DomainError(MESSAGES["too_long"], field=name)


def _check_address(data: HelpRequest) -> str:
    """The ZIP as kept ('35055' or '35055-1234')."""
    state = data.state.strip().upper()
    if not (len(state) == 2 and state.isalpha()):
        raise DomainError(MESSAGES["state"], field="state")
    parts = addresses.split_zip(data.zip_code)
    if parts is None:
        raise DomainError(MESSAGES["zip_code"], field="zip_code")
    return addresses.zip_code(*parts)


def _check_contact(data: HelpRequest) -> tuple[str | None, str | None, PreferredContact]:
    """(phone as kept, email as kept, preferred contact)."""
    try:
        preferred = PreferredContact(data.preferred_contact)
    except ValueError:
        raise DomainError(MESSAGES["preferred_contact"], field="preferred_contact") from None
    phone = data.phone.strip()
    email = data.email.strip()
    if preferred is PreferredContact.PHONE and not phone:
        raise DomainError(MESSAGES["phone_needed"], field="phone")
    if preferred is PreferredContact.EMAIL and not email:
        raise DomainError(MESSAGES["email_needed"], field="email")
    kept_phone = None
    if phone:
        try:
            constituents.check_phone(phone)
        except DomainError:
            raise DomainError(MESSAGES["phone"], field="phone") from None
        kept_phone = constituents.phone_value(phone)[: LIMITS["phone"]]
    kept_email = None
    if email:
        try:
            kept_email = constituents.check_email(email)
        except DomainError:
            raise DomainError(MESSAGES["email"], field="email") from None
    return kept_phone, kept_email, preferred


def _check_identifiers(category: Category, given: dict[str, str]) -> str | None:
    """The identifiers the category asks for, checked by shape, as the JSON kept encrypted."""
    kept: dict[str, str] = {}
    for kind in asked_identifiers(category):
        value = (given.get(kind.value) or "").strip()
        if not value:
            continue
        if len(value) > LIMITS[kind.value] or not IDENTIFIER_SHAPES[kind].match(value):
            raise DomainError(IDENTIFIER_MESSAGES[kind], field=kind.value)
        kept[kind.value] = value.upper() if kind is IdentifierKind.A_NUMBER else value
    return json.dumps(kept, sort_keys=True) if kept else None


def _same_name(typed: str, first: str, last: str) -> bool:
    def squash(text: str) -> str:
        return "".join(text.casefold().split())

    return squash(typed) == squash(f"{first}{last}") and bool(squash(typed))


def _check_signature(data: HelpRequest, offer: ReleaseOffer | None) -> ReleaseOffer | None:
    """The release signed, or None when the resident chose not to sign."""
    signature = data.signature
    if not signature.attempted:
        return None
    if offer is None:
        raise DomainError(MESSAGES["release_gone"], field="signed_name", code="release_gone")
    if signature.version_id != offer.version.id:
        raise DomainError(MESSAGES["release_changed"], field="signed_name", code="release_changed")
    if not (signature.attested and signature.consented and signature.signed_name.strip()):
        raise DomainError(MESSAGES["sign_all"], field="signed_name")
    if not _same_name(signature.signed_name, data.first_name, data.last_name):
        raise DomainError(MESSAGES["name_match"], field="signed_name")
    return offer


# --- keeping it ----------------------------------------------------------------------------


def new_reference() -> str:
    """A random reference a resident can read out on the phone, like 'K7QXM-9P2T4'."""
    while True:
        letters = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))
        reference = f"{letters[:5]}-{letters[5:]}"
        taken = db.session.scalar(
            sa.select(OnlineRequest.id).where(OnlineRequest.reference == reference)
        )
        if taken is None:
            return reference


def _language(value: str) -> Language:
    try:
        return Language(value)
    except ValueError:
        return Language.ENGLISH


def _sent_with(form_key: str) -> OnlineRequest | None:
    return db.session.scalar(sa.select(OnlineRequest).where(OnlineRequest.form_key == form_key))


def _as_submitted(request: OnlineRequest) -> Submitted:
    return Submitted(
        request=request, zip_unplaced=not district_service.lookup_zip(request.zip_code[:5]).known
    )


def already_sent(form_key: str | None) -> Submitted | None:
    """The request an earlier post of the same form page kept (a double click, a reload of
    the post), answered with the same confirmation; None when this page sent nothing yet."""
    if not form_key:
        return None
    earlier = _sent_with(form_key)
    return _as_submitted(earlier) if earlier is not None else None


def submit(data: HelpRequest) -> Submitted:
    """Check a resident's request and keep it, with its signed release and a rendered copy of
    what they signed; tell intake staff (and the resident, when mail is set up and they gave an
    email). Adds and flushes, never commits; a refusal keeps nothing. When a post of the same
    form page (``data.form_key``) was kept a moment before, that one is answered and nothing
    more is kept (the unique key settles two posts at the same moment)."""
    category = public_category(data.category_id)
    agency = involved_agency(category, data.agency_id)
    offer = release_offer(agency)
    _required(data)
    zip_code = _check_address(data)
    phone, email, preferred = _check_contact(data)
    identifiers = _check_identifiers(category, data.identifiers)
    signed = _check_signature(data, offer)
    request = OnlineRequest(
        reference=new_reference(),
        language=_language(data.language),
        category=category,
        agency=agency if data.agency_id else None,
        agency_named=data.agency_named.strip() or None,
        what_happened=data.what_happened.strip(),
        tried=data.tried.strip() or None,
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        address_line1=data.address_line1.strip(),
        address_line2=data.address_line2.strip() or None,
        city=data.city.strip(),
        state=data.state.strip().upper(),
        zip_code=zip_code,
        phone=phone,
        email=email,
        preferred_contact=preferred,
        contact_times=data.contact_times.strip() or None,
        identifiers=identifiers,
        submitted_from=(data.submitted_from or "unknown")[:64],
        form_key=data.form_key or None,
    )
    zip_unplaced = _place(request)
    try:
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError:
        earlier = _sent_with(data.form_key) if data.form_key else None
        if earlier is None:
            raise
        return _as_submitted(earlier)
    if signed is not None:
        _sign(request, signed, data.signature.signed_name.strip())
    _tell_staff(request)
    _tell_resident(request)
    return Submitted(request=request, zip_unplaced=zip_unplaced)


def _place(request: OnlineRequest) -> bool:
    """Set the district when the ZIP lies in exactly one served district; True when the ZIP is
    in no table (staff place the address; the resident is not refused: they do not know
    districts). Split and out-of-district ZIPs are left to staff at review."""
    found = district_service.lookup_zip(request.zip_code[:5])
    if not found.known:
        return True
    if len(found.codes) == 1 and len(found.served) == 1:
        request.district = found.served[0]
    return False


def _sign(request: OnlineRequest, offer: ReleaseOffer, typed_name: str) -> None:
    request.release_version = offer.version
    request.signed_name = typed_name
    request.signed_at = utcnow()
    request.release_agencies = list(offer.agencies)
    copy = release_copy_html(request, offer)
    request.release_copy = store_upload(
        io.BytesIO(copy.encode("utf-8")),
        f"release-{request.reference}.html",
        case=None,
        uploaded_by=None,
        recognise=lambda _: RELEASE_COPY,
    )


def _category_named(category: Category, language: str) -> str:
    """The kind of help as the resident read it (and in English beside it, for the agency)."""
    shown = category.public_name(language)
    return shown if shown == category.name else f"{shown} ({category.name})"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def release_copy_html(request: OnlineRequest, offer: ReleaseOffer) -> str:
    """The signed release as a self-contained HTML page: the exact text the resident read,
    the agencies it covers, who signed, how, when and from where."""
    version = offer.version
    lang = request.language.value
    text = offer.text(lang)
    paragraphs = Markup("").join(
        Markup("<p>{}</p>\n").format(part) for part in text.split("\n\n") if part.strip()
    )
    address = ", ".join(
        p
        for p in (
            request.address_line1,
            request.address_line2 or "",
            addresses.last_line(request.city, request.state, request.zip_code, None),
        )
        if p
    )
    rows = [
        ("Reference", request.reference),
        ("Help asked for", _category_named(request.category, lang)),
        ("Release", f"{version.template.name}, version {version.number} ({lang})"),
        ("Agencies covered", ", ".join(a.name for a in offer.agencies)),
        ("Name given", f"{request.first_name} {request.last_name}"),
        ("Address given", address),
        ("Signed by typing", request.signed_name or ""),
        ("Identity attested", "yes"),
        ("Consent box ticked", "yes"),
        ("Signature method", "Electronic (CASES Act)"),
        ("Signed at", _when(request.signed_at)),
        ("Sent from address", request.submitted_from),
    ]
    table = Markup("").join(
        Markup("<tr><th scope='row'>{}</th><td>{}</td></tr>\n").format(k, v) for k, v in rows
    )
    return str(
        Markup(
            "<!DOCTYPE html>\n<html lang='{lang}'>\n<head><meta charset='utf-8'>"
            "<title>Privacy release {ref}</title></head>\n<body>\n"
            "<h1>Privacy release, signed electronically</h1>\n{paragraphs}"
            "<table>\n{table}</table>\n</body>\n</html>\n"
        ).format(lang=lang, ref=escape(request.reference), paragraphs=paragraphs, table=table)
    )


def _intake_staff() -> list[User]:
    users = db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.id))
    return [u for u in users if permissions.may(u, Capability.LOG_CALLS)]


def _tell_staff(request: OnlineRequest) -> None:
    """An in-app notice to everyone who may take calls, and an email when mail is set up.
    Neither says more than the reference and the category: the words stay inside the app."""
    message = (
        f"New online request {request.reference} ({request.category.name}, "
        f"{request.language.label}) is waiting for review."
    )
    for user in _intake_staff():
        notifications.notify(user, message, kind="online_request")
        notifications.queue_staff_email(
            user,
            subject=f"New online request {request.reference}",
            body=f"{message}\n\nOpen Online requests in Constituent to review it.\n",
        )


RESIDENT_MAIL = {
    Language.ENGLISH: (
        "We received your request {ref}",
        "Thank you. We received your request for help.\n\n"
        "Your reference number is {ref}. Please have it ready if you call us{phone}.\n\n"
        "A member of our staff will read your request and contact you. We may ask you to "
        "sign a privacy release so that an agency can talk to us about your case.\n\n"
        "{office}\n",
        " at {phone}",
    ),
    Language.SPANISH: (
        "Recibimos su solicitud {ref}",
        "Gracias. Recibimos su solicitud de ayuda.\n\n"
        "Su número de referencia es {ref}. Téngalo a mano si nos llama{phone}.\n\n"
        "Una persona de nuestro equipo leerá su solicitud y se comunicará con usted. Es "
        "posible que le pidamos firmar una autorización de privacidad para que una agencia "
        "pueda hablar con nosotros sobre su caso.\n\n"
        "{office}\n",
        " al {phone}",
    ),
}


def _tell_resident(request: OnlineRequest) -> None:
    """A confirmation to the resident's email, when mail is set up: the reference and the
    office's phone, nothing of what they wrote."""
    if not request.email:
        return
    from constituent.services.office import profile

    subject, body, phone_text = RESIDENT_MAIL[request.language]
    phone = str(current_app.config.get("OFFICE_PHONE") or "")
    notifications.queue_mail(
        request.email,
        subject=subject.format(ref=request.reference),
        body=body.format(
            ref=request.reference,
            phone=phone_text.format(phone=phone) if phone else "",
            office=profile().name,
        ),
    )
