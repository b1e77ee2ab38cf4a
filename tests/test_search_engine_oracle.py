"""The fast path against Whoosh's own search, on an index large enough to exercise it.

One index of the real case schema is built per module: 5,400 documents written in several
segments, then updated and partly deleted, so common words fill many 128-posting blocks per
segment and match more than ranking.EXACT_LIMIT documents. For every kind of query (word,
AND/OR/NOT, phrase, prefix, field, date range), with and without a permission filter, the fast
path must find the same documents (so the same counts), the same facet counts and the same
top ten as the stock path, which only calls Whoosh's public API. A second group removes one
guarded internal and shows that the start-up check falls back to the stock path with a
warning, and that searches still give the same answers.
"""

from __future__ import annotations

import json
import logging
import random
import subprocess  # noqa: S404
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import whoosh
from whoosh.codec import whoosh3
from whoosh.filedb.filestore import FileStorage

from constituent.search import engine, ranking
from constituent.search import query as search_query
from constituent.search.compiler import CompileContext, compile_query, scope_filter
from constituent.search.schema import INDEX_NAMES, SCHEMA_VERSION, SCHEMAS
from constituent.search.searching import FACETS, ranking_query
from constituent.search.store import CURRENT, SearchIndex
from constituent.services.permissions import CaseSearchScope, Confidential

DOCS = 5400
BATCH = 1350  # one segment per batch
COMMON = ["pension", "benefit", "office", "called", "the", "of", "social", "security"]
MIDDLE = ["widow", "housing", "eviction", "veteran", "army", "stopped", "after", "death"]
RARE = [f"word{i}" for i in range(400)]
DISTRICTS = ("ny-21", "ny-20", "ny-19")
STATUSES = ("open", "waiting_agency", "closed")
CATEGORIES = (("veterans", "Veterans"), ("social-security", "Social Security"))
GIVEN = ("robert bob", "william bill", "margaret peggy", "")

QUERIES = [
    "pension",
    "widow",
    "pension widow",
    "pension OR housing",
    "pension NOT army",
    "housing -army -eviction",
    "(housing OR eviction) AND status:open",
    '"social security"',
    '"pension stopped after"',
    '"the office"',
    '"called the office of"',
    "pens*",
    "secur* benefit",
    "status:open",
    "district:NY-21 pension",
    "category:veterans",
    "agency:SSA",
    "assignee:me",
    "priority:emergency",
    "channel:phone",
    "zip:12901",
    "opened:2025-01-01 to 2025-06-30",
    "closed:2025",
    "opened:2025-03 housing",
    "bob",
    "word7 OR word8 OR word9",
]


def _text(rng: random.Random) -> str:
    words = []
    for _ in range(rng.randint(10, 40)):
        r = rng.random()
        if r < 0.45:
            words.append(rng.choice(COMMON))
        elif r < 0.7:
            words.append(rng.choice(MIDDLE))
        else:
            words.append(rng.choice(RARE))
    if rng.random() < 0.5:
        at = rng.randrange(len(words))
        words[at:at] = rng.choice(
            [["social", "security"], ["pension", "stopped", "after"], ["called", "the", "office"]]
        )
    return " ".join(words)


def _document(n: int, rng: random.Random) -> dict:
    opened = 20250101 + rng.randrange(12) * 100 + rng.randrange(28)
    status = rng.choice(STATUSES)
    slug, name = rng.choice(CATEGORIES)
    doc = {
        "id": str(n),
        "number": n,
        "subject": f"Case {n}",
        "text": _text(rng),
        "aka": rng.choice(GIVEN),
        "district_id": str(1 + n % 3),
        "confidential": "y" if rng.random() < 0.2 else "n",
        "assignee_id": rng.choice(["none", "5", "6"]),
        "opened_by_id": rng.choice(["none", "7", "8"]),
        "district": DISTRICTS[n % 3],
        "status": status,
        "category": slug,
        "category_words": f"{slug} {name}",
        "agency": rng.choice(["", "1", "1,2", "2"]),
        "agency_words": rng.choice(["", "social security administration ssa", "va veterans"]),
        "assignee": rng.choice(["none", "ann smith asmith", "raj patel rpatel"]),
        "priority": rng.choice(["normal", "urgent", "emergency"]),
        "channel": rng.choice(["phone", "email", "walk_in"]),
        "zip": rng.choice(["12901", "12981", "none"]),
        "opened": opened,
        "opened_ts": 1_735_000_000 + n * 3600,
        "activity_ts": 1_735_000_000 + rng.randrange(10**7),
    }
    if status == "closed":
        doc["closed"] = opened + 1
    doc["text_pairs"] = doc["text"]  # as documents.build does
    return doc


