"""Case categories: adding, renaming, deactivating, merging and importing them."""

from __future__ import annotations

import re

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Category, User
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


def add_starter_categories(by: User | None = None) -> list[Category]:
    """The usual casework categories (Social Security, veterans, IRS, ...), those not there yet."""
    added = []
    for name, description in catalog.CATEGORIES:
        if find(name) is None:
            added.append(add_category(name, description, by=by))
    return added
