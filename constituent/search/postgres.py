"""The postgres search backend: PostgreSQL full-text search over ``search_documents``.

Each case, constituent and agency has one row, written IN THE SAME TRANSACTION as the change
(search/queue.py knows what a flush touched; ``write_touched`` builds the documents with
search/documents.py just before the commit). ``words`` is one tsvector behind a GIN index:

    to_tsvector(english, text)       stemmed words with positions (words, phrases); PostgreSQL's
                                     English without its stop list (models/search.py)
    || to_tsvector('simple', text)   the same words unstemmed (prefixes, suggestions)
    || array_to_tsvector(tags)       filter values as ``name=value`` lexemes (fields)

so a search's words, phrases, prefixes and fields compile into one tsquery; date ranges
become SQL on integer columns beside it. The permission scope (CaseSearchScope) becomes a SQL
WHERE over the row's district_id, confidential, assignee_id and opened_by_id; counts and
facets are SQL over the permitted matches (GROUP BY), highlights are ts_headline's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, current_app
from markupsafe import Markup, escape
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, joinedload

from constituent.extensions import db
from constituent.models import Agency, Constituent, SearchDocument, User
from constituent.models.search import TEXT_SEARCH_CONFIG
from constituent.search import documents, searching
from constituent.search import query as search_query
from constituent.search.compiler import keywords
from constituent.search.documents import Document, Selection
from constituent.search.indexer import Drift
from constituent.search.schema import INDEX_NAMES
from constituent.search.searching import (
    FACETS,
    MAX_PAGE,
    PER_PAGE,
    SECTION_SIZE,
    SORTS,
    CaseHit,
    CaseResults,
    Outcome,
)
from constituent.services.permissions import (
    Action,
    Capability,
    CaseSearchScope,
    Confidential,
    case_search_scope,
    may,
)

D = SearchDocument
Progress = Callable[[str, int, int], None]
BATCH = 1000
SUGGEST_MAX_DISTANCE = 2
# ts_headline marks (private-use characters: the query language refuses them, so a search
# cannot smuggle them in; a record's text holding one only loses a highlight).
_START, _STOP = "\ue000", "\ue001"
_HEADLINE = (
    f"StartSel={_START}, StopSel={_STOP}, MaxFragments=3, MaxWords=30, MinWords=12, "
    'FragmentDelimiter=" … "'
)
# ts_headline's parser drops what looks like HTML tags and entities: they reach it as
# private-use stand-ins, turned back (escaped) afterwards.
_HIDDEN = {"<": "\ue002", ">": "\ue003", "&": "\ue004"}
_WHOLE = f"StartSel={_START}, StopSel={_STOP}, HighlightAll=true"


# --- documents → rows ------------------------------------------------------------------------


def _tags(kind: str, doc: Document) -> list[str]:
    """The ``name=value`` lexemes of a document's filter values (as the fields compile)."""
    tags = [f"aka={a}" for a in str(doc.get("aka") or "").split()]
    if kind in ("cases", "constituents"):
        tags += [f"district={doc['district']}", f"zip={doc['zip']}"]
    if kind in ("cases", "agencies"):
        tags += [f"catw={w}" for w in keywords(str(doc.get("category_words") or ""))]
        tags += [f"agw={w}" for w in keywords(str(doc.get("agency_words") or ""))]
    if kind == "cases":
        tags += [
            f"status={doc['status']}",
            f"category={doc['category']}",
            f"priority={doc['priority']}",
            f"channel={doc['channel']}",
            f"assignee_id={doc['assignee_id']}",
            *(f"agency={a}" for a in str(doc["agency"]).split(",") if a),
            *(f"asg={w}" for w in keywords(str(doc["assignee"]))),
        ]
    return sorted(set(tags))


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, "", "none") else None


