"""Document sets as bitmaps: matching, permission filters, counts and facets in big-integer
operations (C speed) instead of Python loops over every matching document.

A bitmap is a Python int whose bit ``n`` is set when document ``n`` is in the set. Per
segment, a term's documents are read once from its posting blocks and kept in a small
cache; AND, OR and NOT become ``&``, ``|`` and ``& ~``; the permission filter is one more
``&``; a count is ``int.bit_count()``; a facet count is ``(hits & value).bit_count()``.
Segments are combined by shifting each segment's bitmap by its document offset.
"""

from __future__ import annotations

import bisect
import itertools
import pickle
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.formats import Positions
from whoosh.idsets import DocIdSet
from whoosh.matching import ListMatcher, NullMatcher

from constituent.search.schema import pair_term

# Term bitmaps kept per process, across searches (bytes of bitmap, roughly).
CACHE_BYTES = 16 * 1024 * 1024


def from_ids(ids: Iterable[int], size: int) -> int:
    """A bitmap of document numbers below ``size``."""
    buf = bytearray((size + 7) >> 3)
    for i in ids:
        buf[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buf, "little")


def to_ids(bits: int) -> Iterator[int]:
    """The document numbers in a bitmap, ascending."""
    if not bits:
        return
    data = bits.to_bytes((bits.bit_length() + 7) >> 3, "little")
    for index, byte in enumerate(data):
        if byte:
            base = index << 3
            for bit in range(8):
                if byte >> bit & 1:
                    yield base + bit


class Membership(DocIdSet):
    """A bitmap as a Whoosh filter: O(1) ``docnum in`` over its bytes."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self._bytes = bits.to_bytes((bits.bit_length() + 7) >> 3, "little") if bits else b""
        self._len = bits.bit_count()

    def __contains__(self, docnum: object) -> bool:
        if not isinstance(docnum, int):
            return False
        i = docnum
        j = i >> 3
        return j < len(self._bytes) and bool(self._bytes[j] >> (i & 7) & 1)

    def __iter__(self) -> Iterator[int]:
        return to_ids(self.bits)

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0


class _TermCache:
    """LRU of term bitmaps keyed by (segment id, field, term), bounded in bytes."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.items: OrderedDict[tuple[str, str, bytes], int] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str, bytes]) -> int | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: tuple[str, str, bytes], bits: int) -> None:
        size = (bits.bit_length() >> 3) + 64
        if size > self.budget // 4:
            return
        with self.lock:
            if key in self.items:
                return
            self.items[key] = bits
            self.used += size
            while self.used > self.budget and self.items:
                _key, old = self.items.popitem(last=False)
                self.used -= (old.bit_length() >> 3) + 64


TERMS = _TermCache(CACHE_BYTES)


def _segment_key(reader: Any) -> str:
    segment = reader.segment()
    return segment.segment_id() if segment is not None else "empty"


def term_bits(reader: Any, fieldname: str, btext: bytes) -> int:
    """Documents of one segment containing a term (deleted ones included: see live_bits)."""
    key = (_segment_key(reader), fieldname, btext)
    cached = TERMS.get(key)
    if cached is not None:
        return cached
    if (fieldname, btext) not in reader:
        return 0
    fmt = reader.schema[fieldname].format
    matcher = reader._terms.matcher(fieldname, btext, fmt)
    ids: list[int] = []
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        # Whole blocks at a time: the block's delta-coded ids summed in C (Whoosh's own
        # _read_ids sums them in a Python generator).
        while True:
            if matcher._data is None:
                matcher._read_data()
            ids.extend(accumulate(matcher._data[0]))
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
    else:
        ids.extend(matcher.all_ids())
    bits = from_ids(ids, reader.doc_count_all())
    TERMS.put(key, bits)
    return bits


_LIVE: dict[tuple[str, int, int], int] = {}


def live_bits(reader: Any) -> int:
    """Every document of a segment that is not deleted (deletions only grow: cached by
    segment and number of deletions)."""
    size = reader.doc_count_all()
    # deleted_docs_set is checked at start-up (engine.check_whoosh): without it the stock
    # path is used. No hasattr() here: a missing list must fail, not bring deleted cases back.
    deleted = reader.deleted_docs_set if reader.has_deletions() else ()
    key = (_segment_key(reader), size, len(deleted))
    bits = _LIVE.get(key)
    if bits is None:
        bits = (1 << size) - 1
        if deleted:
            bits &= ~from_ids(deleted, size)
        if len(_LIVE) > 512:
            _LIVE.clear()
        _LIVE[key] = bits
    return bits


