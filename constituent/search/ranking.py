"""The best page of a search: BM25 over the searched words, computed for permitted matches only.

Whoosh's own top-N search walks every document that contains any of the words and drops
the ones outside the filter afterwards; with common words that is most of the index. Here:

- a few matches (up to EXACT_LIMIT): each is scored exactly (per word, its frequency in the
  document and the document's length);
- many matches: BM25 rewards a word that is frequent in a short document, so candidates are
  the shortest matching documents and those where the most specific word (fewest
  documents) is most frequent (posting blocks visited by the largest frequency Whoosh
  records for each); the candidates are then scored exactly on all the words. The page is
  the exact BM25 order of the candidates; a long document mentioning a word once is not
  considered when thousands of documents match, which is the trade for a page in
  milliseconds instead of scoring every match in Python.
"""

from __future__ import annotations

import bisect
import heapq
import math
from array import array
from typing import Any

from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.util.numeric import byte_to_length

from constituent.search import docsets

K1 = 1.2
B = 0.75
EXACT_LIMIT = 3000
POOL = 200  # candidates of each kind gathered before exact scoring

_LENGTHS = [byte_to_length(b) for b in range(256)]


class _Term:
    """One ranked word: field, bytes, weight (boost × idf) and average field length."""

    def __init__(self, searcher: Any, fieldname: str, text: str, boost: float) -> None:
        self.fieldname = fieldname
        self.btext = searcher.schema[fieldname].to_bytes(text)
        self.df = searcher.doc_frequency(fieldname, self.btext)
        n = searcher.doc_count_all()
        self.weight = boost * (math.log(n / (self.df + 1)) + 1.0)
        self.avgdl = searcher.avg_field_length(fieldname) or 1.0

    def score(self, tf: float, length: float) -> float:
        norm = K1 * ((1 - B) + B * length / self.avgdl)
        return self.weight * tf * (K1 + 1) / (tf + norm)


def _terms(searcher: Any, rank: wq.Query) -> list[_Term]:
    parts = rank.subqueries if isinstance(rank, wq.Or) else [rank]
    out = []
    for part in parts:
        if isinstance(part, wq.Term):
            out.append(_Term(searcher, part.fieldname, part.text, part.boost))
    return [t for t in out if t.df]


def _lengths(reader: Any, fieldname: str) -> Any:
    """The segment's per-document length bytes (kept in memory by store.patch_whoosh)."""
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

    return reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)


def _score_docs(sub: Any, terms: list[_Term], docs: list[int]) -> dict[int, float]:
    """Exact scores of some documents (local numbers, ascending) of one segment.

    Walks each word's posting blocks by their headers (largest document number) and decodes
    only the blocks holding one of ``docs``, finding each document in a block by bisection.
    """
    reader = sub.reader()
    scores = dict.fromkeys(docs, 0.0)
    for term in terms:
        if (term.fieldname, term.btext) not in reader:
            continue
        lengths = _lengths(reader, term.fieldname)
        matcher = reader._terms.matcher(
            term.fieldname, term.btext, reader.schema[term.fieldname].format
        )
        if not isinstance(matcher, W3LeafMatcher):
            for doc in matcher.all_ids():
                if doc in scores:
                    length = _LENGTHS[lengths[doc]] if lengths is not None else term.avgdl
                    scores[doc] += term.score(matcher.weight(), length)
            continue
        i = 0
        while i < len(docs):
            while matcher._maxid < docs[i]:
                if matcher._lastblock:
                    i = len(docs)
                    break
                matcher._goto(matcher._nextoffset)
            if i >= len(docs):
                break
            matcher._read_ids()
            matcher._read_weights()
            ids, weights = matcher._ids, matcher._weights
            while i < len(docs) and docs[i] <= matcher._maxid:
                doc = docs[i]
                at = bisect.bisect_left(ids, doc)
                if at < len(ids) and ids[at] == doc:
                    length = _LENGTHS[lengths[doc]] if lengths is not None else term.avgdl
                    scores[doc] += term.score(weights[at], length)
                i += 1
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
    return scores