def _row(kind: str, record_id: int, doc: Document) -> dict[str, Any]:
    """The search_documents row of one document (``w_text``/``w_tags`` make ``words``)."""
    row: dict[str, Any] = {
        "kind": kind,
        "record_id": record_id,
        "w_text": doc["text"],
        "w_tags": _tags(kind, doc),
        "subject": doc.get("subject") or "",
        "body": documents.decompress(doc.get("body")),
        "district_id": _int(doc.get("district_id")),
        "confidential": doc.get("confidential") == "y",
        "assignee_id": _int(doc.get("assignee_id")),
        "opened_by_id": _int(doc.get("opened_by_id")),
        "district": doc.get("district") if kind == "cases" else None,
        "status": doc.get("status"),
        "category": doc.get("category"),
        "agencies": [int(a) for a in str(doc.get("agency") or "").split(",") if a]
        if kind == "cases"
        else None,
        "opened": doc.get("opened"),
        "closed": doc.get("closed"),
        "opened_ts": doc.get("opened_ts") or 0,
        "activity_ts": doc.get("activity_ts") or 0,
        "stamp": doc["stamp"],
    }
    return row


def _insert() -> Any:
    """Insert rows, or update those another transaction wrote meanwhile (two servers saving
    the same case wait for each other instead of failing on the key)."""
    text = sa.bindparam("w_text", type_=sa.Text())
    words = (
        sa.func.to_tsvector(_regconfig(TEXT_SEARCH_CONFIG), text)
        .op("||")(sa.func.to_tsvector(_regconfig("simple"), text))
        .op("||")(sa.func.array_to_tsvector(sa.bindparam("w_tags", type_=sa.ARRAY(sa.Text()))))
    )
    stmt = pg_insert(D).values(words=words)
    columns = [c.name for c in D.__table__.columns if c.name not in ("kind", "record_id")]
    return stmt.on_conflict_do_update(
        index_elements=["kind", "record_id"], set_={c: stmt.excluded[c] for c in columns}
    )


def _write(session: Session, kind: str, ids: Iterable[int], tz: ZoneInfo) -> int:
    """Replace the rows of ``ids`` of one kind with freshly built documents (or none)."""
    ids = sorted(set(ids))
    if not ids:
        return 0
    docs = documents.build(session, kind, Selection(ids=ids), tz)
    gone = [i for i in ids if i not in docs]
    if gone:
        session.execute(sa.delete(D).where(D.kind == kind, D.record_id.in_(gone)))
    if docs:
        session.execute(_insert(), [_row(kind, i, d) for i, d in docs.items()])
    return len(docs)


_KIND = {"case": "cases", "constituent": "constituents", "agency": "agencies"}
# The first key of the transaction-level advisory locks that order two transactions writing
# the same record's document ("SD" + the kind's place in sorted(_KIND)).
_LOCK_SPACE = 0x5344_0000


def _lock(session: Session, touched: dict[str, set[int]]) -> None:
    """Wait until no other open transaction is writing these records' documents.

    Two saves of one case (two notes added at once on two servers) each build the case's
    document from what they can read. Without this the one that commits last could have
    built it before the other committed, and its document would lack the other's note.
    Held to the commit, the lock makes the second wait and then build (read committed: each
    statement sees every earlier commit) a document holding both. Taken in one order
    (kind, then id), so two savers never wait for each other in a circle."""
    keys = [
        (_LOCK_SPACE + n, record_id)
        for n, kind in enumerate(sorted(_KIND))
        for record_id in sorted(touched.get(kind, ()))
    ]
    if keys:
        session.execute(
            sa.text(
                "SELECT count(pg_advisory_xact_lock(k, i)) FROM "
                "(SELECT k, i FROM unnest(CAST(:ks AS int[]), CAST(:ids AS int[])) AS t(k, i) "
                "ORDER BY k, i) AS ordered"
            ),
            {"ks": [k for k, _ in keys], "ids": [i for _, i in keys]},
        )


def write_touched(session: Session, touched: dict[str, set[int]]) -> None:
    """Bring the rows of the records a transaction touched up to date, in that transaction
    (called by search/queue.py just before the commit)."""
    tz = ZoneInfo(current_app.config["OFFICE_TIMEZONE"])
    _lock(session, touched)
    for queue_kind, ids in touched.items():
        _write(session, _KIND[queue_kind], ids, tz)


