"""Running a search for a person: the permission filter first, then hits, counts, facets,
highlighted passages and spelling suggestions — all computed over permitted documents only.

Permissions: every case document carries district_id, confidential, assignee_id and
opened_by_id, and services.permissions.case_search_filter(user) turns case_scope's rules into
a Whoosh filter. The set of permitted documents is intersected with the matches before
anything is counted, so totals and facet counts never include a case the user may not open.
The page's cases are then loaded through visible_cases(user) (SQL), so even an index that lags
a second behind a change of confidentiality cannot show the case.

Spelling suggestions ("did you mean") are computed only from documents the user may see:
candidate words come from the index's word list (Whoosh's edit-distance automaton), but a
candidate is offered only if it occurs in at least one permitted document, candidates are
ranked by their frequency among permitted documents, and the corrected search must itself
find permitted cases. A word that only occurs in a confidential case therefore is never
suggested to someone who may not open that case: it fails the first test. (The alternative,
a word list per permission, would need one per user and district combination.)
"""

from __future__ import annotations

import functools
import heapq
import math
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload
from whoosh import query as wq
from whoosh.lang.porter import stem
from whoosh.searching import Searcher
from whoosh.support.charset import accent_map

from constituent.extensions import db
from constituent.models import Agency, Case, CaseStatus, Category, Constituent, District, User
from constituent.search import docsets, ranking
from constituent.search import query as search_query
from constituent.search.documents import decompress
from constituent.search.query import CompileContext, Parsed
from constituent.search.schema import ORIGINAL_MARK
from constituent.search.store import Reading, load_column, search_index
from constituent.services.permissions import (
    Action,
    Capability,
    case_search_filter,
    may,
    visible_cases,
)

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


# --- highlighting ----------------------------------------------------------------------------

# The same words the index sees (schema.text_analyzer): tokens, lower-cased, accents folded.
_WORD = re.compile(r"\w+(?:[.'’]\w+)*")
PASSAGE_CHARS = 240
PASSAGE_BEFORE = 70


@functools.lru_cache(maxsize=100_000)
def _index_forms(token: str) -> tuple[str, str]:
    """The stemmed and the marked-original form of a token, as the index stores them."""
    word = token.lower().translate(accent_map)
    return stem(word), ORIGINAL_MARK + word


def _matches(text: str, terms: frozenset[str]) -> list[tuple[int, int]]:
    found = []
    for m in _WORD.finditer(text):
        stemmed, original = _index_forms(m.group())
        if stemmed in terms or original in terms:
            found.append((m.start(), m.end()))
    return found


def _marked(text: str, start: int, end: int, matches: list[tuple[int, int]]) -> str:
    """text[start:end], escaped, with the matches inside it wrapped in <mark>."""
    out = []
    at = start
    for m_start, m_end in matches:
        if m_start < start or m_end > end:
            continue
        out.append(str(escape(text[at:m_start])))
        out.append(f"<mark>{escape(text[m_start:m_end])}</mark>")
        at = m_end
    out.append(str(escape(text[at:end])))
    return "".join(out)


def _snap(text: str, index: int, forward: bool) -> int:
    """Move a passage edge to the nearest space so that no word is cut."""
    if index <= 0:
        return 0
    if index >= len(text):
        return len(text)
    if forward:
        space = text.find(" ", index)
        return len(text) if space < 0 else space
    space = text.rfind(" ", 0, index)
    return 0 if space < 0 else space + 1


