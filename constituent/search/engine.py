"""The search engine: what the app asks of the index (match, count, facets, the top N,
highlighted passages), answered by Whoosh.

Two paths answer the same questions with the same results:

- the fast path (search/docsets.py, search/ranking.py) reads Whoosh's posting blocks,
  deletion lists and columns directly, through private attributes of Whoosh 2.7, and computes
  with bitmaps; 2–4× faster than Whoosh's own search on large result sets;
- the stock path uses only Whoosh's public API (``searcher.search(q, filter=…)``,
  ``docs_for_query``, column readers).

``init_app`` checks at start-up that the installed Whoosh is the version the fast path was
written for and that every private attribute it uses is there (on a small index built in
memory, which it also searches both ways); when anything is missing it logs a warning and the
process uses the stock path. tests/test_search_engine_oracle.py asserts that both paths agree
on an index large enough to exercise every branch of the fast path.

Document sets are bitmaps on both paths (a Python int whose bit ``n`` is document ``n``), so
counting is ``int.bit_count()`` and permission filtering an ``&``.
"""

from __future__ import annotations

import heapq
import logging
import uuid
from array import array
from typing import Any, cast

import whoosh
from flask import Flask
from markupsafe import Markup
from whoosh import query as wq
from whoosh.searching import Searcher

from constituent.search import docsets, highlight, ranking
from constituent.search.store import Reading

log = logging.getLogger(__name__)

# The Whoosh release the fast path reads the internals of (major, minor).
WHOOSH_SERIES = (2, 7)

Bits = int


