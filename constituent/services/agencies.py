"""The agency directory: agencies, their liaison contacts, search, and CSV import."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm.exc import StaleDataError

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyLevel,
    Category,
    Referral,
    ReferralStatus,
    RoutingRule,
    User,
    utcnow,
)
from constituent.models.agencies import agency_categories
from constituent.services import audit
from constituent.services.errors import Conflict, DomainError, must_exist

MAX_RESPONSE_DAYS = 365
DEFAULT_RESPONSE_DAYS = 30

# Columns of `flask agencies import FILE.csv`. One row per contact; the agency's own columns
# are repeated on each of its rows (an agency without contacts is one row with the contact
# columns empty). Only `name` and `level` are required.
IMPORT_COLUMNS = (
    "name",
    "acronym",
    "level",
    "categories",
    "expected_response_days",
    "website",
    "notes",
    "contact_name",
    "contact_title",
    "contact_email",
    "contact_phone",
    "contact_notes",
)
REQUIRED_COLUMNS = ("name", "level")


# ---------------------------------------------------------------------------------------
# Agencies
# ---------------------------------------------------------------------------------------


@dataclass
class AgencyData:
    """The editable fields of an agency, as plain values."""

    name: str
    level: AgencyLevel | str
    acronym: str | None = None
    category_ids: list[int] = field(default_factory=list)
    expected_response_days: int = DEFAULT_RESPONSE_DAYS
    website: str | None = None
    notes: str | None = None


@dataclass
class AgencyPage:
    """One page of the directory listing."""

    items: list[Agency]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def find_agencies(
    query: str = "",
    level: AgencyLevel | str | None = None,
    category_id: int | None = None,
    status: str = "active",
    page: int = 1,
    per_page: int = 25,
) -> AgencyPage:
    """Search the directory by name, acronym or notes; filter by level, category and status."""
    stmt = sa.select(Agency)
    words = (query or "").strip()
    if words:
        like = f"%{words.lower()}%"
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Agency.name).like(like),
                sa.func.lower(Agency.acronym).like(like),
                sa.func.lower(Agency.notes).like(like),
            )
        )
    if level:
        try:
            stmt = stmt.where(Agency.level == AgencyLevel(level))
        except ValueError as exc:
            raise DomainError(f"Unknown level {level!r}.", field="level") from exc
    if category_id:
        stmt = stmt.where(
            Agency.id.in_(
                sa.select(agency_categories.c.agency_id).where(
                    agency_categories.c.category_id == category_id
                )
            )
        )
    if status == "active":
        stmt = stmt.where(Agency.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(Agency.active.is_(False))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    per_page = max(1, per_page)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    items = list(
        db.session.scalars(stmt.order_by(Agency.name).limit(per_page).offset((page - 1) * per_page))
    )
    return AgencyPage(items=items, total=total, page=page, per_page=per_page)


def get_agency(agency_id: int) -> Agency:
    """The agency with this id, or NotFound."""
    return must_exist(db.session.get(Agency, agency_id), "No agency with that id.")


def active_agencies() -> list[Agency]:
    """Every active agency, by name (for pick lists)."""
    return list(
        db.session.scalars(sa.select(Agency).where(Agency.active.is_(True)).order_by(Agency.name))
    )


def active_contacts(agency: Agency | None = None) -> list[AgencyContact]:
    """Active contacts of active agencies (of ``agency`` only, if given), by agency and name
    (for pick lists)."""
    query = (
        sa.select(AgencyContact)
        .join(Agency, Agency.id == AgencyContact.agency_id)
        .where(AgencyContact.active.is_(True), Agency.active.is_(True))
        .order_by(Agency.name, AgencyContact.name)
    )
    if agency is not None:
        query = query.where(AgencyContact.agency_id == agency.id)
    return list(db.session.scalars(query))


def referral_counts(agency: Agency) -> tuple[int, int]:
    """(all referrals, referrals still awaiting an answer) made to this agency."""
    total = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Referral).where(Referral.agency_id == agency.id)
        )
        or 0
    )
    waiting = (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Referral)
            .where(
                Referral.agency_id == agency.id,
                Referral.status.in_([ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED]),
            )
        )
        or 0
    )
    return total, waiting


def _validated(
    data: AgencyData,
) -> tuple[str, AgencyLevel, str | None, list[Category], int, str | None, str | None]:
    name = (data.name or "").strip()
    if not name:
        raise DomainError("Enter the agency's name.", field="name")
    if len(name) > 200:
        raise DomainError("The name is longer than 200 characters.", field="name")
    try:
        level = AgencyLevel(data.level)
    except ValueError as exc:
        raise DomainError(
            f"Unknown level {data.level!r}; choose {', '.join(lv.value for lv in AgencyLevel)}.",
            field="level",
        ) from exc
    acronym = _clean(data.acronym)
    if acronym and len(acronym) > 20:
        raise DomainError("The acronym is longer than 20 characters.", field="acronym")
    days = data.expected_response_days
    if days is None or not 1 <= int(days) <= MAX_RESPONSE_DAYS:
        raise DomainError(
            f"Expected response days must be between 1 and {MAX_RESPONSE_DAYS}.",
            field="expected_response_days",
        )
    website = _clean(data.website)
    if website:
        if len(website) > 300:
            raise DomainError("The website address is longer than 300 characters.", field="website")
        if not website.lower().startswith(("https://", "http://")):
            raise DomainError("The website must start with https:// or http://.", field="website")
    categories: list[Category] = []
    ids = sorted(set(data.category_ids or []))
    if ids:
        categories = list(
            db.session.scalars(
                sa.select(Category).where(Category.id.in_(ids)).order_by(Category.name)
            )
        )
        if len(categories) != len(ids):
            raise DomainError("One of the chosen categories does not exist.", field="category_ids")
    return name, level, acronym, categories, int(days), website, _clean(data.notes)


def _name_taken(name: str, except_id: int | None = None) -> bool:
    stmt = sa.select(Agency.id).where(sa.func.lower(Agency.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(Agency.id != except_id)
    return db.session.scalar(stmt) is not None


def create_agency(data: AgencyData, user: User | None = None) -> Agency:
    """Add an agency to the directory (names are unique, ignoring case)."""
    name, level, acronym, categories, days, website, notes = _validated(data)
    if _name_taken(name):
        raise DomainError(f"An agency named {name!r} is already in the directory.", field="name")
    agency = Agency(
        name=name,
        level=level,
        acronym=acronym,
        categories=categories,
        expected_response_days=days,
        website=website,
        notes=notes,
    )
    db.session.add(agency)
    db.session.flush()
    audit.record("agency_created", "agency", agency.id, detail=name, user=user)
    return agency


def _agency_values(agency: Agency) -> dict[str, str]:
    return {
        "Name": agency.name,
        "Acronym": agency.acronym or "",
        "Level": agency.level.label,
        "Categories": ", ".join(c.name for c in agency.categories),
        "Expected response days": str(agency.expected_response_days),
        "Website": agency.website or "",
        "Notes": agency.notes or "",
    }


def _differences(saved: dict[str, str], entered: dict[str, str]) -> list[tuple[str, str, str]]:
    return [(k, saved[k], entered.get(k, "")) for k in saved if saved[k] != entered.get(k, "")]


def update_agency(
    agency: Agency, data: AgencyData, expected_version: int, user: User | None = None
) -> Agency:
    """Save an edit made on version ``expected_version``; Conflict if someone saved since."""
    name, level, acronym, categories, days, website, notes = _validated(data)
    entered = {
        "Name": name,
        "Acronym": acronym or "",
        "Level": level.label,
        "Categories": ", ".join(c.name for c in categories),
        "Expected response days": str(days),
        "Website": website or "",
        "Notes": notes or "",
    }
    if agency.version != expected_version:
        raise Conflict(
            f"{agency.name} was changed by someone else after you opened the form. "
            "Nothing you entered was saved.",
            changes=_differences(_agency_values(agency), entered),
        )
    if _name_taken(name, except_id=agency.id):
        raise DomainError(f"An agency named {name!r} is already in the directory.", field="name")
    changed = [label for label, _, _ in _differences(_agency_values(agency), entered)]
    if not changed:
        return agency
    agency.name, agency.level, agency.acronym = name, level, acronym
    agency.categories = categories
    agency.expected_response_days, agency.website, agency.notes = days, website, notes
    agency.updated_at = utcnow()  # an UPDATE even when only categories changed: bumps version
    _flush_versioned(agency.name)
    audit.record("agency_updated", "agency", agency.id, detail=", ".join(changed), user=user)
    return agency


def _flush_versioned(label: str) -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict(
            f"{label} was changed by someone else while you saved. Nothing you entered was saved."
        ) from exc


def set_agency_active(agency: Agency, active: bool, user: User | None = None) -> Agency:
    """Deactivate (hide from pick lists and routing) or reactivate an agency."""
    if agency.active == active:
        return agency
    agency.active = active
    agency.updated_at = utcnow()
    _flush_versioned(agency.name)
    audit.activity("agency", agency.id, active, agency.name, user=user)
    return agency


def delete_agency(agency: Agency, user: User | None = None) -> None:
    """Delete an agency that was never used; one with referrals can only be deactivated."""
    total, _ = referral_counts(agency)
    if total:
        raise DomainError(
            f"{agency.name} has {total} referral{'s' if total != 1 else ''} on record, so it "
            "cannot be deleted. Deactivate it instead: it stays on those cases but is no "
            "longer offered for new referrals."
        )
    name, agency_id = agency.name, agency.id
    db.session.execute(sa.delete(RoutingRule).where(RoutingRule.agency_id == agency_id))
    for contact in list(agency.contacts):
        db.session.delete(contact)
    agency.categories = []
    db.session.delete(agency)
    db.session.flush()
    audit.record("agency_deleted", "agency", agency_id, detail=name, user=user)


# ---------------------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------------------


@dataclass
class ContactData:
    """The editable fields of an agency contact, as plain values."""

    name: str
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None

    def values(self) -> dict[str, Any]:
        """Each field by name: the contact's columns of the same names."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _validated_contact(data: ContactData) -> ContactData:
    name = (data.name or "").strip()
    if not name:
        raise DomainError("Enter the contact's name.", field="name")
    limits = {"name": 120, "title": 120, "email": 254, "phone": 40, "notes": 2000}
    values = {
        "name": name,
        "title": _clean(data.title),
        "email": _clean(data.email),
        "phone": _clean(data.phone),
        "notes": _clean(data.notes),
    }
    for key, limit in limits.items():
        value = values[key]
        if value and len(value) > limit:
            raise DomainError(f"The {key} is longer than {limit} characters.", field=key)
    email = values["email"]
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise DomainError(f"{email} is not a valid email address.", field="email") from exc
    return ContactData(
        name=name,
        title=values["title"],
        email=email,
        phone=values["phone"],
        notes=values["notes"],
    )


