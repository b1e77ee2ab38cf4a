"""Where the index lives on disk, who may write it, and the searchers a process keeps open.

Layout of SEARCH_INDEX_DIR::

    CURRENT            {"generation": "gen-…", "schema": N}: replaced atomically (os.replace)
    gen-…/cases/       one Whoosh index per kind, inside one generation directory
    gen-…/constituents/
    gen-…/agencies/
    writer.lock        flock()ed by whoever writes (indexer batches, the swap after a rebuild)
    REBUILDING         {"generation": …, "pid": …, "host": …}: a rebuild is under way
    BROKEN             the generation a reader found corrupt: the indexer rebuilds it

A reindex builds a new generation beside the current one and switches CURRENT, so searches
keep working on the old one meanwhile. Indexes are opened with FileStorage(supports_mmap=False):
Whoosh otherwise copies every mapped segment into memory (hundreds of MB per process).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import sys
import threading
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex
from whoosh.searching import Searcher

from constituent.search.schema import INDEX_NAMES, SCHEMA_VERSION
from constituent.services.errors import DomainError

log = logging.getLogger(__name__)


def load_column(reader: Any, doccount: int) -> array[int]:
    """A fixed-width numeric column read into memory in one read (default values filled in)."""
    typecode = reader._typecode
    size = reader._fixedlen
    raw = reader._dbfile.get(reader._basepos, reader._count * size)
    values: array[int] = array(typecode)
    values.frombytes(bytes(raw))
    if size > 1 and sys.byteorder == "little":
        values.byteswap()  # Whoosh writes columns big-endian ("!")
    missing = doccount - len(values)
    if missing > 0:
        values.extend([reader._default] * missing)
    return values


def patch_whoosh() -> None:
    """Whoosh 2.7 looks for a field-length column file on disk (a stat() call) for every
    posting of a field without lengths, because it caches only readers it found. Remember
    that a finished segment has no such column too (segments never gain columns).

    Applied by engine.configure once the start-up check found the private method it wraps."""
    from whoosh.codec import whoosh3

    reader_class = whoosh3.W3PerDocReader
    if getattr(reader_class, "_constituent_patched", False):
        return
    original = reader_class._cached_reader

    def _cached_reader(self: Any, fieldname: str, column: Any) -> Any:
        missing = self.__dict__.setdefault("_constituent_missing", set())
        if fieldname in missing:
            return None
        reader = original(self, fieldname, column)
        if reader is None:
            missing.add(fieldname)
        elif fieldname.endswith("_len") and not isinstance(reader, array):
            # Field lengths (one byte per document) are read for every document scored;
            # without mmap each read is a seek and a read. Keep them in memory instead.
            reader = self._readers[fieldname] = load_column(reader, self._doccount)
        return reader

    reader_class._cached_reader = _cached_reader
    reader_class._constituent_patched = True


CURRENT = "CURRENT"
LOCK = "writer.lock"
REBUILDING = "REBUILDING"
BROKEN = "BROKEN"
GEN_PREFIX = "gen-"
# A REBUILDING marker this old, or from a process that is gone, is abandoned.
STALE_REBUILD_SECONDS = 6 * 3600

MESSAGE_REBUILDING = (
    "The search index is being rebuilt. Search will be back in a few "
    "minutes; everything you save meanwhile is kept and will be found."
)
MESSAGE_MISSING = (
    "The search index is missing or damaged and is being rebuilt. Search will "
    "be back in a few minutes; nothing you saved is lost."
)


class IndexBusy(Exception):
    """Another process holds the writer lock (it is indexing or swapping in a rebuild)."""


class SearchUnavailable(DomainError):
    """The index cannot answer now (missing, damaged or being rebuilt). Saving still works."""

    status_code = 503


def current_flask_app() -> Flask:
    """The app behind flask.current_app: the object itself, not the proxy (kept by identity)."""
    proxy: Any = current_app
    app: Flask = proxy._get_current_object()
    return app


def index_root(app: Flask | None = None) -> Path:
    """SEARCH_INDEX_DIR of the app (created on demand)."""
    app = app or current_app
    return Path(app.config["SEARCH_INDEX_DIR"])


# --- the CURRENT pointer ---------------------------------------------------------------------


def read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON file as a dict, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write a small JSON file so that readers see the old or the new content, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def current_generation(root: Path) -> Path | None:
    """The generation directory CURRENT points at, if it exists and has this schema version."""
    data = read_json(root / CURRENT)
    if not data or data.get("schema") != SCHEMA_VERSION:
        return None
    name = str(data.get("generation", ""))
    if not name.startswith(GEN_PREFIX) or "/" in name:
        return None
    gen = root / name
    if not all((gen / kind).is_dir() for kind in INDEX_NAMES):
        return None
    return gen


def switch_generation(root: Path, gen: Path) -> None:
    """Point CURRENT at ``gen`` atomically (callers hold the writer lock)."""
    write_json_atomic(root / CURRENT, {"generation": gen.name, "schema": SCHEMA_VERSION})


def open_index(path: Path) -> FileIndex:
    """Open one Whoosh index without memory-mapping it."""
    return FileStorage(str(path), supports_mmap=False).open_index()


def mark_broken(root: Path, gen: Path, reason: str) -> None:
    """Record that ``gen`` is damaged, so that the indexer rebuilds it."""
    log.error("search index %s is damaged (%s); it will be rebuilt", gen, reason)
    with contextlib.suppress(OSError):
        write_json_atomic(
            root / BROKEN, {"generation": gen.name, "reason": reason[:300], "at": time.time()}
        )


def is_broken(root: Path, gen: Path) -> bool:
    """Whether a reader marked ``gen`` as damaged."""
    data = read_json(root / BROKEN)
    return bool(data and data.get("generation") == gen.name)


def rebuild_marker(root: Path) -> dict[str, Any] | None:
    """The REBUILDING marker if a rebuild is really under way (stale markers are ignored)."""
    data = read_json(root / REBUILDING)
    if not data:
        return None
    if time.time() - float(data.get("started", 0)) > STALE_REBUILD_SECONDS:
        return None
    if data.get("host") == socket.gethostname():
        try:
            os.kill(int(data.get("pid", 0)), 0)
        except ProcessLookupError:
            return None
        except (PermissionError, ValueError, OverflowError):
            pass
    return data


def status_message(root: Path) -> str:
    """What to tell a person while the index cannot answer."""
    return MESSAGE_REBUILDING if rebuild_marker(root) else MESSAGE_MISSING


# --- the writer lock -------------------------------------------------------------------------


@contextlib.contextmanager
def writer_lock(root: Path, timeout: float | None = 0.0) -> Iterator[None]:
    """Hold the index's writer lock: one writer at a time across processes and threads.

    ``timeout`` 0 tries once, None waits as long as it takes; IndexBusy when not acquired.
    The lock is an flock() on writer.lock: the kernel releases it if the holder dies.
    """
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.01
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if deadline is not None and time.monotonic() >= deadline:
                    raise IndexBusy("another process is writing the search index") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _refreshed(index: FileIndex, searcher: Searcher) -> Searcher:
    """A new searcher on the latest version of the index.

    Not searcher.refresh(): Whoosh 2.7's refresh reuses the readers of segments it has seen
    (keeping their old deletion lists, so an updated document would match in its old
    version too) and re-adds segments a merge removed. Opening afresh costs about a
    millisecond without mmap; the per-segment caches above survive it.
    """
    fresh = index.searcher()
    searcher.close()
    return fresh


def segment_id(searcher: Searcher) -> str:
    """The id of a leaf searcher's segment ("empty" for an index without documents)."""
    segment = searcher.reader().segment()
    return segment.segment_id() if segment is not None else "empty"


