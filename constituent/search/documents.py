"""Whoosh documents built from committed database rows (plain SELECTs, a few per batch)."""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from constituent.models import (
    Agency,
    AgencyContact,
    AgencyResponse,
    Case,
    Category,
    Constituent,
    ContactPoint,
    District,
    InboundMessage,
    Referral,
    TimelineEvent,
    User,
)
from constituent.models.agencies import agency_categories
from constituent.search.schema import PAIRS_FIELD, name_variants
from constituent.services import normalize


@dataclass(frozen=True)
class Selection:
    """Which records to build: a list of ids, or an inclusive id range (for reindexing)."""

    ids: Sequence[int] | None = None
    low: int | None = None
    high: int | None = None

    def where(self, column: Any) -> sa.ColumnElement[bool]:
        condition: sa.ColumnElement[bool]
        if self.ids is not None:
            condition = column.in_(list(self.ids)) if self.ids else sa.false()
        else:
            condition = column.between(self.low, self.high)
        return condition


# One Whoosh document: field name → value (what writer.add_document takes).
Document = dict[str, Any]


def _stamp(doc: dict[str, Any], display: str = "") -> str:
    """A content hash of everything indexed: `check` compares it with a fresh build."""
    parts = [f"{k}={doc[k]!r}" for k in sorted(doc) if k not in ("body", "stamp", PAIRS_FIELD)]
    parts.append(display)
    return hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


def _local_day(value: datetime | None, tz: ZoneInfo) -> int | None:
    if value is None:
        return None
    day = value.astimezone(tz).date()
    return day.year * 10000 + day.month * 100 + day.day


def _epoch(value: datetime | None) -> int:
    return int(value.timestamp()) if value is not None else 0


def _join(*parts: object) -> str:
    return "\n".join(str(p) for p in parts if p)


def _person_names(first: str, middle: str | None, last: str, suffix: str | None) -> list[str]:
    """Display name plus letter-only keys ("O'Brien" is also found as "obrien")."""
    full = " ".join(p for p in (first, middle, last, suffix) if p)
    keys = {normalize.name_key(p) for p in (first, last) if p}
    keys.discard("")
    return [full, *sorted(k for k in keys if k not in full.lower())]


def compress(text: str) -> bytes:
    """Stored display text, zlib-compressed (about half the size)."""
    return zlib.compress(text.encode("utf-8"), 6)


def decompress(blob: bytes | str | None) -> str:
    """The stored display text of a document (tolerates an uncompressed string)."""
    if not blob:
        return ""
    if isinstance(blob, str):
        return blob
    return zlib.decompress(blob).decode("utf-8")


def _selected(
    selection: Selection, key: Any, order: Any, *columns: Any
) -> sa.Select[*tuple[Any, ...]]:
    """``key`` and ``columns`` of the rows whose ``key`` is selected, by key, then ``order``."""
    return sa.select(key, *columns).where(selection.where(key)).order_by(key, order)


def _texts(session: Session, statement: sa.Select[*tuple[Any, ...]]) -> dict[int, list[str]]:
    """Texts by the first column of each row (a case or an agency id), the other columns
    joined; rows without a key or without text are left out."""
    out: dict[int, list[str]] = defaultdict(list)
    for key, *parts in session.execute(statement):
        text = _join(*parts)
        if key is not None and text:
            out[key].append(text)
    return out


def _case_rows(session: Session, selection: Selection) -> Sequence[sa.Row[*tuple[Any, ...]]]:
    """The selected cases' own columns, with their district, category, assignee and person."""
    assignee = aliased(User)
    return session.execute(
        sa.select(
            Case.id,
            Case.number,
            Case.subject,
            Case.description,
            Case.outcome_note,
            Case.channel,
            Case.priority,
            Case.status,
            Case.confidential,
            Case.district_id,
            Case.assignee_id,
            Case.opened_by_id,
            Case.opened_at,
            Case.closed_at,
            Case.last_activity_at,
            Case.constituent_id,
            District.code,
            Category.slug,
            Category.name,
            assignee.full_name,
            assignee.email,
            Constituent.first_name,
            Constituent.middle_name,
            Constituent.last_name,
            Constituent.suffix,
            Constituent.city,
            Constituent.zip5,
        )
        .join(District, District.id == Case.district_id)
        .join(Category, Category.id == Case.category_id)
        .join(Constituent, Constituent.id == Case.constituent_id)
        .outerjoin(assignee, assignee.id == Case.assignee_id)
        .where(selection.where(Case.id))
        .order_by(Case.id)
    ).all()


def _referred_agencies(
    session: Session, selection: Selection
) -> dict[int, list[tuple[int, str, str | None, str | None]]]:
    """The agencies each selected case was referred to: (id, name, acronym, reference)."""
    agencies: dict[int, list[tuple[int, str, str | None, str | None]]] = defaultdict(list)
    for case_id, agency_id, name, acronym, reference in session.execute(
        sa.select(
            Referral.case_id, Agency.id, Agency.name, Agency.acronym, Referral.reference_number
        )
        .join(Agency, Agency.id == Referral.agency_id)
        .where(selection.where(Referral.case_id))
        .order_by(Referral.case_id, Referral.id)
    ):
        agencies[case_id].append((agency_id, name, acronym, reference))
    return agencies