def get_contact(contact_id: int) -> AgencyContact:
    """The contact with this id, or NotFound."""
    return must_exist(db.session.get(AgencyContact, contact_id), "No agency contact with that id.")


def _audit_contact(contact: AgencyContact, done: str, user: User | None) -> None:
    """Flush a changed contact and audit it (``agency_contact_<done>``)."""
    db.session.flush()
    audit.record(
        f"agency_contact_{done}",
        "agency_contact",
        contact.id,
        detail=f"{contact.agency.name}: {contact.name}",
        user=user,
    )


def add_contact(agency: Agency, data: ContactData, user: User | None = None) -> AgencyContact:
    """Add a liaison to an agency."""
    clean = _validated_contact(data)
    contact = AgencyContact(agency=agency, **clean.values())
    db.session.add(contact)
    _audit_contact(contact, "added", user)
    return contact


def update_contact(
    contact: AgencyContact, data: ContactData, user: User | None = None
) -> AgencyContact:
    """Save changes to a contact."""
    clean = _validated_contact(data)
    for name, value in clean.values().items():
        setattr(contact, name, value)
    _audit_contact(contact, "updated", user)
    return contact


def set_contact_active(
    contact: AgencyContact, active: bool, user: User | None = None
) -> AgencyContact:
    """Deactivate (a liaison who left) or reactivate a contact."""
    if contact.active != active:
        contact.active = active
        _audit_contact(contact, "activated" if active else "deactivated", user)
    return contact