class WhooshEngine:
    """Answers searches over one Reading (the searchers of the current index generation).

    ``fast`` chooses the path; both give the same documents, counts and order.
    """

    def __init__(self, fast: bool) -> None:
        self.fast = fast
        self.name = "fast" if fast else "stock"

    # --- matching ----------------------------------------------------------------------------

    def match(self, searcher: Searcher, query: wq.Query, within: Bits = -1) -> Bits:
        """Documents matching ``query``. ``within`` (a bitmap) lets the engine skip work for
        documents the caller will drop anyway: the result may still hold some; AND it."""
        if self.fast:
            return docsets.matching(query, searcher, within)
        found = searcher.search(
            query,
            filter=None if within == -1 else docsets.Membership(within),
            limit=None,
            scored=False,
        )
        return docsets.from_ids(found.docs(), searcher.doc_count_all())

    def allowed(self, reading: Reading, kind: str, scope: wq.Query) -> Bits:
        """Documents matching a permission filter (cached per segment and index version)."""
        key = (f"{self.name}:{kind}", repr(scope))
        cached = reading.opened.filters.get(key)
        if cached is not None:
            return int(cached)
        if self.fast:
            bits = 0
            for part in reading.segment_cached(
                kind,
                f"allowed:{key[1]}",
                lambda sub, offset: docsets.evaluate(scope, sub) << offset,
            ):
                bits |= part
        else:
            searcher = reading.searcher(kind)
            bits = docsets.from_ids(searcher.docs_for_query(scope), searcher.doc_count_all())
        if len(reading.opened.filters) > 256:
            reading.opened.filters.clear()
        reading.opened.filters[key] = bits
        return bits

    @staticmethod
    def count(bits: Bits) -> int:
        """How many documents a bitmap holds."""
        return bits.bit_count()

    # --- facets and sorting ------------------------------------------------------------------

    def facet_bits(self, reading: Reading, kind: str, fieldname: str) -> dict[str, Bits]:
        """Facet value → the documents having it (cached per segment / index version)."""
        key = (f"{self.name}:facet", fieldname)
        cached = reading.opened.filters.get(key)
        if cached is not None:
            return dict(cached)
        merged: dict[str, Bits] = {}
        if self.fast:

            def compute(sub: Searcher, offset: int) -> dict[str, Bits]:
                reader = sub.reader()
                out = {}
                for term in reader.lexicon(fieldname):
                    value = term.decode("utf-8") if isinstance(term, bytes) else term
                    out[value] = docsets.term_bits(reader, fieldname, term) << offset
                return out

            for part in reading.segment_cached(kind, f"facet:{fieldname}", compute):
                for value, bits in part.items():
                    merged[value] = merged.get(value, 0) | bits
        else:
            searcher = reading.searcher(kind)
            size = searcher.doc_count_all()
            for term in searcher.reader().lexicon(fieldname):
                value = term.decode("utf-8") if isinstance(term, bytes) else term
                docs = searcher.docs_for_query(wq.Term(fieldname, value))
                merged[value] = docsets.from_ids(docs, size)
        reading.opened.filters[key] = merged
        return merged

    def facets(
        self, reading: Reading, kind: str, hits: Bits, fieldnames: list[str]
    ) -> dict[str, dict[str, int]]:
        """Per facet field, value → number of ``hits`` having it (values with none left out)."""
        result: dict[str, dict[str, int]] = {}
        for fieldname in fieldnames:
            counts: dict[str, int] = {}
            if hits:
                for value, bits in self.facet_bits(reading, kind, fieldname).items():
                    n = (bits & hits).bit_count()
                    if n:
                        counts[value] = n
            result[fieldname] = counts
        return result

    def column(self, reading: Reading, kind: str, column: str) -> array[int]:
        """A numeric column's values for every document number (sorting by date)."""
        key = (f"{self.name}:column:{kind}", column)
        cached = reading.opened.filters.get(key)
        if cached is not None:
            return cast("array[int]", cached)

        def compute(sub: Searcher, _offset: int) -> array[int]:
            reader = sub.reader()
            count = reader.doc_count_all()
            if not reader.has_column(column):
                return array("q", bytes(8 * count))
            values = reader.column_reader(column, translate=False)
            if self.fast:
                from constituent.search.store import load_column

                return load_column(values, count)
            return array("q", (values[i] for i in range(count)))

        merged: array[int] = array("q")
        for part in reading.segment_cached(kind, f"{self.name}:column:{column}", compute):
            merged.extend(part)
        reading.opened.filters[key] = merged
        return merged

    # --- ranking -----------------------------------------------------------------------------

    def top(self, searcher: Searcher, rank: wq.Query, hits: Bits, limit: int) -> list[int]:
        """The ``limit`` best of ``hits`` by BM25 over the ranked words (best first)."""
        if not hits or limit <= 0:
            return []
        if self.fast:
            return ranking.top(searcher, rank, hits, limit)
        results = searcher.search(rank, filter=docsets.Membership(hits), limit=limit)
        return [hit.docnum for hit in results]

    def best(self, searcher: Searcher, query: wq.Query, hits: Bits, limit: int) -> list[int]:
        """The ``limit`` best of ``hits`` as Whoosh scores ``query`` itself (the people and
        agencies sections)."""
        if not hits or limit <= 0:
            return []
        if self.fast:
            query = docsets.fast_phrases(query)
        results = searcher.search(query, filter=docsets.Membership(hits), limit=limit)
        return [hit.docnum for hit in results]

    @staticmethod
    def newest(values: array[int], hits: Bits, limit: int) -> list[int]:
        """The ``limit`` documents of ``hits`` with the largest ``values`` (a sort column)."""
        return heapq.nlargest(limit, docsets.to_ids(hits), key=values.__getitem__)

    # --- highlighting ------------------------------------------------------------------------

    @staticmethod
    def highlight_terms(query: wq.Query) -> frozenset[str]:
        """The words a query looks for in the text, as the index stores them."""
        return highlight.text_terms(query)

    @staticmethod
    def highlight(text: str, terms: frozenset[str], whole: bool = False) -> Markup:
        """``text`` escaped, with ``terms`` in <mark>: passages around them, or all of it."""
        return highlight.highlight_text(text, terms, whole=whole)


FAST = WhooshEngine(fast=True)
STOCK = WhooshEngine(fast=False)
_current: WhooshEngine = STOCK
_checked = False


def current() -> WhooshEngine:
    """The engine this process uses (the fast path once init_app found Whoosh as expected)."""
    if not _checked:
        configure()
    return _current


