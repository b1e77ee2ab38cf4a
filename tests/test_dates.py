"""Dates in one format everywhere (issue 14, item 7): every date field is an
``<input type="date">`` and answers a bad date with the same sentence; a post with a bad date
saves nothing."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Form

from constituent.extensions import db
from constituent.forms import DATE_MESSAGE, DayField, audit, cases, referrals, search, summaries
from constituent.models import (
    AgencyResponse,
    AuditEvent,
    Case,
    FollowUp,
    PrivacyRelease,
    Referral,
    TimelineEvent,
)
from constituent.services import referrals as referral_service
from tests.case_helpers import open_case, pdf_bytes
from tests.referral_helpers import gen_agency, gen_referral

BAD = "2025-02-30"  # looks like a date, is none
MESSAGE = "Enter a date like 03/14/2025."
SAVED = (TimelineEvent, FollowUp, PrivacyRelease, Referral, AgencyResponse)


class _Dated(Form):
    day = DayField("Day")


def test_the_message_is_friendly_and_the_field_takes_iso_and_us_dates():
    assert DATE_MESSAGE == MESSAGE
    for typed in ("2025-03-14", "03/14/2025"):
        form = _Dated(formdata=MultiDict({"day": typed}))
        assert form.validate() and form.day.data == date(2025, 3, 14)
        assert form.day._value() == "2025-03-14"  # the picker is given ISO, whatever was typed
        assert 'type="date"' in form.day()
    for typed in ("14/03/2025", BAD, "soon"):
        form = _Dated(formdata=MultiDict({"day": typed}))
        assert not form.validate() and form.day.errors == [MESSAGE]


def _date_posts(case: Case, referral: Referral, caseworker_id: int) -> list[tuple]:
    """(url, page the form is on, fields, the date field[, its id]) for every form that saves
    a date."""
    page = f"/cases/{case.id}"
    detail = f"/referrals/{referral.id}"
    version = {"version": referral.version}
    referral_form = {"agency": referral.agency_id, "contact": 0, "method": "email"}
    referral_form |= {"sent_on": "2025-03-14", "due_on": "", "reference_number": ""}
    inquiry = {**version, "method": "", "note": "", "inquiry_on": "", "due_on": ""}
    response = {**version, "channel": "letter", "outcome": "resolved", "body": "Dear office"}
    return [
        (
            f"{page}/follow-ups",
            page,
            {"followup-assignee": caseworker_id, "followup-description": "Call back"},
            "followup-due_on",
        ),
        (f"{page}/release/request", page, {"relreq-method": "mailed_form"}, "relreq-requested_on"),
        (
            f"{page}/release/received",
            page,
            {"relrec-signature_method": "wet", "relrec-agencies": [str(referral.agency_id)]},
            "relrec-signed_on",
        ),
        (f"/referrals/case/{case.id}/new", None, referral_form, "sent_on"),
        (f"/referrals/case/{case.id}/new", None, referral_form, "due_on"),
        (f"{detail}/edit", None, {**version, "contact": 0, "reference_number": ""}, "due_on"),
        (f"{detail}/acknowledge", detail, {**version, "reference_number": ""}, "acknowledged_on"),
        (f"{detail}/second-inquiry", detail, inquiry, "inquiry_on"),
        (f"{detail}/second-inquiry", detail, inquiry, "due_on", "inquiry-due_on"),
        (f"{detail}/response", None, response, "received_on"),
    ]


def _counts() -> list[int]:
    return [db.session.scalar(sa.select(sa.func.count()).select_from(model)) for model in SAVED] + [
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    ]


def test_a_bad_date_in_every_form_that_saves_gets_the_same_message_and_saves_nothing(
    client, office
):
    case = open_case(office, release_needed=True, assignee=office.caseworker)
    agency = gen_agency()
    referral = gen_referral(
        case, agency, sent_on=referral_service.office_today() - timedelta(days=40)
    )
    db.session.commit()
    client.login(office.caseworker.email)
    posts = _date_posts(case, referral, office.caseworker.id)
    for url, page, fields, date_field, *field_id in posts:
        for value in (BAD, "next tuesday"):
            data = {**fields, date_field: value}
            kw = {}
            if "relrec" in date_field:
                data["relrec-file"] = (io.BytesIO(pdf_bytes()), "release.pdf")
                kw["content_type"] = "multipart/form-data"
            case_version = db.session.scalar(sa.select(Case.version).where(Case.id == case.id))
            before = (_counts(), case_version, referral.version)
            response = client.form_post(url, data, token_from=page, **kw)
            html = response.get_data(as_text=True)
            assert response.status_code == 422, (url, date_field, response.status_code)
            shown = field_id[0] if field_id else date_field
            error = re.search(rf'id="{re.escape(shown)}-error"[^>]*>([^<]*)<', html)
            assert error and error.group(1) == MESSAGE, (url, date_field)
            db.session.expire_all()
            case_version = db.session.scalar(sa.select(Case.version).where(Case.id == case.id))
            assert (_counts(), case_version, referral.version) == before, (url, date_field)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/search/?q=visa&opened_from={bad}", "opened_from"),
        ("/search/?q=visa&closed_to={bad}", "closed_to"),
        ("/summaries/?period=custom&start={bad}&end=2026-03-31", "start"),
        ("/summaries/?period=custom&start=2026-03-01&end={bad}", "end"),
        ("/admin/audit?since={bad}", "since"),
        ("/admin/audit?until={bad}", "until"),
    ],
)
def test_a_bad_date_in_a_filter_gets_the_same_message(client, office, url, field):
    user = office.admin if url.startswith("/admin") else office.supervisor
    client.login(user.email)
    response = client.get(url.format(bad=BAD))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', html)
    assert error and error.group(1) == MESSAGE, html[:2000]
    assert re.search(rf'<input[^>]*id="{field}"[^>]*type="date"', html)


def test_every_date_field_of_every_form_is_the_shared_field():
    found = []
    for module in (audit, cases, referrals, search, summaries):
        for form in vars(module).values():
            if not (isinstance(form, type) and issubclass(form, Form)):
                continue
            for name, unbound in vars(form).items():
                kind = getattr(unbound, "field_class", None)
                if isinstance(kind, type) and issubclass(kind, DateField):
                    assert kind is DayField, (form.__name__, name)
                    found.append(f"{form.__name__}.{name}")
    assert len(set(found)) == 18, found
