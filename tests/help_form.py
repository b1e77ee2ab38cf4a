"""The public help form as a resident meets it: a public category routed to an agency with a
release template, and ``send`` that fills the form drawn by /help/request and posts it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyLevel,
    Category,
    ReleaseTemplate,
    ReleaseTemplateVersion,
    RoutingRule,
)

HIDDEN_RE = re.compile(r'<input[^>]*type="hidden"[^>]*>')
NAME_RE = re.compile(r'name="([^"]+)"')
VALUE_RE = re.compile(r'value="([^"]*)"')

RELEASE_EN = "I authorize the Social Security Administration to release my records.\n\nSigned."
RELEASE_ES = "Autorizo a la Administración del Seguro Social a entregar mis archivos.\n\nFirmado."


@dataclass
class PublicWorld:
    category: Category
    agency: Agency
    template: ReleaseTemplate
    version: ReleaseTemplateVersion


def public_world(asks: str = "claim_number,ssn_last4") -> PublicWorld:
    """A public category routed to the SSA, whose release template has one version (the one
    made before, when there is one: a live server's database outlives a test)."""
    made = db.session.scalar(sa.select(Category).where(Category.slug == "ssa-public"))
    if made is not None:
        template = db.session.scalar(
            sa.select(ReleaseTemplate).where(ReleaseTemplate.name == "SSA release")
        )
        return PublicWorld(made, template.agencies[0], template, template.versions[0])
    category = Category(
        name="Social Security benefits",
        slug="ssa-public",
        public=True,
        public_blurb_en="Retirement, disability or SSI payments.",
        public_blurb_es="Pagos de jubilación, discapacidad o SSI.",
        asks_identifiers=asks,
    )
    name = "Social Security Administration"
    agency = db.session.scalar(sa.select(Agency).where(Agency.name == name)) or Agency(
        name=name, acronym="SSA", level=AgencyLevel.FEDERAL
    )
    db.session.add_all([category, agency])
    db.session.flush()
    db.session.add(RoutingRule(category_id=category.id, agency_id=agency.id))
    template = ReleaseTemplate(name="SSA release", agencies=[agency])
    version = ReleaseTemplateVersion(
        template=template, number=1, text_en=RELEASE_EN, text_es=RELEASE_ES
    )
    db.session.add_all([template, version])
    db.session.commit()
    return PublicWorld(category, agency, template, version)


def hidden_fields(page: str) -> dict[str, str]:
    fields = {}
    for tag in HIDDEN_RE.findall(page):
        name, value = NAME_RE.search(tag), VALUE_RE.search(tag)
        if name:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


GOOD = {
    "what_happened": "My disability payments stopped in March.",
    "tried": "I called the 800 number twice.",
    "first_name": "Rosa",
    "last_name": "Delgado",
    "address_line1": "12 Main St",
    "city": "Cullman",
    "state": "AL",
    "zip_code": "35055",
    "phone": "(518) 555-0123",
    "email": "rosa@example.com",
    "preferred_contact": "phone",
    "contact_times": "Mornings",
}
SIGNED = {"attest": "y", "consent": "y", "signed_name": "rosa  DELGADO"}


def form_url(category_id: int, lang: str | None = None) -> str:
    return f"/help/request?category={category_id}" + (f"&lang={lang}" if lang else "")


def send(client, category_id: int, data: dict | None = None, *, lang: str | None = None, drop=()):  # type: ignore[no-untyped-def]
    """GET the form (in ``lang``), then POST it with its hidden fields and ``data`` (GOOD when
    None); ``drop`` leaves hidden fields out."""
    page = client.get(form_url(category_id, lang)).get_data(as_text=True)
    hidden = {k: v for k, v in hidden_fields(page).items() if k not in drop}
    return client.post(form_url(category_id), data={**hidden, **(GOOD if data is None else data)})