def _ranges(session: Session, kind: str) -> Iterable[Selection]:
    top = documents.max_id(session, kind)
    for low in range(1, top + 1, BATCH):
        yield Selection(low=low, high=low + BATCH - 1)


@dataclass
class Reindexed:
    """A finished postgres reindex."""

    counts: dict[str, int] = field(default_factory=dict)


def reindex(app: Flask, progress: Progress | None = None) -> Reindexed:
    """Rebuild every row from the database in one transaction (searches see the old rows
    until it commits)."""
    tz = ZoneInfo(app.config["OFFICE_TIMEZONE"])
    result = Reindexed()
    with Session(db.engine) as session, session.begin():
        session.execute(sa.delete(D))
        for kind in INDEX_NAMES:
            total = documents.count(session, kind)
            done = 0
            for selection in _ranges(session, kind):
                docs = documents.build(session, kind, selection, tz)
                if docs:
                    session.execute(_insert(), [_row(kind, i, d) for i, d in docs.items()])
                done += len(docs)
                if progress:
                    progress(kind, done, total)
            result.counts[kind] = done
            if progress and not total:
                progress(kind, 0, 0)
    # The rows replaced are dead and the GIN index's pending list holds every new row until a
    # vacuum: both would slow each search until autovacuum came by.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE search_documents"))
    return result


def check(app: Flask, repair: bool = False, progress: Progress | None = None) -> list[Drift]:
    """Compare the rows with documents built afresh (ids and content hashes); repair if asked."""
    tz = ZoneInfo(app.config["OFFICE_TIMEZONE"])
    report = []
    with Session(db.engine) as session, session.begin():
        for kind in INDEX_NAMES:
            stored = dict(
                session.execute(sa.select(D.record_id, D.stamp).where(D.kind == kind)).all()
            )
            fresh: dict[int, str] = {}
            total = documents.count(session, kind)
            for selection in _ranges(session, kind):
                docs = documents.build(session, kind, selection, tz)
                fresh.update((i, d["stamp"]) for i, d in docs.items())
                if progress:
                    progress(kind, len(fresh), total)
            drift = Drift(index=kind, checked=len(fresh))
            drift.missing = sorted(set(fresh) - set(stored))
            drift.extra = sorted(set(stored) - set(fresh))
            drift.stale = sorted(i for i in set(fresh) & set(stored) if fresh[i] != stored[i])
            if repair and not drift.ok:
                _write(session, kind, drift.missing + drift.extra + drift.stale, tz)
                drift.repaired = True
            report.append(drift)
    return report


# --- the query language → tsquery and SQL ----------------------------------------------------


class _Unsupported(Exception):
    """The search uses a filter this kind of record does not have."""


@dataclass
class _Tsq:
    """A compiled node that is a tsquery."""

    q: Any


@dataclass
class _Sql:
    """A compiled node that needs SQL beside the tsquery (dates, nothing)."""

    where: Any


_Compiled = _Tsq | _Sql