def _case_texts(session: Session, selection: Selection) -> list[dict[int, list[str]]]:
    """What was written on each selected case, in display order: timeline notes, agency
    responses, then filed mail."""
    return [
        _texts(
            session,
            _selected(selection, TimelineEvent.case_id, TimelineEvent.id, TimelineEvent.body),
        ),
        _texts(
            session,
            _selected(selection, Referral.case_id, AgencyResponse.id, AgencyResponse.body).join(
                Referral, Referral.id == AgencyResponse.referral_id
            ),
        ),
        _texts(
            session,
            _selected(
                selection,
                InboundMessage.case_id,
                InboundMessage.id,
                InboundMessage.subject,
                InboundMessage.body_text,
                InboundMessage.sender,
            ),
        ),
    ]


def _case_document(
    r: sa.Row[*tuple[Any, ...]],
    written: list[str],
    agency_rows: list[tuple[int, str, str | None, str | None]],
    alias_names: list[str],
    tz: ZoneInfo,
) -> Document:
    """One case's document, from its row, what was written on it, its agencies and aliases."""
    names = _person_names(r.first_name, r.middle_name, r.last_name, r.suffix)
    agency_text = " ".join(
        _join(name, acronym, reference) for _id, name, acronym, reference in agency_rows
    )
    display = _join(r.description, *written, r.outcome_note)
    given = {n.split()[0] for n in (names[0], *alias_names) if n}
    doc: dict[str, Any] = {
        "id": str(r.id),
        "number": r.number,
        "subject": r.subject,
        "text": _join(
            r.subject,
            display,
            *names,
            *alias_names,
            r.city,
            r.zip5,
            agency_text,
            r.name,
            r.code,
        ),
        "aka": " ".join(sorted(set().union(*(name_variants(g) for g in given)))),
        "district_id": str(r.district_id),
        "confidential": "y" if r.confidential else "n",
        "assignee_id": str(r.assignee_id) if r.assignee_id else "none",
        "opened_by_id": str(r.opened_by_id) if r.opened_by_id else "none",
        "district": r.code.lower(),
        "status": str(r.status.value),
        "category": r.slug,
        "category_words": f"{r.slug} {r.name.replace('/', ' ')}",
        "agency": ",".join(sorted({str(a[0]) for a in agency_rows})),
        "agency_words": " ".join(
            f"{name} {acronym or ''} {_slug(acronym or name)}"
            for _id, name, acronym, _ref in agency_rows
        ),
        "assignee": (f"{r.full_name} {r.email.split('@')[0]}" if r.assignee_id else "none"),
        "priority": str(r.priority.value),
        "channel": str(r.channel.value),
        "zip": r.zip5 or "none",
        "opened": _local_day(r.opened_at, tz),
        "opened_ts": _epoch(r.opened_at),
        "activity_ts": _epoch(r.last_activity_at),
    }
    closed = _local_day(r.closed_at, tz)
    if closed is not None:
        doc["closed"] = closed
    doc["stamp"] = _stamp(doc, display)
    doc[PAIRS_FIELD] = doc["text"]  # the same text, as word pairs (phrases)
    doc["body"] = compress(display)
    return doc


def case_documents(session: Session, selection: Selection, tz: ZoneInfo) -> dict[int, Document]:
    """Documents for the selected cases that exist (keyed by case id)."""
    rows = _case_rows(session, selection)
    if not rows:
        return {}
    texts = _case_texts(session, selection)
    agencies = _referred_agencies(session, selection)
    aliases = _aliases(session, {r.constituent_id for r in rows})
    return {
        r.id: _case_document(
            r,
            [text for by_case in texts for text in by_case.get(r.id, ())],
            agencies.get(r.id, []),
            aliases.get(r.constituent_id, []),
            tz,
        )
        for r in rows
    }


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _aliases(session: Session, person_ids: set[int]) -> dict[int, list[str]]:
    """Names of constituents merged into each of ``person_ids``."""
    out: dict[int, list[str]] = defaultdict(list)
    if not person_ids:
        return out
    for target, first, middle, last, suffix in session.execute(
        sa.select(
            Constituent.merged_into_id,
            Constituent.first_name,
            Constituent.middle_name,
            Constituent.last_name,
            Constituent.suffix,
        )
        .where(Constituent.merged_into_id.in_(sorted(person_ids)))
        .order_by(Constituent.id)
    ):
        if target is not None:
            out[target].extend(_person_names(first, middle, last, suffix))
    return out