def highlight_text(text: str, terms: frozenset[str], top: int = 3, whole: bool = False) -> Markup:
    """Escaped passages of ``text`` with the query's words in <mark> (Markup, safe to render).

    Every character of the text goes through markupsafe.escape; the <mark> tags are the only
    markup. Up to ``top`` passages around the matches, richest in distinct words first.
    """
    if not text:
        return Markup("")
    matches = _matches(text, terms) if terms else []
    if whole:
        # Safe: _marked escapes all of the text; only <mark> is added.
        return Markup(_marked(text, 0, len(text), matches))  # noqa: S704  # nosec B704
    if not matches:
        clipped = text[:PASSAGE_CHARS]
        return escape(clipped + ("…" if len(text) > PASSAGE_CHARS else ""))
    windows: list[tuple[int, int, set[str]]] = []
    for m_start, m_end in matches:
        word = text[m_start:m_end].lower()
        if windows and m_end <= windows[-1][0] + PASSAGE_CHARS:
            start, _end, words = windows[-1]
            windows[-1] = (start, max(_end, m_end), words | {word})
        else:
            windows.append((max(0, m_start - PASSAGE_BEFORE), m_end, {word}))
    best = sorted(windows, key=lambda w: (-len(w[2]), w[0]))[:top]
    pieces = []
    for start, end, _words in sorted(best):
        end = max(end, min(len(text), start + PASSAGE_CHARS))
        a, b = _snap(text, start, forward=False), _snap(text, end, forward=True)
        pieces.append(
            ("…" if a > 0 else "") + _marked(text, a, b, matches) + ("…" if b < len(text) else "")
        )
    # Safe: every piece was escaped by _marked; only <mark> is markup.
    return Markup(" ".join(pieces))  # noqa: S704  # nosec B704


def text_terms(q: wq.Query) -> frozenset[str]:
    """The index terms of the ``text`` field a query looks for (to highlight them)."""
    terms = set()
    for fieldname, value in q.iter_all_terms(phrases=True):
        if fieldname == "text":
            terms.add(value.decode("utf-8") if isinstance(value, bytes) else value)
    return frozenset(terms)


# --- per-segment caches ----------------------------------------------------------------------


def _facet_bits(reading: Reading, fieldname: str) -> dict[str, int]:
    """Facet value → global bitmap of the documents having it (cached per segment)."""
    key = ("facet", fieldname)
    cached = reading.opened.filters.get(key)  # type: ignore[arg-type]
    if cached is not None:
        return cached  # type: ignore[return-value]

    def compute(sub: Searcher, offset: int) -> dict[str, int]:
        reader = sub.reader()
        out = {}
        for term in reader.lexicon(fieldname):
            value = term.decode("utf-8") if isinstance(term, bytes) else term
            out[value] = docsets.term_bits(reader, fieldname, term) << offset
        return out

    merged: dict[str, int] = {}
    for part in reading.segment_cached("cases", f"facet:{fieldname}", compute):
        for value, bits in part.items():
            merged[value] = merged.get(value, 0) | bits
    reading.opened.filters[key] = merged  # type: ignore[index, assignment]
    return merged


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
        rows = db.session.execute(
            sa.select(Category.slug, Category.name).where(Category.slug.in_(values))
        ).all()
        return {slug: (name, f"category:{slug}") for slug, name in rows}
    ids = [int(v) for v in values if v.isdigit()]
    rows = db.session.execute(
        sa.select(Agency.id, Agency.name, Agency.acronym).where(Agency.id.in_(ids))
    ).all()
    out = {}
    for agency_id, name, acronym in rows:
        key = acronym or name
        token_value = "-".join("".join(c if c.isalnum() else " " for c in key.lower()).split())
        out[str(agency_id)] = (f"{name} ({acronym})" if acronym else name, f"agency:{token_value}")
    return out


def facet_counts(reading: Reading, hits: int) -> dict[str, dict[str, int]]:
    """Per facet, value → number of ``hits`` (already permitted) having it."""
    result: dict[str, dict[str, int]] = {}
    for facet, _title in FACETS:
        counts: dict[str, int] = {}
        if hits:
            for value, bits in _facet_bits(reading, facet).items():
                n = (bits & hits).bit_count()
                if n:
                    counts[value] = n
        result[facet] = counts
    return result


