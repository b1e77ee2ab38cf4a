"""Constituents: who may see them, likely matches, creating, editing and merging records."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from nicknames import NickNamer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from constituent.extensions import db
from constituent.models import (
    Case,
    Constituent,
    ContactKind,
    ContactMethod,
    ContactPoint,
    District,
    EventKind,
    HouseholdMember,
    User,
    utcnow,
)
from constituent.services import addresses, audit, normalize, permissions, timeline
from constituent.services import districts as district_service
from constituent.services.errors import Conflict, DomainError, Forbidden, NotFound
from constituent.services.permissions import Action, Capability, case_scope

# Who may see constituents at all, and who may change them.

# Length limits, the same as the columns (forms use these too).
LIMITS = {
    "first_name": 80,
    "middle_name": 80,
    "last_name": 80,
    "suffix": 20,
    "street": 200,
    "street2": 200,
    "city": 100,
    "state": 2,
    "zip5": 10,  # ZIP or ZIP+4
    "language": 40,
    "do_not_contact_reason": 500,
    "notes": 5000,
    "phone": 40,
    "email": 254,
    "contact_label": 40,
    "household_name": 160,
    "household_relationship": 60,
}
PER_SIGNAL = 20  # rows fetched per look-up signal (name, phone, email, address)
MATCH_LIMIT = 8
PAGE_SIZE = 25

ZIP_RE = re.compile(r"^\d{5}$")
PHONE_MESSAGE = "Enter a phone number that can be dialled, like (518) 555-0123."
EMAIL_MESSAGE = "Enter an email address with a name and a domain, like name@example.com."

FIELD_LABELS = {
    "first_name": "First name",
    "middle_name": "Middle name",
    "last_name": "Last name",
    "suffix": "Suffix",
    "street": "Street",
    "street2": "Apartment, suite",
    "city": "City",
    "state": "State",
    "zip5": "ZIP",
    "preferred_contact": "Preferred contact",
    "language": "Language",
    "is_veteran": "Veteran",
    "is_senior": "Senior",
    "has_disability": "Disability",
    "do_not_contact": "Do not contact",
    "do_not_contact_reason": "Do-not-contact reason",
    "notes": "Notes",
    "district": "District",
}


# --- who may see which constituent ----------------------------------------------------------


def constituent_scope(user: User | None) -> ColumnElement[bool]:
    """The SQL condition selecting the constituents ``user`` may see. Deny by default.

    Intake, caseworkers and supervisors see a constituent who has a case they may see, or who
    has no district or lives in one of their districts — unless that person has a confidential
    case the user may not open (and no case the user may see): the existence and address of,
    say, a domestic-violence survivor are themselves confidential. Everyone else sees none.
    """
    if user is None or not user.is_authenticated or not user.active:
        return sa.false()
    if not permissions.may(user, Capability.VIEW_CONSTITUENTS):
        return sa.false()
    has_visible_case = sa.exists(
        sa.select(Case.id).where(
            Case.constituent_id == Constituent.id, filter_only(case_scope(user))
        )
    )
    has_hidden_confidential_case = sa.exists(
        sa.select(Case.id).where(
            Case.constituent_id == Constituent.id,
            Case.confidential,
            # IS NOT TRUE, not NOT: case_scope is NULL for a caseworker's unassigned
            # confidential case (assignee_id = NULL), and NOT NULL would leave it out here.
            filter_only(case_scope(user).is_not(sa.true())),
        )
    )
    return sa.or_(
        has_visible_case,
        sa.and_(in_reach(user), sa.not_(has_hidden_confidential_case)),
    )


class filter_only(FunctionElement[bool]):  # noqa: N801  (used like sa.func.x)
    """A condition the database should test row by row, not use to choose an index.

    On SQLite, ``likely(condition)``: without statistics its planner would look a person's
    cases up by another column case_scope tests (intake's opened_by_id: thousands of cases
    per user) instead of by constituent_id (a few per person), and a scan of every person
    then took seconds. Elsewhere the condition as it is.
    """

    type = sa.Boolean()
    name = "filter_only"
    inherit_cache = True


@compiles(filter_only)
def _filter_only(element: filter_only, compiler: Any, **kw: Any) -> str:
    # Bracketed: the condition may be an OR, and it is placed among ANDs.
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(filter_only, "sqlite")
def _filter_only_sqlite(element: filter_only, compiler: Any, **kw: Any) -> str:
    return f"likely({compiler.process(element.clauses, **kw)})"


def in_reach(user: User) -> ColumnElement[bool]:
    """The district rule of constituent_scope: no district, or one of the user's districts."""
    if user.district_ids:
        return sa.or_(
            Constituent.district_id.is_(None), Constituent.district_id.in_(user.district_ids)
        )
    return Constituent.district_id.is_(None)


