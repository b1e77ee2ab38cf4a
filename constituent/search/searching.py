"""Running a search for a person: the permission filter first, then hits, counts, facets,
highlighted passages and spelling suggestions — all computed over permitted documents only.

Permissions: every case document carries district_id, confidential, assignee_id and
opened_by_id; services.permissions.case_search_scope(user) describes case_scope's rules as
plain data and search/compiler.scope_filter turns that into a Whoosh filter. The set of
permitted documents is intersected with the matches before anything is counted, so totals
and facet counts never include a case the user may not open. The page's cases are then
loaded through visible_cases(user) (SQL), so even an index that lags a second behind a change
of confidentiality cannot show the case. Matching, counting, facets, ranking and highlighting
are the engine's (search/engine.py).

Spelling suggestions ("did you mean") are computed only from documents the user may see:
candidate words come from the index's word list (Whoosh's edit-distance automaton), but a
candidate is offered only if it occurs in at least one permitted document, candidates are
ranked by their frequency among permitted documents, and the corrected search must itself
find permitted cases. A word that only occurs in a confidential case therefore is never
suggested to someone who may not open that case: it fails the first test. (The alternative,
a word list per permission, would need one per user and district combination.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from whoosh import query as wq
from whoosh.searching import Searcher

from constituent.extensions import db
from constituent.models import Agency, Case, CaseStatus, Category, Constituent, District, User
from constituent.search import compiler, docsets, engine
from constituent.search import query as search_query
from constituent.search.compiler import CompileContext
from constituent.search.documents import decompress
from constituent.search.query import Parsed
from constituent.search.schema import ORIGINAL_MARK
from constituent.search.store import Reading, search_index
from constituent.services.permissions import (
    Action,
    Capability,
    case_search_scope,
    may,
    visible_cases,
)

# The stored fields of one document (id, number, subject, body, stamp).
StoredFields = dict[str, Any]

PER_PAGE = 20
MAX_PAGE = 250
SECTION_SIZE = 5
SORTS = {
    "relevance": "Best match",
    "newest": "Newest first",
    "activity": "Recent activity",
}
FACETS = (
    ("district", "District"),
    ("status", "Status"),
    ("category", "Category"),
    ("agency", "Agency"),
)
SUGGEST_MAX_DISTANCE = 2
SUGGEST_CANDIDATES = 200


@dataclass
class CaseHit:
    """One case on the results page, with its highlighted subject and passages."""

    case: Case
    subject: Markup
    passages: Markup


@dataclass
class FacetCount:
    """One facet value: the filter it adds to the search, its label and permitted count."""

    field: str
    token: str  # e.g. district:NY-21
    label: str
    count: int


@dataclass
class CaseResults:
    """The permitted cases matching a search: one page of hits, the total and facet counts."""

    hits: list[CaseHit] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 0
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)


@dataclass
class Outcome:
    """Everything the results page shows."""

    text: str
    sort: str = "relevance"
    cases: CaseResults | None = None
    constituents: list[Constituent] = field(default_factory=list)
    constituent_total: int = 0
    agencies: list[Agency] = field(default_factory=list)
    agency_total: int = 0
    suggestion: str | None = None
    confidential_shown: list[int] = field(default_factory=list)


# --- the search ------------------------------------------------------------------------------


def _labels(facet: str, values: Iterable[str]) -> dict[str, tuple[str, str]]:
    """value → (label, query token) for facet values, from the database's current names."""
    values = list(values)
    if not values:
        return {}
    if facet == "district":
        rows = db.session.execute(
            sa.select(District.code).where(sa.func.lower(District.code).in_(values))
        ).scalars()
        return {code.lower(): (code, f"district:{code}") for code in rows}
    if facet == "status":
        out = {}
        for v in values:
            try:
                out[v] = (CaseStatus(v).label, f"status:{v}")
            except ValueError:
                continue
        return out
    if facet == "category":
        categories = db.session.execute(
            sa.select(Category.slug, Category.name).where(Category.slug.in_(values))
        ).all()
        return {slug: (name, f"category:{slug}") for slug, name in categories}
    ids = [int(v) for v in values if v.isdigit()]
    agencies = db.session.execute(
        sa.select(Agency.id, Agency.name, Agency.acronym).where(Agency.id.in_(ids))
    ).all()
    out = {}
    for agency_id, name, acronym in agencies:
        key = acronym or name
        token_value = "-".join("".join(c if c.isalnum() else " " for c in key.lower()).split())
        out[str(agency_id)] = (f"{name} ({acronym})" if acronym else name, f"agency:{token_value}")
    return out