def _labelled(counts: dict[str, dict[str, int]]) -> dict[str, list[FacetCount]]:
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
            for term in search_query.analyze(node.text):
                terms.append(wq.Term("text", term))
            names = search_query.keywords(node.text)
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
) -> list[tuple[int, dict]]:
    """The page's (docnum, stored fields), best first or by date."""
    searcher = reading.searcher("cases")
    limit = page * PER_PAGE
    docnums: list[int] = []
    rank = ranking_query(parsed, searcher.reader()) if sort == "relevance" else None
    if rank is not None:
        docnums = ranking.top(searcher, rank, hits, limit)
    if len(docnums) < limit:
        # By date, or to fill up with matches that have none of the ranked words.
        values = _sort_values(reading, "activity_ts" if sort == "activity" else "opened_ts")
        rest = hits & ~docsets.from_ids(docnums, searcher.doc_count_all()) if docnums else hits
        docnums += heapq.nlargest(
            limit - len(docnums), docsets.to_ids(rest), key=values.__getitem__
        )
    chosen = docnums[(page - 1) * PER_PAGE : limit]
    return [(d, searcher.stored_fields(d)) for d in chosen]


def _sort_values(reading: Reading, column: str) -> array:
    """A sort column's values for every document number (from per-segment caches)."""
    key = ("sort", column)
    cached = reading.opened.filters.get(key)  # type: ignore[arg-type]
    if cached is None:

        def compute(sub: Searcher, _offset: int) -> array:
            reader = sub.reader()
            count = reader.doc_count_all()
            if not reader.has_column(column):
                return array("q", bytes(8 * count))
            return load_column(reader.column_reader(column, translate=False), count)

        cached = array("q")
        for part in reading.segment_cached("cases", f"column:{column}", compute):
            cached.extend(part)
        reading.opened.filters[key] = cached  # type: ignore[index, assignment]
    return cached  # type: ignore[return-value]


def _suggest(reading: Reading, parsed: Parsed, text: str, allowed: int, user: User) -> str | None:
    """A corrected search built only from words that occur in permitted documents."""
    searcher = reading.searcher("cases")
    reader = searcher.reader()
    corrected = text
    changed = False
    for word in dict.fromkeys(parsed.words):
        terms = search_query.analyze(word)
        if len(terms) != 1 or not word.isalpha() or len(word) < 3:
            continue
        if _permitted_count(searcher, terms[0], allowed):
            continue
        best = _best_candidate(searcher, reader, word.lower(), allowed)
        if best is None:
            continue
        corrected = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", best, corrected, count=1)
        changed = True
    if not changed:
        return None
    try:
        fixed = search_query.parse(corrected)
    except Exception:
        return None
    q = search_query.compile_query(fixed, CompileContext("cases", user.id, reader))
    if q is None:
        return None
    if not docsets.matching(q, searcher, allowed) & allowed:
        return None
    return corrected


def _permitted_count(searcher: Searcher, term: str, allowed: int) -> int:
    """In how many permitted documents a term occurs."""
    return (docsets.matching(wq.Term("text", term), searcher) & allowed).bit_count()


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
            stems = search_query.analyze(candidate)
            if len(stems) != 1:
                continue
            n = _permitted_count(searcher, stems[0], allowed)
            if n:
                candidates[candidate] = n
        if candidates:
            return max(candidates, key=lambda c: (candidates[c], -len(c), c))
    return None


@dataclass
class CasePage:
    """The index's answer for one page: permitted matches, their count and facets, and the
    page's documents (document number, stored fields) in order."""

    query: wq.Query | None
    allowed: int  # bitmaps of document numbers (see docsets)
    hits: int = 0
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    chosen: list[tuple[int, dict]] = field(default_factory=list)
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
    q = search_query.compile_query(parsed, CompileContext("cases", user.id, searcher.reader()))
    allowed = reading.allowed("cases", case_search_filter(user, Action.VIEW))
    result = CasePage(query=q, allowed=allowed)
    if q is None or not allowed:
        return result
    # Permission first: everything below sees permitted documents only.
    result.hits = docsets.matching(q, searcher, allowed) & allowed
    if with_facets:
        result.facets = facet_counts(reading, result.hits)
    if result.hits:
        result.page = max(1, min(page, result.pages))
        result.chosen = _page_docnums(reading, parsed, result.hits, sort, result.page)
    return result