def _lexeme(text: str) -> str:
    """A tsquery literal of one lexeme, quoted."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _tag(name: str, value: str) -> _Tsq:
    return _Tsq(sa.cast(sa.literal(_lexeme(f"{name}={value}")), TSQUERY))


def _english() -> Any:
    return _regconfig(TEXT_SEARCH_CONFIG)


def _regconfig(name: str) -> Any:
    return sa.literal_column(f"'{name}'::regconfig")


def _phrase(text: str) -> Any:
    return sa.func.phraseto_tsquery(_regconfig(TEXT_SEARCH_CONFIG), sa.literal(text))


def _tsqs(parts: list[_Compiled]) -> list[Any] | None:
    """The tsqueries of ``parts`` when every part is one."""
    queries = [p.q for p in parts if isinstance(p, _Tsq)]
    return queries if len(queries) == len(parts) else None


def _and(parts: list[_Compiled]) -> _Compiled:
    queries = _tsqs(parts)
    if queries is not None:
        q = queries[0]
        for other in queries[1:]:
            q = sa.func.tsquery_and(q, other)
        return _Tsq(q)
    return _Sql(sa.and_(*(_where(p) for p in parts)))


def _or(parts: list[_Compiled]) -> _Compiled:
    queries = _tsqs(parts)
    if queries is not None:
        q = queries[0]
        for other in queries[1:]:
            q = sa.func.tsquery_or(q, other)
        return _Tsq(q)
    return _Sql(sa.or_(*(_where(p) for p in parts)))


def _where(part: _Compiled) -> Any:
    if isinstance(part, _Tsq):
        return D.words.op("@@")(part.q)
    return part.where


_NOTHING = _Sql(sa.false())


def _words(text: str, kind: str, phrase: bool) -> _Compiled:
    q = _Tsq(_phrase(text))
    names = keywords(text)
    if not phrase and kind in ("cases", "constituents") and len(names) == 1 and names[0].isalpha():
        # Bob finds Robert (documents list the variants of a given name as aka=).
        return _or([q, _tag("aka", names[0])])
    return q


def _prefix(text: str) -> _Compiled:
    words = keywords(text)
    if not words:
        return _NOTHING
    head, last = words[:-1], words[-1]
    q = _Tsq(sa.cast(sa.literal(_lexeme(last) + ":*"), TSQUERY))
    if head:
        return _and([_Tsq(_phrase(" ".join(head))), q])
    return q


def _all_tags(name: str, value: str) -> _Compiled:
    words = keywords(value)
    if not words:
        return _NOTHING
    return _and([_tag(name, w) for w in words])


def _field(node: search_query.FieldValue, kind: str, user_id: int | None) -> _Compiled:
    name, value = node.name, node.value
    if name not in search_query.SUPPORTED[kind]:
        raise _Unsupported(name)
    if name == "district":
        return _tag("district", value.strip().lower())
    if name == "zip":
        return _tag("zip", value)
    if name in search_query.CHOICES:
        return _or([_tag(name, v) for v in search_query.resolve_choice(name, value)])
    if name == "assignee":
        key = value.strip().lower()
        if key == "me" and user_id is not None:
            return _tag("assignee_id", str(user_id))
        if key in ("none", "nobody", "unassigned"):
            return _tag("assignee_id", "none")
        return _all_tags("asg", value)
    if name == "category":
        words = _all_tags("catw", value.replace("/", " "))
        if kind == "agencies":
            return words
        slug = "-".join(keywords(value.replace("/", " ")))
        return _or([_tag("category", slug), words])
    if name == "agency":
        return _all_tags("agw", value)
    raise _Unsupported(name)  # pragma: no cover - every field is handled above


def _day(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def _compile(node: search_query.Node, kind: str, user_id: int | None) -> _Compiled:
    if isinstance(node, search_query.Word):
        return _words(node.text, kind, phrase=False)
    if isinstance(node, search_query.Phrase):
        return _words(node.text, kind, phrase=True)
    if isinstance(node, search_query.Prefix):
        return _prefix(node.text)
    if isinstance(node, search_query.FieldValue):
        return _field(node, kind, user_id)
    if isinstance(node, search_query.DateRange):
        if node.name not in search_query.SUPPORTED[kind]:
            raise _Unsupported(node.name)
        column = D.opened if node.name == "opened" else D.closed
        return _Sql(sa.func.coalesce(column, 0).between(_day(node.start), _day(node.end)))
    if isinstance(node, search_query.Not):
        inner = _compile(node.child, kind, user_id)
        if isinstance(inner, _Tsq):
            return _Tsq(sa.func.tsquery_not(inner.q))
        return _Sql(sa.not_(inner.where))
    if isinstance(node, search_query.And):
        return _and([_compile(c, kind, user_id) for c in node.children])
    if isinstance(node, search_query.Or):
        return _or([_compile(c, kind, user_id) for c in node.children])
    raise TypeError(node)  # pragma: no cover


def match_where(parsed: search_query.Parsed, kind: str, user_id: int | None) -> Any | None:
    """The SQL condition of the rows of ``kind`` a search matches (before permissions), or
    None when the search uses a filter that kind lacks."""
    try:
        compiled = _compile(parsed.tree, kind, user_id)
    except _Unsupported:
        return None
    return sa.and_(D.kind == kind, _where(compiled))


def rank_query(parsed: search_query.Parsed) -> Any | None:
    """The searched words, phrases and prefixes OR-ed: relevance and highlights come from
    them (filters, dates and excluded words only select)."""
    parts: list[_Compiled] = []

    def walk(node: search_query.Node) -> None:
        if isinstance(node, (search_query.Word, search_query.Phrase)):
            parts.append(_Tsq(_phrase(node.text)))
        elif isinstance(node, search_query.Prefix):
            compiled = _prefix(node.text)
            if isinstance(compiled, _Tsq):
                parts.append(compiled)
        elif isinstance(node, (search_query.And, search_query.Or)):
            for child in node.children:
                walk(child)

    walk(parsed.tree)
    if not parts:
        return None
    combined = _or(parts)
    return combined.q if isinstance(combined, _Tsq) else None


def scope_where(scope: CaseSearchScope) -> Any:
    """A case search scope as SQL over the case rows."""
    if scope.empty:
        return sa.false()
    parts: list[Any] = [D.district_id.in_(scope.districts)]
    if scope.confidential == Confidential.NONE:
        parts.append(D.confidential.is_(False))
    elif scope.confidential == Confidential.ASSIGNED:
        parts.append(sa.or_(D.confidential.is_(False), D.assignee_id == scope.assignee_id))
    if scope.opened_by_id is not None:
        parts.append(D.opened_by_id == scope.opened_by_id)
    return sa.and_(*parts)


def constituent_where(user: User) -> Any:
    """constituent_scope over constituent rows: the district rule corrected by the people
    the scope decides otherwise (people.district_rule_exceptions)."""
    from constituent.services import constituents as people

    if not may(user, Capability.VIEW_CONSTITUENTS):
        return sa.false()
    admitted, hidden = people.district_rule_exceptions(user)
    reach = sa.or_(
        D.district_id.is_(None),
        D.district_id.in_(sorted(user.district_ids)),
        D.record_id.in_(admitted),
    )
    return sa.and_(reach, D.record_id.not_in(hidden)) if hidden else reach


# --- answering -------------------------------------------------------------------------------


def _marked(text: str | None) -> Markup:
    """ts_headline's output escaped, its marks turned into <mark>."""
    escaped = str(escape(text or ""))
    for char, stand_in in _HIDDEN.items():
        escaped = escaped.replace(stand_in, str(escape(char)))
    # Safe: all of the text was escaped; only <mark> is added.
    return Markup(escaped.replace(_START, "<mark>").replace(_STOP, "</mark>"))  # noqa: S704  # nosec B704


