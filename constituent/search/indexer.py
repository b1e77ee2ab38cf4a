"""The indexer: drains the search queue into Whoosh, rebuilds and checks the index.

One writer at a time (store.writer_lock, an flock across processes): the embedded default
runs a background thread per process (started by the first request), a multi-process
deployment runs ``flask search worker``; either way a process that finds the lock taken skips
its turn (or waits, for the CLI) and loses nothing, because queue rows are deleted only after
Whoosh committed the documents. Documents are built from a fresh session reading committed
data. A save never waits for any of this.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session
from whoosh.filedb.filestore import FileStorage

from constituent.extensions import db
from constituent.models import SearchQueue
from constituent.search import documents, queue
from constituent.search.documents import Selection
from constituent.search.schema import INDEX_NAMES, SCHEMA_VERSION, SCHEMAS
from constituent.search.store import (
    BROKEN,
    CURRENT,
    GEN_PREFIX,
    REBUILDING,
    IndexBusy,
    SearchUnavailable,
    current_flask_app,
    current_generation,
    index_root,
    is_broken,
    open_index,
    read_json,
    rebuild_marker,
    search_index,
    status_message,
    switch_generation,
    write_json_atomic,
    writer_lock,
)

log = logging.getLogger(__name__)

KIND_INDEX = {queue.CASE: "cases", queue.CONSTITUENT: "constituents", queue.AGENCY: "agencies"}
INDEX_KIND = {v: k for k, v in KIND_INDEX.items()}
JOURNAL = "journal"

Progress = Callable[[str, int, int], None]


class RebuildInProgress(IndexBusy):
    """Another process is rebuilding the index already."""


def _app(app: Flask | None) -> Flask:
    return app or current_flask_app()


def _tz(app: Flask) -> ZoneInfo:
    return ZoneInfo(app.config["OFFICE_TIMEZONE"])


def _session() -> Session:
    """A fresh session of its own (not the request's): it reads what was committed."""
    return Session(db.engine, expire_on_commit=False)


# --- draining the queue ----------------------------------------------------------------------


@dataclass
class DrainResult:
    """What one drain did."""

    rows: int = 0
    indexed: int = 0
    removed: int = 0
    batches: int = 0


def _apply(path: Path, ids: set[int], docs: dict[int, documents.Document]) -> tuple[int, int]:
    """Write one batch into one index: update what exists, delete what no longer does."""
    ix = open_index(path)
    writer = ix.writer(timeout=30.0, delay=0.05)  # Whoosh's own lock, behind ours
    indexed = removed = 0
    try:
        for record_id in sorted(ids):
            doc = docs.get(record_id)
            if doc is None:
                writer.delete_by_term("id", str(record_id))
                removed += 1
            else:
                writer.update_document(**doc)
                indexed += 1
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    return indexed, removed


def _journal(root: Path, current: Path, wanted: dict[str, set[int]]) -> None:
    """While a rebuild runs, note what was applied to the old generation to replay it later."""
    marker = rebuild_marker(root)
    if not marker:
        return
    target = root / str(marker.get("generation", ""))
    if target == current or not target.is_dir():
        return
    with open(target / JOURNAL, "a") as fh:
        for name, ids in wanted.items():
            fh.writelines(f"{name} {i}\n" for i in sorted(ids))
        fh.flush()
        os.fsync(fh.fileno())


def drain(
    app: Flask | None = None,
    *,
    batch_size: int = 500,
    max_batches: int | None = None,
    lock_timeout: float | None = 0.0,
) -> DrainResult:
    """Apply queued changes to the current index in batches; IndexBusy if another writer runs."""
    app = _app(app)
    root = index_root(app)
    tz = _tz(app)
    result = DrainResult()
    with writer_lock(root, lock_timeout):
        gen = current_generation(root)
        if gen is None or is_broken(root, gen):
            raise SearchUnavailable(status_message(root))
        while max_batches is None or result.batches < max_batches:
            with _session() as session:
                rows = session.execute(
                    sa.select(SearchQueue.id, SearchQueue.kind, SearchQueue.record_id)
                    .order_by(SearchQueue.id)
                    .limit(batch_size)
                ).all()
                if not rows:
                    break
                wanted: dict[str, set[int]] = defaultdict(set)
                for _row_id, kind, record_id in rows:
                    if kind in KIND_INDEX:
                        wanted[KIND_INDEX[kind]].add(int(record_id))
                docs = {
                    name: documents.build(session, name, Selection(ids=sorted(ids)), tz)
                    for name, ids in wanted.items()
                }
            for name, ids in wanted.items():
                indexed, removed = _apply(gen / name, ids, docs[name])
                result.indexed += indexed
                result.removed += removed
            _journal(root, gen, wanted)
            # Only now that Whoosh has committed: forget the rows (a fresh write transaction).
            with _session() as session, session.begin():
                session.execute(
                    sa.delete(SearchQueue).where(SearchQueue.id.in_([r.id for r in rows]))
                )
            result.rows += len(rows)
            result.batches += 1
    return result


def pending(app: Flask | None = None) -> int:
    """How many queue rows wait to be indexed."""
    _app(app)
    with _session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(SearchQueue)) or 0)