def district_rule_exceptions(user: User | None) -> tuple[list[int], list[int]]:
    """Where constituent_scope departs from its district rule (``in_reach``), which a search
    index can apply from the district it stores: the live people outside the user's reach it
    admits, and the live people inside it it hides. Ids, ascending; ([], []) for a user who
    sees no constituents (the caller then shows none).

    Both lists are decided by constituent_scope itself. The hidden are looked for only among
    the people with a confidential case the user may not open (no one else can be hidden),
    which keeps that query small: none at all for a supervisor of every district.
    tests/test_search_counts_property.py checks, on generated worlds, that the district rule
    corrected by these lists selects exactly visible_constituents(user).
    """
    if user is None or not permissions.may(user, Capability.VIEW_CONSTITUENTS):
        return [], []
    admitted = db.session.scalars(
        sa.select(Constituent.id)
        .where(sa.not_(in_reach(user)), constituent_scope(user), _live())
        .order_by(Constituent.id)
    ).all()
    closed_confidential = sa.select(Case.constituent_id).where(
        Case.confidential, case_scope(user).is_not(sa.true())
    )
    hidden = db.session.scalars(
        sa.select(Constituent.id)
        .where(
            Constituent.id.in_(closed_confidential),
            # Found by id from the few candidates, not by district from everyone.
            filter_only(in_reach(user)),
            sa.not_(constituent_scope(user)),
            _live(),
        )
        .order_by(Constituent.id)
    ).all()
    return list(admitted), list(hidden)


def _live() -> ColumnElement[bool]:
    """Not merged away. Written as ``merged_into_id + 0 IS NULL`` so that no planner picks the
    merged_into_id index for it (nearly every row matches) over the name or ZIP index."""
    return (Constituent.merged_into_id + 0).is_(None)


def visible_constituents(user: User | None) -> sa.Select[Constituent]:
    """A SELECT of the live (not merged-away) constituents the user may see."""
    return sa.select(Constituent).where(constituent_scope(user), _live())


def can_see(user: User | None, person: Constituent) -> bool:
    """Whether the user may see this constituent (same rule as the lists)."""
    return (
        db.session.scalar(
            sa.select(Constituent.id).where(Constituent.id == person.id, constituent_scope(user))
        )
        is not None
    )


def kept_record(person: Constituent) -> Constituent:
    """The record a merged-away constituent now lives in (itself when never merged)."""
    seen = {person.id}
    while person.merged_into_id is not None:
        target = db.session.get(Constituent, person.merged_into_id)
        if target is None or target.id in seen:
            break
        seen.add(target.id)
        person = target
    return person


def get_constituent(user: User | None, constituent_id: int) -> Constituent:
    """Load the constituent (following merges to the kept record) or raise NotFound."""
    person = db.session.get(Constituent, constituent_id)
    if person is not None:
        person = kept_record(person)
    if person is None or not can_see(user, person):
        raise NotFound("No constituent with that number is available to you.")
    return person


def visible_cases_of(user: User | None, person: Constituent) -> list[Case]:
    """The constituent's cases that the user may see, newest first."""
    return list(
        db.session.scalars(
            sa.select(Case)
            .where(Case.constituent_id == person.id, case_scope(user, Action.VIEW))
            .order_by(Case.opened_at.desc(), Case.id.desc())
        )
    )


# --- normal forms and checks -----------------------------------------------------------------


@functools.cache
def _namer() -> NickNamer:
    return NickNamer()


def name_variants(first_name: str) -> set[str]:
    """A first name's key with its nicknames and the names it shortens (peggy ↔ margaret)."""
    key = normalize.name_key(first_name)
    if not key:
        return set()
    namer = _namer()
    variants = {key}
    for other in namer.nicknames_of(key) | namer.canonicals_of(key):
        other_key = normalize.name_key(other)
        if other_key:
            variants.add(other_key)
    return variants


def _area_code() -> str | None:
    from constituent.services.office import profile

    return profile().default_area_code


def check_phone(raw: str) -> str:
    """E.164 form of a phone number, or DomainError(field='phone'). A local 7-digit number
    takes the office's default area code, and is refused when there is none."""
    area = _area_code()
    e164 = normalize.phone_e164(raw, area_code=area) if len(raw) <= LIMITS["phone"] else None
    if e164 is None:
        digits = re.sub(r"\D", "", raw.split("x")[0].split("ext")[0])
        if len(digits) == 7 and not area:
            raise DomainError(
                "Enter the area code too, like (518) 555-0123: this office has no default "
                "area code for 7-digit numbers.",
                field="phone",
            )
        raise DomainError(PHONE_MESSAGE, field="phone")
    return e164