def _shielded(column: Any) -> Any:
    """The column's text with tag and entity characters replaced by stand-ins."""
    return sa.func.translate(column, "".join(_HIDDEN), "".join(_HIDDEN.values()))


def _count(where: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(D).where(where)) or 0)


def _counted(where: Any, with_facets: bool = True) -> tuple[int, dict[str, dict[str, int]]]:
    """The number of permitted matches and, per facet, value → how many have it: one round
    trip, the matching rows read once (a CTE) and grouped per facet."""
    if not with_facets:
        return _count(where), {}
    matched = sa.select(D.district, D.status, D.category, D.agencies).where(where).cte("matched")
    agency = sa.func.unnest(matched.c.agencies).table_valued("value").render_derived(name="agency")
    parts = [
        sa.select(sa.literal("total"), sa.null(), sa.func.count()).select_from(matched),
        *(
            sa.select(sa.literal(name), sa.cast(column, sa.Text()), sa.func.count()).group_by(
                column
            )
            for name, column in (
                ("district", matched.c.district),
                ("status", matched.c.status),
                ("category", matched.c.category),
            )
        ),
        sa.select(sa.literal("agency"), sa.cast(agency.c.value, sa.Text()), sa.func.count())
        .select_from(matched)
        .join(agency, sa.true())
        .group_by(agency.c.value),
    ]
    total = 0
    facets: dict[str, dict[str, int]] = {name: {} for name, _title in FACETS}
    for name, value, n in db.session.execute(sa.union_all(*parts)):
        if name == "total":
            total = int(n)
        elif value is not None:
            facets[name][str(value)] = int(n)
    return total, facets