# --- rebuilding ------------------------------------------------------------------------------


@dataclass
class RebuildResult:
    """A finished rebuild: the new generation and what it holds."""

    generation: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    replayed: int = 0
    reason: str = ""  # why ensure_index rebuilt (missing, damaged, another schema)


def _build_index(
    app: Flask,
    path: Path,
    name: str,
    progress: Progress | None,
    procs: int,
    batch_size: int,
    limitmb: int,
) -> int:
    path.mkdir(parents=True)
    ix = FileStorage(str(path), supports_mmap=False).create_index(SCHEMAS[name]())
    tz = _tz(app)
    with _session() as session:
        total = documents.count(session, name)
        top = documents.max_id(session, name)
        low = int(session.scalar(sa.select(sa.func.min(documents.model_for(name).id))) or 1)
    if progress:
        progress(name, 0, total)
    if total == 0:
        return 0
    # Whoosh can analyse in several processes, each writing its own segment.
    if procs > 1 and total >= 2000:
        writer = ix.writer(procs=procs, multisegment=True, limitmb=limitmb, batchsize=200)
    else:
        writer = ix.writer(limitmb=limitmb)
    done = 0
    try:
        while low <= top:
            high = low + batch_size - 1
            with _session() as session:
                docs = documents.build(session, name, Selection(low=low, high=high), tz)
            for doc in docs.values():
                writer.add_document(**doc)
            done += len(docs)
            if progress:
                progress(name, done, total)
            low = high + 1
        writer.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            writer.cancel()
        raise
    return done


def _replay_journal(app: Flask, gen: Path) -> int:
    """Apply to the new generation what was indexed into the old one during the build."""
    path = gen / JOURNAL
    if not path.exists():
        return 0
    wanted: dict[str, set[int]] = defaultdict(set)
    for line in path.read_text().splitlines():
        name, _, value = line.partition(" ")
        if name in SCHEMAS and value.isdigit():
            wanted[name].add(int(value))
    tz = _tz(app)
    count = 0
    for name, ids in wanted.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            chunk = set(ordered[start : start + 500])
            with _session() as session:
                docs = documents.build(session, name, Selection(ids=sorted(chunk)), tz)
            _apply(gen / name, chunk, docs)
            count += len(chunk)
    path.unlink()
    return count


def _remove_old_generations(root: Path, keep: set[str]) -> None:
    for child in root.iterdir():
        if child.is_dir() and child.name.startswith(GEN_PREFIX) and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)


