"""Privacy releases: request one, record it received (with the signed form), or mark it not needed.

``case.release_state`` follows the releases: received when a signed release is on file,
requested while one is awaited, otherwise needed / not needed as staff decided.
"""

from __future__ import annotations

from datetime import date
from typing import BinaryIO

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    Case,
    EventKind,
    PrivacyRelease,
    ReleaseState,
    RequestMethod,
    SignatureMethod,
    User,
    utcnow,
)
from constituent.services import audit, timeline, uploads
from constituent.services.clock import office_today
from constituent.services.errors import DomainError

NOTE_LIMIT = 2000
EARLIEST_SIGNED_ON = date(2000, 1, 1)


def _format(day: date) -> str:
    return day.strftime("%b %-d, %Y")


def pending_release(case: Case) -> PrivacyRelease | None:
    """The latest requested release not yet received, if any."""
    for release in reversed(case.releases):
        if release.received_at is None:
            return release
    return None


def received_releases(case: Case) -> list[PrivacyRelease]:
    """The signed releases on file for the case, oldest first."""
    return [r for r in case.releases if r.received_at is not None]


def covered_agencies(case: Case) -> list[Agency]:
    """Every agency some received release of the case covers, by name."""
    seen: dict[int, Agency] = {}
    for release in received_releases(case):
        for agency in release.agencies:
            seen.setdefault(agency.id, agency)
    return sorted(seen.values(), key=lambda a: a.name)


def request_release(
    case: Case,
    *,
    requested_on: date,
    method: RequestMethod,
    by: User,
    today: date | None = None,
) -> PrivacyRelease:
    """Record that a release was sent to the constituent for signature."""
    today = today or office_today()
    if requested_on > today:
        raise DomainError("The request date cannot be in the future.", field="requested_on")
    release = PrivacyRelease(
        case=case,
        requested_on=requested_on,
        request_method=method,
        recorded_by_id=by.id,
    )
    db.session.add(release)
    if case.release_state != ReleaseState.RECEIVED:
        case.release_state = ReleaseState.REQUESTED
    timeline.add_event(
        case,
        EventKind.RELEASE,
        f"Privacy release requested on {_format(requested_on)} ({method.label.lower()}).",
        author=by,
        data={"action": "requested", "method": method.value},
    )
    db.session.flush()
    return release


def record_received(
    case: Case,
    *,
    signed_on: date,
    signature_method: SignatureMethod,
    agencies: list[Agency],
    file: BinaryIO | None,
    filename: str | None,
    by: User,
    today: date | None = None,
) -> PrivacyRelease:
    """Record the signed release: its date, method, the agencies it covers and the scanned form.

    Every check runs before the file is stored, so a refused form stores nothing.
    """
    today = today or office_today()
    if signed_on > today:
        raise DomainError("The signed date cannot be in the future.", field="signed_on")
    if signed_on < EARLIEST_SIGNED_ON:
        raise DomainError("Check the signed date: it is too far in the past.", field="signed_on")
    if not agencies:
        raise DomainError("Choose at least one agency the release covers.", field="agencies")
    if file is None:
        raise DomainError("Attach the signed form (PDF, PNG or JPEG).", field="file")
    release = pending_release(case)
    if release is not None and release.requested_on and signed_on < release.requested_on:
        raise DomainError(
            f"The signed date is before the request date ({_format(release.requested_on)}).",
            field="signed_on",
        )
    attachment = uploads.store_upload(file, filename, case=case, uploaded_by=by)
    if release is None:
        release = PrivacyRelease(case=case)
        db.session.add(release)
    release.signed_on = signed_on
    release.signature_method = signature_method
    release.received_at = utcnow()
    release.attachment = attachment
    mark_received(
        case,
        release,
        agencies,
        how=f"({signature_method.label.lower()})",
        by=by,
        detail=f"attachment {attachment.id}",
    )
    return release


def mark_received(
    case: Case,
    release: PrivacyRelease,
    agencies: list[Agency],
    *,
    how: str,
    by: User,
    detail: str,
    data: dict[str, object] | None = None,
) -> None:
    """The release on file for these agencies (signed ``how``): the case's release state, its
    timeline entry and the audit line. Every way a release arrives ends here (a scanned form,
    the online help form), so the referral gate sees one kind of record."""
    release.recorded_by_id = by.id
    release.agencies = sorted(agencies, key=lambda a: a.name)
    case.release_state = ReleaseState.RECEIVED
    names = ", ".join(a.acronym or a.name for a in release.agencies) or "no agency"
    signed = _format(release.signed_on) if release.signed_on else "on an unknown day"
    timeline.add_event(
        case,
        EventKind.RELEASE,
        f"Privacy release received: signed {signed} {how}, covering {names}.",
        author=by,
        data={
            "action": "received",
            "agency_ids": [a.id for a in release.agencies],
            "attachment_id": release.attachment.id if release.attachment else None,
            **(data or {}),
        },
    )
    db.session.flush()
    audit.record("release_received", "case", case.number, detail=detail, user=by)


def mark_not_needed(case: Case, *, by: User, note: str | None = None) -> None:
    """Record that this case needs no privacy release."""
    if received_releases(case):
        raise DomainError("A signed release is already on file for this case.", field="note")
    text = (note or "").strip()
    if len(text) > NOTE_LIMIT:
        raise DomainError(f"Keep the note to at most {NOTE_LIMIT:,} characters.", field="note")
    if case.release_state == ReleaseState.NOT_NEEDED:
        raise DomainError("The case is already marked as needing no release.", field="note")
    case.release_state = ReleaseState.NOT_NEEDED
    body = "Privacy release marked not needed."
    if text:
        body += f"\n{text}"
    timeline.add_event(case, EventKind.RELEASE, body, author=by, data={"action": "not_needed"})


def agencies_by_id(ids: list[int]) -> list[Agency]:
    """The agencies a signed release names, from the form's ids (unknown ids are dropped)."""
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Agency).where(Agency.id.in_(ids))))


def active_agencies() -> list[Agency]:
    """Agencies a release may name, by name."""
    return list(
        db.session.scalars(sa.select(Agency).where(Agency.active.is_(True)).order_by(Agency.name))
    )