def _order(sort: str, rank: Any | None) -> list[Any]:
    if sort == "relevance" and rank is not None:
        return [sa.func.ts_rank_cd(D.words, rank).desc(), D.opened_ts.desc(), D.record_id.desc()]
    column = D.activity_ts if sort == "activity" else D.opened_ts
    return [column.desc(), D.record_id.desc()]


@dataclass
class CasePage:
    """The database's answer for one page: permitted matches counted, facets, and the page's
    (case id, highlighted subject, highlighted passages) in order."""

    where: Any
    total: int = 0
    page: int = 1
    pages: int = 0
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    rows: list[tuple[int, str | None, str | None]] = field(default_factory=list)


def case_page(
    user: User,
    parsed: search_query.Parsed,
    sort: str = "relevance",
    page: int = 1,
    highlights: bool = True,
    with_facets: bool = True,
) -> CasePage | None:
    """Match, filter by permission, count, facet and pick one page (None: the search uses a
    filter cases lack)."""
    matched = match_where(parsed, "cases", user.id)
    if matched is None:
        return None
    where = sa.and_(matched, scope_where(case_search_scope(user, Action.VIEW)))
    found = CasePage(where=where)
    found.total, found.facets = _counted(where, with_facets)
    if not found.total:
        return found
    found.pages = min(MAX_PAGE, math.ceil(found.total / PER_PAGE))
    found.page = max(1, min(page, found.pages))
    rank = rank_query(parsed)
    # The page's rows are picked first; only they are highlighted.
    ids = list(
        db.session.scalars(
            sa.select(D.record_id)
            .where(where)
            .order_by(*_order(sort, rank))
            .limit(PER_PAGE)
            .offset((found.page - 1) * PER_PAGE)
        )
    )
    marked: dict[int, tuple[str | None, str | None]] = {}
    if highlights and ids:
        shown = rank if rank is not None else sa.cast(sa.literal(""), TSQUERY)
        for record_id, subject, passages in db.session.execute(
            sa.select(
                D.record_id,
                sa.func.ts_headline(_english(), _shielded(D.subject), shown, _WHOLE),
                sa.func.ts_headline(_english(), _shielded(D.body), shown, _HEADLINE),
            ).where(D.kind == "cases", D.record_id.in_(ids))
        ):
            marked[record_id] = (subject, passages)
    found.rows = [(i, *marked.get(i, (None, None))) for i in ids]
    return found


def _cases(
    user: User, parsed: search_query.Parsed, text: str, sort: str, page: int, outcome: Outcome
) -> None:
    found = case_page(user, parsed, sort, page)
    if found is None:
        return
    results = CaseResults(total=found.total, page=found.page, pages=found.pages)
    outcome.cases = results
    if not found.total:
        outcome.suggestion = _suggest(user, parsed, text)
        return
    results.facets = searching.labelled(found.facets)
    rows = found.rows
    by_id = searching.page_cases(user, [r[0] for r in rows])
    for record_id, subject, passages in rows:
        case = by_id.get(record_id)
        if case is None:
            continue
        marked = _marked(passages) if _START in (passages or "") else Markup("")
        results.hits.append(CaseHit(case=case, subject=_marked(subject), passages=marked))
        if case.confidential:
            outcome.confidential_shown.append(case.number)


def _best(where: Any, rank: Any | None, limit: int) -> list[int]:
    order: list[Any] = [D.record_id]
    if rank is not None:
        order = [sa.func.ts_rank_cd(D.words, rank).desc(), D.record_id]
    return list(
        db.session.scalars(sa.select(D.record_id).where(where).order_by(*order).limit(limit))
    )


def _constituents(user: User, parsed: search_query.Parsed, outcome: Outcome) -> None:
    from constituent.services import constituents as people

    matched = match_where(parsed, "constituents", user.id)
    if matched is None or not may(user, Capability.VIEW_CONSTITUENTS):
        return
    where = sa.and_(matched, constituent_where(user))
    outcome.constituent_total = _count(where)
    if not outcome.constituent_total:
        return
    ids = _best(where, rank_query(parsed), SECTION_SIZE * 2)
    rows = db.session.scalars(
        people.visible_constituents(user)
        .where(Constituent.id.in_(ids))
        .options(joinedload(Constituent.district))
    )
    by_id = {p.id: p for p in rows.unique().all()}
    outcome.constituents = [by_id[i] for i in ids if i in by_id][:SECTION_SIZE]