def rebuild(
    app: Flask | None = None,
    *,
    progress: Progress | None = None,
    procs: int | None = None,
    batch_size: int = 1000,
    limitmb: int = 256,
) -> RebuildResult:
    """Build every index from the database into a new generation, then switch to it.

    Searches keep using the current generation meanwhile, and the indexer keeps applying
    saves to it; what it applied is journalled and replayed into the new generation just
    before the switch, under the writer lock, so nothing saved during the rebuild is lost.
    """
    app = _app(app)
    root = index_root(app)
    root.mkdir(parents=True, exist_ok=True)
    procs = (
        procs
        if procs is not None
        else int(app.config.get("SEARCH_INDEX_PROCS", 0) or min(os.cpu_count() or 1, 4))
    )
    started = time.monotonic()
    gen = root / f"{GEN_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    with writer_lock(root, None):
        if rebuild_marker(root):
            raise RebuildInProgress("another process is rebuilding the search index")
        gen.mkdir()
        write_json_atomic(
            root / REBUILDING,
            {
                "generation": gen.name,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.time(),
            },
        )
    result = RebuildResult(generation=gen.name)
    try:
        for name in INDEX_NAMES:
            result.counts[name] = _build_index(
                app, gen / name, name, progress, procs, batch_size, limitmb
            )
        with writer_lock(root, None):
            result.replayed = _replay_journal(app, gen)
            previous = current_generation(root)
            switch_generation(root, gen)
            (root / REBUILDING).unlink(missing_ok=True)
            broken = read_json(root / BROKEN)
            if broken and broken.get("generation") != gen.name:
                (root / BROKEN).unlink(missing_ok=True)
            # Keep the previous generation a while: other processes may still be reading it.
            keep = {gen.name} | ({previous.name} if previous is not None else set())
            _remove_old_generations(root, keep)
    except BaseException:
        with contextlib.suppress(Exception), writer_lock(root, 30.0):
            marker = read_json(root / REBUILDING)
            if marker and marker.get("generation") == gen.name:
                (root / REBUILDING).unlink(missing_ok=True)
        shutil.rmtree(gen, ignore_errors=True)
        raise
    result.seconds = time.monotonic() - started
    log.info("search index rebuilt: %s in %.1fs", result.counts, result.seconds)
    return result


def healthy(app: Flask | None = None) -> bool:
    """Whether the current generation exists, is not marked broken and opens."""
    root = index_root(_app(app))
    gen = current_generation(root)
    if gen is None or is_broken(root, gen):
        return False
    try:
        for name in INDEX_NAMES:
            ix = open_index(gen / name)
            with ix.searcher() as searcher:
                searcher.doc_count()
    except Exception as exc:
        from constituent.search.store import mark_broken

        mark_broken(root, gen, repr(exc))
        return False
    return True


class _LoggedProgress:
    """Rebuild progress for the log (the background indexer has no terminal): each index's
    start, every tenth and its end."""

    def __init__(self) -> None:
        self.shown: dict[str, int] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        tenth = 10 * done // total if total else 10
        if self.shown.get(name) == tenth:
            return
        self.shown[name] = tenth
        log.info("search index rebuild: %s %s of %s documents", name, f"{done:,}", f"{total:,}")


def stale_reason(app: Flask | None = None) -> str | None:
    """Why the current index cannot be used (missing, another schema, damaged), or None."""
    root = index_root(_app(app))
    data = read_json(root / CURRENT)
    if data is None:
        return "missing"
    if data.get("schema") != SCHEMA_VERSION:
        return f"built for search schema {data.get('schema')}, this version uses {SCHEMA_VERSION}"
    gen = current_generation(root)
    if gen is None:
        return "missing"
    if is_broken(root, gen):
        return "damaged"
    return None


def ensure_index(
    app: Flask | None = None, *, progress: Progress | None = None, check_files: bool = True
) -> RebuildResult | None:
    """Rebuild the index if it is missing, damaged or built for another schema version (and
    nobody else is rebuilding it); progress goes to ``progress`` or else to the log."""
    app = _app(app)
    root = index_root(app)
    reason = stale_reason(app)
    if reason is None and check_files and not healthy(app):
        reason = "damaged"
    if reason is None:
        return None
    if rebuild_marker(root):
        raise RebuildInProgress("another process is rebuilding the search index")
    log.warning("search index in %s is %s: rebuilding from the database", root, reason)
    result = rebuild(app, progress=progress or _LoggedProgress())
    result.reason = reason
    search_index(app).close()
    return result


def run_once(
    app: Flask | None = None, *, lock_timeout: float | None = 0.0, check_files: bool = False
) -> DrainResult:
    """One round of the indexer: rebuild a missing index, then drain the queue."""
    app = _app(app)
    ensure_index(app, check_files=check_files)
    return drain(app, lock_timeout=lock_timeout)


# --- check -----------------------------------------------------------------------------------


@dataclass
class Drift:
    """How one index differs from the database."""

    index: str
    checked: int = 0
    missing: list[int] = field(default_factory=list)  # in the database, not in the index
    extra: list[int] = field(default_factory=list)  # in the index, gone from the database
    stale: list[int] = field(default_factory=list)  # in both, but the content differs
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.stale)


