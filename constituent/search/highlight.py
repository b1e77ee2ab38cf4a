"""Highlighted passages: the searched words in <mark>, every other character escaped."""

from __future__ import annotations

import functools
import re

from markupsafe import Markup, escape
from whoosh import query as wq
from whoosh.lang.porter import stem
from whoosh.support.charset import accent_map

from constituent.search.schema import ORIGINAL_MARK

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