def evaluate(q: wq.Query, searcher: Any, restrict: int = -1) -> int:
    """The documents of one segment (a leaf searcher) matching a query, as a bitmap.

    ``restrict`` (a bitmap) may leave out documents the caller will drop anyway (those the
    user may not see): phrases are then checked only inside it. The result can include
    documents outside ``restrict``; callers AND it.
    """
    reader = searcher.reader()
    return _eval(q, searcher, reader, restrict) & live_bits(reader)


def phrase_match(reader: Any, fieldname: str, words: list[str], restrict: int = -1) -> int:
    """Documents of a segment holding the words in this order: the one phrase matcher.

    Searches (evaluate) and the people and agencies sections Whoosh scores (PhraseMatch) both
    come here. Candidates are the documents holding every neighbouring pair of words (the
    text_pairs field: one term per pair, so common words cost no more than rare ones); two
    words are then exact, and longer phrases compare positions in the candidates only.
    """
    if len(words) == 1:
        return restrict & term_bits(reader, fieldname, reader.schema[fieldname].to_bytes(words[0]))
    candidates = restrict
    pairs_field = f"{fieldname}_pairs"
    if fieldname == "text" and pairs_field in reader.schema:
        pairs = dict.fromkeys(pair_term(a, b) for a, b in itertools.pairwise(words))
        field = reader.schema[pairs_field]
        # The rarest pair first: the others then only narrow a small set.
        for term in sorted(pairs, key=lambda t: reader.doc_frequency(pairs_field, t)):
            candidates &= term_bits(reader, pairs_field, field.to_bytes(term))
            if not candidates:
                return 0
        if len(words) == 2:
            return candidates
    else:
        field = reader.schema[fieldname]
        for word in words:
            candidates &= term_bits(reader, fieldname, field.to_bytes(word))
            if not candidates:
                return 0
    return _in_order(reader, fieldname, words, candidates)


def _in_order(reader: Any, fieldname: str, words: list[str], candidates: int) -> int:
    """Which candidate documents hold the words in this order (positions compared)."""
    docs = list(to_ids(candidates))
    if not docs:
        return 0
    field = reader.schema[fieldname]
    fmt = field.format
    starts: dict[int, set[int]] | None = None
    # The rarest word first: later words only look at documents still in the running.
    order = sorted(
        range(len(words)), key=lambda k: reader.doc_frequency(fieldname, field.to_bytes(words[k]))
    )
    for k in order:
        positions = _positions(reader, fieldname, field.to_bytes(words[k]), fmt, docs)
        if starts is None:
            starts = {d: {p - k for p in ps} for d, ps in positions.items()}
        else:
            starts = {
                d: s & {p - k for p in positions[d]} for d, s in starts.items() if d in positions
            }
        starts = {d: s for d, s in starts.items() if s}
        docs = sorted(starts)
        if not docs:
            return 0
    return from_ids(docs, reader.doc_count_all())


def _positions(
    reader: Any, fieldname: str, btext: bytes, fmt: Any, docs: list[int]
) -> dict[int, list[int]]:
    """Positions of a term in some documents (ascending), decoding only their blocks."""
    if (fieldname, btext) not in reader:
        return {}
    matcher = reader._terms.matcher(fieldname, btext, fmt)
    out: dict[int, list[int]] = {}
    decode = _decode_positions if type(fmt) is Positions else fmt.decode_positions
    if not isinstance(matcher, W3LeafMatcher):
        wanted = set(docs)
        while matcher.is_active():
            if matcher.id() in wanted:
                out[matcher.id()] = matcher.value_as("positions")
            matcher.next()
        return out
    i, n = 0, len(docs)
    while i < n:
        while matcher._maxid < docs[i]:
            if matcher._lastblock:
                return out
            matcher._goto(matcher._nextoffset)
        matcher._read_ids()
        matcher._read_values()
        ids, values = matcher._ids, matcher._values
        top = matcher._maxid
        while i < n and docs[i] <= top:
            at = bisect.bisect_left(ids, docs[i])
            if at < len(ids) and ids[at] == docs[i]:
                out[docs[i]] = decode(values[at])
            i += 1
        if matcher._lastblock:
            break
        matcher._goto(matcher._nextoffset)
    return out


