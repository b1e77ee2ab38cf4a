"""The search tree (search/query.py) compiled into Whoosh queries, and the permission scope
(services/permissions.CaseSearchScope) compiled into a Whoosh filter over case documents.

``compile_query`` gives the query for one index (cases, constituents or agencies), or None
when the search uses a filter that index does not have (``status:open`` finds no agencies).
A phrase becomes a plain ``whoosh.query.Phrase``: the engine (search/engine.py) decides how it
is matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from whoosh import query as wq
from whoosh.reading import IndexReader

from constituent.search.query import (
    CHOICES,
    SUPPORTED,
    And,
    DateRange,
    FieldValue,
    Node,
    Not,
    Or,
    Parsed,
    Phrase,
    Prefix,
    Word,
    resolve_choice,
)
from constituent.search.schema import KEYWORDS, ORIGINAL_MARK, TEXT
from constituent.services.errors import DomainError
from constituent.services.permissions import CaseSearchScope, Confidential

# A prefix expanding to more index terms than this is refused (type more letters); the most
# frequent PREFIX_TERMS of the others are searched.
PREFIX_LIMIT = 2000
PREFIX_TERMS = 64


class _Unsupported(Exception):
    """The search uses a filter this index does not have."""


@dataclass
class CompileContext:
    """What compiling needs besides the tree: the index, the user, a reader for prefixes."""

    index: str
    user_id: int | None = None
    reader: IndexReader | None = None


def analyze(text: str) -> list[str]:
    """The index terms of some text (stemmed, as the ``text`` field stores them)."""
    return [t.text for t in TEXT(text, mode="query")]


def keywords(text: str) -> list[str]:
    """Lower-cased, accent-folded words (names, field values), not stemmed."""
    return [t.text for t in KEYWORDS(text, mode="query")]


def _words_query(text: str, ctx: CompileContext, phrase: bool) -> wq.Query:
    terms = analyze(text)
    if not terms:
        return wq.NullQuery
    if len(terms) == 1:
        q: wq.Query = wq.Term("text", terms[0])
    else:
        q = wq.Phrase("text", terms)
    if not phrase and ctx.index in ("cases", "constituents"):
        names = keywords(text)
        # Bob finds Robert: only when some document has the name as a variant.
        if (
            len(names) == 1
            and names[0].isalpha()
            and (ctx.reader is None or ("aka", names[0]) in ctx.reader)
        ):
            q = wq.Or([q, wq.Term("aka", names[0])])
    return q


def _prefix_query(text: str, ctx: CompileContext) -> wq.Query:
    words = keywords(text)
    if not words:
        return wq.NullQuery
    # "o'bri*": all but the last word must match exactly, the last by prefix.
    head, last = words[:-1], words[-1]
    if ctx.reader is None:
        return wq.Prefix("text", last)
    reader = ctx.reader
    found: dict[str, int] = {}
    for mark in (ORIGINAL_MARK, ""):
        for term in reader.expand_prefix("text", mark + last):
            term = term.decode("utf-8") if isinstance(term, bytes) else term
            if not mark and term.startswith(ORIGINAL_MARK):
                continue
            found[term] = 0
            if len(found) > PREFIX_LIMIT:
                raise DomainError(
                    f"“{text}*” matches too many different words; type a few more letters.",
                    field="q",
                )
    if not found:
        return wq.NullQuery
    if len(found) > PREFIX_TERMS:
        for term in found:
            found[term] = reader.doc_frequency("text", term)
        chosen = sorted(found, key=lambda t: (-found[t], t))[:PREFIX_TERMS]
    else:
        chosen = sorted(found)
    q: wq.Query = wq.Or([wq.Term("text", t) for t in chosen])
    if head:
        q = wq.And([*(wq.Term("text", t) for h in head for t in analyze(h)), q])
    return q


def _field_query(node: FieldValue, ctx: CompileContext) -> wq.Query:
    name, value = node.name, node.value
    if name not in SUPPORTED[ctx.index]:
        raise _Unsupported(name)
    if name == "district":
        return wq.Term("district", value.strip().lower())
    if name == "zip":
        return wq.Term("zip", value)
    if name in CHOICES:
        values = resolve_choice(name, value)
        terms = [wq.Term(name, v) for v in values]
        return terms[0] if len(terms) == 1 else wq.Or(terms)
    if name == "assignee":
        key = value.strip().lower()
        if key == "me" and ctx.user_id is not None:
            return wq.Term("assignee_id", str(ctx.user_id))
        if key in ("none", "nobody", "unassigned"):
            return wq.Term("assignee_id", "none")
        return _all_keywords("assignee", value)
    if name == "category":
        slug = "-".join(keywords(value.replace("/", " ")))
        words_q = _all_keywords("category_words", value.replace("/", " "))
        if ctx.index == "agencies":
            return words_q
        return wq.Or([wq.Term("category", slug), words_q])
    if name == "agency":
        return _all_keywords("agency_words", value)
    raise _Unsupported(name)  # pragma: no cover - every field is handled above


def _all_keywords(fieldname: str, value: str) -> wq.Query:
    words = keywords(value)
    if not words:
        return wq.NullQuery
    terms: list[wq.Query] = [wq.Term(fieldname, w) for w in words]
    return terms[0] if len(terms) == 1 else wq.And(terms)


def _day(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def _compile(node: Node, ctx: CompileContext) -> wq.Query:
    if isinstance(node, Word):
        return _words_query(node.text, ctx, phrase=False)
    if isinstance(node, Phrase):
        return _words_query(node.text, ctx, phrase=True)
    if isinstance(node, Prefix):
        return _prefix_query(node.text, ctx)
    if isinstance(node, FieldValue):
        return _field_query(node, ctx)
    if isinstance(node, DateRange):
        if node.name not in SUPPORTED[ctx.index]:
            raise _Unsupported(node.name)
        return wq.NumericRange(node.name, _day(node.start), _day(node.end))
    if isinstance(node, Not):
        return wq.Not(_compile(node.child, ctx))
    if isinstance(node, And):
        parts = [_compile(c, ctx) for c in node.children]
        positives = [p for p in parts if not isinstance(p, wq.Not)]
        negatives = [p for p in parts if isinstance(p, wq.Not)]
        if not positives:
            # (NOT a NOT b) inside a larger AND: NOT (a OR b). Whoosh would turn an And
            # holding Every() into Every() and drop the exclusions.
            return wq.Not(wq.Or([n.query for n in negatives]))
        return wq.And(positives + negatives)
    if isinstance(node, Or):
        return wq.Or([_compile(c, ctx) for c in node.children])
    raise TypeError(node)  # pragma: no cover


def compile_query(parsed: Parsed, ctx: CompileContext) -> wq.Query | None:
    """The Whoosh query for one index, or None when the search uses a filter it lacks."""
    try:
        query: wq.Query = _compile(parsed.tree, ctx).normalize()
    except _Unsupported:
        return None
    return query


def scope_filter(scope: CaseSearchScope) -> wq.Query:
    """A case search scope as a Whoosh filter over case documents (district_id,
    confidential, assignee_id and opened_by_id are indexed for it; see schema.case_schema)."""
    if scope.empty:
        return wq.NullQuery
    in_districts: wq.Query = wq.Or([wq.Term("district_id", str(d)) for d in scope.districts])
    parts = [in_districts]
    not_confidential = wq.Term("confidential", "n")
    if scope.confidential == Confidential.NONE:
        parts.append(not_confidential)
    elif scope.confidential == Confidential.ASSIGNED:
        parts.append(wq.Or([not_confidential, wq.Term("assignee_id", str(scope.assignee_id))]))
    if scope.opened_by_id is not None:
        parts.append(wq.Term("opened_by_id", str(scope.opened_by_id)))
    return parts[0] if len(parts) == 1 else wq.And(parts)