def facet_counts(reading: Reading, hits: int) -> dict[str, dict[str, int]]:
    """Per facet, value → number of ``hits`` (already permitted) having it."""
    return engine.current().facets(reading, "cases", hits, [facet for facet, _title in FACETS])


def labelled(counts: dict[str, dict[str, int]]) -> dict[str, list[FacetCount]]:
    """Facet counts with their labels and filter tokens, most frequent first."""
    result: dict[str, list[FacetCount]] = {}
    for facet, by_value in counts.items():
        labels = _labels(facet, by_value)
        items = [
            FacetCount(facet, labels[v][1], labels[v][0], n)
            for v, n in by_value.items()
            if v in labels
        ]
        items.sort(key=lambda f: (-f.count, f.label))
        result[facet] = items
    return result


def ranking_query(parsed: Parsed, reader: Any) -> wq.Query | None:
    """What relevance is computed from: the searched words and phrases (their terms, OR-ed).

    Filters, dates, prefixes and excluded words only select documents; ranking on them
    would cost much (a prefix can stand for dozens of terms) and mean nothing. None when
    nothing in the search ranks (then the newest come first).
    """
    terms: list[wq.Query] = []

    def walk(node: search_query.Node) -> None:
        if isinstance(node, (search_query.Word, search_query.Phrase)):
            for term in compiler.analyze(node.text):
                terms.append(wq.Term("text", term))
            names = compiler.keywords(node.text)
            if (
                isinstance(node, search_query.Word)
                and len(names) == 1
                and ("aka", names[0]) in reader
            ):
                terms.append(wq.Term("aka", names[0], boost=0.5))
        elif isinstance(node, (search_query.And, search_query.Or)):
            for child in node.children:
                walk(child)

    walk(parsed.tree)
    unique = list({repr(t): t for t in terms}.values())
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else wq.Or(unique)


def _page_docnums(
    reading: Reading, parsed: Parsed, hits: int, sort: str, page: int
) -> list[tuple[int, StoredFields]]:
    """The page's (docnum, stored fields), best first or by date."""
    searcher = reading.searcher("cases")
    search_engine = engine.current()
    limit = page * PER_PAGE
    docnums: list[int] = []
    rank = ranking_query(parsed, searcher.reader()) if sort == "relevance" else None
    if rank is not None:
        docnums = search_engine.top(searcher, rank, hits, limit)
    if len(docnums) < limit:
        # By date, or to fill up with matches that have none of the ranked words.
        column = "activity_ts" if sort == "activity" else "opened_ts"
        values = search_engine.column(reading, "cases", column)
        rest = hits & ~docsets.from_ids(docnums, searcher.doc_count_all()) if docnums else hits
        docnums += search_engine.newest(values, rest, limit - len(docnums))
    chosen = docnums[(page - 1) * PER_PAGE : limit]
    return [(d, searcher.stored_fields(d)) for d in chosen]


def respelled(text: str, fixes: dict[str, str]) -> tuple[str, Parsed] | None:
    """``text`` with each word of ``fixes`` spelt as suggested there, and parsed (either
    engine's "did you mean"); None when nothing is fixed or the result does not parse."""
    if not fixes:
        return None
    corrected = text
    for word, better in fixes.items():
        corrected = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", better, corrected, count=1)
    try:
        return corrected, search_query.parse(corrected)
    except Exception:
        return None


def _suggest(reading: Reading, parsed: Parsed, text: str, allowed: int, user: User) -> str | None:
    """A corrected search built only from words that occur in permitted documents."""
    searcher = reading.searcher("cases")
    reader = searcher.reader()
    fixes: dict[str, str] = {}
    for word in dict.fromkeys(parsed.words):
        terms = compiler.analyze(word)
        if len(terms) != 1 or not word.isalpha() or len(word) < 3:
            continue
        if _permitted_count(searcher, terms[0], allowed):
            continue
        best = _best_candidate(searcher, reader, word.lower(), allowed)
        if best is not None:
            fixes[word] = best
    respelt = respelled(text, fixes)
    if respelt is None:
        return None
    corrected, fixed = respelt
    q = compiler.compile_query(fixed, CompileContext("cases", user.id, reader))
    if q is None:
        return None
    if not engine.current().match(searcher, q, allowed) & allowed:
        return None
    return corrected


def _permitted_count(searcher: Searcher, term: str, allowed: int) -> int:
    """In how many permitted documents a term occurs."""
    return (engine.current().match(searcher, wq.Term("text", term)) & allowed).bit_count()