def _index_stamps(app: Flask, name: str) -> tuple[dict[int, str], set[int]]:
    stamps: dict[int, str] = {}
    duplicates: set[int] = set()
    with search_index(app).reading() as reading:
        for fields in reading.searcher(name).reader().all_stored_fields():
            record_id = int(fields["id"])
            if record_id in stamps:
                duplicates.add(record_id)
            stamps[record_id] = fields.get("stamp", "")
    return stamps, duplicates


def _database_stamps(
    app: Flask, name: str, batch_size: int = 2000, progress: Progress | None = None
) -> dict[int, str]:
    tz = _tz(app)
    stamps: dict[int, str] = {}
    with _session() as session:
        total = documents.count(session, name)
        top = documents.max_id(session, name)
    low = 1
    while low <= top:
        with _session() as session:
            docs = documents.build(session, name, Selection(low=low, high=low + batch_size - 1), tz)
        stamps.update((i, d["stamp"]) for i, d in docs.items())
        if progress:
            progress(name, len(stamps), total)
        low += batch_size
    return stamps


def check(
    app: Flask | None = None, *, repair: bool = False, progress: Progress | None = None
) -> list[Drift]:
    """Compare every index with the database (ids and content hashes); repair if asked.

    Queued changes are applied first, so work in flight is not reported as drift. Repairs go
    through the queue like any save, so a concurrent indexer cannot undo them.
    """
    app = _app(app)
    ensure_index(app, progress=progress, check_files=False)
    drain(app, lock_timeout=120.0)
    report = []
    for name in INDEX_NAMES:
        in_index, duplicates = _index_stamps(app, name)
        in_db = _database_stamps(app, name, progress=progress)
        drift = Drift(index=name, checked=len(in_db))
        drift.missing = sorted(set(in_db) - set(in_index))
        drift.extra = sorted(set(in_index) - set(in_db))
        drift.stale = sorted(
            {i for i in set(in_db) & set(in_index) if in_db[i] != in_index[i]}
            | (duplicates & set(in_db))
        )
        report.append(drift)
    if repair and any(not d.ok for d in report):
        with _session() as session, session.begin():
            for drift in report:
                ids = drift.missing + drift.extra + drift.stale
                queue.queue_records(session, INDEX_KIND[drift.index], ids)
        drain(app, lock_timeout=120.0)
        for drift in report:
            drift.repaired = not drift.ok
    return report


# --- running in the background ---------------------------------------------------------------


class BackgroundIndexer:
    """A daemon thread that applies the queue soon after each commit (embedded default)."""

    def __init__(self, app: Flask, interval: float = 1.0) -> None:
        self.app = app
        self.interval = interval
        self._event = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="search-indexer", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._event.set()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stopping = True
        self._event.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        delay = 0.0
        first = True
        while not self._stopping:
            self._event.wait(delay)
            self._event.clear()
            if self._stopping:
                break
            try:
                with self.app.app_context():
                    run_once(self.app, lock_timeout=0.0, check_files=first)
                first = False
                delay = self.interval
            except IndexBusy:
                delay = self.interval
            except SearchUnavailable:
                delay = self.interval * 5
            except Exception:
                log.exception("search indexer round failed; retrying")
                delay = min(max(delay * 2, self.interval), 60.0)


_background: dict[int, BackgroundIndexer] = {}
_background_lock = threading.Lock()


def start_background_indexer(app: Flask) -> BackgroundIndexer:
    """Start (once per app) the thread that keeps the index up to date."""
    with _background_lock:
        indexer = _background.get(id(app))
        if indexer is None:
            indexer = _background[id(app)] = BackgroundIndexer(
                app, float(app.config.get("SEARCH_INDEXER_INTERVAL", 1.0))
            )
            queue.on_commit(indexer.wake)
            indexer.start()
        return indexer


def wake_background_indexer(app: Flask) -> bool:
    """Nudge the app's indexer thread, if it runs (it rebuilds a missing index first)."""
    with _background_lock:
        indexer = _background.get(id(app))
    if indexer is None:
        return False
    indexer.wake()
    return True


def stop_background_indexer(app: Flask) -> None:
    """Stop the app's thread (tests)."""
    with _background_lock:
        indexer = _background.pop(id(app), None)
    if indexer is not None:
        queue.off_commit(indexer.wake)
        indexer.stop()
