"""The privacy-release wordings residents sign on the public help form: an admin creates a
template for one or more agencies, and changes its wording only by adding a numbered version
(a signed release keeps the exact version its resident read). Deactivated, a template is no
longer offered; the versions already signed stay."""

from __future__ import annotations

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Agency, ReleaseTemplate, ReleaseTemplateVersion, User
from constituent.services import audit
from constituent.services.errors import DomainError, NotFound

MAX_NAME = 120
MAX_TEXT = 20_000


def all_templates() -> list[ReleaseTemplate]:
    """Every template, active first, by name."""
    return list(
        db.session.scalars(
            sa.select(ReleaseTemplate).order_by(ReleaseTemplate.active.desc(), ReleaseTemplate.name)
        )
    )


def active_templates() -> list[ReleaseTemplate]:
    """The templates residents are offered, oldest first."""
    return list(
        db.session.scalars(
            sa.select(ReleaseTemplate)
            .where(ReleaseTemplate.active.is_(True))
            .order_by(ReleaseTemplate.id)
        )
    )


def get_template(template_id: int) -> ReleaseTemplate:
    found = db.session.get(ReleaseTemplate, template_id)
    if found is None:
        raise NotFound("No release template with that number.")
    return found


def latest(template: ReleaseTemplate) -> ReleaseTemplateVersion | None:
    """The version residents are shown now (the highest number)."""
    return template.versions[-1] if template.versions else None


def _check_name(name: str, keep: ReleaseTemplate | None = None) -> str:
    name = name.strip()
    if not name:
        raise DomainError("Enter the template's name.", field="name")
    if len(name) > MAX_NAME:
        raise DomainError(f"Keep the name to at most {MAX_NAME} characters.", field="name")
    taken = db.session.scalar(
        sa.select(ReleaseTemplate.id).where(sa.func.lower(ReleaseTemplate.name) == name.lower())
    )
    if taken is not None and (keep is None or taken != keep.id):
        raise DomainError(f"A release template named {name} already exists.", field="name")
    return name


def _check_texts(text_en: str, text_es: str) -> tuple[str, str]:
    text_en, text_es = text_en.strip(), text_es.strip()
    for field, text, language in (("text_en", text_en, "English"), ("text_es", text_es, "Spanish")):
        if not text:
            raise DomainError(f"Enter the release wording in {language}.", field=field)
        if len(text) > MAX_TEXT:
            raise DomainError(
                f"Keep the wording to at most {MAX_TEXT:,} characters (this has {len(text):,}).",
                field=field,
            )
    return text_en, text_es


def _check_agencies(agencies: list[Agency]) -> list[Agency]:
    if not agencies:
        raise DomainError("Choose at least one agency the release covers.", field="agencies")
    return sorted(agencies, key=lambda a: a.name)


def create_template(
    name: str, agencies: list[Agency], text_en: str, text_es: str, by: User
) -> ReleaseTemplate:
    """A new template with its first version (audited; flushes)."""
    name = _check_name(name)
    covered = _check_agencies(agencies)
    text_en, text_es = _check_texts(text_en, text_es)
    template = ReleaseTemplate(name=name, agencies=covered)
    db.session.add(template)
    db.session.add(
        ReleaseTemplateVersion(
            template=template, number=1, text_en=text_en, text_es=text_es, created_by_id=by.id
        )
    )
    db.session.flush()
    audit.record("release_template_created", "release_template", template.id, user=by)
    return template


def add_version(
    template: ReleaseTemplate, text_en: str, text_es: str, by: User
) -> ReleaseTemplateVersion:
    """A new version of the wording (the old ones are never edited; audited)."""
    text_en, text_es = _check_texts(text_en, text_es)
    current = latest(template)
    if current is not None and (current.text_en, current.text_es) == (text_en, text_es):
        raise DomainError(
            "The wording is the same as version "
            f"{current.number}: change it to make a new version.",
            field="text_en",
        )
    number = (
        db.session.scalar(
            sa.select(sa.func.max(ReleaseTemplateVersion.number)).where(
                ReleaseTemplateVersion.template_id == template.id
            )
        )
        or 0
    ) + 1
    version = ReleaseTemplateVersion(
        template=template, number=number, text_en=text_en, text_es=text_es, created_by_id=by.id
    )
    db.session.add(version)
    db.session.flush()
    audit.record(
        "release_template_versioned",
        "release_template",
        template.id,
        detail=f"version {number}",
        user=by,
    )
    return version


def set_agencies(template: ReleaseTemplate, agencies: list[Agency], by: User) -> None:
    """The agencies the template covers from now on (audited)."""
    template.agencies = _check_agencies(agencies)
    db.session.flush()
    audit.record(
        "release_template_agencies",
        "release_template",
        template.id,
        detail="agencies " + ",".join(str(a.id) for a in template.agencies),
        user=by,
    )


def set_active(template: ReleaseTemplate, active: bool, by: User) -> None:
    """Offer the template on the public form again, or stop offering it (audited)."""
    if template.active == active:
        return
    template.active = active
    db.session.flush()
    audit.activity("release_template", template.id, active, user=by)