def phone_value(raw: str) -> str:
    """How a phone number is kept and shown: national format, extension kept."""
    return normalize.phone_with_extension(raw, _area_code()) or raw.strip()


def check_email(raw: str) -> str:
    """The normal (lower-case) form of an email address, or DomainError(field='email')."""
    value = raw.strip()
    if len(value) > LIMITS["email"]:
        raise DomainError(f"Use at most {LIMITS['email']} characters.", field="email")
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(EMAIL_MESSAGE, field="email") from exc
    return normalize.email_key(value)


def too_long(value: str | None, limit: int) -> str | None:
    """The message for a value over its limit, naming the limit (None when it fits)."""
    if value and len(value) > limit:
        return f"Use at most {limit:,} characters (this has {len(value):,})."
    return None


@dataclass
class ConstituentData:
    """The editable fields of a constituent, as plain values."""

    first_name: str = ""
    last_name: str = ""
    middle_name: str = ""
    suffix: str = ""
    street: str = ""
    street2: str = ""
    city: str = ""
    state: str = ""
    zip5: str = ""
    preferred_contact: str = ""
    language: str = ""
    is_veteran: bool = False
    is_senior: bool = False
    has_disability: bool = False
    do_not_contact: bool = False
    do_not_contact_reason: str = ""
    notes: str = ""

    def cleaned(self) -> ConstituentData:
        """The same data with text stripped and the state upper-cased."""
        values: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            values[f.name] = value.strip() if isinstance(value, str) else value
        values["state"] = values["state"].upper()
        return ConstituentData(**values)


def validate_constituent(data: ConstituentData) -> dict[str, str]:
    """Every problem with the data, by field name (empty when it can be saved)."""
    errors: dict[str, str] = {}
    for name in ("first_name", "last_name"):
        if not getattr(data, name).strip():
            errors[name] = f"Enter the {FIELD_LABELS[name].lower()}."
    for name, limit in LIMITS.items():
        if hasattr(data, name) and name not in errors:
            message = too_long(getattr(data, name), limit)
            if message:
                errors[name] = message
    zip5 = data.zip5.strip()
    if zip5 and addresses.split_zip(zip5) is None:
        errors["zip5"] = addresses.ZIP_MESSAGE
    state = data.state.strip()
    if state and not (len(state) == 2 and state.isalpha()):
        errors["state"] = "Enter the two-letter state code, like NY."
    if data.preferred_contact and data.preferred_contact not in {m.value for m in ContactMethod}:
        errors["preferred_contact"] = "Choose a contact method from the list."
    if data.do_not_contact and not data.do_not_contact_reason.strip():
        errors["do_not_contact_reason"] = "Say why this person must not be contacted."
    return errors


def apply_data(person: Constituent, data: ConstituentData) -> None:
    """Copy validated data onto a record (imports; the forms go through update_constituent)."""
    _apply(person, data)


def _apply(person: Constituent, data: ConstituentData) -> None:
    person.first_name = data.first_name
    person.last_name = data.last_name
    person.middle_name = data.middle_name or None
    person.suffix = data.suffix or None
    person.first_name_key = normalize.name_key(data.first_name)
    person.last_name_key = normalize.name_key(data.last_name)
    person.street = data.street or None
    person.street2 = data.street2 or None
    person.street_key = normalize.street_key(data.street)
    person.city = data.city or None
    person.state = data.state or None
    person.zip5, person.zip4 = addresses.split_zip(data.zip5) or (None, None)
    person.preferred_contact = (
        ContactMethod(data.preferred_contact) if data.preferred_contact else None
    )
    person.language = data.language or None
    person.is_veteran = data.is_veteran
    person.is_senior = data.is_senior
    person.has_disability = data.has_disability
    person.do_not_contact = data.do_not_contact
    person.do_not_contact_reason = data.do_not_contact_reason if data.do_not_contact else None
    person.notes = data.notes or None


def _raise_first(errors: dict[str, str]) -> None:
    if errors:
        name, message = next(iter(errors.items()))
        raise DomainError(message, field=name)


# --- districts from the ZIP table ------------------------------------------------------------


@dataclass
class Districting:
    """What the ZIP table says about an address's ZIP, in the office's terms."""

    zip5: str
    kind: str  # "none" (no ZIP yet), "invalid", "unknown", "out", "set" or "split"
    lookup: district_service.ZipLookup | None = None

    @property
    def codes(self) -> list[str]:
        return self.lookup.codes if self.lookup else []

    @property
    def served(self) -> list[District]:
        return self.lookup.served if self.lookup else []