def _agencies(user: User, parsed: search_query.Parsed, outcome: Outcome) -> None:
    where = match_where(parsed, "agencies", user.id)
    if where is None:
        return
    outcome.agency_total = _count(where)
    if not outcome.agency_total:
        return
    ids = _best(where, rank_query(parsed), SECTION_SIZE)
    by_id = {a.id: a for a in db.session.scalars(sa.select(Agency).where(Agency.id.in_(ids)))}
    outcome.agencies = [by_id[i] for i in ids if i in by_id]


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance (stops early above ``limit``)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _suggest(user: User, parsed: search_query.Parsed, text: str) -> str | None:
    """A corrected search built only from words of permitted cases (ts_stat over them)."""
    scope = scope_where(case_search_scope(user, Action.VIEW))
    words = [
        w
        for w in dict.fromkeys(parsed.words)
        if w.isalpha() and len(w) >= 3 and len(keywords(w)) == 1
    ]
    if not words:
        return None
    permitted = sa.select(D.words).where(D.kind == "cases", scope)
    compiled = permitted.compile(db.engine, compile_kwargs={"literal_binds": True})
    stats = db.session.execute(
        sa.text("SELECT word, ndoc FROM ts_stat(:q) WHERE word ~ '^[a-z]+$'"), {"q": str(compiled)}
    ).all()
    fixes: dict[str, str] = {}
    for word in words:
        lower = word.lower()
        if _count(sa.and_(D.kind == "cases", scope, D.words.op("@@")(_phrase(lower)))):
            continue
        best: tuple[int, int, int, str] | None = None
        for candidate, ndoc in stats:
            if candidate == lower or candidate[0] != lower[0]:
                continue
            d = _distance(lower, candidate, SUGGEST_MAX_DISTANCE)
            if d <= SUGGEST_MAX_DISTANCE:
                key = (d, -int(ndoc), len(candidate), candidate)
                if best is None or key < best:
                    best = key
        if best is not None:
            fixes[word] = best[3]
    respelt = searching.respelled(text, fixes)
    if respelt is None:
        return None
    corrected, fixed = respelt
    matched = match_where(fixed, "cases", user.id)
    if matched is None or not _count(sa.and_(matched, scope)):
        return None
    return corrected


def search(user: User, text: str, *, sort: str = "relevance", page: int = 1) -> Outcome:
    """Search cases, constituents and agencies for ``user`` (as searching.search does)."""
    parsed = search_query.parse(text)
    sort = sort if sort in SORTS else "relevance"
    page = max(1, min(int(page or 1), MAX_PAGE))
    outcome = Outcome(text=text, sort=sort)
    _cases(user, parsed, text, sort, page, outcome)
    if page == 1:
        _constituents(user, parsed, outcome)
        _agencies(user, parsed, outcome)
    return outcome


def count_cases(user: User, text: str) -> int:
    """How many permitted cases match."""
    matched = match_where(search_query.parse(text), "cases", user.id)
    if matched is None:
        return 0
    return _count(sa.and_(matched, scope_where(case_search_scope(user, Action.VIEW))))


def count_constituents(user: User, text: str) -> int:
    """How many constituents the user may see match."""
    matched = match_where(search_query.parse(text), "constituents", user.id)
    if matched is None or not may(user, Capability.VIEW_CONSTITUENTS):
        return 0
    return _count(sa.and_(matched, constituent_where(user)))


def matches(kind: str, user: User, text: str) -> set[int]:
    """Ids of the records of ``kind`` a search matches, before any permission filter."""
    matched = match_where(search_query.parse(text), kind, user.id)
    if matched is None:
        return set()
    return set(db.session.scalars(sa.select(D.record_id).where(matched)))


__all__ = ["FACETS", "check", "count_cases", "count_constituents", "reindex", "search"]
