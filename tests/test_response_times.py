"""Agency response times: counts, median and 90th percentile against hand-computed values,
the permission scope, and the sortable page for supervisors and admins."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from constituent.extensions import db
from constituent.models import ReferralStatus, Role
from constituent.services import referrals as referral_service
from tests import factories
from tests.referral_helpers import gen_agency, gen_referral


def today() -> date:
    return referral_service.office_today()


@pytest.fixture()
def history(office):  # type: ignore[no-untyped-def]
    """SSA answered in 3, 10, 12, 20 and 40 days, has one overdue and one not yet due;
    VA answered in 14, 5, 30 and 9 days (given unsorted) and had one withdrawn;
    IRS answered once, in 7 days; HUD never answered. District B and a confidential case add
    referrals that some users must not count."""
    ssa = gen_agency("Social Security Administration", "SSA", expected_response_days=30)
    va = gen_agency("Department of Veterans Affairs", "VA", expected_response_days=45)
    irs = gen_agency("Taxpayer Advocate Service", "TAS", expected_response_days=30)
    hud = gen_agency(
        "Department of Housing and Urban Development", "HUD", expected_response_days=30
    )
    start = today() - timedelta(days=200)

    def case(**kw):  # type: ignore[no-untyped-def]
        return factories.gen_case(kw.pop("district", office.a), office.category, **kw)

    def answered(agency, days, **kw):  # type: ignore[no-untyped-def]
        return gen_referral(
            case(**kw),
            agency,
            sent_on=start,
            due_on=start + timedelta(days=agency.expected_response_days),
            status=ReferralStatus.RESPONDED,
            responded_on=start + timedelta(days=days),
        )

    for d in (3, 10, 12, 20, 40):
        answered(ssa, d)
    gen_referral(
        case(), ssa, sent_on=today() - timedelta(days=40), due_on=today() - timedelta(days=10)
    )
    gen_referral(
        case(), ssa, sent_on=today() - timedelta(days=5), due_on=today() + timedelta(days=25)
    )
    for d in (14, 5, 30, 9):
        answered(va, d)
    gen_referral(
        case(),
        va,
        sent_on=start,
        due_on=start + timedelta(days=45),
        status=ReferralStatus.WITHDRAWN,
    )
    answered(irs, 7)
    gen_referral(
        case(), hud, sent_on=today() - timedelta(days=60), due_on=today() - timedelta(days=30)
    )
    # Out of district A: an extra slow SSA answer only district B may count.
    answered(ssa, 90, district=office.b)
    # A confidential case: supervisors count it; admins (who cannot open it) do not.
    answered(irs, 1, confidential=True)
    db.session.commit()
    return {"ssa": ssa, "va": va, "irs": irs, "hud": hud}


def by_acronym(rows):  # type: ignore[no-untyped-def]
    return {r.agency.acronym: r for r in rows}


def test_statistics_match_hand_computed_values(app, office, history):
    rows = by_acronym(referral_service.response_time_stats(office.supervisor))
    assert set(rows) == {"SSA", "VA", "TAS", "HUD"}

    ssa = rows["SSA"]
    # days 3, 10, 12, 20, 40: median is the middle value 12; the 90th percentile sits at
    # position 0.9 * (5 - 1) = 3.6 → 20 + 0.6 * (40 - 20) = 32.
    assert (ssa.sent, ssa.responded, ssa.overdue) == (7, 5, 1)
    assert ssa.median_days == 12
    assert ssa.p90_days == pytest.approx(32.0)

    va = rows["VA"]
    # sorted 5, 9, 14, 30: median (9 + 14) / 2 = 11.5; position 0.9 * 3 = 2.7
    # → 14 + 0.7 * (30 - 14) = 25.2. The withdrawn referral counts as sent, not responded.
    assert (va.sent, va.responded, va.overdue) == (5, 4, 0)
    assert va.median_days == pytest.approx(11.5)
    assert va.p90_days == pytest.approx(25.2)

    tas = rows["TAS"]
    # supervisors see the confidential case: days 1 and 7 → median 4, position 0.9 → 1 + 0.9·6
    assert (tas.sent, tas.responded) == (2, 2)
    assert tas.median_days == pytest.approx(4.0)
    assert tas.p90_days == pytest.approx(6.4)

    hud = rows["HUD"]
    assert (hud.sent, hud.responded, hud.overdue) == (1, 0, 1)
    assert hud.median_days is None and hud.p90_days is None


def test_statistics_follow_the_permission_scope(app, office, history):
    admin = by_acronym(referral_service.response_time_stats(office.admin))
    # admins cannot open the confidential case: one TAS answer, in 7 days
    assert (admin["TAS"].sent, admin["TAS"].median_days, admin["TAS"].p90_days) == (1, 7.0, 7.0)
    other = by_acronym(referral_service.response_time_stats(office.other_caseworker))
    assert set(other) == {"SSA"}
    assert (other["SSA"].sent, other["SSA"].median_days) == (1, 90.0)
    assert referral_service.response_time_stats(office.legislator) == []


def test_percentile_method_on_small_samples(app):
    assert referral_service.percentile_90([]) is None
    assert referral_service.percentile_90([9]) == 9.0
    # 1..10: position 0.9 * 9 = 8.1 → 9 + 0.1 * (10 - 9) = 9.1
    assert referral_service.percentile_90(list(range(1, 11))) == pytest.approx(9.1)
    # two values: 0.9 of the way from the first to the second
    assert referral_service.percentile_90([10, 20]) == pytest.approx(19.0)


def table_agencies(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<th scope="row">[^<]*\((\w+)\)</th>', body)


def test_page_sorts_by_any_column(client, office, history):
    client.login(office.supervisor.email)
    page = client.get("/referrals/response-times").get_data(as_text=True)
    assert table_agencies(page) == ["HUD", "VA", "SSA", "TAS"]  # by name
    assert 'aria-sort="ascending"' in page
    assert '<td class="text-right">32</td>' in page and "25.2" in page
    page = client.get("/referrals/response-times?sort=median&order=desc").get_data(as_text=True)
    # SSA 12, VA 11.5, TAS 4; HUD has no answer and comes last whatever the order
    assert table_agencies(page) == ["SSA", "VA", "TAS", "HUD"]
    assert 'aria-sort="descending"' in page
    page = client.get("/referrals/response-times?sort=median&order=asc").get_data(as_text=True)
    assert table_agencies(page) == ["TAS", "VA", "SSA", "HUD"]
    page = client.get("/referrals/response-times?sort=sent&order=desc").get_data(as_text=True)
    assert table_agencies(page)[0] == "SSA"
    page = client.get("/referrals/response-times?sort=bogus").get_data(as_text=True)
    assert table_agencies(page) == ["HUD", "VA", "SSA", "TAS"]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.SUPERVISOR, 200),
        (Role.ADMIN, 200),
        (Role.CASEWORKER, 403),
        (Role.INTAKE, 403),
        (Role.LEGISLATOR, 403),
    ],
)
def test_page_is_for_supervisors_and_admins(client, office, history, role, status):
    client.login(office.user(role).email)
    assert client.get("/referrals/response-times").status_code == status