def districting(zip5: str) -> Districting:
    """Classify a ZIP: unknown, outside the office's districts, in one district, or split."""
    zip5 = (zip5 or "").strip()
    if not zip5:
        return Districting(zip5, "none")
    parts = addresses.split_zip(zip5)
    if parts is None:
        return Districting(zip5, "invalid")
    zip5 = parts[0]
    found = district_service.lookup_zip(zip5)
    if not found.known:
        kind = "unknown"
    elif found.out_of_district:
        kind = "out"
    elif len(found.codes) > 1:
        kind = "split"  # ask, even when only one part is served here: never guess
    else:
        kind = "set"
    return Districting(zip5, kind, found)


# A district choice meaning "outside this office's districts" (a split ZIP's unserved part).
OUTSIDE_DISTRICT = -1


def split_choices(where: Districting) -> str:
    """'AL-04, or outside this office's districts': only the choices that matter."""
    served = [d.code for d in where.served]
    outside = len(served) < len(where.codes)
    if outside:
        return f"{', '.join(served)}, or outside this office's districts"
    return " or ".join(served)


def resolve_district(
    zip5: str, chosen_id: int | None, unknown_ok: bool = False, current_id: int | None = None
) -> tuple[District | None, bool, bool]:
    """(district, out_of_district, district_override) for an address, staff choice first.

    A chosen district that the ZIP table does not give for the ZIP counts as an override, which
    a later re-import of the table leaves alone. A ZIP missing from the table is refused unless
    ``unknown_ok`` (then the constituent is out of district). A deactivated district may be
    kept (``current_id``) but not chosen anew.
    """
    where = districting(zip5)
    if chosen_id == OUTSIDE_DISTRICT:
        return None, True, True  # staff say the address is outside the office's districts
    if chosen_id:
        chosen = district_service.choosable(
            chosen_id, "Choose a district from the list.", current_id
        )
        return chosen, False, chosen.code not in where.codes
    if where.kind == "set":
        return where.served[0], False, False
    if where.kind == "split":
        raise DomainError(
            f"Choose the district: ZIP {where.zip5} is split between "
            f"{' and '.join(where.codes)}; it is {split_choices(where)}.",
            field="district_id",
        )
    if where.kind == "out":
        return None, True, False
    if where.kind == "unknown":
        if unknown_ok:
            return None, True, False
        raise DomainError(
            f"ZIP {zip5} is not in the ZIP table. Check it, or choose the district by hand.",
            field="zip5",
        )
    if where.kind == "invalid":
        raise DomainError(addresses.ZIP_MESSAGE, field="zip5")
    return None, False, False


# --- creating and editing --------------------------------------------------------------------


def create_constituent(
    data: ConstituentData,
    *,
    phones: list[str] | None = None,
    emails: list[str] | None = None,
    district: District | None = None,
    out_of_district: bool = False,
    district_override: bool = False,
    author: User | None = None,
) -> Constituent:
    """Create a constituent with their phones and emails (validated here; flushes)."""
    data = data.cleaned()
    _raise_first(validate_constituent(data))
    person = Constituent(
        district=district, out_of_district=out_of_district, district_override=district_override
    )
    _apply(person, data)
    db.session.add(person)
    for raw in phones or []:
        if raw.strip():
            e164 = check_phone(raw.strip())
            _add_contact(person, ContactKind.PHONE, phone_value(raw), e164)
    for raw in emails or []:
        if raw.strip():
            _add_contact(person, ContactKind.EMAIL, raw.strip(), check_email(raw))
    db.session.flush()
    audit.record("constituent_created", "constituent", person.id, user=author)
    return person


def _add_contact(
    person: Constituent, kind: ContactKind, value: str, normalized: str, label: str | None = None
) -> ContactPoint:
    primary = not any(c.kind == kind for c in person.contact_points)
    point = ContactPoint(
        kind=kind, value=value, normalized=normalized, label=label or None, is_primary=primary
    )
    person.contact_points.append(point)
    return point


def _display(person: Constituent, name: str) -> str:
    if name == "district":
        return (
            person.district.code
            if person.district
            else "Out of district"
            if person.out_of_district
            else "None"
        )
    if name == "zip5":
        return addresses.zip_code(person.zip5, person.zip4)
    value = getattr(person, name)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _keep_in_scope(
    person: Constituent, district: District | None, *, chosen: bool, author: User
) -> None:
    """A staffer may not move a record out of their own districts (others would then see it)."""
    if district is None or district.id == person.district_id or district.id in author.district_ids:
        return
    if chosen:
        raise DomainError(
            f"{district.code} is not one of your districts. Choose one of yours, or leave the "
            "district to the ZIP table.",
            field="district_id",
        )
    raise DomainError(
        f"That ZIP is in {district.code}, which is not one of your districts: the record would "
        f"leave your districts. Ask the staff of {district.code} to update the address.",
        field="zip5",
    )