def _build(root: Path) -> None:
    gen = root / "gen-oracle"
    for name in INDEX_NAMES:
        (gen / name).mkdir(parents=True)
        ix = FileStorage(str(gen / name), supports_mmap=False).create_index(SCHEMAS[name]())
        if name != "cases":
            continue
        rng = random.Random(13)
        for start in range(0, DOCS, BATCH):
            writer = ix.writer()
            for n in range(start, start + BATCH):
                writer.add_document(**_document(n, rng))
            writer.commit(merge=False)
        # Updates (new versions in a new segment, old ones deleted) and deletions.
        writer = ix.writer()
        for n in range(0, DOCS, 37):
            writer.update_document(**_document(n, rng))
        for n in range(5, DOCS, 53):
            writer.delete_by_term("id", str(n))
        writer.commit(merge=False)
    (root / CURRENT).write_text(json.dumps({"generation": gen.name, "schema": SCHEMA_VERSION}))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    root = tmp_path_factory.mktemp("oracle-index")
    _build(root)
    engine.configure(recheck=True)
    found = SearchIndex(root)
    yield found
    found.close()


def _compiled(text: str, reader) -> tuple:  # type: ignore[no-untyped-def]
    parsed = search_query.parse(text)
    return parsed, compile_query(parsed, CompileContext("cases", 5, reader))


SCOPES = {
    "everything": None,
    "caseworker": CaseSearchScope((1, 2), Confidential.ASSIGNED, assignee_id=5),
    "intake": CaseSearchScope((1, 2, 3), Confidential.NONE, opened_by_id=7),
}


def _answers(search_engine: engine.WhooshEngine, reading, text: str, scope) -> dict:  # type: ignore[no-untyped-def]
    searcher = reading.searcher("cases")
    parsed, q = _compiled(text, searcher.reader())
    assert q is not None, text
    if scope is None:
        allowed = (1 << searcher.doc_count_all()) - 1
    else:
        allowed = search_engine.allowed(reading, "cases", scope_filter(scope))
    hits = search_engine.match(searcher, q, allowed) & allowed
    rank = ranking_query(parsed, searcher.reader())
    top = search_engine.top(searcher, rank, hits, 10) if rank is not None else []
    facets = search_engine.facets(reading, "cases", hits, [f for f, _t in FACETS])
    newest = search_engine.newest(search_engine.column(reading, "cases", "opened_ts"), hits, 10)
    return {
        "hits": hits,
        "count": search_engine.count(hits),
        "top": top,
        "facets": facets,
        "newest": newest,
    }


