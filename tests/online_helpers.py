"""Online requests made directly (as the public form's service would store them), for the
staff side's tests: a request with its signed release, its copy and its identifiers."""

from __future__ import annotations

import io
import json
import secrets
from datetime import timedelta

from constituent.extensions import db
from constituent.models import (
    Agency,
    Category,
    Language,
    OnlineRequest,
    ReleaseTemplate,
    ReleaseTemplateVersion,
    utcnow,
)
from constituent.models.online_requests import PreferredContact
from constituent.services import uploads
from constituent.services.uploads import FileKind

HTML = FileKind("text/html", "html")


def gen_template(agencies: list[Agency], name: str = "SSA release") -> ReleaseTemplateVersion:
    template = ReleaseTemplate(name=name, agencies=list(agencies))
    version = ReleaseTemplateVersion(
        template=template,
        number=1,
        text_en="I authorize the agency to release my records to the office.",
        text_es="Autorizo a la agencia a entregar mis registros a la oficina.",
    )
    db.session.add_all([template, version])
    db.session.flush()
    return version


def gen_request(
    category: Category,
    *,
    release: ReleaseTemplateVersion | None = None,
    identifiers: dict[str, str] | None = None,
    language: Language = Language.ENGLISH,
    minutes_ago: int = 5,
    **kw,
) -> OnlineRequest:
    """A new request, signed with ``release`` (covering its template's agencies) if given."""
    sent = utcnow() - timedelta(minutes=minutes_ago)
    item = OnlineRequest(
        reference=kw.pop("reference", secrets.token_hex(6).upper()),
        language=language,
        category=category,
        what_happened=kw.pop("what_happened", "My retirement check stopped in March."),
        tried=kw.pop("tried", "I called the 800 number twice."),
        first_name=kw.pop("first_name", "Rosa"),
        last_name=kw.pop("last_name", "Delgado"),
        address_line1=kw.pop("address_line1", "14 Oak Street"),
        city=kw.pop("city", "Plattsburgh"),
        state=kw.pop("state", "NY"),
        zip_code=kw.pop("zip_code", "12901"),
        phone=kw.pop("phone", "(518) 555-0142"),
        email=kw.pop("email", "rosa@example.com"),
        preferred_contact=kw.pop("preferred_contact", PreferredContact.PHONE),
        identifiers=json.dumps(identifiers) if identifiers else None,
        submitted_from="203.0.113.9",
        created_at=sent,
        **kw,
    )
    if release is not None:
        item.release_version = release
        item.signed_name = f"{item.first_name} {item.last_name}"
        item.signed_at = sent
        item.release_agencies = list(release.template.agencies)
        copy = (
            f"<html><body><p>{release.text_en}</p><p>Signed: {item.signed_name}</p></body></html>"
        )
        item.release_copy = uploads.store_upload(
            io.BytesIO(copy.encode()),
            "release.html",
            case=None,
            uploaded_by=None,
            recognise=lambda _data: HTML,
        )
    db.session.add(item)
    db.session.flush()
    return item