def update_constituent(
    person: Constituent,
    data: ConstituentData,
    *,
    version: int,
    district_id: int | None,
    author: User,
) -> list[str]:
    """Save edits if nobody saved in between (else Conflict with what differs); flushes.

    Returns the names of the fields that changed.
    """
    if not permissions.may(author, Capability.EDIT_CONSTITUENTS):
        raise Forbidden("Only caseworkers and supervisors edit constituents.")
    data = data.cleaned()
    _raise_first(validate_constituent(data))
    if person.version != version:
        changes = []
        for f in fields(data):
            theirs = _display(person, f.name)
            yours = getattr(data, f.name)
            yours = ("Yes" if yours else "No") if isinstance(yours, bool) else yours
            if theirs != yours:
                changes.append((FIELD_LABELS.get(f.name, f.name), theirs, yours))
        raise Conflict(
            "Someone saved this constituent after you opened the form. Nothing you entered was "
            "saved; open the record again to see their changes.",
            changes=changes,
        )
    district, out_of_district, override = resolve_district(
        data.zip5,
        district_id,
        unknown_ok=data.zip5 == (person.zip5 or ""),
        current_id=person.district_id,
    )
    _keep_in_scope(person, district, chosen=bool(district_id), author=author)
    before = {f.name: _display(person, f.name) for f in fields(data)}
    before["district"] = _display(person, "district")
    _apply(person, data)
    person.district = district
    person.out_of_district = out_of_district
    person.district_override = override
    changed = [name for name, old in before.items() if _display(person, name) != old]
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict(
            "Someone saved this constituent at the same moment. Nothing you "
            "entered was saved; open the record again."
        ) from exc
    if changed:
        audit.record(
            "constituent_updated",
            "constituent",
            person.id,
            detail="fields=" + ",".join(changed),
            user=author,
        )
    return changed


def add_contact_point(
    person: Constituent, kind: str, value: str, label: str = "", author: User | None = None
) -> ContactPoint:
    """Add a phone or email (validated, no duplicates) to a constituent; flushes."""
    value = value.strip()
    if kind not in {k.value for k in ContactKind}:
        raise DomainError("Choose phone or email.", field="kind")
    try:
        normalized = check_phone(value) if kind == ContactKind.PHONE else check_email(value)
    except DomainError as exc:
        raise DomainError(exc.message, field="value") from exc
    message = too_long(label, LIMITS["contact_label"])
    if message:
        raise DomainError(message, field="label")
    if any(c.kind == kind and c.normalized == normalized for c in person.contact_points):
        raise DomainError("This constituent already has that contact point.", field="value")
    if kind == ContactKind.PHONE:
        value = phone_value(value)
    point = _add_contact(person, ContactKind(kind), value, normalized, label.strip())
    db.session.flush()
    audit.record(
        "contact_point_added", "constituent", person.id, detail=f"kind={kind}", user=author
    )
    return point


def remove_contact_point(person: Constituent, point_id: int, author: User | None = None) -> None:
    """Remove one of the constituent's phones or emails."""
    point = next((c for c in person.contact_points if c.id == point_id), None)
    if point is None:
        raise NotFound("That contact point is not on this record.")
    person.contact_points.remove(point)
    if point.is_primary:
        other = next((c for c in person.contact_points if c.kind == point.kind), None)
        if other is not None:
            other.is_primary = True
    db.session.flush()
    audit.record(
        "contact_point_removed",
        "constituent",
        person.id,
        detail=f"kind={point.kind.value}",
        user=author,
    )


def add_household_member(
    person: Constituent, name: str, relationship: str = "", author: User | None = None
) -> HouseholdMember:
    """Add someone to the constituent's household; flushes."""
    name, relationship = name.strip(), relationship.strip()
    if not name:
        raise DomainError("Enter the household member's name.", field="name")
    for value, limit, field_name in (
        (name, LIMITS["household_name"], "name"),
        (relationship, LIMITS["household_relationship"], "relationship"),
    ):
        message = too_long(value, limit)
        if message:
            raise DomainError(message, field=field_name)
    member = HouseholdMember(name=name, relationship_label=relationship or None)
    person.household.append(member)
    db.session.flush()
    audit.record("household_member_added", "constituent", person.id, user=author)
    return member


def remove_household_member(
    person: Constituent, member_id: int, author: User | None = None
) -> None:
    """Remove a household member from the constituent's record."""
    member = next((m for m in person.household if m.id == member_id), None)
    if member is None:
        raise NotFound("That household member is not on this record.")
    person.household.remove(member)
    db.session.flush()
    audit.record("household_member_removed", "constituent", person.id, user=author)


# --- finding likely matches ------------------------------------------------------------------