def constituent_documents(session: Session, selection: Selection) -> dict[int, Document]:
    """Documents for the selected constituents that exist and were not merged away."""
    rows = session.execute(
        sa.select(
            Constituent.id,
            Constituent.first_name,
            Constituent.middle_name,
            Constituent.last_name,
            Constituent.suffix,
            Constituent.street,
            Constituent.street2,
            Constituent.city,
            Constituent.state,
            Constituent.zip5,
            Constituent.district_id,
            District.code,
        )
        .outerjoin(District, District.id == Constituent.district_id)
        .where(selection.where(Constituent.id), Constituent.merged_into_id.is_(None))
        .order_by(Constituent.id)
    ).all()
    if not rows:
        return {}
    contacts: dict[int, list[str]] = defaultdict(list)
    for person_id, value, normalized in session.execute(
        sa.select(ContactPoint.constituent_id, ContactPoint.value, ContactPoint.normalized)
        .where(selection.where(ContactPoint.constituent_id))
        .order_by(ContactPoint.constituent_id, ContactPoint.id)
    ):
        contacts[person_id].append(value)
        digits = "".join(c for c in normalized if c.isdigit())
        if digits:
            # "+15185550123" is also found as 5185550123 and 5550123.
            contacts[person_id].extend([digits, digits[-10:], digits[-7:]])
    aliases = _aliases(session, {r.id for r in rows})
    docs: dict[int, Document] = {}
    for r in rows:
        names = _person_names(r.first_name, r.middle_name, r.last_name, r.suffix)
        alias_names = aliases.get(r.id, [])
        given = {n.split()[0] for n in (names[0], *alias_names) if n}
        doc: dict[str, Any] = {
            "id": str(r.id),
            "text": _join(
                *names,
                *alias_names,
                r.street,
                r.street2,
                r.city,
                r.state,
                r.zip5,
                *contacts.get(r.id, ()),
            ),
            "aka": " ".join(sorted(set().union(*(name_variants(g) for g in given)))),
            "district_id": str(r.district_id) if r.district_id else "none",
            "district": r.code.lower() if r.code else "none",
            "zip": r.zip5 or "none",
        }
        doc["stamp"] = _stamp(doc)
        doc[PAIRS_FIELD] = doc["text"]  # the same text, as word pairs (phrases)
        docs[r.id] = doc
    return docs


def agency_documents(session: Session, selection: Selection) -> dict[int, Document]:
    """Documents for the selected agencies (with their contacts and categories)."""
    rows = session.execute(
        sa.select(
            Agency.id, Agency.name, Agency.acronym, Agency.level, Agency.website, Agency.notes
        )
        .where(selection.where(Agency.id))
        .order_by(Agency.id)
    ).all()
    if not rows:
        return {}
    contacts = _texts(
        session,
        _selected(
            selection,
            AgencyContact.agency_id,
            AgencyContact.id,
            AgencyContact.name,
            AgencyContact.title,
            AgencyContact.email,
            AgencyContact.phone,
        ),
    )
    cats: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for agency_id, slug, name in session.execute(
        sa.select(agency_categories.c.agency_id, Category.slug, Category.name)
        .join(Category, Category.id == agency_categories.c.category_id)
        .where(selection.where(agency_categories.c.agency_id))
        .order_by(agency_categories.c.agency_id, Category.name)
    ):
        cats[agency_id].append((slug, name))
    docs: dict[int, Document] = {}
    for r in rows:
        doc: dict[str, Any] = {
            "id": str(r.id),
            "text": _join(
                r.name,
                r.acronym,
                r.level.value,
                r.website,
                r.notes,
                *(name for _slug_, name in cats.get(r.id, ())),
                *contacts.get(r.id, ()),
            ),
            "agency_words": f"{r.name} {r.acronym or ''} {_slug(r.acronym or r.name)}",
            "category_words": " ".join(
                f"{slug} {name.replace('/', ' ')}" for slug, name in cats.get(r.id, ())
            ),
        }
        doc["stamp"] = _stamp(doc)
        doc[PAIRS_FIELD] = doc["text"]  # the same text, as word pairs (phrases)
        docs[r.id] = doc
    return docs


def model_for(kind: str) -> type[Case] | type[Constituent] | type[Agency]:
    """The model whose rows become the documents of an index."""
    models: dict[str, type[Case] | type[Constituent] | type[Agency]] = {
        "cases": Case,
        "constituents": Constituent,
        "agencies": Agency,
    }
    return models[kind]


def max_id(session: Session, kind: str) -> int:
    """The highest id of a kind's table (0 when empty): reindexing walks ranges up to it."""
    return int(session.scalar(sa.select(sa.func.max(model_for(kind).id))) or 0)


def count(session: Session, kind: str) -> int:
    """How many documents a full build of ``kind`` produces."""
    if kind == "cases":
        stmt = sa.select(sa.func.count()).select_from(Case)
    elif kind == "constituents":
        stmt = (
            sa.select(sa.func.count())
            .select_from(Constituent)
            .where(Constituent.merged_into_id.is_(None))
        )
    else:
        stmt = sa.select(sa.func.count()).select_from(Agency)
    return int(session.scalar(stmt) or 0)


def build(session: Session, kind: str, selection: Selection, tz: ZoneInfo) -> dict[int, Document]:
    """Documents of one kind for a selection."""
    if kind == "cases":
        return case_documents(session, selection, tz)
    if kind == "constituents":
        return constituent_documents(session, selection)
    return agency_documents(session, selection)
