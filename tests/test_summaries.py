"""District summary figures against a small office history worked out by hand.

The history (``make_history``) is also used by test_summaries_views.py.

Office time zone America/New_York. The period under test is March 2026 (local): from
2026-03-01 05:00 UTC (midnight EST) to 2026-04-01 04:00 UTC (midnight EDT); the previous period
is February 2026: 2026-02-01 05:00 UTC to 2026-03-01 05:00 UTC. Durations use UTC times so
that the daylight-saving change on 8 March does not blur them.

District A (NY-21), cases (category, channel, priority, assignee; ZIP/town of the resident):

c1   opened 2026-03-31 23:00 local (= 04-01 03:00 UTC): a MARCH case; still open. SS.
c2   opened 2026-04-01 00:30 local (= 04-01 04:30 UTC): April, in no figure below. SS.
c3   reopened twice: open Jan 10–20, Feb 1–11, Mar 1 09:00 UTC–Mar 21 (10+10+20 = 40 days);
     closed for good on Mar 21 (assisted). Veterans, caseworker. Opened before the period.
c4   opened Feb 10 12:00, closed Mar 5 12:00 UTC: 23 days (denied). SS, caseworker.
c5   opened Mar 10 12:00, closed Mar 12 12:00: 2 days (information provided). SS, email,
     CONFIDENTIAL, supervisor.
c6   opened 2025-12-01 12:00, never closed. Housing, emergency, supervisor.
c7   opened Mar 15, closed Mar 25, reopened Apr 10 and open now: not closed in March (its
     final close has not happened), and not open at the end of March (it was closed then).
c8   district B (NY-20), opened Mar 10: in no figure of A.
c10  opened 2025-08-01 12:00, closed Mar 28 12:00: 239 days (withdrawn). Housing.
c11  opened Feb 3 12:00, closed Feb 8 12:00: 5 days (assisted). SS. February only.
c12  opened Mar 2 12:00, closed Mar 4 00:00: 1.5 days (assisted).
c13  opened Mar 3 12:00, open. SS, letter, caseworker.
c14  opened Mar 4 12:00, waiting on agency. Veterans, expedite.
c15  opened Mar 6 12:00, open. Housing, walk-in; ZIP 12992 Keeseville.
c16  opened 2026-02-28 23:30 local (= 03-01 04:30 UTC): a FEBRUARY case; closed one day later
     (unable to contact). Veterans, web form.
Every resident lives in ZIP 12901 Plattsburgh, except c15's (12992 Keeseville) and c2's.

Referrals (SSA, VA): r1 c4→SSA sent Feb 12, answered Mar 2 (18 days); r2 c5→SSA sent Mar 11,
answered Mar 12 (1 day); r3 c13→SSA sent Mar 5, due Mar 20, no answer (overdue now);
r4 c14→VA sent Mar 6, due 2099 (acknowledged); r5 c3→VA sent Jan 15, answered Mar 20
(64 days); r6 c8 (district B)→SSA sent Mar 11.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyLevel,
    Case,
    CaseInterval,
    CaseStatus,
    Category,
    Channel,
    Outcome,
    Priority,
    Referral,
    ReferralMethod,
    ReferralStatus,
    User,
)
from constituent.services import summaries
from constituent.services.errors import DomainError, Forbidden, NotFound
from constituent.services.summaries import PeriodKind
from tests import factories

TZ = ZoneInfo("America/New_York")
TODAY = date(2026, 11, 22)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(UTC)


@dataclass
class History:
    cases: dict[str, Case]
    ss: Category
    veterans: Category
    housing: Category
    ssa: Agency
    va: Agency

    def numbers(self, *names: str) -> set[int]:
        return {self.cases[n].number for n in names}


def _case(
    office: factories.Office,
    name: str,
    category: Category,
    opened: datetime,
    intervals: list[tuple[datetime, datetime | None]] | None = None,
    *,
    district=None,
    outcome: Outcome | None = None,
    status: CaseStatus | None = None,
    channel: Channel = Channel.PHONE,
    priority: Priority = Priority.ROUTINE,
    assignee: User | None = None,
    confidential: bool = False,
    zip5: str = "12901",
    city: str = "Plattsburgh",
) -> Case:
    district = district or office.a
    person = factories.gen_constituent(
        district,
        first=f"Resident{name.upper()}",
        last=f"Family{name.upper()}",
        zip5=zip5,
        city=city,
    )
    spans = [(opened, None)] if intervals is None else intervals
    closed = spans[-1][1] if spans else None
    case = factories.gen_case(
        district,
        category,
        constituent=person,
        opened_at=opened,
        channel=channel,
        priority=priority,
        assignee=assignee,
        confidential=confidential,
        subject=f"Subject of case {name}",
        description=f"Private details of case {name}.",
        status=status or (CaseStatus.CLOSED if closed else CaseStatus.OPEN),
        closed_at=closed,
        outcome=outcome,
    )
    for start, end in spans:
        db.session.add(CaseInterval(case=case, opened_at=start, closed_at=end))
    db.session.flush()
    return case


def _referral(
    case: Case,
    agency: Agency,
    sent: date,
    due: date,
    responded: date | None,
    status: ReferralStatus,
) -> None:
    db.session.add(
        Referral(
            case=case,
            agency=agency,
            method=ReferralMethod.EMAIL,
            sent_on=sent,
            due_on=due,
            responded_on=responded,
            status=status,
        )
    )


def make_history(office: factories.Office) -> History:
    """The cases, intervals and referrals described in the module docstring (committed)."""
    ss = office.category
    veterans = factories.gen_category("Veterans")
    housing = factories.gen_category("Housing")
    ssa = Agency(name="Social Security Administration", acronym="SSA", level=AgencyLevel.FEDERAL)
    va = Agency(name="Department of Veterans Affairs", acronym="VA", level=AgencyLevel.FEDERAL)
    db.session.add_all([ssa, va])
    cw, sup = office.caseworker, office.supervisor
    c: dict[str, Case] = {}
    c["c1"] = _case(office, "c1", ss, local("2026-03-31 23:00"))
    c["c2"] = _case(office, "c2", ss, local("2026-04-01 00:30"), zip5="12903")
    c["c3"] = _case(
        office,
        "c3",
        veterans,
        utc("2026-01-10 09:00"),
        [
            (utc("2026-01-10 09:00"), utc("2026-01-20 09:00")),
            (utc("2026-02-01 09:00"), utc("2026-02-11 09:00")),
            (utc("2026-03-01 09:00"), utc("2026-03-21 09:00")),
        ],
        outcome=Outcome.ASSISTED,
        assignee=cw,
    )
    c["c4"] = _case(
        office,
        "c4",
        ss,
        utc("2026-02-10 12:00"),
        [(utc("2026-02-10 12:00"), utc("2026-03-05 12:00"))],
        outcome=Outcome.DENIED,
        assignee=cw,
    )
    c["c5"] = _case(
        office,
        "c5",
        ss,
        utc("2026-03-10 12:00"),
        [(utc("2026-03-10 12:00"), utc("2026-03-12 12:00"))],
        outcome=Outcome.INFORMATION_PROVIDED,
        channel=Channel.EMAIL,
        confidential=True,
        assignee=sup,
    )
    c["c6"] = _case(
        office, "c6", housing, utc("2025-12-01 12:00"), priority=Priority.EMERGENCY, assignee=sup
    )
    c["c7"] = _case(
        office,
        "c7",
        veterans,
        utc("2026-03-15 12:00"),
        [
            (utc("2026-03-15 12:00"), utc("2026-03-25 12:00")),
            (utc("2026-04-10 12:00"), None),
        ],
    )
    c["c8"] = _case(office, "c8", ss, utc("2026-03-10 12:00"), district=office.b)
    c["c10"] = _case(
        office,
        "c10",
        housing,
        utc("2025-08-01 12:00"),
        [(utc("2025-08-01 12:00"), utc("2026-03-28 12:00"))],
        outcome=Outcome.WITHDRAWN,
    )
    c["c11"] = _case(
        office,
        "c11",
        ss,
        utc("2026-02-03 12:00"),
        [(utc("2026-02-03 12:00"), utc("2026-02-08 12:00"))],
        outcome=Outcome.ASSISTED,
    )
    c["c12"] = _case(
        office,
        "c12",
        ss,
        utc("2026-03-02 12:00"),
        [(utc("2026-03-02 12:00"), utc("2026-03-04 00:00"))],
        outcome=Outcome.ASSISTED,
    )
    c["c13"] = _case(
        office,
        "c13",
        ss,
        utc("2026-03-03 12:00"),
        channel=Channel.LETTER,
        assignee=cw,
        city="PLATTSBURGH ",
    )
    c["c14"] = _case(
        office,
        "c14",
        veterans,
        utc("2026-03-04 12:00"),
        priority=Priority.EXPEDITE,
        status=CaseStatus.WAITING_ON_AGENCY,
    )
    c["c15"] = _case(
        office,
        "c15",
        housing,
        utc("2026-03-06 12:00"),
        channel=Channel.WALK_IN,
        zip5="12992",
        city="Keeseville",
    )
    c["c16"] = _case(
        office,
        "c16",
        veterans,
        local("2026-02-28 23:30"),
        [(local("2026-02-28 23:30"), local("2026-03-01 23:30"))],
        outcome=Outcome.UNABLE_TO_CONTACT,
        channel=Channel.WEB_FORM,
    )
    _referral(
        c["c4"],
        ssa,
        date(2026, 2, 12),
        date(2026, 3, 14),
        date(2026, 3, 2),
        ReferralStatus.RESPONDED,
    )
    _referral(
        c["c5"],
        ssa,
        date(2026, 3, 11),
        date(2026, 4, 10),
        date(2026, 3, 12),
        ReferralStatus.RESPONDED,
    )
    _referral(c["c13"], ssa, date(2026, 3, 5), date(2026, 3, 20), None, ReferralStatus.SENT)
    _referral(c["c14"], va, date(2026, 3, 6), date(2099, 1, 1), None, ReferralStatus.ACKNOWLEDGED)
    _referral(
        c["c3"],
        va,
        date(2026, 1, 15),
        date(2026, 2, 14),
        date(2026, 3, 20),
        ReferralStatus.RESPONDED,
    )
    _referral(c["c8"], ssa, date(2026, 3, 11), date(2026, 4, 10), None, ReferralStatus.SENT)
    db.session.commit()
    return History(c, ss, veterans, housing, ssa, va)


# The hand-computed answers -------------------------------------------------------------------

MARCH = {
    "opened": 7,  # c1 c5 c7 c12 c13 c14 c15
    "closed": 6,  # c3 c4 c5 c10 c12 c16
    "open_at_end": 5,  # c1 c6 c13 c14 c15
    "days": [1.0, 1.5, 2.0, 23.0, 40.0, 239.0],
    "median": 12.5,  # (2 + 23) / 2
    "p90": 139.5,  # position 0.9 × 5 = 4.5: 40 + 0.5 × (239 − 40)
    "within": {30: 4 / 6, 60: 5 / 6, 90: 5 / 6},
    "close_buckets": {"le30": 4, "31-90": 1, "91-180": 0, "over180": 1},
    "by_priority": {"emergency": 1, "expedite": 1, "routine": 3},
    "aging": {"0-30": 4, "31-60": 0, "61-90": 0, "over90": 1},
    "by_outcome": {
        "assisted": 2,
        "denied": 1,
        "information_provided": 1,
        "withdrawn": 1,
        "unable_to_contact": 1,
        "referred_elsewhere": 0,
        "out_of_jurisdiction": 0,
    },
    "by_channel": {"phone": 4, "email": 1, "walk_in": 1, "letter": 1, "web_form": 0, "event": 0},
}
FEBRUARY = {
    "opened": 3,  # c4 c11 c16
    "closed": 1,  # c11 (c3's close on Feb 11 was not final)
    "open_at_end": 4,  # c4 c6 c10 c16
    "median": 5.0,
    "by_priority": {"emergency": 1, "expedite": 0, "routine": 3},
    "aging": {"0-30": 2, "31-60": 0, "61-90": 1, "over90": 1},
}


def march() -> summaries.Period:
    return summaries.parse_period("m2026-03", None, None, TODAY)


@pytest.fixture()
def history(office: factories.Office) -> History:
    return make_history(office)


# Periods -------------------------------------------------------------------------------------


def test_period_bounds_are_local_midnights_in_utc():
    period = march()
    assert (period.start, period.end, period.name) == (
        date(2026, 3, 1),
        date(2026, 3, 31),
        "March 2026",
    )
    start, end = period.bounds(TZ)
    assert start == utc("2026-03-01 05:00")  # EST
    assert end == utc("2026-04-01 04:00")  # EDT: the clocks changed on 8 March
    previous = period.previous()
    assert (previous.start, previous.end, previous.name) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
        "February 2026",
    )


@pytest.mark.parametrize(
    ("token", "today", "start", "end", "prev_start", "prev_end"),
    [
        (
            "last12",
            date(2026, 11, 22),
            date(2025, 11, 23),
            date(2026, 11, 22),
            date(2024, 11, 23),
            date(2025, 11, 22),
        ),
        (
            "last12",
            date(2028, 2, 29),
            date(2027, 3, 1),
            date(2028, 2, 29),
            date(2026, 3, 1),
            date(2027, 2, 28),
        ),
        (
            "q2026-1",
            date(2026, 11, 22),
            date(2026, 1, 1),
            date(2026, 3, 31),
            date(2025, 10, 1),
            date(2025, 12, 31),
        ),
        (
            "y2025",
            date(2026, 11, 22),
            date(2025, 1, 1),
            date(2025, 12, 31),
            date(2024, 1, 1),
            date(2024, 12, 31),
        ),
        # The current month stops at today, and compares with the same days of the month before.
        (
            "m2026-11",
            date(2026, 11, 22),
            date(2026, 11, 1),
            date(2026, 11, 22),
            date(2026, 10, 1),
            date(2026, 10, 22),
        ),
        (
            "m2026-03",
            date(2026, 3, 30),
            date(2026, 3, 1),
            date(2026, 3, 30),
            date(2026, 2, 1),
            date(2026, 2, 28),
        ),
        (
            "y2026",
            date(2026, 11, 22),
            date(2026, 1, 1),
            date(2026, 11, 22),
            date(2025, 1, 1),
            date(2025, 11, 22),
        ),
    ],
)
def test_periods_and_their_previous_period(token, today, start, end, prev_start, prev_end):
    period = summaries.parse_period(token, None, None, today)
    assert (period.start, period.end) == (start, end)
    previous = period.previous()
    assert (previous.start, previous.end) == (prev_start, prev_end)
    if period.end == today and period.kind == PeriodKind.LAST_12_MONTHS:
        assert (period.start - previous.end).days == 1  # the 12 months before, no gap


def test_custom_period_compares_with_as_many_days_before():
    period = summaries.parse_period("custom", date(2026, 3, 10), date(2026, 3, 19), TODAY)
    assert period.kind == PeriodKind.CUSTOM and period.days == 10
    previous = period.previous()
    assert (previous.start, previous.end) == (date(2026, 2, 28), date(2026, 3, 9))


def test_custom_dates_that_are_a_calendar_month_are_that_month():
    period = summaries.parse_period("custom", date(2026, 3, 1), date(2026, 3, 31), TODAY)
    assert period.kind == PeriodKind.MONTH and period.previous().start == date(2026, 2, 1)
    quarter = summaries.parse_period(None, date(2026, 4, 1), date(2026, 6, 30), TODAY)
    assert quarter.kind == PeriodKind.QUARTER and quarter.name == "Q2 2026"


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        (date(2026, 3, 31), date(2026, 3, 1), "end", "before the start date"),
        (date(2010, 1, 1), date(2020, 1, 1), "end", "at most 10 years"),
        (date(2026, 12, 1), date(2026, 12, 31), "start", "starts after today"),
        (None, date(2026, 3, 1), "start", "first day"),
        (date(2026, 3, 1), None, "end", "last day"),
        (date(1, 1, 1), date(1, 1, 31), "start", "1900 or later"),
    ],
)
def test_bad_custom_periods_are_refused_with_the_field(start, end, field, words):
    with pytest.raises(DomainError) as err:
        summaries.parse_period("custom", start, end, TODAY)
    assert err.value.field == field and words in err.value.message


def test_exactly_ten_years_is_allowed():
    period = summaries.parse_period("custom", date(2016, 1, 2), date(2026, 1, 1), TODAY)
    assert period.days == 3653


@pytest.mark.parametrize(
    "token", ["m2027-01", "q2026-9", "x", "m2026-13", "y20x6", "y0001", "m0001-01", "q0001-1"]
)
def test_unknown_or_future_menu_values_are_refused(token):
    with pytest.raises(DomainError) as err:
        summaries.parse_period(token, None, None, TODAY)
    assert err.value.field == "period"


# Who may see which district ------------------------------------------------------------------


def test_district_for_refuses_unknown_codes_and_other_districts(office):
    assert summaries.district_for(office.legislator, "ny-21").id == office.a.id
    with pytest.raises(NotFound, match="no district with the code 'NY-99'"):
        summaries.district_for(office.legislator, "NY-99")
    with pytest.raises(Forbidden, match="do not have access to the summaries of NY-20"):
        summaries.district_for(office.legislator, "NY-20")
    with pytest.raises(Forbidden):
        summaries.district_for(office.caseworker, "NY-21")


# Figures -------------------------------------------------------------------------------------


def test_march_figures_match_the_hand_count(history):
    summary = summaries.district_summary(
        factories_district(history), march(), TZ, TODAY, staff=True
    )
    now = summary.current
    h = now.headline
    assert (h.opened, h.closed, h.open_at_end) == (
        MARCH["opened"],
        MARCH["closed"],
        MARCH["open_at_end"],
    )
    t = h.time_to_close
    assert t.count == 6
    assert t.median_days == pytest.approx(MARCH["median"], abs=1e-6)
    assert t.p90_days == pytest.approx(MARCH["p90"], abs=1e-6)
    for w, share in MARCH["within"].items():
        assert t.within[w] == pytest.approx(share)
    assert t.buckets == MARCH["close_buckets"]
    assert now.by_priority == MARCH["by_priority"]
    assert now.aging == MARCH["aging"]
    assert now.by_outcome == MARCH["by_outcome"]
    assert now.by_channel == MARCH["by_channel"]
    categories = {r.name: (r.opened, r.closed, r.median_days) for r in now.by_category}
    assert categories == {
        "Social Security": (4, 3, 2.0),
        "Veterans": (2, 2, 20.5),
        "Housing": (1, 1, 239.0),
    }
    assert [(m.start, m.end, m.opened, m.closed) for m in now.trend] == [
        (date(2026, 3, 1), date(2026, 3, 31), 7, 6)
    ]
    assert {r.key: r.opened for r in now.by_zip} == {"12901": 6, "12992": 1}
    assert {r.label: r.opened for r in now.by_town} == {"Plattsburgh": 6, "Keeseville": 1}
    staff = {r.name: (r.caseload, r.closed) for r in now.by_staff}
    assert staff == {
        history.cases["c3"].assignee.full_name: (1, 2),  # caseworker: c13; c3 c4
        history.cases["c5"].assignee.full_name: (1, 1),  # supervisor: c6; c5
        "Unassigned": (3, 3),
    }  # c1 c14 c15; c10 c12 c16
    agencies = {
        r.name: (r.sent, r.responded, r.median_days_to_respond, r.overdue_now)
        for r in now.by_agency
    }
    assert agencies == {
        "Social Security Administration (SSA)": (2, 2, 9.5, 1),  # r2 r3; r1 (18) r2 (1); r3
        "Department of Veterans Affairs (VA)": (1, 1, 64.0, 0),  # r4; r5 (64)
    }


def factories_district(history: History):
    return history.cases["c1"].district


def test_february_is_the_previous_period(history):
    summary = summaries.district_summary(factories_district(history), march(), TZ, TODAY)
    before = summary.previous
    h = before.headline
    assert (h.opened, h.closed, h.open_at_end) == (
        FEBRUARY["opened"],
        FEBRUARY["closed"],
        FEBRUARY["open_at_end"],
    )
    assert h.time_to_close.median_days == FEBRUARY["median"]
    assert before.by_priority == FEBRUARY["by_priority"]
    assert before.aging == FEBRUARY["aging"]
    # SSA: r1 sent Feb 12 (and r3 overdue now); VA had nothing sent or answered in February.
    assert {
        r.name: (r.sent, r.responded, r.median_days_to_respond, r.overdue_now)
        for r in before.by_agency
    } == {"Social Security Administration (SSA)": (1, 0, None, 1)}
    assert before.trend == []  # no trend for the comparison period
    assert summary.current.by_staff is None  # not asked for


def test_the_time_zone_boundary_decides_the_month(history):
    """11 pm on 31 March (office time) is March; 12:30 am on 1 April is April."""
    c = history.cases
    april = summaries.parse_period("m2026-04", None, None, TODAY)
    start, end = april.bounds(TZ)
    opened_april = db.session.scalars(
        sa.select(Case.number).where(
            summaries.in_districts([c["c1"].district_id]), summaries.opened_in(start, end)
        )
    ).all()
    assert c["c2"].number in opened_april and c["c1"].number not in opened_april
    start, end = march().bounds(TZ)
    opened_march = set(
        db.session.scalars(
            sa.select(Case.number).where(
                summaries.in_districts([c["c1"].district_id]), summaries.opened_in(start, end)
            )
        ).all()
    )
    assert opened_march == history.numbers("c1", "c5", "c7", "c12", "c13", "c14", "c15")


def test_a_case_reopened_twice_counts_all_three_intervals(history):
    c3 = history.cases["c3"]
    days = db.session.scalar(sa.select(summaries.days_to_close()).where(Case.id == c3.id))
    assert days == pytest.approx(40.0)
    # Its February close was not final, so it is not a February closure.
    start, end = march().previous().bounds(TZ)
    closed_feb = db.session.scalars(
        sa.select(Case.number).where(summaries.closed_in(start, end))
    ).all()
    assert closed_feb == [history.cases["c11"].number]


def test_open_at_period_end_follows_the_intervals(history):
    _, end = march().bounds(TZ)
    district_ids = [factories_district(history).id]
    open_numbers = set(
        db.session.scalars(
            sa.select(Case.number).where(
                summaries.in_districts(district_ids), summaries.open_at(end)
            )
        ).all()
    )
    # c7 was closed at the end of March although it is open today; c1 opened an hour before.
    assert open_numbers == history.numbers("c1", "c6", "c13", "c14", "c15")


def test_headlines_per_district_match_the_summary(history, office):
    period = march()
    both = summaries.headlines([office.a.id, office.b.id], period, TZ)
    one = summaries.district_summary(office.a, period, TZ, TODAY).current.headline
    assert both[office.a.id] == one
    b = both[office.b.id]
    assert (b.opened, b.closed, b.open_at_end) == (1, 0, 1)  # c8 only
    comparison = summaries.compare_districts([office.a, office.b], period, TZ)
    assert [r.district.code for r in comparison.rows] == ["NY-21", "NY-20"]
    assert comparison.rows[0].previous.opened == FEBRUARY["opened"]


def test_a_district_with_no_cases_gives_zeros(office):
    summary = summaries.district_summary(office.b, march(), TZ, TODAY, staff=True)
    h = summary.current.headline
    assert (h.opened, h.closed, h.open_at_end) == (0, 0, 0)
    assert h.time_to_close.median_days is None and h.time_to_close.within[30] is None
    assert summary.current.by_category == [] and summary.current.by_zip == []
    assert summary.current.by_staff == []
    assert [m.opened for m in summary.current.trend] == [0]


def test_statistics_definitions():
    assert summaries.median([]) is None
    assert summaries.median([3.0]) == 3.0
    assert summaries.median([1.0, 2.0, 10.0, 20.0]) == 6.0
    assert summaries.percentile_90([]) is None
    assert summaries.percentile_90([7.0]) == 7.0
    assert summaries.percentile_90([float(i) for i in range(1, 11)]) == pytest.approx(9.1)
    # Buckets: "30 days or less" includes 30.0; 30 days and 2 hours is over 30.
    assert summaries.bucket_of(30.0, summaries.CLOSE_BUCKETS) == "le30"
    assert summaries.bucket_of(30 + 2 / 24, summaries.CLOSE_BUCKETS) == "31-90"
    assert summaries.bucket_of(180.0, summaries.CLOSE_BUCKETS) == "91-180"
    assert summaries.bucket_of(180.01, summaries.CLOSE_BUCKETS) == "over180"
    assert summaries.bucket_of(0.0, summaries.AGE_BUCKETS) == "0-30"


def _comparable(f: summaries.Figures) -> tuple[object, ...]:
    return (
        f.headline,
        f.by_priority,
        f.aging,
        f.by_category,
        f.by_outcome,
        f.by_channel,
        f.by_agency,
        sorted(f.by_zip, key=lambda r: r.key),
        sorted(f.by_town, key=lambda r: r.key),
        sorted(f.by_staff or [], key=lambda r: str(r.user_id)),
    )


def test_periods_taken_together_give_each_period_its_own_figures(history):
    """The summary computes several periods in one pass (a period and the one before, which
    may leave a gap: Nov 1–23 against Oct 1–23); periods that overlap or leave gaps between
    them get exactly the figures each gets alone."""
    ids = [factories_district(history).id]
    periods = [
        march(),
        summaries.custom_period(date(2026, 2, 10), date(2026, 3, 15), TODAY),  # overlaps March
        summaries.custom_period(date(2026, 1, 5), date(2026, 1, 25), TODAY),  # a gap after it
    ]
    together = summaries.period_figures(ids, periods, TZ, TODAY, staff=True)
    for period, figures in zip(periods, together, strict=True):
        (alone,) = summaries.period_figures(ids, [period], TZ, TODAY, staff=True)
        assert _comparable(figures) == _comparable(alone), period.dates
    assert together[1].headline.closed == 4  # c16 c12 c4 c5 (Mar 1–12); not c3 (Mar 21)
    assert together[0].trend == summaries.period_figures(ids, [march()], TZ, TODAY)[0].trend