_KEY_ALPHABET = " 0123456789abcdefghijklmnopqrstuvwxyz"


def _prefix_upper(prefix: str) -> str | None:
    """The smallest key above every key that starts with ``prefix`` (None: no bound)."""
    chars = list(prefix)
    while chars:
        position = _KEY_ALPHABET.find(chars[-1])
        if 0 <= position < len(_KEY_ALPHABET) - 1:
            chars[-1] = _KEY_ALPHABET[position + 1]
            return "".join(chars)
        chars.pop()
    return None


def _starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix`` as a range an index can serve (unlike LIKE)."""
    upper = _prefix_upper(prefix)
    condition = column >= prefix
    return sa.and_(condition, column < upper) if upper else condition


@dataclass
class Match:
    """A likely existing constituent and why it matched."""

    constituent: Constituent
    reasons: list[str]
    score: int


@dataclass(frozen=True)
class _MatchKeys:
    """What intake typed, in the forms the indexes hold (empty: no such signal)."""

    last: str
    first: str
    variants: frozenset[str]
    e164: str | None
    mail: str
    street_key: str
    zip5: str

    @property
    def by_name(self) -> bool:
        return len(self.last) >= 2

    @property
    def by_email(self) -> bool:
        return "@" in self.mail and len(self.mail) <= LIMITS["email"]

    @property
    def by_address(self) -> bool:
        return bool(self.street_key) and bool(ZIP_RE.match(self.zip5))


def _match_keys(
    first_name: str, last_name: str, phone: str, email: str, street: str, zip5: str
) -> _MatchKeys:
    first = normalize.name_key(first_name)[: LIMITS["first_name"]]
    digits = re.sub(r"\D", "", phone or "")
    return _MatchKeys(
        last=normalize.name_key(last_name)[: LIMITS["last_name"]],
        first=first,
        variants=frozenset(name_variants(first)) if first else frozenset(),
        e164=(
            normalize.phone_e164(phone, area_code=_area_code()) if 7 <= len(digits) <= 15 else None
        ),
        mail=normalize.email_key(email or ""),
        street_key=normalize.street_key((street or "")[: LIMITS["street"]]) or "",
        zip5=((addresses.split_zip(zip5) or ("", None))[0]) if zip5 else "",
    )


def _signal_queries(base: sa.Select[Any], keys: _MatchKeys) -> list[sa.Select[Any]]:
    """One indexed query per signal intake gave: name, phone, email, street within the ZIP."""
    queries = []
    if keys.by_name:
        query = base.where(_starts_with(Constituent.last_name_key, keys.last))
        if keys.first:
            query = query.where(
                sa.or_(
                    Constituent.first_name_key.in_(keys.variants),
                    _starts_with(Constituent.first_name_key, keys.first),
                )
            )
        queries.append(query.order_by(Constituent.last_name_key, Constituent.first_name_key))
    contacts = base.join(ContactPoint, ContactPoint.constituent_id == Constituent.id)
    if keys.e164:
        queries.append(
            contacts.where(
                ContactPoint.kind == ContactKind.PHONE, ContactPoint.normalized == keys.e164
            )
        )
    if keys.by_email:
        queries.append(
            contacts.where(
                ContactPoint.kind == ContactKind.EMAIL, ContactPoint.normalized == keys.mail
            )
        )
    if keys.by_address:
        queries.append(
            base.where(
                Constituent.zip5 == keys.zip5, _starts_with(Constituent.street_key, keys.street_key)
            )
        )
    return queries


def _candidate_ids(queries: list[sa.Select[Any]]) -> list[int]:
    """The ids the signals found, each signal capped at PER_SIGNAL, first seen first."""
    ids: list[int] = []
    for query in queries:
        for found in db.session.scalars(query.limit(PER_SIGNAL)):
            if found not in ids:
                ids.append(found)
    return ids


def _name_reason(person: Constituent, keys: _MatchKeys) -> tuple[str, int] | None:
    if not keys.by_name or not person.last_name_key.startswith(keys.last):
        return None
    if not keys.first:
        return "last name", 1
    if person.first_name_key.startswith(keys.first):
        return "name", 3
    if person.first_name_key in keys.variants:
        return "name (nickname)", 3
    return None


def _has_contact(person: Constituent, kind: ContactKind, value: str) -> bool:
    return any(c.kind == kind and c.normalized == value for c in person.contact_points)


def _score(person: Constituent, keys: _MatchKeys) -> Match:
    """Why a candidate matches (name, phone, email, address) and how strongly."""
    found = [_name_reason(person, keys)]
    if keys.e164 and _has_contact(person, ContactKind.PHONE, keys.e164):
        found.append(("phone", 4))
    if "@" in keys.mail and _has_contact(person, ContactKind.EMAIL, keys.mail):
        found.append(("email", 4))
    if (
        keys.street_key
        and person.zip5 == keys.zip5
        and (person.street_key or "").startswith(keys.street_key)
    ):
        found.append(("address", 3))
    reasons = [r for r in found if r is not None]
    return Match(person, [reason for reason, _ in reasons], sum(points for _, points in reasons))


# The keywords of find_matches that carry what was typed (CallDetails has each of them).
MATCH_FIELDS = ("first_name", "last_name", "phone", "email", "street", "zip5")


def find_matches(
    user: User | None,
    *,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    email: str = "",
    street: str = "",
    zip5: str = "",
    exclude_id: int | None = None,
    limit: int = MATCH_LIMIT,
) -> list[Match]:
    """Likely existing constituents for what intake has typed, best first.

    Each signal is one indexed query with a LIMIT: last name prefix (with the first name or one
    of its nicknames), phone in E.164, email, normalised street within the ZIP. Merged-away
    records and constituents the user may not see never appear.
    """
    base = sa.select(Constituent.id).where(constituent_scope(user), _live())
    if exclude_id is not None:
        base = base.where(Constituent.id != exclude_id)
    keys = _match_keys(first_name, last_name, phone, email, street, zip5)
    ids = _candidate_ids(_signal_queries(base, keys))
    if not ids:
        return []
    people = db.session.scalars(
        sa.select(Constituent)
        .where(Constituent.id.in_(ids))
        .options(selectinload(Constituent.contact_points), selectinload(Constituent.district))
    ).all()
    matches = [m for m in (_score(person, keys) for person in people) if m.reasons]
    matches.sort(
        key=lambda m: (
            -m.score,
            m.constituent.last_name_key,
            m.constituent.first_name_key,
            m.constituent.id,
        )
    )
    return matches[:limit]


def search_constituents(
    user: User | None, query: str, page: int = 1, per_page: int = PAGE_SIZE
) -> tuple[list[Constituent], bool]:
    """One page of visible constituents matching a name, phone, email or ZIP; and has-next.

    'smith' → last names starting so; 'peggy smith' or 'smith, peggy' → with the first name or
    a nickname of it; '12901' → that ZIP; an email or phone number → its contact point.
    """
    query = (query or "").strip()[:200]
    page = max(1, page)
    select = visible_constituents(user)
    if not query:
        pass
    elif ZIP_RE.match(query):
        select = select.where(Constituent.zip5 == query)
    elif "@" in query:
        select = select.where(
            Constituent.id.in_(
                sa.select(ContactPoint.constituent_id).where(
                    ContactPoint.kind == ContactKind.EMAIL,
                    ContactPoint.normalized == normalize.email_key(query),
                )
            )
        )
    elif len(re.sub(r"\D", "", query)) >= 7 and not re.search(r"[a-zA-Z]", query):
        e164 = normalize.phone_e164(query) or ""
        select = select.where(
            Constituent.id.in_(
                sa.select(ContactPoint.constituent_id).where(
                    ContactPoint.kind == ContactKind.PHONE, ContactPoint.normalized == e164
                )
            )
        )
    else:
        if "," in query:
            last, _, first = query.partition(",")
        else:
            words = query.split()
            first, last = (" ".join(words[:-1]), words[-1]) if len(words) > 1 else ("", query)
        last_key, first_key = normalize.name_key(last), normalize.name_key(first)
        if not last_key:
            return [], False
        select = select.where(_starts_with(Constituent.last_name_key, last_key))
        if first_key:
            select = select.where(
                sa.or_(
                    Constituent.first_name_key.in_(name_variants(first_key)),
                    _starts_with(Constituent.first_name_key, first_key),
                )
            )
    rows = db.session.scalars(
        select.options(selectinload(Constituent.contact_points), selectinload(Constituent.district))
        .order_by(Constituent.last_name_key, Constituent.first_name_key, Constituent.id)
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows[:per_page]), len(rows) > per_page


# --- merging duplicates ----------------------------------------------------------------------


@dataclass
class MergeReport:
    """What moved from the duplicate to the kept record."""

    cases: int = 0
    contact_points: int = 0
    household: int = 0


_FILL_IF_EMPTY = (
    "middle_name",
    "suffix",
    "street",
    "street2",
    "street_key",
    "city",
    "state",
    "zip5",
    "preferred_contact",
    "language",
)


def _check_merge(kept: Constituent, duplicate: Constituent, author: User) -> None:
    """Refuse a merge the author may not make, or of records that cannot be merged."""
    if not permissions.may(author, Capability.MERGE_CONSTITUENTS):
        raise Forbidden("Only supervisors merge constituent records.")
    if kept.id == duplicate.id:
        raise DomainError("Choose two different records.", field="duplicate")
    if kept.merged_into_id is not None or duplicate.merged_into_id is not None:
        raise DomainError(
            "One of these records was already merged into another.", field="duplicate"
        )
    for person in (kept, duplicate):
        if not can_see(author, person):
            raise NotFound("No constituent with that number is available to you.")
    hidden = db.session.scalar(
        sa.select(sa.func.count(Case.id)).where(
            Case.constituent_id.in_([kept.id, duplicate.id]),
            sa.not_(case_scope(author, Action.VIEW)),
        )
    )
    if hidden:
        raise Forbidden(
            "These records have cases outside your districts; a supervisor of "
            "those districts must merge them."
        )


def _move_cases(kept: Constituent, duplicate: Constituent, author: User) -> int:
    """Move the duplicate's cases, each with a timeline note; how many moved."""
    moved = 0
    for case in list(duplicate.cases):
        case.constituent = kept
        timeline.add_event(
            case,
            EventKind.SYSTEM,
            f"Constituent record #{duplicate.id} was merged into record #{kept.id}.",
            author=author,
        )
        moved += 1
    return moved