# ---------------------------------------------------------------------------------------
# CSV import
# ---------------------------------------------------------------------------------------


@dataclass
class RowError:
    """A refused row of an import file."""

    line: int
    name: str
    message: str


@dataclass
class DirectoryImport:
    """What an import did: counts, and the refused rows with their line numbers."""

    rows: int = 0
    agencies_created: int = 0
    agencies_updated: int = 0
    agencies_unchanged: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    contacts_unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported_rows(self) -> int:
        return self.rows - len(self.errors)


@dataclass
class _Row:
    line: int
    name: str
    acronym: str | None
    level: AgencyLevel
    categories: list[Category]
    days: int | None
    website: str | None
    notes: str | None
    contact: ContactData | None


def _category_index() -> dict[str, Category]:
    index: dict[str, Category] = {}
    for category in db.session.scalars(sa.select(Category)):
        index[category.name.strip().lower()] = category
        index[category.slug.strip().lower()] = category
    return index


def _cell(raw: dict[str, str | None], key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def _row_level(text: str, problems: list[str]) -> AgencyLevel | None:
    """The agency's level, or a problem naming the levels there are."""
    try:
        return AgencyLevel(text.lower())
    except ValueError:
        problems.append(f"level {text!r} is not one of {', '.join(lv.value for lv in AgencyLevel)}")
        return None


def _row_categories(
    text: str, categories: dict[str, Category], problems: list[str]
) -> list[Category]:
    """The row's ``;``-separated categories, by name or slug, each once."""
    chosen: list[Category] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        category = categories.get(part.lower())
        if category is None:
            problems.append(f"unknown category {part!r}")
        elif category not in chosen:
            chosen.append(category)
    return chosen


def _row_days(text: str, problems: list[str]) -> int | None:
    """The expected response time in days, when given."""
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_RESPONSE_DAYS:
        problems.append(
            f"expected_response_days {text!r} is not a whole number of "
            f"days from 1 to {MAX_RESPONSE_DAYS}"
        )
        return None
    return int(text)


def _row_contact(raw: dict[str, str | None], problems: list[str]) -> ContactData | None:
    """The row's liaison, when any ``contact_*`` column is filled."""
    values = {k: _cell(raw, f"contact_{k}") for k in ("name", "title", "email", "phone", "notes")}
    if not any(values.values()):
        return None
    if not values["name"]:
        problems.append("contact_name is empty but other contact columns are filled")
        return None
    try:
        return _validated_contact(ContactData(**values))
    except DomainError as exc:
        problems.append(f"contact_{exc.field}: {exc.message.rstrip('.')}")
        return None


def _parse_row(raw: dict[str, str | None], line: int, categories: dict[str, Category]) -> _Row:
    if None in raw:
        raise DomainError("The row has more cells than the header has columns.")
    problems: list[str] = []
    name = _cell(raw, "name")
    if not name:
        problems.append("name is empty")
    elif len(name) > 200:
        problems.append("name is longer than 200 characters")
    level = _row_level(_cell(raw, "level"), problems)
    acronym = _cell(raw, "acronym") or None
    if acronym and len(acronym) > 20:
        problems.append("acronym is longer than 20 characters")
    chosen = _row_categories(_cell(raw, "categories"), categories, problems)
    days = _row_days(_cell(raw, "expected_response_days"), problems)
    website = _cell(raw, "website") or None
    if website and (len(website) > 300 or not website.lower().startswith(("https://", "http://"))):
        problems.append("website must start with https:// or http:// (at most 300 characters)")
    contact = _row_contact(raw, problems)
    if problems:
        text = "; ".join(problems)
        raise DomainError(text[0].upper() + text[1:] + ("" if text.endswith(".") else "."))
    assert level is not None
    return _Row(
        line=line,
        name=name,
        acronym=acronym,
        level=level,
        categories=chosen,
        days=days,
        website=website,
        notes=_cell(raw, "notes") or None,
        contact=contact,
    )


def import_directory(text: Iterable[str], user: User | None = None) -> DirectoryImport:
    """Load agencies and contacts from CSV (see IMPORT_COLUMNS); good rows in, bad reported.

    Agencies are matched by name (ignoring case) and contacts by email, else by name, so
    importing the same file again updates rather than duplicates. The agency's own columns
    come from its first good row in the file; its categories are those of all its rows.
    Never commits: the caller commits (or rolls back for a dry run).
    """
    reader = csv.DictReader(text)
    try:
        headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise DomainError(f"The file is not readable as CSV: {exc}.", field="file") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in headers]
    if missing:
        raise DomainError(
            f"The file has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}. "
            f"The first line must name the columns: {', '.join(IMPORT_COLUMNS)}.",
            field="file",
        )
    reader.fieldnames = headers
    report = DirectoryImport()
    categories = _category_index()
    groups: dict[str, list[_Row]] = {}
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.rows += 1
            report.errors.append(
                RowError(
                    reader.line_num,
                    "",
                    f"Unreadable CSV: {exc}. The rest of the file was not read.",
                )
            )
            break
        report.rows += 1
        try:
            row = _parse_row(raw, reader.line_num, categories)
        except DomainError as exc:
            name = raw.get("name")
            report.errors.append(RowError(reader.line_num, (name or "").strip()[:200], exc.message))
            continue
        groups.setdefault(row.name.lower(), []).append(row)
    for rows in groups.values():
        _import_agency(rows, report)
    db.session.flush()
    audit.record(
        "agencies_imported",
        "agency",
        None,
        user=user,
        detail=f"rows={report.rows} refused={len(report.errors)} "
        f"agencies created={report.agencies_created} updated={report.agencies_updated} "
        f"contacts created={report.contacts_created} updated={report.contacts_updated}",
    )
    return report