# --- the start-up check ----------------------------------------------------------------------


# Private attributes the fast path reads, by the class that defines them.
def _class_attributes() -> list[tuple[str, Any, str]]:
    from whoosh.codec import whoosh3
    from whoosh.query import ranges, terms
    from whoosh.reading import SegmentReader

    return [
        ("whoosh.codec.whoosh3", whoosh3, "_lenfield"),
        ("whoosh.codec.whoosh3", whoosh3, "LENGTHS_COLUMN"),
        ("W3PerDocReader", whoosh3.W3PerDocReader, "_cached_reader"),
        ("W3LeafMatcher", whoosh3.W3LeafMatcher, "_goto"),
        ("W3LeafMatcher", whoosh3.W3LeafMatcher, "_read_data"),
        ("W3LeafMatcher", whoosh3.W3LeafMatcher, "_read_ids"),
        ("W3LeafMatcher", whoosh3.W3LeafMatcher, "_read_weights"),
        ("W3LeafMatcher", whoosh3.W3LeafMatcher, "_read_values"),
        ("SegmentReader", SegmentReader, "deleted_docs_set"),
        ("NumericRange", ranges.NumericRange, "_compile_query"),
        ("TermRange", ranges.TermRange, "_btexts"),
        ("Prefix", terms.Prefix, "_btexts"),
        ("Wildcard", terms.Wildcard, "_btexts"),
    ]


# Attributes of objects that exist only once an index is open (checked on a probe index).
_READER_ATTRIBUTES = ("_terms", "_perdoc")
_PERDOC_ATTRIBUTES = ("_readers", "_doccount")
_MATCHER_ATTRIBUTES = (
    "_byteids",
    "_data",
    "_lastblock",
    "_nextoffset",
    "_maxid",
    "_baseoffset",
    "_maxweight",
    "_minlength",
)
_MATCHER_BLOCK_ATTRIBUTES = ("_ids", "_values", "_weights")
_COLUMN_ATTRIBUTES = ("_typecode", "_fixedlen", "_dbfile", "_basepos", "_count", "_default")


def _missing(obj: Any, names: tuple[str, ...], label: str) -> list[str]:
    return [f"{label}.{name}" for name in names if not hasattr(obj, name)]


def _probe_index() -> Any:
    """A small index in memory: two segments, more than one posting block per common word,
    an update and a deletion, a numeric field and a sort column.

    Its name is unique: Whoosh's in-memory storage writes a segment's temporary files to a
    folder named after the index in the system temp folder and deletes that folder when done,
    so two processes (gunicorn workers starting together) probing under one name delete each
    other's files and would both fall back to the stock path."""
    from whoosh import columns, fields
    from whoosh.filedb.filestore import RamStorage

    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        text=fields.TEXT(phrase=True),
        day=fields.NUMERIC(int, bits=32, signed=False, shift_step=8),
        ts=fields.COLUMN(columns.NumericColumn("q")),
    )
    ix = RamStorage().create_index(schema, indexname=f"probe{uuid.uuid4().hex}")
    for start in (0, 150):
        writer = ix.writer()
        for n in range(start, start + 150):
            words = "pension stopped after the move" if n % 3 else "the move stopped pension"
            writer.add_document(
                id=str(n), text=f"{words} w{n % 7} " * (1 + n % 4), day=20260101 + n % 28, ts=n
            )
        writer.commit(merge=False)
    writer = ix.writer()
    writer.update_document(id="7", text="moved pension", day=20260102, ts=7)
    writer.delete_by_term("id", "8")
    writer.commit(merge=False)
    return ix


