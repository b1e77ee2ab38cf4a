"""The search language: what it understands, and a friendly explanation (never a 500) for
what it cannot read."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from constituent.extensions import db
from constituent.models import CaseStatus, Channel, Priority, Role
from constituent.search import query
from constituent.search.query import And, DateRange, FieldValue, Not, Or, Phrase, Prefix, Word
from constituent.services.errors import DomainError
from tests import factories
from tests.search_support import build, case_numbers, reset_index


@pytest.fixture(autouse=True)
def clean_index(app):
    reset_index(app)
    yield
    reset_index(app)


def test_the_language_parses_into_the_tree_a_person_means():
    assert query.parse("pension widow").tree == And((Word("pension"), Word("widow")))
    assert query.parse('"pension stopped" army').tree == And(
        (Phrase("pension stopped"), Word("army"))
    )
    assert query.parse("pens*").tree == Prefix("pens")
    assert query.parse("housing OR eviction").tree == Or((Word("housing"), Word("eviction")))
    assert query.parse("pension NOT army").tree == And((Word("pension"), Not(Word("army"))))
    assert query.parse("pension -army").tree == And((Word("pension"), Not(Word("army"))))
    assert query.parse("(housing OR eviction) AND status:open").tree == And(
        (Or((Word("housing"), Word("eviction"))), FieldValue("status", "open"))
    )
    assert query.parse('category:"social security"').tree == FieldValue(
        "category", "social security"
    )
    assert query.parse("opened:2026-01-01 to 2026-03-31").tree == DateRange(
        "opened", date(2026, 1, 1), date(2026, 3, 31)
    )
    assert query.parse("closed:2026-02").tree == DateRange(
        "closed", date(2026, 2, 1), date(2026, 2, 28)
    )
    assert query.parse("opened:2025..2026-06").tree == DateRange(
        "opened", date(2025, 1, 1), date(2026, 6, 30)
    )
    # Lower-case and/or/not are words; a time or a web address is not a filter.
    assert query.parse("bread and butter").tree == And((Word("bread"), Word("and"), Word("butter")))
    assert query.parse("10:30").tree == Word("10:30")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"pension stopped', "quotation mark is not closed"),
        ('category:"social security', "quotation mark is not closed"),
        ('""', "Empty quotation marks"),
        ("AND pension", "“AND” needs a search term on each side"),
        ("pension OR", "“OR” needs a search term after it"),
        ("pension AND OR widow", "“AND” is followed by “OR”"),
        ("pension NOT", "“NOT” (or “-”) needs a search term after it"),
        ("NOT army", "only says what to leave out"),
        ("(housing OR eviction", "parenthesis “(” is not closed"),
        ("housing)", "closing parenthesis “)” has no opening"),
        ("()", "Empty parentheses"),
        ("pe*", "at least 3 letters"),
        ("p*n", "Only a * at the end"),
        ("colour:red", "There is no “colour” filter"),
        ("status:", "“status:” needs a value"),
        ("status:lost", "Status “lost” is not known"),
        ("priority:urgent", "Priority “urgent” is not known"),
        ("zip:1290", "should be five digits"),
        ("opened:2026-13-01", "is not a real date"),
        ("opened:last-week", "is not a date"),
        ("opened:2026-03-31 to 2026-01-01", "starts after it ends"),
        ("opened:2026-01-01 to", "needs an end date"),
        ("pension\x00widow", "control character"),
        ("pension\x07", "control character"),
        ("   ", "Type something to search for"),
        ("x" * 10_000, "10,000 characters long"),
        (" ".join(["word"] * 40), "more than 32 terms"),
        ("(" * 12 + "a" + ")" * 12, "Too many nested parentheses"),
    ],
)
def test_each_malformed_search_gets_an_explanation(text, message):
    with pytest.raises(DomainError) as info:
        query.parse(text)
    assert message in info.value.message
    assert info.value.field == "q"


@pytest.mark.parametrize(
    "text",
    [
        '"pension stopped',
        "AND pension",
        "pension AND OR widow",
        "x" * 10_000,
        "pension\x00widow",
        "(housing OR eviction",
        "colour:red",
        "opened:2026-13-01",
        "p*",
        "status:",
        ")(",
        "-",
        "NOT NOT NOT",
        "OR OR OR",
        '"""',
        "a" * 499 + "*",
        "*",
        "status:open:open",
        "((((((((((((((((((((",
        "\u202e\u202d",
        "district:" + "x" * 400,
    ],
)
def test_bad_searches_over_http_are_422_with_the_explanation_never_500(app, client, office, text):
    build(app)
    client.login(office.caseworker.email)
    response = client.get("/search/", query_string={"q": text})
    page = response.get_data(as_text=True)
    if "\x00" in text:
        # The site refuses NUL characters in any request before a view runs.
        assert response.status_code == 400
    else:
        assert response.status_code in (200, 422), response.status_code
    assert "Something went wrong" not in page
    if response.status_code == 422:
        assert 'class="usa-error-message"' in page