# --- searchers kept open by a process --------------------------------------------------------


@dataclass
class _Open:
    gen: Path
    indexes: dict[str, FileIndex]
    searchers: dict[str, Searcher]
    # Per searcher version: permitted documents, facets, columns (engine.py); cleared on refresh.
    filters: dict[tuple[str, str], Any] = field(default_factory=dict)
    # Per segment (segments never change once written, only gain deletions): document number
    # sets keyed by (segment id, offset, what). Kept across refreshes, pruned to live segments.
    segments: dict[tuple[str, int, str], Any] = field(default_factory=dict)

    def prune_segments(self) -> None:
        live = set()
        for searcher in self.searchers.values():
            for sub, offset in searcher.leaf_searchers():
                live.add((segment_id(sub), offset))
        for key in [k for k in self.segments if (k[0], k[1]) not in live]:
            del self.segments[key]


class SearchIndex:
    """The searchers of one index directory, kept open and refreshed (not reopened per query).

    Whoosh readers share file handles, so one thread reads at a time (``reading()``).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.RLock()
        self._open: _Open | None = None

    def close(self) -> None:
        with self.lock:
            if self._open is not None:
                for searcher in self._open.searchers.values():
                    with contextlib.suppress(Exception):
                        searcher.close()
            self._open = None

    def _ensure(self) -> _Open:
        gen = current_generation(self.root)
        if gen is None or is_broken(self.root, gen):
            self.close()
            raise SearchUnavailable(status_message(self.root))
        opened = self._open
        if opened is not None and opened.gen == gen:
            refreshed = False
            for kind, searcher in list(opened.searchers.items()):
                if not searcher.up_to_date():
                    opened.searchers[kind] = _refreshed(opened.indexes[kind], searcher)
                    refreshed = True
            if refreshed:
                opened.filters.clear()
                opened.prune_segments()
            return opened
        self.close()
        try:
            indexes = {kind: open_index(gen / kind) for kind in INDEX_NAMES}
            searchers = {kind: ix.searcher() for kind, ix in indexes.items()}
        except Exception as exc:  # a damaged TOC or segment: rebuild rather than fail
            mark_broken(self.root, gen, repr(exc))
            raise SearchUnavailable(MESSAGE_MISSING) from exc
        self._open = _Open(gen=gen, indexes=indexes, searchers=searchers)
        return self._open

    @contextlib.contextmanager
    def reading(self) -> Iterator[Reading]:
        """Up-to-date searchers for the duration of the block (one thread at a time)."""
        with self.lock:
            opened = self._ensure()
            try:
                yield Reading(self, opened)
            except (DomainError, GeneratorExit):
                raise
            except Exception as exc:
                # Whoosh failing to read its own files means a damaged index.
                if _looks_corrupt(exc):
                    mark_broken(self.root, opened.gen, repr(exc))
                    self.close()
                    raise SearchUnavailable(MESSAGE_MISSING) from exc
                raise


def _looks_corrupt(exc: Exception) -> bool:
    """A read error raised inside Whoosh's own code (not a bug of ours) means damaged files."""
    import pickle
    import struct
    import zlib

    if not isinstance(
        exc,
        (
            OSError,
            EOFError,
            struct.error,
            pickle.UnpicklingError,
            zlib.error,
            KeyError,
            IndexError,
            ValueError,
            TypeError,
        ),
    ):
        return False
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and f"{os.sep}whoosh{os.sep}" in last