def _best_candidate(searcher: Searcher, reader: Any, word: str, allowed: int) -> str | None:
    candidates: dict[str, int] = {}
    for maxdist in range(1, SUGGEST_MAX_DISTANCE + 1):
        found = set()
        for term in reader.terms_within("text", ORIGINAL_MARK + word, maxdist, prefix=2):
            found.add(term[len(ORIGINAL_MARK) :])
        for term in reader.terms_within("text", word, maxdist, prefix=1):
            if not term.startswith(ORIGINAL_MARK):
                found.add(term)
        for candidate in sorted(found)[:SUGGEST_CANDIDATES]:
            if candidate == word or candidate in candidates or not candidate.isalpha():
                continue
            stems = compiler.analyze(candidate)
            if len(stems) != 1:
                continue
            n = _permitted_count(searcher, stems[0], allowed)
            if n:
                candidates[candidate] = n
        if candidates:
            return max(candidates, key=lambda c: (candidates[c], -len(c), c))
    return None


def _allowed_cases(reading: Reading, user: User) -> int:
    """The case documents the user may view (a bitmap), from the permission scope."""
    scope = compiler.scope_filter(case_search_scope(user, Action.VIEW))
    return engine.current().allowed(reading, "cases", scope)


@dataclass
class CasePage:
    """The index's answer for one page: permitted matches, their count and facets, and the
    page's documents (document number, stored fields) in order."""

    query: wq.Query | None
    allowed: int  # bitmaps of document numbers (see docsets)
    hits: int = 0
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    chosen: list[tuple[int, StoredFields]] = field(default_factory=list)
    page: int = 1

    @property
    def total(self) -> int:
        return self.hits.bit_count()

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, math.ceil(self.total / PER_PAGE))


def case_page(
    reading: Reading,
    user: User,
    parsed: Parsed,
    sort: str = "relevance",
    page: int = 1,
    with_facets: bool = True,
) -> CasePage:
    """Match, filter by permission, count, facet and pick one page (no database access)."""
    searcher = reading.searcher("cases")
    q = compiler.compile_query(parsed, CompileContext("cases", user.id, searcher.reader()))
    search_engine = engine.current()
    allowed = _allowed_cases(reading, user)
    result = CasePage(query=q, allowed=allowed)
    if q is None or not allowed:
        return result
    # Permission first: everything below sees permitted documents only.
    result.hits = search_engine.match(searcher, q, allowed) & allowed
    if with_facets:
        result.facets = facet_counts(reading, result.hits)
    if result.hits:
        result.page = max(1, min(page, result.pages))
        result.chosen = _page_docnums(reading, parsed, result.hits, sort, result.page)
    return result


def page_cases(user: User, ids: list[int]) -> dict[int, Case]:
    """The cases of a page of hits by id, loaded through the same scope as every other page
    (either engine's hits; a case the index still holds but the user may no longer see, or
    that is gone, is simply missing)."""
    rows = db.session.scalars(
        visible_cases(user, Action.VIEW)
        .where(Case.id.in_(ids))
        .options(
            joinedload(Case.constituent),
            joinedload(Case.district),
            joinedload(Case.category),
            joinedload(Case.assignee),
        )
    )
    return {c.id: c for c in rows.unique()}


def _cases(
    reading: Reading, user: User, parsed: Parsed, text: str, sort: str, page: int, outcome: Outcome
) -> None:
    found = case_page(reading, user, parsed, sort, page)
    results = CaseResults(
        page=found.page, total=found.total, pages=found.pages, facets=labelled(found.facets)
    )
    outcome.cases = results
    if found.query is None:
        outcome.cases = None
        return
    if not found.hits:
        outcome.suggestion = _suggest(reading, parsed, text, found.allowed, user)
        return
    by_id = page_cases(user, [int(stored["id"]) for _d, stored in found.chosen])
    search_engine = engine.current()
    terms = search_engine.highlight_terms(found.query)
    for _docnum, stored in found.chosen:
        case = by_id.get(int(stored["id"]))
        if case is None:
            continue
        results.hits.append(
            CaseHit(
                case=case,
                subject=search_engine.highlight(case.subject, terms, whole=True),
                passages=search_engine.highlight(decompress(stored.get("body")), terms),
            )
        )
        if case.confidential:
            outcome.confidential_shown.append(case.number)


