"""Whoosh schemas for cases, constituents and agencies, and the analyzers they share.

Text is stemmed (English Porter) with no stop list: Whoosh's StopFilter renumbers positions,
so "pension after death" would match the text "pension death". Each word whose stem differs
from it is also indexed at the same position as ``=word`` (the original, marked), so that a
prefix typed by a person ("stopp*") finds "stopped" although its stem is "stop", and so that
spelling suggestions can offer real words rather than stems.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nicknames import NickNamer
from whoosh import columns, fields
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, Token, Tokenizer
from whoosh.lang.porter import stem
from whoosh.support.charset import accent_map

# Bump when a schema or analyzer changes: an index built by another version is rebuilt.
# 4: text_pairs (each two neighbouring words as one term) for phrases.
SCHEMA_VERSION = 4

ORIGINAL_MARK = "="
INDEX_NAMES = ("cases", "constituents", "agencies")


@dataclass(frozen=True)
class _Pass:
    """What Whoosh asks of one tokenizing pass over a value."""

    positions: bool
    chars: bool
    keeporiginal: bool
    start_pos: int
    start_char: int
    tokenize: bool
    index: bool  # indexing (not parsing a query)


class _OnePassTokenizer(Tokenizer):
    """A tokenizer that does the whole analysis itself, reusing one Token, and equals any
    other of its type (Whoosh compares the analyzers of a stored schema with the code's)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        how = _Pass(
            positions, chars, keeporiginal, start_pos, start_char, tokenize, mode == "index"
        )
        return self._tokens(t, value, how)

    def _tokens(self, t: Token, value: str, how: _Pass) -> Iterator[Token]:
        raise NotImplementedError


class StemmingTokenizer(_OnePassTokenizer):
    """Words, lower-cased, accents folded, stemmed; at index time each word whose stem differs
    is also emitted at the same position as ``=word``. One pass (a chain of Whoosh filters
    costs a generator per filter per word, and indexing time is mostly analysis)."""

    def __init__(self, cachesize: int = 100_000) -> None:
        self.cachesize = cachesize
        self._stem = functools.lru_cache(maxsize=cachesize)(stem)

    def __getstate__(self) -> dict[str, object]:
        # The schema is pickled into the index: keep the cache out of it.
        return {"cachesize": self.cachesize}

    def __setstate__(self, state: dict[str, object]) -> None:
        cachesize = state.get("cachesize", 100_000)
        self.cachesize = cachesize if isinstance(cachesize, int) else 100_000
        self._stem = functools.lru_cache(maxsize=self.cachesize)(stem)

    def _tokens(self, t: Token, value: str, how: _Pass) -> Iterator[Token]:
        stem_word = self._stem
        positions, chars, index = how.positions, how.chars, how.index
        keeporiginal, start_char = how.keeporiginal, how.start_char
        matches = WORD_RE.finditer(value) if how.tokenize else [None]
        pos = how.start_pos
        for m in matches:
            raw = m.group() if m is not None else value
            word = raw.lower().translate(accent_map)
            stemmed = stem_word(word)
            t.text = stemmed
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = raw
            if positions:
                t.pos = pos
            if chars:
                begin = m.start() if m is not None else 0
                t.startchar = start_char + begin
                t.endchar = start_char + begin + len(raw)
            yield t
            if index and stemmed != word:
                # Consumers read each token before the next is made (Whoosh's own
                # tokenizers reuse one Token object the same way).
                t.text = ORIGINAL_MARK + word
                yield t
            pos += 1


WORD_RE = re.compile(r"\w+(?:[.'’]\w+)*")
PAIRS_FIELD = "text_pairs"
_pair_stem = functools.lru_cache(maxsize=100_000)(stem)


def pair_term(first: str, second: str) -> str:
    """The text_pairs term of two neighbouring stems."""
    return f"{first} {second}"


class PairTokenizer(_OnePassTokenizer):
    """Each two neighbouring words of a text, stemmed as the ``text`` field stems them, as one
    term ("pension stop"): a phrase is then an AND of its pairs (exact for two words), and
    word positions are compared only in the few documents holding every pair."""

    def _tokens(self, t: Token, value: str, how: _Pass) -> Iterator[Token]:
        positions = how.positions
        t.boost = 1.0
        t.stopped = False
        previous = None
        pos = how.start_pos
        for m in WORD_RE.finditer(value):
            word = _pair_stem(m.group().lower().translate(accent_map))
            if previous is not None:
                t.text = pair_term(previous, word)
                if positions:
                    t.pos = pos
                    pos += 1
                yield t
            previous = word