def _length_order(reader: Any, fieldname: str) -> array[int]:
    """A segment's documents from shortest to longest (cached with the segment)."""
    cache = reader.__dict__.setdefault("_constituent_length_order", {})
    order: array[int] | None = cache.get(fieldname)
    if order is None:
        lengths = _lengths(reader, fieldname)
        count = reader.doc_count_all()
        order = array(
            "I", range(count) if lengths is None else sorted(range(count), key=lengths.__getitem__)
        )
        cache[fieldname] = order
    return order


def _shortest(reader: Any, term: _Term, local_hits: docsets.Membership, pool: int) -> set[int]:
    """Up to ``pool`` matching documents, shortest first (where a word weighs most)."""
    chosen: set[int] = set()
    for doc in _length_order(reader, term.fieldname):
        if doc in local_hits:
            chosen.add(doc)
            if len(chosen) >= pool:
                break
    return chosen


def _blocks_by_bound(matcher: Any, term: _Term) -> list[tuple[float, int]]:
    """(score bound, offset) of the posting blocks holding a repeated word, best first."""
    blocks = []
    position = matcher._baseoffset
    while True:
        if matcher._maxweight > 1:
            bound = term.score(matcher._maxweight, matcher._minlength)
            blocks.append((bound, position))
        if matcher._lastblock:
            break
        position = matcher._nextoffset
        matcher._goto(position)
    blocks.sort(reverse=True)
    return blocks


def _most_frequent(
    reader: Any, matcher: Any, term: _Term, local_hits: docsets.Membership, pool: int
) -> list[tuple[float, int]]:
    """(score, doc) of the ``pool`` best documents where the word is repeated, visiting the
    blocks by their bound and stopping when no block left can beat the pool."""
    lengths = _lengths(reader, term.fieldname)
    frequent: list[tuple[float, int]] = []  # a heap: the worst kept score first
    for bound, position in _blocks_by_bound(matcher, term):
        if len(frequent) >= pool and bound <= frequent[0][0]:
            break
        matcher._goto(position)
        matcher._read_ids()
        matcher._read_weights()
        for doc, tf in zip(matcher._ids, matcher._weights, strict=False):
            if tf > 1 and doc in local_hits:
                length = _LENGTHS[lengths[doc]] if lengths is not None else term.avgdl
                item = (term.score(tf, length), doc)
                if len(frequent) < pool:
                    heapq.heappush(frequent, item)
                elif item > frequent[0]:
                    heapq.heapreplace(frequent, item)
    return frequent


def _candidates(sub: Any, term: _Term, local_hits: docsets.Membership, pool: int) -> list[int]:
    """Documents likely to score best for ``term``: the shortest matching documents, and
    those where the word is most frequent (blocks visited by their largest frequency)."""
    reader = sub.reader()
    chosen = _shortest(reader, term, local_hits, pool)
    if (term.fieldname, term.btext) not in reader:
        return sorted(chosen)
    matcher = reader._terms.matcher(
        term.fieldname, term.btext, reader.schema[term.fieldname].format
    )
    if not isinstance(matcher, W3LeafMatcher):
        chosen.update(d for d in matcher.all_ids() if d in local_hits)
        return sorted(chosen)
    frequent = _most_frequent(reader, matcher, term, local_hits, pool)
    chosen.update(doc for _score, doc in frequent)
    return sorted(chosen)


def top(searcher: Any, rank: wq.Query, hits: int, limit: int) -> list[int]:
    """The ``limit`` best documents (global numbers) among ``hits`` for the ranked words."""
    terms = _terms(searcher, rank)
    if not terms or not hits:
        return []
    total = hits.bit_count()
    scored: list[tuple[float, int]] = []
    for sub, offset in searcher.leaf_searchers():
        size = sub.reader().doc_count_all()
        local = (hits >> offset) & ((1 << size) - 1)
        if not local:
            continue
        if total <= EXACT_LIMIT:
            docs = list(docsets.to_ids(local))
        else:
            driver = min(terms, key=lambda t: t.df)
            docs = _candidates(sub, driver, docsets.Membership(local), max(POOL, limit * 2))
        for doc, score in _score_docs(sub, terms, docs).items():
            scored.append((score, -(doc + offset)))
    best = heapq.nlargest(limit, scored)
    return [-neg for _score, neg in best]
