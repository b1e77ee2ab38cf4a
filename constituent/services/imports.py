"""Bringing an office's existing caseload in: constituents and cases from CSV files.

Each file has a documented layout (``CONSTITUENT_COLUMNS``, ``CASE_COLUMNS``) with an
``external_id`` column: importing the same file again updates the records it made before. Every
row is checked whole before anything of it is written, so a refused row leaves nothing behind;
a dry run checks every row and writes nothing. Rows are read one at a time and written in
batches, so memory stays flat however long the file is. The search queue follows the ORM writes.
"""

from __future__ import annotations

import codecs
import csv
import io
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any, TypeVar

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    Case,
    CaseInterval,
    CaseStatus,
    Channel,
    Constituent,
    ContactKind,
    ContactPoint,
    District,
    EventKind,
    Outcome,
    Referral,
    ReferralMethod,
    ReferralStatus,
    TimelineEvent,
    User,
)
from constituent.services import addresses, audit, normalize
from constituent.services import categories as category_service
from constituent.services import constituents as constituent_service
from constituent.services.cases import next_case_number
from constituent.services.clock import office_tz
from constituent.services.errors import DomainError

BATCH = 500
MAX_ID = 64

# column → (required, what it holds): the documented layouts (README and the upload page).
CONSTITUENT_COLUMNS: dict[str, tuple[bool, str]] = {
    "external_id": (True, "the record's id in the old system (re-importing updates it)"),
    "first_name": (True, "first name"),
    "last_name": (True, "last name"),
    "middle_name": (False, "middle name"),
    "suffix": (False, "Jr., III ..."),
    "street": (False, "street address"),
    "street2": (False, "apartment, suite, unit"),
    "city": (False, "city"),
    "state": (False, "two-letter state (default: the district's)"),
    "zip": (False, "ZIP or ZIP+4"),
    "phone": (False, "phone, extension kept"),
    "email": (False, "email"),
    "language": (False, "preferred language"),
    "notes": (False, "notes"),
}
CASE_COLUMNS: dict[str, tuple[bool, str]] = {
    "external_id": (True, "the case's id in the old system (re-importing updates it)"),
    "constituent_external_id": (True, "external_id of the constituent (imported first)"),
    "category": (True, "category name, as on the Categories page"),
    "subject": (True, "a few words on the concern"),
    "opened_on": (True, "date opened, YYYY-MM-DD (or M/D/YYYY)"),
    "status": (False, "open, waiting_on_constituent, waiting_on_agency, resolved, closed"),
    "closed_on": (False, "date closed (needed when resolved or closed)"),
    "outcome": (False, ", ".join(o.value for o in Outcome)),
    "agency": (False, "agency name or acronym the case was referred to"),
    "district": (False, "district code (default: the constituent's)"),
    "channel": (False, ", ".join(c.value for c in Channel) + " (default phone)"),
    "description": (False, "what the constituent said"),
    "notes": (False, "case notes, added to the timeline"),
}
DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}