def test_the_10000_character_search_is_refused_with_the_reason(client, office):
    client.login(office.caseworker.email)
    response = client.get("/search/", query_string={"q": "pension " * 1250})
    assert response.status_code == 422
    assert "limited to 500 characters" in response.get_data(as_text=True)


def test_choices_accept_friendly_spellings():
    assert query.resolve_choice("status", "waiting") == [
        CaseStatus.WAITING_ON_CONSTITUENT.value,
        CaseStatus.WAITING_ON_AGENCY.value,
    ]
    assert query.resolve_choice("channel", "walk-in") == [Channel.WALK_IN.value]
    assert query.resolve_choice("priority", "EMERGENCY") == [Priority.EMERGENCY.value]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1042", 1042),
        ("C-1042", 1042),
        ("c1042", 1042),
        ("#1042", 1042),
        ("Case #1042", 1042),
        (" 1042 ", 1042),
        ("pension 1042", None),
        ("C-", None),
        ("1042*", None),
    ],
)
def test_a_bare_case_number_is_recognised(text, number):
    assert query.case_number(text, "C-") == number


def test_field_filters_dates_and_boolean_operators_select_the_right_cases(app, office):
    housing = factories.gen_category("Housing")
    veterans = factories.gen_category("Veterans")
    jan = datetime(2026, 1, 15, 15, tzinfo=UTC)
    apr = datetime(2026, 4, 2, 15, tzinfo=UTC)
    eviction = factories.gen_case(
        office.a,
        housing,
        subject="Eviction notice",
        opened_at=jan,
        description="Court date in two weeks.",
        priority=Priority.EMERGENCY,
        channel=Channel.WALK_IN,
        assignee=office.caseworker,
    )
    heat = factories.gen_case(
        office.a,
        housing,
        subject="No heat in the apartment",
        description="Repairs requested.",
        opened_at=apr,
    )
    pension = factories.gen_case(
        office.b,
        veterans,
        subject="VA pension stopped",
        description="Pension stopped after her husband died.",
        opened_at=apr,
        status=CaseStatus.CLOSED,
        closed_at=datetime(2026, 5, 1, 15, tzinfo=UTC),
    )
    db.session.commit()
    build(app)
    sup = factories.gen_user(Role.SUPERVISOR, [office.a, office.b])
    db.session.commit()
    assert case_numbers(sup, "category:housing") == {eviction.number, heat.number}
    assert case_numbers(sup, "district:NY-20") == {pension.number}
    assert case_numbers(sup, "priority:emergency") == {eviction.number}
    assert case_numbers(sup, "channel:walk-in") == {eviction.number}
    assert case_numbers(sup, "status:closed") == {pension.number}
    assert case_numbers(sup, "opened:2026-01-01 to 2026-03-31") == {eviction.number}
    assert case_numbers(sup, "opened:2026-04") == {heat.number, pension.number}
    assert case_numbers(sup, "closed:2026") == {pension.number}
    assert case_numbers(sup, "eviction OR heat") == {eviction.number, heat.number}
    assert case_numbers(sup, "category:housing NOT eviction") == {heat.number}
    assert case_numbers(sup, "category:housing -heat") == {eviction.number}
    assert case_numbers(sup, "(eviction OR pension) AND status:closed") == {pension.number}
    assert case_numbers(sup, "housing (NOT eviction NOT pension)") == {heat.number}
    # Stemming: "stopping" finds "stopped"; a prefix finds the word although its stem differs.
    assert case_numbers(sup, "stopping") == {pension.number}
    assert case_numbers(sup, "stopp*") == {pension.number}
    assert case_numbers(sup, "apart*") == {heat.number}


def test_phrases_do_not_match_across_other_words(app, office):
    after = factories.gen_case(office.a, office.category, subject="Pension after death")
    plain = factories.gen_case(office.a, office.category, subject="Pension death benefit")
    db.session.commit()
    build(app)
    assert case_numbers(office.supervisor, '"pension death"') == {plain.number}
    assert case_numbers(office.supervisor, '"pension after death"') == {after.number}
    assert case_numbers(office.supervisor, "pension death") == {after.number, plain.number}


def test_names_are_found_by_nickname_and_by_prefix(app, office):
    robert = factories.gen_constituent(office.a, first="Robert", last="Quimby")
    margaret = factories.gen_constituent(office.a, first="Margaret", last="O'Brien")
    bob_case = factories.gen_case(office.a, office.category, constituent=robert)
    peg_case = factories.gen_case(office.a, office.category, constituent=margaret)
    db.session.commit()
    build(app)
    assert case_numbers(office.supervisor, "Bob Quimby") == {bob_case.number}
    assert case_numbers(office.supervisor, "Peggy") == {peg_case.number}
    assert case_numbers(office.supervisor, "quim*") == {bob_case.number}
    assert case_numbers(office.supervisor, "obrien") == {peg_case.number}
    assert case_numbers(office.supervisor, "O'Brien") == {peg_case.number}
