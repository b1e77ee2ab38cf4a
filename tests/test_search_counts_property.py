"""Property: every figure the search shows counts exactly the records the user can reach.

One generated world (three districts, people with no district or living in one, each with
zero to three cases, a third of them confidential, assigned or not, some filed in another
district than the person's, referrals to agencies, merged-away records) and a pool of users of
every role over several district sets, who are also the cases' assignees and openers.
Hypothesis then draws a user and a search; for each draw:

- cases: the total, ``count_cases`` and the rows collected by paging through every page of
  ``searching.search`` (the service the results page uses) agree, and those rows are exactly
  the index's matches that case_scope lets the user open;
- every facet count (district, status, category, agency) equals the number of collected rows
  having that value;
- constituents: "N people found" and ``count_constituents`` equal the number of the index's
  matches that visible_constituents (the SQL the section loads its rows through) lets the user
  see, and the people shown are among them;
- a spelling suggestion finds cases the user may open.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyLevel,
    Case,
    CaseStatus,
    Category,
    Constituent,
    District,
    Referral,
    ReferralMethod,
    Role,
    User,
)
from constituent.search import backends, compiler, docsets, engine, postgres
from constituent.search import query as search_query
from constituent.search.compiler import CompileContext
from constituent.search.searching import FACETS, SECTION_SIZE
from constituent.search.store import search_index
from constituent.services import auth
from constituent.services.constituents import visible_constituents
from constituent.services.permissions import Capability, case_scope, may
from tests import factories
from tests.search_support import build, reset_index

DISTRICTS = ("NY-21", "NY-20", "NY-19")
DISTRICT_SETS = ((), (0,), (1,), (0, 1), (0, 1, 2))
FIRST = ("Philippa", "Walter", "Amara", "Tomas", "Greta")
LAST = ("Quennell", "Ashdown", "Okafor", "Lindqvist", "Marchetti", "Brennan")
TOWNS = (("Plattsburgh", "12901"), ("Saranac", "12981"), ("Malone", "12953"))
SUBJECTS = ("pension stopped", "passport delay", "housing repairs", "medicare card", "pension")
CATEGORIES = ("Social Security", "Veterans", "Housing")
AGENCIES = (("Social Security Administration", "SSA"), ("Department of Veterans Affairs", "VA"))

WORDS = (
    *FIRST,
    *LAST,
    *(town for town, _zip in TOWNS),
    *(f"zip:{zip5}" for _town, zip5 in TOWNS),
    "pension",
    "passport",
    "housing",
    "pensoin",  # a misspelling: suggestions must come from permitted cases
    "district:NY-21",
    "district:NY-20",
    "status:open",
    "category:veterans",
    "agency:SSA",
)


@dataclass
class World:
    users: list[User]


def _make_world(seed: int = 11) -> World:
    rng = random.Random(seed)
    districts = [factories.gen_district(code) for code in DISTRICTS]
    categories = [factories.gen_category(name) for name in CATEGORIES]
    agencies = []
    for name, acronym in AGENCIES:
        agency = Agency(name=name, acronym=acronym, level=AgencyLevel.FEDERAL)
        db.session.add(agency)
        agencies.append(agency)
    password_hash = auth.hash_password(factories.PASSWORD)  # hashed once: it is slow
    users = []
    for role in Role:
        for chosen in DISTRICT_SETS:
            user = User(
                email=f"{role.value}-{'-'.join(map(str, chosen)) or 'none'}@world.example",
                full_name=f"{role.value.title()} {len(users)}",
                role=role,
                password_hash=password_hash,
                districts=[districts[i] for i in chosen],
            )
            db.session.add(user)
            users.append(user)
    db.session.flush()
    staff = [u for u in users if u.role in (Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR)]
    people = []
    for _ in range(45):
        town, zip5 = rng.choice(TOWNS)
        home = rng.choice([None, *districts])
        person = factories.gen_constituent(
            home, first=rng.choice(FIRST), last=rng.choice(LAST), zip5=zip5, city=town
        )
        people.append(person)
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            filed_in = home if home is not None and rng.random() < 0.7 else rng.choice(districts)
            case = factories.gen_case(
                filed_in,
                rng.choice(categories),
                constituent=person,
                confidential=rng.random() < 0.35,
                assignee=rng.choice([None, *staff]),
                opened_by=rng.choice([None, *staff]),
                subject=rng.choice(SUBJECTS).capitalize(),
                status=rng.choice(list(CaseStatus)),
            )
            if rng.random() < 0.3:
                db.session.add(
                    Referral(
                        case_id=case.id,
                        agency_id=rng.choice(agencies).id,
                        method=ReferralMethod.EMAIL,
                        sent_on=date(2026, 3, 1),
                        due_on=date(2026, 4, 1),
                    )
                )
    # Two records merged into others: never counted, never listed.
    for gone, kept in ((people[0], people[1]), (people[2], people[3])):
        gone.merged_into_id = kept.id
    db.session.commit()
    return World(users=users)


def _index_matches(kind: str, user: User, text: str) -> set[int]:
    """Ids of the documents matching a search, before any permission filter."""
    if backends.name() == "postgres":
        return postgres.matches(kind, user, text)
    parsed = search_query.parse(text)
    with search_index().reading() as reading:
        searcher = reading.searcher(kind)
        q = compiler.compile_query(parsed, CompileContext(kind, user.id, searcher.reader()))
        if q is None:
            return set()
        bits = engine.current().match(searcher, q)
        return {int(searcher.stored_fields(d)["id"]) for d in docsets.to_ids(bits)}


def _facet_values(case: Case) -> dict[str, set[str]]:
    """The facet labels a case counts under, from the database."""
    agencies = db.session.execute(
        sa.select(Agency.name, Agency.acronym)
        .join(Referral, Referral.agency_id == Agency.id)
        .where(Referral.case_id == case.id)
    ).all()
    return {
        "district": {db.session.get(District, case.district_id).code},
        "status": {case.status.label},
        "category": {db.session.get(Category, case.category_id).name},
        "agency": {f"{name} ({acronym})" if acronym else name for name, acronym in agencies},
    }


def _people_rule(user: User) -> set[int]:
    """constituent_scope's rule, written out over the world's rows: a live person with a case
    the user may open, or in reach (no district, or one of the user's) with no confidential
    case the user may not open."""
    if not may(user, Capability.VIEW_CONSTITUENTS):
        return set()
    may_open = set(db.session.scalars(sa.select(Case.id).where(case_scope(user))))
    cases: dict[int, list[tuple[int, bool]]] = {}
    for case_id, person_id, confidential in db.session.execute(
        sa.select(Case.id, Case.constituent_id, Case.confidential)
    ):
        cases.setdefault(person_id, []).append((case_id, confidential))
    seen = set()
    for person_id, district_id, merged_into_id in db.session.execute(
        sa.select(Constituent.id, Constituent.district_id, Constituent.merged_into_id)
    ):
        theirs = cases.get(person_id, [])
        in_reach = district_id is None or district_id in user.district_ids
        hidden = any(conf and case_id not in may_open for case_id, conf in theirs)
        opens = any(case_id in may_open for case_id, _conf in theirs)
        if merged_into_id is None and (opens or (in_reach and not hidden)):
            seen.add(person_id)
    return seen


def _check(user: User, text: str) -> None:
    backend = backends.current()  # the engine under test
    outcome = backend.search(user, text)

    # Cases: page through every page, as the results page's "Next" link does.
    if outcome.cases is not None:
        reached: list[Case] = [hit.case for hit in outcome.cases.hits]
        for page in range(2, outcome.cases.pages + 1):
            later = backend.search(user, text, page=page)
            assert later.cases is not None and later.cases.page == page
            reached += [hit.case for hit in later.cases.hits]
        ids = [c.id for c in reached]
        assert len(ids) == len(set(ids)), "a case listed twice"
        assert outcome.cases.total == len(ids) == backend.count_cases(user, text)
        may_open = set(db.session.scalars(sa.select(Case.id).where(case_scope(user))))
        assert set(ids) == _index_matches("cases", user, text) & may_open
        expected: dict[str, Counter[str]] = {name: Counter() for name, _ in FACETS}
        for case in reached:
            for facet, labels in _facet_values(case).items():
                expected[facet].update(labels)
        shown = {
            facet: Counter({f.label: f.count for f in values})
            for facet, values in outcome.cases.facets.items()
            if values
        }
        assert shown == {facet: n for facet, n in expected.items() if n}
    else:
        assert backend.count_cases(user, text) == 0

    # Constituents: the figure counts exactly the people the user may see among the matches.
    may_see = set(db.session.scalars(visible_constituents(user).with_only_columns(Constituent.id)))
    assert may_see == _people_rule(user)
    people = _index_matches("constituents", user, text) & may_see
    assert outcome.constituent_total == len(people) == backend.count_constituents(user, text)
    listed = {p.id for p in outcome.constituents}
    assert listed <= people
    assert len(listed) == min(len(people), SECTION_SIZE)

    if outcome.suggestion:
        assert backend.count_cases(user, outcome.suggestion) > 0


def _searches() -> st.SearchStrategy[str]:
    word = st.sampled_from(WORDS)
    group = st.lists(word, min_size=1, max_size=2).map(lambda ws: "(" + " ".join(ws) + ")")
    return st.lists(group, min_size=1, max_size=3).map(" OR ".join)


@pytest.fixture()
def world(app, search_engine):
    reset_index(app)
    made = _make_world()
    build(app)
    yield made
    reset_index(app)


def test_every_count_equals_the_records_reachable_by_paging(world):
    users = world.users

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(who=st.integers(0, len(users) - 1), text=_searches())
    def check(who: int, text: str) -> None:
        _check(users[who], text)

    check()


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.INTAKE, Role.SUPERVISOR])
def test_each_staff_user_sees_the_or_of_every_surname_counted_right(world, role):
    """The widest searches, for every district set: every person's surname at once."""
    everyone = " OR ".join(LAST)
    for user in world.users:
        if user.role == role:
            _check(user, everyone)