def text_analyzer() -> StemmingTokenizer:
    """Words, lower-cased, accents folded, stemmed; positions untouched (no stop words)."""
    return StemmingTokenizer()


def keyword_analyzer() -> Any:
    """Words, lower-cased and accent-folded, not stemmed (names, nicknames, field values)."""
    return RegexTokenizer(r"[\w-]+") | LowercaseFilter() | CharsetFilter(accent_map)


TEXT = text_analyzer()
KEYWORDS = keyword_analyzer()


def pairs_field() -> fields.FieldType:
    """Word pairs of the ``text`` field: which documents hold each pair, nothing more."""
    return fields.ID(analyzer=PairTokenizer())


def case_schema() -> fields.Schema:
    """One document per case: everything staff wrote or received, plus what filters need."""
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        number=fields.STORED(),
        # Everything searchable by plain words: subject, description, notes, responses, mail,
        # the constituent's names, city and ZIP, agency names, category.
        text=fields.TEXT(analyzer=TEXT, phrase=True),
        # The same text as neighbouring word pairs (phrases: docsets.phrase_match).
        text_pairs=pairs_field(),
        # Given-name variants (Bob for Robert): matched by words at a lower weight.
        aka=fields.TEXT(analyzer=KEYWORDS, phrase=False, field_boost=0.5),
        subject=fields.STORED(),
        body=fields.STORED(),  # zlib-compressed display text, for highlighted passages
        stamp=fields.STORED(),  # content hash: `flask search check` compares it with the DB
        # What compiler.scope_filter() needs (services/permissions.case_search_scope).
        district_id=fields.ID(),
        confidential=fields.ID(),
        assignee_id=fields.ID(),
        opened_by_id=fields.ID(),
        # Field filters and facets.
        district=fields.ID(),
        status=fields.ID(),
        category=fields.ID(),
        category_words=fields.KEYWORD(analyzer=KEYWORDS),
        agency=fields.KEYWORD(commas=True),
        agency_words=fields.KEYWORD(analyzer=KEYWORDS),
        assignee=fields.KEYWORD(analyzer=KEYWORDS),
        priority=fields.ID(),
        channel=fields.ID(),
        zip=fields.ID(),
        # Dates: local calendar days (YYYYMMDD) for ranges, epoch seconds for sorting.
        opened=fields.NUMERIC(int, bits=32, signed=False, shift_step=8),
        closed=fields.NUMERIC(int, bits=32, signed=False, shift_step=8),
        # Only sorted on, never searched: a column costs no postings.
        opened_ts=fields.COLUMN(columns.NumericColumn("q")),
        activity_ts=fields.COLUMN(columns.NumericColumn("q")),
    )


def constituent_schema() -> fields.Schema:
    """One document per (not merged-away) constituent: names, aliases, address, contacts."""
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        text=fields.TEXT(analyzer=TEXT, phrase=True),
        text_pairs=pairs_field(),
        aka=fields.TEXT(analyzer=KEYWORDS, phrase=False, field_boost=0.5),
        stamp=fields.STORED(),
        district_id=fields.ID(),
        district=fields.ID(),
        zip=fields.ID(),
    )


def agency_schema() -> fields.Schema:
    """One document per agency: name, acronym, level, categories, contacts, notes."""
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        text=fields.TEXT(analyzer=TEXT, phrase=True),
        text_pairs=pairs_field(),
        stamp=fields.STORED(),
        agency_words=fields.KEYWORD(analyzer=KEYWORDS),
        category_words=fields.KEYWORD(analyzer=KEYWORDS),
    )


SCHEMAS = {"cases": case_schema, "constituents": constituent_schema, "agencies": agency_schema}


@functools.cache
def _nicknamer() -> NickNamer:
    return NickNamer()


_NAME_RE = re.compile(r"[^a-z]")


def name_variants(given_name: str | None) -> set[str]:
    """Other forms of a given name: its nicknames and the names it is a nickname of."""
    if not given_name:
        return set()
    key = _NAME_RE.sub("", given_name.lower())
    if not key:
        return set()
    namer = _nicknamer()
    variants = set(namer.nicknames_of(key)) | set(namer.canonicals_of(key))
    variants.discard(key)
    return variants