def test_the_index_exercises_every_branch_of_the_fast_path(index: SearchIndex) -> None:
    assert engine.current() is engine.FAST
    with index.reading() as reading:
        searcher = reading.searcher("cases")
        leaves = searcher.leaf_searchers()
        assert len(leaves) >= 4
        assert any(sub.reader().has_deletions() for sub, _o in leaves)
        # Common words fill several posting blocks in every segment written in one batch.
        batches = [sub for sub, _o in leaves if sub.doc_count_all() >= BATCH]
        assert len(batches) == DOCS // BATCH
        assert all(sub.reader().doc_frequency("text", "pension") > 3 * 128 for sub in batches)
        # Phrases go through the word pairs (then positions for three words or more).
        assert searcher.doc_frequency("text_pairs", "social secur") > 3 * 128
        big = _answers(engine.FAST, reading, "pension", None)
        assert big["count"] > ranking.EXACT_LIMIT
        small = _answers(engine.FAST, reading, "widow", SCOPES["intake"])
        assert 0 < small["count"] <= ranking.EXACT_LIMIT


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("text", QUERIES)
def test_the_fast_path_answers_as_whoosh_does(index: SearchIndex, text: str, scope: str) -> None:
    with index.reading() as reading:
        fast = _answers(engine.FAST, reading, text, SCOPES[scope])
        stock = _answers(engine.STOCK, reading, text, SCOPES[scope])
    assert fast["count"] == stock["count"], text
    assert fast["hits"] == stock["hits"], text
    assert fast["facets"] == stock["facets"], text
    assert fast["top"] == stock["top"], text
    assert fast["newest"] == stock["newest"], text


def test_every_query_kind_finds_something(index: SearchIndex) -> None:
    with index.reading() as reading:
        empty = [t for t in QUERIES if not _answers(engine.FAST, reading, t, None)["count"]]
    assert empty == []


@pytest.fixture
def restore_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Whoosh as it was, and the engine chosen again for it (the fast path), after the test."""
    yield
    monkeypatch.undo()
    assert engine.configure(recheck=True) is engine.FAST


def _without_baseoffset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoosh as if a release had renamed W3LeafMatcher._baseoffset (read by ranking.py)."""
    original = whoosh3.W3LeafMatcher.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        del self._baseoffset

    monkeypatch.setattr(whoosh3.W3LeafMatcher, "__init__", init)


def test_a_missing_internal_makes_the_engine_fall_back_with_a_warning(
    index: SearchIndex,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    restore_engine: None,
) -> None:
    with index.reading() as reading:
        before = {t: _answers(engine.FAST, reading, t, SCOPES["caseworker"]) for t in QUERIES}
    _without_baseoffset(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="constituent.search.engine"):
        chosen = engine.configure(recheck=True)
    assert chosen is engine.STOCK
    assert engine.current() is engine.STOCK
    assert "W3LeafMatcher._baseoffset" in caplog.text
    assert "using Whoosh's own search" in caplog.text
    with index.reading() as reading:
        for text in QUERIES:
            after = _answers(engine.current(), reading, text, SCOPES["caseworker"])
            assert after == before[text], text


def test_the_fast_path_would_have_failed_without_the_fallback(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard matters: the same missing internal breaks the fast path itself."""
    _without_baseoffset(monkeypatch)
    with index.reading() as reading, pytest.raises(AttributeError, match="_baseoffset"):
        _answers(engine.FAST, reading, "pension", None)


def test_another_whoosh_release_uses_the_stock_path(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, restore_engine: None
) -> None:
    monkeypatch.setattr(whoosh, "__version__", (2, 8, 0))
    with caplog.at_level(logging.WARNING, logger="constituent.search.engine"):
        assert engine.configure(recheck=True) is engine.STOCK
    assert "Whoosh 2.8.0 is installed" in caplog.text


def test_a_deleted_document_list_that_moved_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, restore_engine: None
) -> None:
    """If Whoosh renamed deleted_docs_set, deleted cases must not come back: stock path."""
    from whoosh.reading import SegmentReader

    monkeypatch.delattr(SegmentReader, "deleted_docs_set")
    with caplog.at_level(logging.WARNING, logger="constituent.search.engine"):
        assert engine.configure(recheck=True) is engine.STOCK
    assert "SegmentReader.deleted_docs_set" in caplog.text


def test_processes_starting_together_all_keep_the_fast_path() -> None:
    """Gunicorn starts its workers together, and each checks the engine on a probe index: the
    probes must not share Whoosh's temporary folder, or they delete each other's files and every
    worker falls back to the slow path."""
    script = "from constituent.search import engine; print(len(engine.check_whoosh()))"
    runs = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    answers = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert answers == ["0"] * 6, "a probe failed when processes checked at the same time"