@dataclass
class Reading:
    """Searchers of the current generation, with caches (see search/engine.py)."""

    index: SearchIndex
    opened: _Open

    def searcher(self, kind: str) -> Searcher:
        return self.opened.searchers[kind]

    def leaves(self, kind: str) -> list[tuple[Searcher, int, str]]:
        """(segment searcher, document number offset, segment id) of one index."""
        return [
            (sub, offset, segment_id(sub)) for sub, offset in self.searcher(kind).leaf_searchers()
        ]

    def segment_cached(self, kind: str, what: str, compute: Any) -> list[Any]:
        """Per segment of ``kind``: ``compute(segment searcher, offset)``, cached per segment."""
        out = []
        cache = self.opened.segments
        for sub, offset, seg_id in self.leaves(kind):
            key = (seg_id, offset, f"{kind}:{what}")
            value = cache.get(key)
            if value is None:
                value = cache[key] = compute(sub, offset)
            out.append(value)
        return out


_indexes: dict[str, SearchIndex] = {}
_indexes_lock = threading.Lock()


def search_index(app: Flask | None = None) -> SearchIndex:
    """This process's SearchIndex for the app's SEARCH_INDEX_DIR."""
    root = index_root(app)
    key = str(root.resolve())
    with _indexes_lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = SearchIndex(root)
        return index