def _decode_positions(value: bytes) -> list[int]:
    """whoosh.formats.Positions.decode_positions, with the running sum done in C."""
    if not value.endswith(b"."):
        value += b"."
    # Whoosh's own position format, read from this deployment's index files.
    return list(accumulate(pickle.loads(value[4:])))  # noqa: S301  # nosec B301


def _eval_and(q: wq.And, searcher: Any, reader: Any, restrict: int) -> int:
    """An AND: its positive parts narrow the bits in turn, then its NOTs take theirs away."""
    positives = [c for c in q.subqueries if not isinstance(c, wq.Not)]
    negatives = [c.query for c in q.subqueries if isinstance(c, wq.Not)]
    # Cheap parts first; phrases then only check what the rest already allows.
    positives.sort(key=lambda c: isinstance(c, wq.Phrase))
    if positives:
        bits = restrict
        for child in positives:
            bits &= _eval(child, searcher, reader, bits)
            if not bits:
                return 0
    else:
        bits = live_bits(reader) & restrict
    for child in negatives:
        bits &= ~_eval(child, searcher, reader, bits)
    return bits if bits >= 0 else bits & live_bits(reader)


def _eval_expanded(q: wq.Query, reader: Any) -> int:
    """A range, prefix or wildcard: the union of the terms it expands to in this segment."""
    fieldname = q.field()
    bits = 0
    for btext in q._btexts(reader):
        bits |= term_bits(reader, fieldname, btext)
    return bits


def _eval(q: wq.Query, searcher: Any, reader: Any, restrict: int = -1) -> int:
    if q is wq.NullQuery or isinstance(q, wq.NullQuery.__class__):
        return 0
    if isinstance(q, wq.Term):
        field = reader.schema[q.fieldname]
        return term_bits(reader, q.fieldname, field.to_bytes(q.text))
    if isinstance(q, wq.Phrase):
        return phrase_match(reader, q.fieldname, list(q.words), restrict)
    if isinstance(q, wq.And):
        return _eval_and(q, searcher, reader, restrict)
    if isinstance(q, wq.Or):
        bits = 0
        for child in q.subqueries:
            bits |= _eval(child, searcher, reader, restrict)
        return bits
    if isinstance(q, wq.Not):
        return live_bits(reader) & ~_eval(q.query, searcher, reader)
    if isinstance(q, wq.Every):
        return live_bits(reader)
    if isinstance(q, wq.WrappingQuery):  # ConstantScoreQuery around a range's terms
        return _eval(q.child, searcher, reader, restrict)
    if isinstance(q, wq.NumericRange):
        # Whoosh's tiered terms: an OR of terms and term ranges.
        return _eval(q._compile_query(reader), searcher, reader, restrict)
    if isinstance(q, (wq.TermRange, wq.Prefix, wq.Wildcard)):
        return _eval_expanded(q, reader)
    # Anything else (phrases): let the query find its documents in this segment.
    return from_ids(q.docs(searcher), reader.doc_count_all())


def matching(q: wq.Query, top_searcher: Any, restrict: int = -1) -> int:
    """Documents of the whole index matching ``q``, as a global bitmap (see evaluate for
    ``restrict``)."""
    bits = 0
    for sub, offset in top_searcher.leaf_searchers():
        size = sub.reader().doc_count_all()
        local = -1 if restrict == -1 else (restrict >> offset) & ((1 << size) - 1)
        bits |= evaluate(q, sub, local) << offset
    return bits


class PhraseMatch(wq.Phrase):
    """A phrase Whoosh's own search scores (the people and agencies sections), matched by
    phrase_match: each match weighs 1."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        reader = searcher.reader()
        if not reader.is_atomic():
            return super().matcher(searcher, context)
        ids = list(to_ids(evaluate(wq.Phrase(self.fieldname, self.words), searcher)))
        return ListMatcher(ids, weights=[1.0] * len(ids)) if ids else NullMatcher()


def fast_phrases(q: wq.Query) -> wq.Query:
    """``q`` with its phrases matched by phrase_match when Whoosh's own search runs it."""
    if isinstance(q, wq.Phrase) and not isinstance(q, PhraseMatch):
        return PhraseMatch(q.fieldname, q.words, boost=q.boost)
    if q.is_leaf():
        return q
    return q.apply(fast_phrases)