def _constituent_filter(reading: Reading, user: User) -> wq.Query:
    """constituent_scope as a filter over constituent documents: the district rule (the
    district each document stores) corrected by the people the scope decides otherwise, from
    SQL (people.district_rule_exceptions). Kept until the index changes — any save changes it,
    a case's confidentiality or assignee included."""
    from constituent.services import constituents as people

    districts = sorted(user.district_ids)
    cache_key = ("constituent-exceptions", f"{user.id}:{user.role}:{districts}")
    exceptions = reading.opened.filters.get(cache_key)
    if exceptions is None:
        exceptions = people.district_rule_exceptions(user)
        reading.opened.filters[cache_key] = exceptions
    admitted, hidden = exceptions
    reach = wq.Or(
        [
            wq.Term("district_id", "none"),
            *(wq.Term("district_id", str(d)) for d in districts),
            *(wq.Term("id", str(i)) for i in admitted),
        ]
    )
    if not hidden:
        return reach
    return wq.And([reach, wq.Not(wq.Or([wq.Term("id", str(i)) for i in hidden]))])


def _constituent_matches(
    reading: Reading, user: User, parsed: Parsed
) -> tuple[wq.Query | None, int]:
    """The constituents query and the permitted documents matching it (a bitmap); the query
    is None when the user sees no constituents or the search uses a filter they lack."""
    searcher = reading.searcher("constituents")
    if not may(user, Capability.VIEW_CONSTITUENTS):
        return None, 0
    q = compiler.compile_query(parsed, CompileContext("constituents", user.id, searcher.reader()))
    if q is None:
        return None, 0
    search_engine = engine.current()
    allowed = search_engine.allowed(reading, "constituents", _constituent_filter(reading, user))
    return q, search_engine.match(searcher, q, allowed) & allowed


def _constituents(reading: Reading, user: User, parsed: Parsed, outcome: Outcome) -> None:
    from constituent.services import constituents as people

    q, matched = _constituent_matches(reading, user, parsed)
    # Counted over the same scope as the rows below: constituent_scope.
    outcome.constituent_total = matched.bit_count()
    if q is None or not matched:
        return
    searcher = reading.searcher("constituents")
    best = engine.current().best(searcher, q, matched, SECTION_SIZE * 2)
    ids = [int(searcher.stored_fields(d)["id"]) for d in best]
    if not ids:
        return
    query = (
        people.visible_constituents(user)
        .where(Constituent.id.in_(ids))
        .options(joinedload(Constituent.district))
    )
    rows = db.session.scalars(query).unique().all()
    by_id = {p.id: p for p in rows}
    outcome.constituents = [by_id[i] for i in ids if i in by_id][:SECTION_SIZE]


def _agencies(reading: Reading, user: User, parsed: Parsed, outcome: Outcome) -> None:
    searcher = reading.searcher("agencies")
    q = compiler.compile_query(parsed, CompileContext("agencies", user.id, searcher.reader()))
    if q is None:
        return
    search_engine = engine.current()
    matched = search_engine.match(searcher, q)
    outcome.agency_total = search_engine.count(matched)
    best = search_engine.best(searcher, q, matched, SECTION_SIZE)
    ids = [int(searcher.stored_fields(d)["id"]) for d in best]
    if not ids:
        return
    rows = db.session.scalars(sa.select(Agency).where(Agency.id.in_(ids))).all()
    by_id = {a.id: a for a in rows}
    outcome.agencies = [by_id[i] for i in ids if i in by_id]


def search(user: User, text: str, *, sort: str = "relevance", page: int = 1) -> Outcome:
    """Search cases, constituents and agencies for ``user``; DomainError for a bad search,
    SearchUnavailable (503) while the index is being rebuilt."""
    parsed = search_query.parse(text)
    sort = sort if sort in SORTS else "relevance"
    page = max(1, min(int(page or 1), MAX_PAGE))
    outcome = Outcome(text=text, sort=sort)
    with search_index().reading() as reading:
        _cases(reading, user, parsed, text, sort, page, outcome)
        if page == 1:
            _constituents(reading, user, parsed, outcome)
            _agencies(reading, user, parsed, outcome)
    return outcome


def count_cases(user: User, text: str) -> int:
    """How many permitted cases match (tests and the benchmark)."""
    parsed = search_query.parse(text)
    with search_index().reading() as reading:
        searcher = reading.searcher("cases")
        q = compiler.compile_query(parsed, CompileContext("cases", user.id, searcher.reader()))
        if q is None:
            return 0
        allowed = _allowed_cases(reading, user)
        return (engine.current().match(searcher, q, allowed) & allowed).bit_count()


def count_constituents(user: User, text: str) -> int:
    """How many constituents the user may see match (tests and the benchmark)."""
    parsed = search_query.parse(text)
    with search_index().reading() as reading:
        return _constituent_matches(reading, user, parsed)[1].bit_count()