def _import_agency(rows: list[_Row], report: DirectoryImport) -> None:
    first = rows[0]
    categories: list[Category] = []
    for row in rows:
        categories.extend(c for c in row.categories if c not in categories)
    categories.sort(key=lambda c: c.name)
    agency = db.session.scalar(
        sa.select(Agency).where(sa.func.lower(Agency.name) == first.name.lower())
    )
    if agency is None:
        agency = Agency(
            name=first.name,
            acronym=first.acronym,
            level=first.level,
            expected_response_days=first.days or DEFAULT_RESPONSE_DAYS,
            website=first.website,
            notes=first.notes,
            categories=categories,
        )
        db.session.add(agency)
        report.agencies_created += 1
    else:
        wanted = {
            "acronym": first.acronym,
            "level": first.level,
            "website": first.website,
            "notes": first.notes,
            "expected_response_days": first.days or agency.expected_response_days,
        }
        changed = any(getattr(agency, k) != v for k, v in wanted.items())
        changed = changed or {c.id for c in agency.categories} != {c.id for c in categories}
        if changed:
            for key, value in wanted.items():
                setattr(agency, key, value)
            agency.categories = categories
            agency.updated_at = utcnow()
            report.agencies_updated += 1
        else:
            report.agencies_unchanged += 1
    for row in rows:
        if row.contact is not None:
            _import_contact(agency, row.contact, report)


def _import_contact(agency: Agency, data: ContactData, report: DirectoryImport) -> None:
    match = None
    if data.email:
        match = next((c for c in agency.contacts if (c.email or "").lower() == data.email), None)
    if match is None:
        match = next(
            (
                c
                for c in agency.contacts
                if c.name.lower() == data.name.lower() and (not c.email or not data.email)
            ),
            None,
        )
    if match is None:
        agency.contacts.append(AgencyContact(**data.values()))
        report.contacts_created += 1
        return
    wanted = {**data.values(), "active": True}
    if any(getattr(match, k) != v for k, v in wanted.items()):
        for key, value in wanted.items():
            setattr(match, key, value)
        report.contacts_updated += 1
    else:
        report.contacts_unchanged += 1