def _move_contact_points(kept: Constituent, duplicate: Constituent) -> int:
    """Move the contact points the kept record lacks; how many moved."""
    moved = 0
    present = {(c.kind, c.normalized) for c in kept.contact_points}
    for point in list(duplicate.contact_points):
        if (point.kind, point.normalized) in present:
            continue
        duplicate.contact_points.remove(point)
        point.is_primary = not any(c.kind == point.kind for c in kept.contact_points)
        kept.contact_points.append(point)
        present.add((point.kind, point.normalized))
        moved += 1
    return moved


def _move_household(kept: Constituent, duplicate: Constituent) -> int:
    """Move the household members the kept record lacks (by name); how many moved."""
    moved = 0
    names = {m.name.strip().lower() for m in kept.household}
    for member in list(duplicate.household):
        if member.name.strip().lower() in names or member.member_constituent_id == kept.id:
            continue
        duplicate.household.remove(member)
        kept.household.append(member)
        names.add(member.name.strip().lower())
        moved += 1
    return moved


def _repoint_links(kept: Constituent, duplicate: Constituent) -> None:
    """Others who pointed at the duplicate now point at the kept record."""
    db.session.execute(
        sa.update(HouseholdMember)
        .where(HouseholdMember.member_constituent_id == duplicate.id)
        .values(member_constituent_id=kept.id)
    )
    db.session.execute(
        sa.update(Constituent)
        .where(Constituent.merged_into_id == duplicate.id)
        .values(merged_into_id=kept.id),
        execution_options={"synchronize_session": False},
    )


