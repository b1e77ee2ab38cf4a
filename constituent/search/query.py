"""The search language: words, "phrases", prefix*, field:value, date ranges, AND/OR/NOT.

``parse`` turns what a person typed into a small tree, or raises DomainError with an
explanation fit for the person (never a 500). This module knows no search library:
search/compiler.py turns the tree into a Whoosh query for one index.

    pension widow               both words (AND is implied)
    "pension stopped"           the words in this order
    pens*                       words starting with "pens" (at least 3 letters)
    status:open district:NY-21 category:veterans agency:SSA assignee:me priority:emergency
    channel:walk-in zip:12901
    opened:2026-01-01 to 2026-03-31   closed:2026-02   opened:2026
    housing OR eviction         either word;  NOT army, -army: without the word
    (housing OR eviction) AND status:open
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from constituent.models import CaseStatus, Channel, Priority
from constituent.services.errors import DomainError

MAX_LENGTH = 500
MAX_TERMS = 32
MAX_DEPTH = 8
MIN_PREFIX = 3

FIELDS = (
    "district",
    "status",
    "category",
    "agency",
    "assignee",
    "priority",
    "channel",
    "zip",
    "opened",
    "closed",
)
FIELD_LIST = ", ".join(f"{f}:" for f in FIELDS)
EXAMPLES = (
    'e.g. pension widow, "pension stopped", pens*, status:open, opened:2026-01-01 to 2026-03-31'
)
# Which index knows which filter.
SUPPORTED = {
    "cases": set(FIELDS),
    "constituents": {"district", "zip"},
    "agencies": {"agency", "category"},
}


# --- the tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    """A node that is text to look for; its class says how."""

    text: str


class Word(_Text):
    """A word, matched as the index matches words."""


class Phrase(_Text):
    """Words in this order (a quoted phrase)."""


class Prefix(_Text):
    """The start of a word (``move*``)."""


@dataclass(frozen=True)
class FieldValue:
    name: str
    value: str


@dataclass(frozen=True)
class DateRange:
    name: str
    start: date
    end: date


@dataclass(frozen=True)
class _Group:
    """A node that joins its children; its class says how."""

    children: tuple[Node, ...]


class And(_Group):
    """Every child matches."""


class Or(_Group):
    """At least one child matches."""


@dataclass(frozen=True)
class Not:
    child: Node


Node = Word | Phrase | Prefix | FieldValue | DateRange | And | Or | Not


@dataclass
class Parsed:
    """A parsed search: its tree and the plain words in it (for spelling suggestions)."""

    tree: Node
    words: list[str] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)


# --- lexing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # word, phrase, field, lparen, rparen, and, or, not
    text: str = ""
    name: str = ""  # the field name of a field token
    quoted: bool = False


_FIELD_RE = re.compile(r"^([A-Za-z_]+):(.*)$", re.S)
_OPERATORS = {"AND": "and", "OR": "or", "NOT": "not", "&&": "and", "||": "or"}


def _clean(text: str) -> str:
    if len(text) > MAX_LENGTH:
        raise DomainError(
            f"This search is {len(text):,} characters long; searches are limited to "
            f"{MAX_LENGTH} characters. Type the few words you remember instead.",
            field="q",
        )
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[\t\n\r\f\v]", " ", text)
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in text):
        raise DomainError(
            "The search contains an invisible control character (often pasted by accident). "
            "Retype the search.",
            field="q",
        )
    return text.replace("“", '"').replace("”", '"').replace("„", '"')


def _closing_quote(text: str, opening: int, example: str) -> int:
    """Where the quotation mark opened at ``opening`` closes; a clear refusal (showing
    ``example``) when it never does."""
    end = text.find('"', opening + 1)
    if end < 0:
        raise DomainError(
            "A quotation mark is not closed. Put a phrase between two quotation "
            f"marks, e.g. {example}.",
            field="q",
        )
    return end


def _lex(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "(":
            tokens.append(_Tok("lparen"))
            i += 1
        elif c == ")":
            tokens.append(_Tok("rparen"))
            i += 1
        elif c == '"':
            end = _closing_quote(text, i, '"pension stopped"')
            tokens.append(_Tok("phrase", text[i + 1 : end], quoted=True))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                j += 1
            raw = text[i:j]
            if j < n and text[j] == '"' and raw.endswith(":") and _FIELD_RE.match(raw):
                end = _closing_quote(text, j, 'category:"social security"')
                tokens.append(_Tok("field", text[j + 1 : end], name=raw[:-1].lower(), quoted=True))
                i = end + 1
                continue
            i = j
            if raw in _OPERATORS:
                tokens.append(_Tok(_OPERATORS[raw]))
            elif raw.startswith("-") and len(raw) > 1:
                tokens.append(_Tok("not"))
                tokens.append(_word_token(raw[1:]))
            else:
                tokens.append(_word_token(raw))
    return tokens


def _word_token(raw: str) -> _Tok:
    m = _FIELD_RE.match(raw)
    if m and m.group(1).lower() in FIELDS:
        return _Tok("field", m.group(2), name=m.group(1).lower())
    if m and m.group(2) and not m.group(2).startswith("/"):
        raise DomainError(
            f"There is no “{m.group(1)}” filter. You can filter by {FIELD_LIST} e.g. status:open.",
            field="q",
        )
    return _Tok("word", raw)


# --- parsing ---------------------------------------------------------------------------------

_OP_NAMES = {"and": "AND", "or": "OR", "not": "NOT"}


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.terms = 0
        self.words: list[str] = []
        self.fields: set[str] = set()

    def peek(self, offset: int = 0) -> _Tok | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def next(self) -> _Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            if tok.kind == "rparen":
                raise DomainError("A closing parenthesis “)” has no opening “(”.", field="q")
            raise DomainError("The search could not be read. " + EXAMPLES, field="q")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.next()
            self._needs_operand("or")
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind not in ("or", "rparen"):
            if tok.kind == "and":
                self.next()
                self._needs_operand("and")
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def _needs_operand(self, op: str) -> None:
        tok = self.peek()
        name = _OP_NAMES[op]
        if tok is None or tok.kind == "rparen":
            raise DomainError(
                f"“{name}” needs a search term after it, e.g. housing {name} eviction.", field="q"
            )
        if tok.kind in ("and", "or"):
            raise DomainError(
                f"“{name}” is followed by “{_OP_NAMES[tok.kind]}”: put a search term "
                f"between them, e.g. housing {name} eviction.",
                field="q",
            )

    def unary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise DomainError("The search ends too early. " + EXAMPLES, field="q")
        if tok.kind == "not":
            self.next()
            nxt = self.peek()
            if nxt is None or nxt.kind in ("rparen", "and", "or"):
                raise DomainError(
                    "“NOT” (or “-”) needs a search term after it, e.g. pension NOT army.", field="q"
                )
            return Not(self.unary())
        if tok.kind in ("and", "or"):
            name = _OP_NAMES[tok.kind]
            raise DomainError(
                f"“{name}” needs a search term on each side, e.g. housing {name} eviction.",
                field="q",
            )
        return self.primary()

    def primary(self) -> Node:
        tok = self.next()
        if tok.kind == "lparen":
            if self.depth >= MAX_DEPTH:
                raise DomainError("Too many nested parentheses.", field="q")
            nxt = self.peek()
            if nxt is not None and nxt.kind == "rparen":
                raise DomainError(
                    "Empty parentheses “()”: put search terms inside them.", field="q"
                )
            if nxt is None:
                raise DomainError("A parenthesis “(” is not closed.", field="q")
            self.depth += 1
            node = self.or_expr()
            self.depth -= 1
            closing = self.peek()
            if closing is None or closing.kind != "rparen":
                raise DomainError("A parenthesis “(” is not closed.", field="q")
            self.next()
            return node
        if tok.kind == "rparen":
            raise DomainError("A closing parenthesis “)” has no opening “(”.", field="q")
        self._count()
        if tok.kind == "phrase":
            if not tok.text.strip():
                raise DomainError(
                    'Empty quotation marks: put words between them, e.g. "pension stopped".',
                    field="q",
                )
            self.words.extend(tok.text.split())
            return Phrase(tok.text.strip())
        if tok.kind == "field":
            return self.field_value(tok)
        text = tok.text
        if "*" in text:
            stem = text.rstrip("*")
            if "*" in stem or "?" in stem:
                raise DomainError(
                    "Only a * at the end of a word is supported, e.g. pens* for pension.", field="q"
                )
            letters = re.sub(r"\W", "", stem)
            if len(letters) < MIN_PREFIX:
                raise DomainError(
                    f"Type at least {MIN_PREFIX} letters before “*”, e.g. pens*.", field="q"
                )
            return Prefix(stem)
        self.words.append(text)
        return Word(text)

    def _count(self) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise DomainError(
                f"This search has more than {MAX_TERMS} terms; use the few words that matter.",
                field="q",
            )

    def field_value(self, tok: _Tok) -> Node:
        name, value = tok.name, tok.text.strip()
        self.fields.add(name)
        if not value:
            example = {"opened": "opened:2026-01-01 to 2026-03-31", "closed": "closed:2026-03"}.get(
                name, f"{name}:{_example(name)}"
            )
            raise DomainError(f"“{name}:” needs a value, e.g. {example}.", field="q")
        if name in ("opened", "closed"):
            return self.date_range(name, value)
        if name == "zip":
            if not re.fullmatch(r"\d{5}", value):
                raise DomainError(
                    f"ZIP “{value}” should be five digits, e.g. zip:12901.", field="q"
                )
        elif name in CHOICES:
            resolve_choice(name, value)  # raises on an unknown value
        return FieldValue(name, value)

    def date_range(self, name: str, value: str) -> Node:
        if ".." in value:
            first, _, last = value.partition("..")
        else:
            first, last = value, ""
            nxt, after = self.peek(), self.peek(1)
            if (
                nxt is not None
                and nxt.kind == "word"
                and nxt.text.lower() in ("to", "-")
                and after is not None
                and after.kind == "word"
            ):
                self.next()
                last = self.next().text
            elif nxt is not None and nxt.kind == "word" and nxt.text.lower() == "to":
                raise DomainError(
                    f"“{name}:{value} to” needs an end date, e.g. {name}:2026-01-01 to 2026-03-31.",
                    field="q",
                )
        start = _parse_date(first, name, end=False)
        end = _parse_date(last or first, name, end=True)
        if start > end:
            raise DomainError(
                f"The {name} range starts after it ends ({start:%Y-%m-%d} is after "
                f"{end:%Y-%m-%d}).",
                field="q",
            )
        return DateRange(name, start, end)


def _example(name: str) -> str:
    return {
        "district": "NY-21",
        "status": "open",
        "category": "veterans",
        "agency": "SSA",
        "assignee": "me",
        "priority": "emergency",
        "channel": "phone",
    }.get(name, "value")


def _parse_date(text: str, name: str, end: bool) -> date:
    """'2026-03-31' → that day; '2026-03' → the month's first/last day; '2026' → the year's."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text)
    if m is None:
        raise DomainError(
            f"“{text}” is not a date. Write dates as YYYY-MM-DD, e.g. "
            f"{name}:2026-01-01 to 2026-03-31 (or {name}:2026-03 for a month).",
            field="q",
        )
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if month is None:
            return date(year, 12, 31) if end else date(year, 1, 1)
        if day is None:
            first = date(year, int(month), 1)
            if not end:
                return first
            following = date(year + (first.month == 12), first.month % 12 + 1, 1)
            return following - timedelta(days=1)
        return date(year, int(month), int(day))
    except ValueError:
        raise DomainError(
            f"“{text}” is not a real date. Write dates as YYYY-MM-DD, e.g. "
            f"{name}:2026-01-01 to 2026-03-31.",
            field="q",
        ) from None


