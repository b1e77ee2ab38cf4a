"""Districts and the ZIP table: look-ups, imports and redistricting."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    OPEN_STATUSES,
    Case,
    Constituent,
    District,
    EventKind,
    User,
    ZipDistrict,
)
from constituent.services import audit, timeline
from constituent.services.errors import DomainError

ZCCD_COLUMNS = ("state_fips", "state_abbr", "zcta", "cd")


def district_code(state: str, cd: str | int) -> str:
    """'NY', 12 → 'NY-12'; an at-large district (cd 0) → 'AK-AL'."""
    number = int(cd)
    return f"{state.upper()}-AL" if number == 0 else f"{state.upper()}-{number:02d}"


def districts_for(user: User) -> list[District]:
    """The districts a user belongs to, by code."""
    return sorted(user.districts, key=lambda d: d.code)


def served_districts(include_inactive: bool = False) -> list[District]:
    """The districts the office serves, by code (active ones unless asked)."""
    stmt = sa.select(District).order_by(District.code)
    if not include_inactive:
        stmt = stmt.where(District.active.is_(True))
    return list(db.session.scalars(stmt))


def get_by_code(code: str) -> District | None:
    return db.session.scalar(sa.select(District).where(District.code == code.strip().upper()))


DISTRICT_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,15}$")


@dataclass
class DistrictSpec:
    """A district as given on the command line or a form: ``AL-04``, ``AL-04=Huntsville area``.

    Unset fields are filled from the office (state from the code's ``XX-`` prefix first)."""

    code: str
    name: str = ""
    state: str | None = None
    chamber: str | None = None
    legislator_name: str | None = None

    @classmethod
    def parse(cls, text: str) -> DistrictSpec:
        """'AL-04' or 'AL-04=Alabama's 4th congressional district'."""
        code, _, name = text.partition("=")
        return cls(code=code.strip(), name=name.strip())


def _check_code(code: str) -> str:
    code = code.strip().upper()
    if not DISTRICT_CODE_RE.match(code):
        raise DomainError(
            f"District code {code!r} is not usable: 2 to 16 letters, digits and hyphens, "
            "e.g. AL-04, MT-AL, NY-SD45.",
            field="code",
        )
    return code


def add_district(spec: DistrictSpec, by: User | None = None) -> District:
    """Add a district the office serves (audited). Refuses a code that exists already."""
    code = _check_code(spec.code)
    if get_by_code(code) is not None:
        raise DomainError(f"District {code} exists already.", field="code")
    prefix = code.split("-", 1)[0]
    state = (spec.state or (prefix if "-" in code and len(prefix) == 2 else "")).upper()
    if not re.fullmatch(r"[A-Z]{2}", state):
        raise DomainError(
            f"Give the state of district {code} (a two-letter postal code).", field="state"
        )
    name = " ".join((spec.name or "").split()) or code
    if len(name) > 120:
        raise DomainError("Use at most 120 characters for the district's name.", field="name")
    legislator = (spec.legislator_name or "").strip()[:120] or None
    district = District(
        code=code,
        name=name,
        state=state,
        chamber=(spec.chamber or "house")[:16],
        legislator_name=legislator,
    )
    db.session.add(district)
    db.session.flush()
    audit.record("district_added", "district", district.id, detail=code, user=by)
    return district


def choosable(district_id: int, missing: str, kept_id: int | None = None) -> District:
    """The district chosen on a form: it exists (else ``missing``) and is served, unless it is
    the one the record already has (``kept_id``). Refusals name the ``district_id`` field."""
    district = db.session.get(District, district_id)
    if district is None:
        raise DomainError(missing, field="district_id")
    if not district.active and district.id != kept_id:
        raise DomainError(
            f"{district.code} is deactivated: choose a district the office serves.",
            field="district_id",
        )
    return district


def edit_district(
    district: District,
    name: str | None = None,
    legislator_name: str | None = None,
    by: User | None = None,
) -> District:
    """Change a district's name or legislator (audited with the fields that changed)."""
    changed: list[str] = []
    if name is not None:
        name = " ".join(name.split())
        if not name or len(name) > 120:
            raise DomainError("Enter the district's name (at most 120 characters).", field="name")
        if name != district.name:
            district.name, changed = name, [*changed, "name"]
    if legislator_name is not None:
        legislator = legislator_name.strip()
        if len(legislator) > 120:
            raise DomainError(
                "Use at most 120 characters for the legislator.", field="legislator_name"
            )
        if (legislator or None) != district.legislator_name:
            district.legislator_name, changed = legislator or None, [*changed, "legislator"]
    if changed:
        db.session.flush()
        audit.record("district_edited", "district", district.id, detail=",".join(changed), user=by)
    return district


def set_district_active(district: District, active: bool, by: User | None = None) -> None:
    """Deactivate a district (it takes no new cases; its cases and history stay) or
    reactivate it. Refused when it is the last active district of an account that needs one."""
    if district.active == active:
        return
    if not active:
        from constituent.services.permissions import needs_district

        stranded = [
            u.email
            for u in district.users
            if u.active
            and needs_district(u.role)
            and not any(d.active and d.id != district.id for d in u.districts)
        ]
        if stranded:
            shown = ", ".join(sorted(stranded)[:5]) + (" ..." if len(stranded) > 5 else "")
            raise DomainError(
                f"{district.code} is the last district of {shown}: give them another "
                "district first.",
                field="district",
            )
    district.active = active
    db.session.flush()
    audit.activity("district", district.id, active, district.code, user=by)


def known_district_codes() -> set[str]:
    """Codes of the served districts and of every district in the ZIP table."""
    served = set(db.session.scalars(sa.select(District.code)))
    return served | set(db.session.scalars(sa.select(ZipDistrict.district_code).distinct()))


def add_zip(zip5: str, code: str, by: User | None = None) -> ZipDistrict:
    """Add one ZIP → district row (territories, PO-box ZIPs, new ZIPs). The district must be
    served or already in the ZIP table; the state comes from the district."""
    zip5 = zip5.strip()
    if len(zip5) != 5 or not zip5.isdigit():
        raise DomainError(f"ZIP {zip5!r} is not five digits.", field="zip5")
    code = code.strip().upper()
    district = get_by_code(code)
    if district is not None:
        state = district.state
    else:
        found = db.session.scalar(
            sa.select(ZipDistrict.state).where(ZipDistrict.district_code == code).limit(1)
        )
        if found is None:
            raise DomainError(
                f"Unknown district {code}: add it with `flask districts add` (or on the "
                "Districts page) first.",
                field="district",
            )
        state = found
    if db.session.get(ZipDistrict, (zip5, code)) is not None:
        raise DomainError(f"ZIP {zip5} is in {code} already.", field="zip5")
    row = ZipDistrict(zip5=zip5, district_code=code, state=state)
    db.session.add(row)
    db.session.flush()
    audit.record("zip_added", "zip_table", zip5, detail=code, user=by)
    return row


@dataclass
class ZipLookup:
    """What the ZIP table says about one ZIP for this office."""

    zip5: str
    codes: list[str]  # every district the ZIP lies in
    served: list[District]  # those the office serves

    @property
    def known(self) -> bool:
        return bool(self.codes)

    @property
    def is_split(self) -> bool:
        return len(self.served) > 1

    @property
    def out_of_district(self) -> bool:
        return self.known and not self.served


def lookup_zip(zip5: str) -> ZipLookup:
    """Districts of a ZIP, split into all of them and the ones this office serves."""
    codes = list(
        db.session.scalars(
            sa.select(ZipDistrict.district_code)
            .where(ZipDistrict.zip5 == zip5)
            .order_by(ZipDistrict.district_code)
        )
    )
    served = (
        list(
            db.session.scalars(
                sa.select(District)
                .where(District.code.in_(codes), District.active.is_(True))
                .order_by(District.code)
            )
        )
        if codes
        else []
    )
    return ZipLookup(zip5=zip5, codes=codes, served=served)


@dataclass
class DistrictChange:
    constituent_id: int
    name: str
    zip5: str
    old_code: str | None
    new_code: str | None
    out_of_district: bool


@dataclass
class ImportReport:
    rows: int = 0
    zips: int = 0
    states: list[str] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    changes: list[DistrictChange] = field(default_factory=list)
    needs_review: list[DistrictChange] = field(default_factory=list)
    notes_added: int = 0


GENERIC_ZIP_COLUMNS = ("zip", "district")


def _census_row(line_no: int, row: dict[str, str]) -> tuple[str, str, str]:
    """(zcta, district code, state) of a Census row (``state_abbr, zcta, cd``)."""
    state = (row.get("state_abbr") or "").strip().upper()
    zcta = (row.get("zcta") or "").strip()
    cd = (row.get("cd") or "").strip()
    if not cd.isdigit() or int(cd) > 99:
        raise DomainError(f"Line {line_no}: district {cd!r} is not a number.")
    return zcta, cd, state


def _office_row(line_no: int, row: dict[str, str]) -> tuple[str, str, str]:
    """(zcta, district code, state) of an office's own row (``zip, district[, share][, state]``)."""
    zcta = (row.get("zip") or "").strip()[:5]
    raw = (row.get("district") or "").strip().upper()
    if not DISTRICT_CODE_RE.match(raw):
        raise DomainError(f"Line {line_no}: district {raw!r} is not a district code.")
    share = (row.get("share") or "").strip().rstrip("%")
    try:
        float(share or 0)
    except ValueError:
        raise DomainError(f"Line {line_no}: share {share!r} is not a number.") from None
    prefix = raw.split("-", 1)[0]
    state = (row.get("state") or (prefix if "-" in raw else "")).strip().upper()
    return zcta, raw, state


def _zip_table_reader(text: Iterable[str]) -> tuple[csv.DictReader[str], bool]:
    """A reader with lower-cased column names, and whether the file is the Census layout."""
    reader = csv.DictReader(text)
    try:
        fieldnames = [(c or "").strip().lower() for c in reader.fieldnames or []]
    except csv.Error as exc:
        raise DomainError(f"The file is not readable as CSV: {exc}.", field="file") from exc
    reader.fieldnames = fieldnames
    census = all(c in fieldnames for c in ZCCD_COLUMNS)
    if not census and not all(c in fieldnames for c in GENERIC_ZIP_COLUMNS):
        raise DomainError(
            "The file is not a ZIP table: missing column(s) zip, district (an office's own "
            f"table) or {', '.join(ZCCD_COLUMNS)} (the Census file); found "
            f"{', '.join(fieldnames) or 'none'}.",
            field="file",
        )
    return reader, census


def _checked_zip(line_no: int, state: str, zcta: str) -> str:
    """The five-digit ZIP of a row (leading zeros restored), once its state is a code."""
    if len(state) != 2 or not state.isalpha():
        raise DomainError(f"Line {line_no}: state {state!r} is not a two-letter code.")
    if zcta.isdigit() and len(zcta) < 5:
        zcta = zcta.zfill(5)
    if len(zcta) != 5 or not zcta.isdigit():
        raise DomainError(f"Line {line_no}: ZIP {zcta!r} is not five digits.")
    return zcta


def parse_zccd(text: Iterable[str], states: set[str] | None = None) -> set[tuple[str, str, str]]:
    """Parse a ZIP table into (zip5, district code, state) rows.

    Two layouts: the Census file (``state_fips, state_abbr, zcta, cd``, see zccd.csv) and any
    office's own ``zip, district[, share][, state]`` table (state legislative districts,
    council wards ...; the state defaults to the district code's ``XX-`` prefix).
    """
    reader, census = _zip_table_reader(text)
    read_row = _census_row if census else _office_row
    rows: set[tuple[str, str, str]] = set()
    try:
        rows_read = list(enumerate(reader, start=2))
    except csv.Error as exc:
        raise DomainError(
            f"Line {reader.line_num}: not readable as CSV ({exc}).", field="file"
        ) from exc
    for line_no, row in rows_read:
        zcta, district, state = read_row(line_no, row)
        if states and state not in states:
            continue
        zcta = _checked_zip(line_no, state, zcta)
        rows.add((zcta, district_code(state, district) if census else district, state))
    return rows


def decode_upload(data: bytes) -> io.StringIO:
    """Text of an uploaded CSV (UTF-8, with or without BOM)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError("The file is not UTF-8 text.", field="file") from exc
    # Universal newlines: a CSV saved with bare carriage returns (old Mac Excel) still reads.
    return io.StringIO(text, newline=None)


def import_zip_table(
    text: Iterable[str],
    states: set[str] | None = None,
    author: User | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Replace the ZIP table of the states in the file and re-district constituents.

    The caller commits for a real run and rolls back for a dry run: the report is the same.
    Constituents whose district was set by hand (``district_override``) are left alone.
    """
    rows = parse_zccd(text, states)
    if not rows:
        raise DomainError("The file has no ZIP rows for the chosen states.", field="file")
    report = ImportReport(rows=len(rows))
    file_states = sorted({s for _, _, s in rows})
    report.states = file_states
    report.zips = len({z for z, _, _ in rows})
    existing: set[tuple[str, str, str]] = {
        (zip5, code, state)
        for zip5, code, state in db.session.execute(
            sa.select(ZipDistrict.zip5, ZipDistrict.district_code, ZipDistrict.state).where(
                ZipDistrict.state.in_(file_states)
            )
        ).all()
    }
    to_remove = existing - rows
    to_add = rows - existing
    report.added, report.removed = len(to_add), len(to_remove)
    for zip5, code, _state in to_remove:
        db.session.execute(
            sa.delete(ZipDistrict).where(
                ZipDistrict.zip5 == zip5, ZipDistrict.district_code == code
            )
        )
    if to_add:
        db.session.execute(
            sa.insert(ZipDistrict),
            [{"zip5": z, "district_code": c, "state": s} for z, c, s in sorted(to_add)],
        )
    db.session.flush()
    if existing:  # a first import has nobody to move
        _redistrict(rows, report, author, progress)
    audit.record(
        "zip_table_imported",
        "zip_table",
        ",".join(file_states)[:40],
        detail=f"rows={report.rows} added={report.added} removed={report.removed} "
        f"moved={len(report.changes)}",
        user=author,
    )
    return report


def _redistrict(
    rows: set[tuple[str, str, str]],
    report: ImportReport,
    author: User | None,
    progress: Callable[[int], None] | None,
) -> None:
    by_zip: dict[str, list[str]] = defaultdict(list)
    for zip5, code, _ in rows:
        by_zip[zip5].append(code)
    served = {d.code: d for d in db.session.scalars(sa.select(District))}
    constituents = db.session.scalars(
        sa.select(Constituent)
        .where(
            Constituent.zip5.in_(
                sa.select(ZipDistrict.zip5).where(ZipDistrict.state.in_(report.states))
            ),
            Constituent.district_override.is_(False),
            Constituent.merged_into_id.is_(None),
        )
        .order_by(Constituent.id)
    )
    for done, person in enumerate(constituents, start=1):
        if progress:
            progress(done)
        codes = by_zip.get(person.zip5 or "", [])
        current = person.district.code if person.district else None
        served_codes = [c for c in codes if c in served]
        if current in codes:
            continue
        if not served_codes:
            if person.out_of_district and person.district_id is None:
                continue
            new_code = None
        elif len(served_codes) == 1:
            new_code = served_codes[0]
        else:
            report.needs_review.append(
                DistrictChange(person.id, person.full_name, person.zip5 or "", current, None, False)
            )
            continue
        change = DistrictChange(
            person.id, person.full_name, person.zip5 or "", current, new_code, new_code is None
        )
        report.changes.append(change)
        person.district = served[new_code] if new_code else None
        person.out_of_district = new_code is None
        for case in db.session.scalars(
            sa.select(Case).where(Case.constituent_id == person.id, Case.status.in_(OPEN_STATUSES))
        ):
            timeline.add_event(
                case,
                EventKind.SYSTEM,
                f"The constituent's district changed from {current or 'none'} to "
                f"{new_code or 'out of district'} after the ZIP table was re-imported.",
                author=author,
            )
            report.notes_added += 1


def with_zip_counts() -> list[tuple[District, int]]:
    """Every district with the number of ZIPs mapped to it, by code (the Districts page)."""
    rows = db.session.execute(
        sa.select(District, sa.func.count(ZipDistrict.zip5))
        .outerjoin(ZipDistrict, ZipDistrict.district_code == District.code)
        .group_by(District.id)
        .order_by(District.code)
    )
    return [(district, count) for district, count in rows]


def zip_count() -> int:
    """How many distinct ZIPs the ZIP table maps."""
    return db.session.scalar(sa.select(sa.func.count(sa.distinct(ZipDistrict.zip5)))) or 0