def _combine_fields(kept: Constituent, duplicate: Constituent) -> None:
    """Combine flags, fill the kept record's blank fields and append the duplicate's notes."""
    for flag in ("is_veteran", "is_senior", "has_disability"):
        if getattr(duplicate, flag):
            setattr(kept, flag, True)
    if duplicate.do_not_contact and not kept.do_not_contact:
        kept.do_not_contact = True
        kept.do_not_contact_reason = duplicate.do_not_contact_reason
    for name in _FILL_IF_EMPTY:
        if getattr(kept, name) in (None, "") and getattr(duplicate, name) not in (None, ""):
            setattr(kept, name, getattr(duplicate, name))
    if kept.district_id is None and not kept.out_of_district and duplicate.district_id:
        kept.district_id = duplicate.district_id
    if duplicate.notes:
        kept.notes = "\n\n".join(n for n in (kept.notes, duplicate.notes) if n)[: LIMITS["notes"]]


def merge_constituents(kept: Constituent, duplicate: Constituent, author: User) -> MergeReport:
    """Move everything of ``duplicate`` onto ``kept`` and keep the duplicate as an alias.

    Cases (with their timeline events and privacy releases), contact points the kept record
    lacks, and household members move; flags are combined; blank fields are filled in. The
    duplicate gets ``merged_into`` so its old links resolve to the kept record. Audited.
    """
    _check_merge(kept, duplicate, author)
    report = MergeReport()
    report.cases = _move_cases(kept, duplicate, author)
    report.contact_points = _move_contact_points(kept, duplicate)
    report.household = _move_household(kept, duplicate)
    db.session.flush()
    _repoint_links(kept, duplicate)
    _combine_fields(kept, duplicate)
    duplicate.merged_into = kept
    duplicate.merged_at = utcnow()
    db.session.flush()
    audit.record(
        "constituent_merged",
        "constituent",
        kept.id,
        detail=f"merged #{duplicate.id} into #{kept.id}: cases={report.cases} "
        f"contact_points={report.contact_points} household={report.household}",
        user=author,
    )
    return report