@dataclass(frozen=True)
class Refusal:
    """A row that was not imported: where, which column, and why."""

    line: int
    column: str
    reason: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    matched: int = 0  # new external ids given to a constituent already on file
    refused: list[Refusal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.matched

    def summary(self, dry_run: bool) -> str:
        verb = "would be" if dry_run else "were"
        matched = (
            f", {self.matched:,} matched to records on file" if self.kind == "constituent" else ""
        )
        return (
            f"{self.rows:,} {self.kind} rows: {self.created:,} {verb} added, "
            f"{self.updated:,} updated{matched}; {len(self.refused):,} refused."
        )


@dataclass(frozen=True)
class ImportRun:
    """One run of an import: the CSV, whether it only checks (``dry_run``), who runs it,
    ``progress`` told the rows read so far, and ``on_batch`` called after each batch is
    flushed (where a command or the upload's thread commits)."""

    stream: IO[bytes]
    dry_run: bool
    by: User | None = None
    progress: Callable[[int], None] | None = None
    on_batch: Callable[[], None] | None = None

    def batch_done(self) -> None:
        """A batch is written: flush it (the session keeps written rows only weakly, so
        they are not held) and tell the caller. A dry run writes nothing."""
        if not self.dry_run:
            db.session.flush()
            if self.on_batch:
                self.on_batch()

    def finish(self, action: str, report: ImportReport) -> ImportReport:
        """Audit what a real run did; the report, for the caller."""
        if not self.dry_run:
            matched = f"matched={report.matched} " if report.kind == "constituent" else ""
            audit.record(
                action,
                "import",
                None,
                detail=f"created={report.created} updated={report.updated} "
                f"{matched}refused={len(report.refused)}",
                user=self.by,
            )
        return report


class _Refused(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


# --- reading the file ------------------------------------------------------------------------


def _sniff_encoding(head: bytes, notes: list[str]) -> str:
    """The encoding of a file from its first bytes: UTF-16 by its mark, else UTF-8, else
    Windows-1252 (noted when not UTF-8)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        notes.append("The file is UTF-16 (Excel's 'Unicode text'): read as such.")
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the chunk's end
            notes.append(
                "The file is not UTF-8: it was read as Windows-1252, the encoding of "
                "Excel's 'CSV (Comma delimited)'. Check accented names; next time save "
                "as 'CSV UTF-8 (Comma delimited)'."
            )
            return "cp1252"
    return "utf-8-sig"


def _read_header(
    header_line: str, columns: dict[str, tuple[bool, str]], notes: list[str]
) -> tuple[str, list[str]]:
    """The delimiter and column names of the header line, checked against the layout."""
    delimiter = max(DELIMITERS, key=header_line.count)
    if header_line.count(delimiter) == 0:
        delimiter = ","
    if delimiter != ",":
        notes.append(f"The file is separated by {DELIMITERS[delimiter]}, not commas: read so.")
    header = [
        h.strip().lower().replace(" ", "_")
        for h in next(csv.reader([header_line], delimiter=delimiter), [])
    ]
    missing = [c for c, (required, _) in columns.items() if required and c not in header]
    if missing:
        raise DomainError(
            f"The file lacks the column(s) {', '.join(missing)}. Found: "
            f"{', '.join(h for h in header if h) or 'nothing'}. Expected: "
            f"{', '.join(columns)} (the first row names the columns).",
            field="file",
        )
    unknown = [h for h in header if h and h not in columns]
    if unknown:
        notes.append(f"Columns not in the layout were ignored: {', '.join(unknown)}.")
    return delimiter, header


def open_table(
    stream: IO[bytes], columns: dict[str, tuple[bool, str]], notes: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) of a CSV stream: its encoding and delimiter found (and noted when not the
    expected UTF-8 and commas), its header checked against the layout."""
    head = stream.read(65536)
    stream.seek(0)
    encoding = _sniff_encoding(head, notes)
    text: Iterator[str] = (
        io.TextIOWrapper(stream, encoding=encoding, newline="", errors="strict")
        if encoding == "utf-16" or (b"\r" in head and b"\n" not in head)  # old Mac: CR only
        else _decoded_lines(stream, encoding)
    )
    try:
        header_line = next(text, "")
    except UnicodeDecodeError as exc:
        raise DomainError(_encoding_message(encoding), field="file") from exc
    delimiter, header = _read_header(header_line, columns, notes)
    reader = csv.reader(text, delimiter=delimiter)
    line = 1
    try:
        for values in reader:
            line = reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            yield line, {h: v.strip() for h, v in zip(header, values, strict=False) if h}
    except UnicodeDecodeError as exc:
        raise DomainError(
            f"Line {line + 1}: {_encoding_message(encoding)} Nothing after it was read.",
            field="file",
        ) from exc
    except csv.Error as exc:
        raise DomainError(f"Line {line}: not readable as CSV ({exc}).", field="file") from exc


def _decoded_lines(stream: IO[bytes], encoding: str) -> Iterator[str]:
    """The file's lines decoded one at a time, so that a line that does not decode is named
    by its own number (a reader decoding ahead in chunks would blame an earlier line)."""
    for number, raw in enumerate(stream, start=1):
        try:
            yield raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DomainError(
                f"Line {number}: {_encoding_message(encoding)} Nothing from it on was read.",
                field="file",
            ) from exc


def _encoding_message(encoding: str) -> str:
    return (
        f"The file is not readable as {encoding.replace('-sig', '').upper()} text. "
        "Save it from Excel as 'CSV UTF-8 (Comma delimited)' and import it again."
    )


# --- values ----------------------------------------------------------------------------------


def _date(row: dict[str, str], name: str, required: bool = False) -> date | None:
    raw = row.get(name, "")
    if not raw:
        if required:
            raise _Refused(name, "the date is missing")
        return None
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise _Refused(name, f"{raw!r} is not a date like 2024-03-31")


def _text(row: dict[str, str], name: str, limit: int, required: bool = False) -> str:
    value = row.get(name, "")
    if required and not value:
        raise _Refused(name, "this column is required")
    if len(value) > limit:
        raise _Refused(name, f"use at most {limit:,} characters (this has {len(value):,})")
    return value


def _external_id(row: dict[str, str], name: str = "external_id") -> str:
    return _text(row, name, MAX_ID, required=True)


def _instant(day: date) -> datetime:
    """Noon, office time, of a day: the moment an imported date stands for."""
    return datetime.combine(day, time(12), office_tz()).astimezone(UTC)


# --- constituents ----------------------------------------------------------------------------


@dataclass
class _PersonRow:
    line: int
    external_id: str
    data: constituent_service.ConstituentData
    phone: tuple[str, str] | None  # (kept value, E.164)
    email: tuple[str, str] | None  # (kept value, normal form)


def _person_row(line: int, row: dict[str, str]) -> _PersonRow:
    external_id = _external_id(row)
    data = constituent_service.ConstituentData(
        first_name=row.get("first_name", ""),
        last_name=row.get("last_name", ""),
        middle_name=row.get("middle_name", ""),
        suffix=row.get("suffix", ""),
        street=row.get("street", ""),
        street2=row.get("street2", ""),
        city=row.get("city", ""),
        state=row.get("state", ""),
        zip5=row.get("zip", ""),
        language=row.get("language", ""),
        notes=row.get("notes", ""),
    ).cleaned()
    errors = constituent_service.validate_constituent(data)
    if errors:
        name, reason = next(iter(errors.items()))
        raise _Refused("zip" if name == "zip5" else name, reason)
    phone = email = None
    if row.get("phone"):
        try:
            phone = (
                constituent_service.phone_value(row["phone"]),
                constituent_service.check_phone(row["phone"]),
            )
        except DomainError as exc:
            raise _Refused("phone", exc.message) from exc
    if row.get("email"):
        try:
            email = (row["email"], constituent_service.check_email(row["email"]))
        except DomainError as exc:
            raise _Refused("email", exc.message) from exc
    return _PersonRow(line, external_id, data, phone, email)


def _match_on_file(item: _PersonRow) -> Constituent | None:
    """A constituent already on file who is this person by intake's exact keys: the same
    name (first-name nicknames count) and the same phone, email, or street and ZIP."""
    last = normalize.name_key(item.data.last_name)
    firsts = constituent_service.name_variants(item.data.first_name)
    if not last or not firsts:
        return None
    base = sa.select(Constituent).where(
        Constituent.last_name_key == last,
        Constituent.first_name_key.in_(firsts),
        Constituent.merged_into_id.is_(None),
        Constituent.external_id.is_(None),
    )
    ways: list[sa.ColumnElement[bool]] = []
    for kind, value in ((ContactKind.PHONE, item.phone), (ContactKind.EMAIL, item.email)):
        if value:
            ways.append(
                Constituent.id.in_(
                    sa.select(ContactPoint.constituent_id).where(
                        ContactPoint.kind == kind, ContactPoint.normalized == value[1]
                    )
                )
            )
    parts = addresses.split_zip(item.data.zip5)
    street_key = normalize.street_key(item.data.street)
    if parts and street_key:
        ways.append(sa.and_(Constituent.zip5 == parts[0], Constituent.street_key == street_key))
    if not ways:
        return None
    return db.session.scalars(base.where(sa.or_(*ways)).order_by(Constituent.id).limit(1)).first()


Place = tuple[int | None, bool, str]  # district id, out of district, the district's state


def _place(
    person: Constituent, data: constituent_service.ConstituentData, places: dict[str, Place]
) -> None:
    """District from the ZIP table (looked up once per ZIP); a split or unknown ZIP is left
    for staff to settle."""
    if person.district_override:
        return
    parts = addresses.split_zip(data.zip5)
    zip5 = parts[0] if parts else ""
    if zip5 not in places:
        where = constituent_service.districting(zip5)
        chosen = where.served[0] if where.kind == "set" else None
        places[zip5] = (
            chosen.id if chosen else None,
            where.kind in ("out", "unknown"),
            chosen.state if chosen else "",
        )
    person.district_id, person.out_of_district, state = places[zip5]
    if not person.state and state:
        person.state = state


def _write_person(
    person: Constituent | None, item: _PersonRow, places: dict[str, Place]
) -> Constituent:
    if person is None:
        person = Constituent(first_name="", last_name="")
        db.session.add(person)
    constituent_service.apply_data(person, item.data)
    person.external_id = item.external_id
    _place(person, item.data, places)
    existing = {(c.kind, c.normalized) for c in person.contact_points}
    for kind, value in ((ContactKind.PHONE, item.phone), (ContactKind.EMAIL, item.email)):
        if value and (kind, value[1]) not in existing:
            person.contact_points.append(
                ContactPoint(
                    kind=kind,
                    value=value[0],
                    normalized=value[1],
                    is_primary=not any(c.kind == kind for c in person.contact_points),
                )
            )
    return person


_Row = TypeVar("_Row", "_PersonRow", "_CaseRow")


class _SeenIds:
    """The external ids met so far in one file, to refuse a repeat. Kept in a private
    temporary SQLite file (deleted when closed) with a small page cache, not in a Python set:
    a set of every id grew with the file (about 20 MB more at 200,000 rows)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "": on disk, private, temporary
        self._db.execute("PRAGMA cache_size=-1024")  # KiB: at most 1 MB of it in memory
        self._db.execute("CREATE TABLE seen (id TEXT PRIMARY KEY) WITHOUT ROWID")
        self._db.execute("BEGIN")

    def add(self, external_id: str) -> bool:
        """Note the id; False when it was met before."""
        try:
            self._db.execute("INSERT INTO seen VALUES (?)", (external_id,))
        except sqlite3.IntegrityError:
            return False
        return True

    def close(self) -> None:
        self._db.close()


def _row_batches(
    run: ImportRun,
    columns: dict[str, tuple[bool, str]],
    read_row: Callable[[int, dict[str, str]], _Row],
    report: ImportReport,
) -> Iterator[list[_Row]]:
    """The table's accepted rows in batches of ``BATCH``; a refused row, or an external id seen
    on an earlier line, goes to the report with its line, column and reason."""
    seen = _SeenIds()
    batch: list[_Row] = []
    try:
        for line, row in open_table(run.stream, columns, report.notes):
            report.rows += 1
            if run.progress:
                run.progress(report.rows)
            try:
                item = read_row(line, row)
                if not seen.add(item.external_id):
                    raise _Refused("external_id", f"{item.external_id!r} is on an earlier line too")
            except _Refused as exc:
                report.refused.append(Refusal(line, exc.column, exc.reason))
            else:
                batch.append(item)
                if len(batch) >= BATCH:
                    yield batch
                    batch = []
        if batch:
            yield batch
    finally:
        seen.close()


def import_constituents(run: ImportRun) -> ImportReport:
    """Import constituents (see ``CONSTITUENT_COLUMNS``). The caller commits (or rolls back a
    dry run)."""
    report = ImportReport("constituent")
    places: dict[str, Place] = {}
    # Matching by intake's keys concerns only records that came in some other way.
    unlinked = db.session.scalar(sa.select(sa.exists().where(Constituent.external_id.is_(None))))

    def flush(batch: list[_PersonRow]) -> None:
        ids = [item.external_id for item in batch]
        on_file = {
            p.external_id: p
            for p in db.session.scalars(
                sa.select(Constituent).where(Constituent.external_id.in_(ids))
            )
        }
        with db.session.no_autoflush:  # one flush per batch, not one per row's look-up
            for item in batch:
                person = on_file.get(item.external_id)
                if person is not None:
                    report.updated += 1
                else:
                    person = _match_on_file(item) if unlinked else None
                    if person is not None:
                        report.matched += 1
                    else:
                        report.created += 1
                if not run.dry_run:
                    _write_person(person, item, places)
        run.batch_done()

    for batch in _row_batches(run, CONSTITUENT_COLUMNS, _person_row, report):
        flush(batch)
    return run.finish("constituents_imported", report)


# --- cases -----------------------------------------------------------------------------------


class _Lookups:
    """Categories, agencies and districts by name, read once per import."""

    def __init__(self) -> None:
        self.categories = {c.name.lower(): c.id for c in category_service.all_categories()}
        self.agencies: dict[str, tuple[int, int]] = {}
        for agency in db.session.scalars(sa.select(Agency)):
            value = (agency.id, agency.expected_response_days)
            self.agencies[agency.name.lower()] = value
            if agency.acronym:
                self.agencies.setdefault(agency.acronym.lower(), value)
        self.districts = {d.code: d.id for d in db.session.scalars(sa.select(District))}
        active = db.session.scalars(
            sa.select(District.id).where(District.active.is_(True)).order_by(District.code)
        ).first()
        self.default_district = active


@dataclass
class _CaseRow:
    line: int
    external_id: str
    constituent_external_id: str
    values: dict[str, Any]
    agency: tuple[int, int] | None
    notes: str
    opened_on: date
    closed_on: date | None


def _choice(row: dict[str, str], name: str, enum: Any, default: Any = None) -> Any:
    raw = row.get(name, "").strip().lower().replace(" ", "_").replace("-", "_")
    if not raw:
        return default
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise _Refused(name, f"{row[name]!r} is not one of {allowed}") from None


def _case_row(line: int, row: dict[str, str], lookups: _Lookups) -> _CaseRow:
    external_id = _external_id(row)
    person_id = _external_id(row, "constituent_external_id")
    category = lookups.categories.get(_text(row, "category", 80, required=True).lower())
    if category is None:
        raise _Refused(
            "category", f"no category {row['category']!r}: add it on the Categories page first"
        )
    subject = _text(row, "subject", 200, required=True)
    description = _text(row, "description", 10000)
    notes = _text(row, "notes", 20000)
    opened_on = _date(row, "opened_on", required=True)
    assert opened_on is not None
    closed_on = _date(row, "closed_on")
    status = _choice(row, "status", CaseStatus, CaseStatus.CLOSED if closed_on else CaseStatus.OPEN)
    finished = status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
    if finished and closed_on is None:
        raise _Refused("closed_on", f"a {status.value} case needs the date it was closed")
    if not finished and closed_on is not None:
        raise _Refused("status", f"a case closed on {closed_on} cannot be {status.value}")
    if closed_on is not None and closed_on < opened_on:
        raise _Refused("closed_on", f"closed on {closed_on}, before it was opened ({opened_on})")
    if opened_on > date.today() + timedelta(days=1):
        raise _Refused("opened_on", f"{opened_on} is in the future")
    outcome = _choice(row, "outcome", Outcome)
    if outcome is not None and not finished:
        raise _Refused("outcome", "an open case has no outcome yet")
    agency = None
    if row.get("agency"):
        agency = lookups.agencies.get(row["agency"].lower())
        if agency is None:
            raise _Refused("agency", f"no agency {row['agency']!r} in the directory")
    district_id = None
    if row.get("district"):
        district_id = lookups.districts.get(row["district"].upper())
        if district_id is None:
            raise _Refused("district", f"unknown district {row['district']!r}")
    values = {
        "category_id": category,
        "subject": subject,
        "description": description,
        "status": status,
        "outcome": outcome,
        "channel": _choice(row, "channel", Channel, Channel.PHONE),
        "district_id": district_id,
        "opened_at": _instant(opened_on),
        "closed_at": _instant(closed_on) if closed_on else None,
    }
    return _CaseRow(line, external_id, person_id, values, agency, notes, opened_on, closed_on)


def _write_case(
    case: Case | None, item: _CaseRow, person: Constituent, lookups: _Lookups, numbers: Any
) -> None:
    values = dict(item.values)
    if values["district_id"] is None:
        values["district_id"] = person.district_id or lookups.default_district
    new = case is None
    if case is None:
        case = Case(number=next(numbers), constituent=person, external_id=item.external_id)
        db.session.add(case)
    else:
        case.constituent = person
    for key, value in values.items():
        setattr(case, key, value)
    case.last_activity_at = values["closed_at"] or values["opened_at"]
    if new:
        db.session.add(
            CaseInterval(case=case, opened_at=values["opened_at"], closed_at=values["closed_at"])
        )
        db.session.add(
            TimelineEvent(
                case=case,
                kind=EventKind.SYSTEM,
                body=f"Imported (external id {item.external_id}).",
                occurred_at=values["opened_at"],
            )
        )
        if item.notes:
            db.session.add(
                TimelineEvent(
                    case=case, kind=EventKind.NOTE, body=item.notes, occurred_at=values["opened_at"]
                )
            )
        if item.agency is not None:
            agency_id, days = item.agency
            done = values["closed_at"] is not None
            db.session.add(
                Referral(
                    case=case,
                    agency_id=agency_id,
                    method=ReferralMethod.EMAIL,
                    sent_on=item.opened_on,
                    due_on=item.opened_on + timedelta(days=days),
                    status=ReferralStatus.RESPONDED if done else ReferralStatus.SENT,
                    responded_on=item.closed_on if done else None,
                )
            )
    else:
        for interval in case.intervals[-1:]:
            interval.opened_at = values["opened_at"]
            interval.closed_at = values["closed_at"]


def import_cases(run: ImportRun) -> ImportReport:
    """Import cases (see ``CASE_COLUMNS``) onto constituents imported before. The caller
    commits (or rolls back a dry run)."""
    report = ImportReport("case")
    lookups = _Lookups()
    if lookups.default_district is None:
        raise DomainError("Add the office's districts before importing cases.", field="file")

    def flush(batch: list[_CaseRow]) -> None:
        people = {
            p.external_id: p
            for p in db.session.scalars(
                sa.select(Constituent).where(
                    Constituent.external_id.in_({i.constituent_external_id for i in batch})
                )
            )
        }
        on_file = {
            c.external_id: c
            for c in db.session.scalars(
                sa.select(Case).where(Case.external_id.in_([i.external_id for i in batch]))
            )
        }
        wanted = sum(1 for i in batch if i.external_id not in on_file)
        numbers = (
            iter(range(next_case_number(wanted), 1 << 62)) if wanted and not run.dry_run else None
        )
        with db.session.no_autoflush:  # one flush per batch, not one per row's look-up
            for item in batch:
                person = people.get(item.constituent_external_id)
                if person is None:
                    report.refused.append(
                        Refusal(
                            item.line,
                            "constituent_external_id",
                            f"no constituent with external id {item.constituent_external_id!r}:"
                            " import the constituents first",
                        )
                    )
                    continue
                case = on_file.get(item.external_id)
                if case is None:
                    report.created += 1
                else:
                    report.updated += 1
                if not run.dry_run:
                    _write_case(case, item, person, lookups, numbers)
        run.batch_done()

    def read_case(line: int, row: dict[str, str]) -> _CaseRow:
        return _case_row(line, row, lookups)

    for batch in _row_batches(run, CASE_COLUMNS, read_case, report):
        flush(batch)
    report.refused.sort(key=lambda r: r.line)
    return run.finish("cases_imported", report)


IMPORTERS: dict[str, Callable[[ImportRun], ImportReport]] = {
    "constituents": import_constituents,
    "cases": import_cases,
}


def run_import(kind: str, run: ImportRun) -> ImportReport:
    """Import ``kind`` ("constituents" or "cases": an ``IMPORTERS`` key) as ``run`` says."""
    return IMPORTERS[kind](run)


def layout_text(columns: dict[str, tuple[bool, str]]) -> str:
    """The layout as lines 'column (required): meaning' for help texts."""
    return "\n".join(
        f"{name}{' (required)' if required else ''}: {meaning}"
        for name, (required, meaning) in columns.items()
    )


def count_lines(stream: IO[bytes]) -> int:
    """Rows in a file (lines less the header), for a progress bar; the stream is rewound."""
    total = sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    stream.seek(0)
    return max(total - 1, 0)