CHOICES: dict[str, dict[str, str]] = {
    "status": {s.value: s.label for s in CaseStatus},
    "priority": {p.value: p.label for p in Priority},
    "channel": {c.value: c.label for c in Channel},
}


def _norm_choice(value: str) -> str:
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


def resolve_choice(name: str, value: str) -> list[str]:
    """The values of an enumerated filter a person meant: status:waiting is both waits."""
    choices = CHOICES[name]
    key = _norm_choice(value)
    if key in choices:
        return [key]
    starts = [v for v in choices if v.startswith(key) or v.replace("_", "").startswith(key)]
    if key and starts:
        return starts
    allowed = ", ".join(v.replace("_", "-") for v in choices)
    raise DomainError(
        f"{name.capitalize()} “{value}” is not known. Use one of: {allowed}.", field="q"
    )


def parse(text: str) -> Parsed:
    """Parse a search; DomainError (with a person's explanation) when it cannot be read."""
    cleaned = _clean(text or "")
    tokens = _lex(cleaned)
    if not tokens:
        raise DomainError("Type something to search for. " + EXAMPLES, field="q")
    parser = _Parser(tokens)
    tree = parser.parse()
    if not _has_positive(tree):
        raise DomainError(
            "The search only says what to leave out. Add what to look for, e.g. "
            "pension NOT army, or status:open NOT housing.",
            field="q",
        )
    return Parsed(tree=tree, words=parser.words, fields=parser.fields)


def _has_positive(node: Node) -> bool:
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_has_positive(c) for c in node.children)
    if isinstance(node, Or):
        return all(_has_positive(c) for c in node.children)
    return True


# --- case numbers ----------------------------------------------------------------------------


def case_number(text: str, prefix: str = "C-") -> int | None:
    """The case number when the whole search is one: '1042', 'C-1042', '#1042', 'case 1042'."""
    from constituent.services.cases import parse_case_number

    return parse_case_number(text, prefix)