def _cases(
    reading: Reading, user: User, parsed: Parsed, text: str, sort: str, page: int, outcome: Outcome
) -> None:
    found = case_page(reading, user, parsed, sort, page)
    results = CaseResults(
        page=found.page, total=found.total, pages=found.pages, facets=_labelled(found.facets)
    )
    outcome.cases = results
    if found.query is None:
        outcome.cases = None
        return
    if not found.hits:
        outcome.suggestion = _suggest(reading, parsed, text, found.allowed, user)
        return
    ids = [int(stored["id"]) for _d, stored in found.chosen]
    # The page's cases, loaded through the same scope as every other page.
    rows = (
        db.session.scalars(
            visible_cases(user, Action.VIEW)
            .where(Case.id.in_(ids))
            .options(
                joinedload(Case.constituent),
                joinedload(Case.district),
                joinedload(Case.category),
                joinedload(Case.assignee),
            )
        )
        .unique()
        .all()
    )
    by_id = {c.id: c for c in rows}
    terms = text_terms(found.query)
    for _docnum, stored in found.chosen:
        case = by_id.get(int(stored["id"]))
        if case is None:
            continue
        results.hits.append(
            CaseHit(
                case=case,
                subject=highlight_text(case.subject, terms, whole=True),
                passages=highlight_text(decompress(stored.get("body")), terms),
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
    exceptions = reading.opened.filters.get(cache_key)  # type: ignore[arg-type]
    if exceptions is None:
        exceptions = people.district_rule_exceptions(user)
        reading.opened.filters[cache_key] = exceptions  # type: ignore[index, assignment]
    admitted, hidden = exceptions  # type: ignore[misc]
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
    q = search_query.compile_query(
        parsed, CompileContext("constituents", user.id, searcher.reader())
    )
    if q is None:
        return None, 0
    allowed = reading.allowed("constituents", _constituent_filter(reading, user))
    return q, docsets.matching(q, searcher, allowed) & allowed


def _constituents(reading: Reading, user: User, parsed: Parsed, outcome: Outcome) -> None:
    from constituent.services import constituents as people

    q, matched = _constituent_matches(reading, user, parsed)
    # Counted over the same scope as the rows below: constituent_scope.
    outcome.constituent_total = matched.bit_count()
    if q is None or not matched:
        return
    searcher = reading.searcher("constituents")
    results = searcher.search(q, filter=docsets.Membership(matched), limit=SECTION_SIZE * 2)
    ids = [int(hit["id"]) for hit in results]
    if not ids:
        return
    rows = (
        db.session.scalars(
            people.visible_constituents(user)
            .where(Constituent.id.in_(ids))
            .options(joinedload(Constituent.district))
        )
        .unique()
        .all()
    )
    by_id = {p.id: p for p in rows}
    outcome.constituents = [by_id[i] for i in ids if i in by_id][:SECTION_SIZE]


def _agencies(reading: Reading, user: User, parsed: Parsed, outcome: Outcome) -> None:
    searcher = reading.searcher("agencies")
    q = search_query.compile_query(parsed, CompileContext("agencies", user.id, searcher.reader()))
    if q is None:
        return
    results = searcher.search(q, limit=SECTION_SIZE)
    outcome.agency_total = len(results)
    ids = [int(hit["id"]) for hit in results]
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
        q = search_query.compile_query(parsed, CompileContext("cases", user.id, searcher.reader()))
        if q is None:
            return 0
        allowed = reading.allowed("cases", case_search_filter(user, Action.VIEW))
        return (docsets.matching(q, searcher, allowed) & allowed).bit_count()


def count_constituents(user: User, text: str) -> int:
    """How many constituents the user may see match (tests and the benchmark)."""
    parsed = search_query.parse(text)
    with search_index().reading() as reading:
        return _constituent_matches(reading, user, parsed)[1].bit_count()
