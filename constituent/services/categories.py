"""Case categories: adding, renaming, deactivating, merging and importing them."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from constituent.database import affected_rows
from constituent.extensions import db
from constituent.models import Case, Category, RoutingRule, User
from constituent.models.agencies import agency_categories
from constituent.search import queue as search_queue
from constituent.services import audit, catalog
from constituent.services.errors import DomainError

MAX_NAME = 80
MAX_DESCRIPTION = 500


def slug_for(name: str) -> str:
    """'Medicare/Medicaid' → 'medicare-medicaid'."""
    return re.sub(r"-+", "-", "".join(c if c.isalnum() else "-" for c in name.lower())).strip("-")


def find(name: str) -> Category | None:
    """The category of that name (any letter case), or None."""
    return db.session.scalar(
        sa.select(Category).where(sa.func.lower(Category.name) == name.strip().lower())
    )


def _check_name(name: str, keep: Category | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise DomainError("Enter the category's name.", field="name")
    if len(name) > MAX_NAME:
        raise DomainError(f"Use at most {MAX_NAME} characters for the name.", field="name")
    other = find(name)
    if other is None:
        other = db.session.scalar(sa.select(Category).where(Category.slug == slug_for(name)))
    if other is not None and other is not keep:
        raise DomainError(f"A category named {other.name!r} exists already.", field="name")
    if not slug_for(name):
        raise DomainError("The name needs at least one letter or digit.", field="name")
    return name


def add_category(name: str, description: str = "", by: User | None = None) -> Category:
    """Add a category (audited)."""
    name = _check_name(name)
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise DomainError(
            f"Use at most {MAX_DESCRIPTION} characters for the description.", field="description"
        )
    category = Category(name=name, slug=slug_for(name), description=description or None)
    db.session.add(category)
    db.session.flush()
    audit.record("category_added", "category", category.id, user=by)
    return category


def with_case_counts() -> list[tuple[Category, int]]:
    """Every category by name, with how many cases it holds."""
    rows = db.session.execute(
        sa.select(Category, sa.func.count(Case.id))
        .outerjoin(Case, Case.category_id == Category.id)
        .group_by(Category.id)
        .order_by(Category.name)
    ).all()
    return [(category, n) for category, n in rows]


def add_starter_categories(by: User | None = None) -> list[Category]:
    """The usual casework categories (Social Security, veterans, IRS, ...), those not there yet."""
    added = []
    for name, description in catalog.CATEGORIES:
        if find(name) is None:
            added.append(add_category(name, description, by=by))
    return added


def get(name: str) -> Category:
    """The category of that name, or a DomainError saying there is none."""
    category = find(name)
    if category is None:
        raise DomainError(f"There is no category named {name.strip()!r}.", field="category")
    return category


def rename_category(category: Category, new_name: str, by: User | None = None) -> Category:
    """Rename a category; its cases, rules and agencies follow (audited)."""
    old = category.name
    name = _check_name(new_name, keep=category)
    category.name = name
    category.slug = slug_for(name)
    db.session.flush()
    audit.record("category_renamed", "category", category.id, detail=f"from={old}", user=by)
    return category


def set_active(category: Category, active: bool, by: User | None = None) -> None:
    """Deactivate (no new cases in it; its cases keep it) or reactivate a category."""
    if category.active == active:
        return
    category.active = active
    db.session.flush()
    audit.activity("category", category.id, active, user=by)


MAX_PUBLIC_BLURB = 200


def set_public(
    category: Category,
    *,
    public: bool,
    blurb_en: str,
    blurb_es: str,
    asks: list[str],
    name_es: str = "",
    by: User | None = None,
) -> None:
    """Offer (or stop offering) a category on the public help form, with its plain-language
    sentence in English and Spanish and the agency identifiers it asks for (audited)."""
    from constituent.models import IdentifierKind

    blurb_en, blurb_es, name_es = blurb_en.strip(), blurb_es.strip(), name_es.strip()
    if len(name_es) > MAX_NAME:
        raise DomainError(
            f"Keep the Spanish name to at most {MAX_NAME} characters.", field="name_es"
        )
    for name, text in (("blurb_en", blurb_en), ("blurb_es", blurb_es)):
        if len(text) > MAX_PUBLIC_BLURB:
            raise DomainError(
                f"Keep the sentence to at most {MAX_PUBLIC_BLURB} characters.", field=name
            )
        if public and not text:
            language = "English" if name == "blurb_en" else "Spanish"
            raise DomainError(
                f"Write the sentence residents read in {language}: the form shows both.",
                field=name,
            )
    known = [k.value for k in IdentifierKind]
    unknown = [a for a in asks if a not in known]
    if unknown:
        raise DomainError("Choose identifiers from the list.", field="asks")
    if public and not category.active:
        raise DomainError("Reactivate the category before offering it on the public form.")
    category.public = public
    category.public_blurb_en = blurb_en or None
    category.public_blurb_es = blurb_es or None
    category.public_name_es = name_es or None
    category.asks_identifiers = ",".join(k for k in known if k in asks)
    db.session.flush()
    audit.record(
        "category_public_changed",
        "category",
        category.id,
        detail=f"public={public} asks={category.asks_identifiers or 'none'}",
        user=by,
    )


@dataclass
class MergeReport:
    cases: int
    rules: int
    agencies: int


def merge_categories(source: Category, target: Category, by: User | None = None) -> MergeReport:
    """Move every case, routing rule and agency link of ``source`` to ``target`` and
    deactivate ``source`` (audited). Refuses a merge into itself or into an inactive one."""
    if source.id == target.id:
        raise DomainError("A category cannot be merged into itself.", field="target")
    if not target.active:
        raise DomainError(
            f"{target.name!r} is deactivated; reactivate it before merging into it.",
            field="target",
        )
    case_ids = list(db.session.scalars(sa.select(Case.id).where(Case.category_id == source.id)))
    if case_ids:
        db.session.execute(
            sa.update(Case)
            .where(Case.category_id == source.id)
            .values(category_id=target.id, version=Case.version + 1)
            .execution_options(synchronize_session=False)
        )
        search_queue.queue_records(db.session(), "case", case_ids)
    rules = affected_rows(
        db.session.execute(
            sa.update(RoutingRule)
            .where(RoutingRule.category_id == source.id)
            .values(category_id=target.id)
            .execution_options(synchronize_session=False)
        )
    )
    links = agency_categories
    linked = set(
        db.session.scalars(sa.select(links.c.agency_id).where(links.c.category_id == source.id))
    )
    already = set(
        db.session.scalars(sa.select(links.c.agency_id).where(links.c.category_id == target.id))
    )
    db.session.execute(sa.delete(links).where(links.c.category_id == source.id))
    if linked - already:
        db.session.execute(
            sa.insert(links),
            [{"agency_id": a, "category_id": target.id} for a in sorted(linked - already)],
        )
    source.active = False
    db.session.flush()
    db.session.expire_all()
    report = MergeReport(cases=len(case_ids), rules=rules or 0, agencies=len(linked))
    audit.record(
        "category_merged",
        "category",
        source.id,
        detail=f"into={target.id} cases={report.cases} rules={report.rules} "
        f"agencies={report.agencies}",
        user=by,
    )
    return report


@dataclass
class CategoryImport:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def import_categories(text: Iterable[str], by: User | None = None) -> CategoryImport:
    """Add the categories of a CSV with a ``name`` column (and optionally ``description``);
    existing names are left as they are. Refused rows are listed by line."""
    reader = csv.DictReader(text)
    try:
        columns = [c.strip().lower() for c in reader.fieldnames or []]
    except csv.Error as exc:
        raise DomainError(f"The file is not readable as CSV: {exc}.", field="file") from exc
    if "name" not in columns:
        raise DomainError(
            "The file needs a 'name' column (and optionally 'description').", field="file"
        )
    reader.fieldnames = columns
    report = CategoryImport()
    for line, row in enumerate(reader, start=2):
        name = " ".join((row.get("name") or "").split())
        if not name:
            report.refused.append((line, "no name"))
            continue
        if find(name) is not None:
            report.unchanged.append(name)
            continue
        try:
            add_category(name, row.get("description") or "", by=by)  # refuses before adding
        except DomainError as exc:
            report.refused.append((line, exc.message))
            continue
        report.added.append(name)
    return report


def active_categories(keep_id: int | None = None) -> list[Category]:
    """The categories forms offer, by name; ``keep_id`` (a record's present category) is
    offered too even when it has been deactivated, so an edit does not lose it."""
    offered: sa.ColumnElement[bool] = Category.active.is_(True)
    if keep_id is not None:
        offered = sa.or_(offered, Category.id == keep_id)
    return list(db.session.scalars(sa.select(Category).where(offered).order_by(Category.name)))


def all_categories() -> list[Category]:
    """Every category, retired ones too, by name (filters over past cases)."""
    return list(db.session.scalars(sa.select(Category).order_by(Category.name)))
