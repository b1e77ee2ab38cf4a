"""The demo office's dates agree with today and with the privacy-release gate."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    AgencyLevel,
    AgencyResponse,
    Case,
    PrivacyRelease,
    Referral,
    TimelineEvent,
)
from constituent.services import demo
from constituent.services.clock import office_date, office_today


def test_the_demo_office_is_dated_consistently_with_today(app):
    demo.seed(scale=1)
    db.session.commit()
    seeded = datetime.now(UTC), office_today()
    no_release_is_signed_or_received_after_today(seeded)
    no_timeline_event_is_in_the_future(seeded)
    no_referral_is_sent_before_its_release_arrived_without_an_override(seeded)
    agency_responses_come_after_the_referral_and_before_the_case_closed(seeded)


def no_release_is_signed_or_received_after_today(seeded: tuple[datetime, date]) -> None:
    now, today = seeded
    releases = db.session.scalars(sa.select(PrivacyRelease)).all()
    received = [r for r in releases if r.received_at is not None]
    assert len(received) > 10
    for release in releases:
        assert release.requested_on is not None and release.requested_on <= today
    for release in received:
        assert release.received_at <= now, release.id
        assert release.signed_on is not None
        assert release.requested_on <= release.signed_on <= office_date(release.received_at)
        assert release.signed_on <= today


def no_timeline_event_is_in_the_future(seeded: tuple[datetime, date]) -> None:
    now, _today = seeded
    latest = db.session.scalar(sa.select(sa.func.max(TimelineEvent.occurred_at)))
    assert latest is not None and latest <= now
    future = db.session.scalars(
        sa.select(TimelineEvent).where(
            sa.or_(TimelineEvent.occurred_at > now, TimelineEvent.created_at > now)
        )
    ).all()
    assert [(e.case_id, e.kind, e.occurred_at) for e in future] == []
    for case in db.session.scalars(sa.select(Case)):
        assert case.opened_at <= now
        assert case.closed_at is None or case.opened_at <= case.closed_at <= now


def no_referral_is_sent_before_its_release_arrived_without_an_override(
    seeded: tuple[datetime, date],
) -> None:
    _now, today = seeded
    referrals = db.session.scalars(sa.select(Referral)).all()
    federal = [r for r in referrals if r.agency.level == AgencyLevel.FEDERAL]
    assert len(federal) > 10
    for referral in referrals:
        assert referral.sent_on <= today
    for referral in federal:
        if referral.override_reason:
            continue
        arrived = [
            office_date(release.received_at)
            for release in referral.case.releases
            if release.received_at is not None
            and any(a.id == referral.agency_id for a in release.agencies)
        ]
        assert arrived, f"referral {referral.id} has no covering release and no override"
        assert min(arrived) <= referral.sent_on, referral.id


def agency_responses_come_after_the_referral_and_before_the_case_closed(
    seeded: tuple[datetime, date],
) -> None:
    _now, today = seeded
    responses = db.session.scalars(sa.select(AgencyResponse)).all()
    assert responses
    for response in responses:
        referral = response.referral
        assert referral.sent_on <= response.received_on <= today, referral.id
        closed = referral.case.closed_at
        assert closed is None or response.received_on <= office_date(closed), referral.id