def _probe() -> list[str]:
    """Missing attributes on a probe index's objects, and any answer where the fast path and
    Whoosh's own search disagree."""
    from whoosh.codec.whoosh3 import W3LeafMatcher

    problems: list[str] = []
    ix = _probe_index()
    with ix.searcher() as searcher:
        for sub, _offset in searcher.leaf_searchers():
            reader = sub.reader()
            problems += _missing(reader, _READER_ATTRIBUTES, "SegmentReader")
            if problems:
                return problems
            problems += _missing(reader._perdoc, _PERDOC_ATTRIBUTES, "W3PerDocReader")
            field = reader.schema["text"]
            matcher = reader._terms.matcher("text", field.to_bytes("pension"), field.format)
            if not isinstance(matcher, W3LeafMatcher):
                return [*problems, "the posting matcher is not W3LeafMatcher"]
            problems += _missing(matcher, _MATCHER_ATTRIBUTES, "W3LeafMatcher")
            if problems:
                return problems
            matcher._read_ids()
            matcher._read_weights()
            matcher._read_values()
            problems += _missing(matcher, _MATCHER_BLOCK_ATTRIBUTES, "W3LeafMatcher")
            column = reader.column_reader("ts", translate=False)
            problems += _missing(column, _COLUMN_ATTRIBUTES, "column reader")
            if problems:
                return problems
        if problems:
            return problems
        problems += _compare_on_probe(searcher)
    return problems


def _compare_on_probe(searcher: Searcher) -> list[str]:
    """Both paths on a few queries of every kind: same documents and the same top five."""
    queries: list[wq.Query] = [
        wq.Term("text", "pension"),
        wq.Phrase("text", ["pension", "stopped"]),
        wq.And([wq.Term("text", "move"), wq.Not(wq.Term("text", "w3"))]),
        wq.Or([wq.Term("text", "w1"), wq.Prefix("text", "move")]),
        wq.NumericRange("day", 20260105, 20260110),
    ]
    problems = []
    size = searcher.doc_count_all()
    everyone = (1 << size) - 1
    for query in queries:
        try:
            fast_hits = FAST.match(searcher, query) & everyone
            stock_hits = STOCK.match(searcher, query)
            fast_top = FAST.top(searcher, wq.Term("text", "pension"), fast_hits, 5)
            stock_top = STOCK.top(searcher, wq.Term("text", "pension"), stock_hits, 5)
        except Exception as exc:  # an internal that changed shape: use the stock path
            problems.append(f"{query}: the fast path failed ({exc!r})")
            continue
        if fast_hits != stock_hits:
            problems.append(f"{query}: the fast path finds other documents than Whoosh")
        elif isinstance(query, wq.Term) and fast_top != stock_top:
            problems.append(f"{query}: the fast path ranks differently from Whoosh")
    return problems


def check_whoosh() -> list[str]:
    """What keeps the fast path from running on the installed Whoosh (empty: nothing)."""
    version = tuple(whoosh.__version__)
    if version[:2] != WHOOSH_SERIES:
        return [
            f"Whoosh {'.'.join(map(str, version))} is installed; the fast path reads the "
            f"internals of Whoosh {'.'.join(map(str, WHOOSH_SERIES))}"
        ]
    problems = [
        f"{label}.{name}" for label, owner, name in _class_attributes() if not hasattr(owner, name)
    ]
    if problems:
        return [f"missing: {', '.join(problems)}"]
    try:
        return _probe()
    except Exception as exc:  # anything unexpected in Whoosh's internals
        return [f"the probe index failed ({exc!r})"]


_problems: list[str] | None = None


def configure(force_stock: bool = False, recheck: bool = False) -> WhooshEngine:
    """Check Whoosh (once per process, unless ``recheck``) and choose the path for this
    process, logging why when it is the stock path."""
    global _current, _checked, _problems
    if _problems is None or recheck:
        _problems = check_whoosh()
    if force_stock:
        _current = STOCK
    elif _problems:
        log.warning(
            "search: Whoosh's internals are not as the fast path expects (%s); "
            "using Whoosh's own search instead",
            "; ".join(_problems),
        )
        _current = STOCK
    else:
        from constituent.search import store

        store.patch_whoosh()
        _current = FAST
    _checked = True
    return _current


def init_app(app: Flask) -> None:
    """Choose the engine at start-up (SEARCH_ENGINE_PATH=stock forces Whoosh's own search)."""
    configure(force_stock=app.config.get("SEARCH_ENGINE_PATH") == "stock")
