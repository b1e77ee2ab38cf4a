"""Peak memory of storing and reading back one large upload, on either storage.

    .venv/bin/python bench/uploads.py --storage database [--database postgresql://…] [--mb 50]

Prints the file's size beside the peak Python memory (tracemalloc) of ``store_upload`` plus
the commit, and of reading the stored file back chunk by chunk (what a download does): both
stay far under the file's size because neither store ever holds the whole file. The upload
limit is raised for this run only (CONSTITUENT_MAX_UPLOAD_MB and the service's limit).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import WORK, bench_app, database_url  # noqa: E402
from constituent.extensions import db  # noqa: E402
from constituent.models import StoredFileChunk  # noqa: E402
from constituent.services import file_store, uploads  # noqa: E402

MB = 1024 * 1024


def write_pdf(path: Path, size: int) -> None:
    """A PDF of about ``size`` bytes, written line by line (never built in memory)."""
    with path.open("wb") as fh:
        fh.write(b"%PDF-1.4\n")
        line = 0
        while fh.tell() < size - 32:
            fh.write(b"%% filler line %012d\n" % line)
            line += 1
        fh.write(b"trailer<<>>\n%%EOF\n")


def peak_of(run):  # type: ignore[no-untyped-def]
    """(result, peak bytes traced) of one call."""
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    return result, tracemalloc.get_traced_memory()[1] - base, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", choices=file_store.STORAGES, default=file_store.DATABASE)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--mb", type=int, default=50, help="the file's size in MB")
    args = parser.parse_args()
    os.environ["CONSTITUENT_MAX_UPLOAD_MB"] = str(args.mb + 10)
    uploads.MAX_UPLOAD_BYTES = (args.mb + 10) * MB
    url = database_url(f"uploads-{args.storage}", 0, args.database)
    app = bench_app(
        url,
        "uploads",
        UPLOAD_DIR=str(WORK / "uploads-bench"),
        UPLOAD_STORAGE=args.storage,
        MAX_CONTENT_LENGTH=(args.mb + 10) * MB,
    )
    with tempfile.TemporaryDirectory() as tmp, app.app_context():
        db.create_all()
        source = Path(tmp) / "scan.pdf"
        write_pdf(source, args.mb * MB)
        size = source.stat().st_size

        def store() -> str:
            with source.open("rb") as fh:
                found = uploads.store_upload(fh, "scan.pdf", case=None, uploaded_by=None)
            db.session.commit()
            return found.storage_key

        def read(key: str) -> str:
            digest = hashlib.sha256()
            for chunk in file_store.file_store().open(key):
                digest.update(chunk)
            return digest.hexdigest()

        tracemalloc.start()
        key, store_peak, store_s = peak_of(store)
        digest, read_peak, read_s = peak_of(lambda: read(key))
        tracemalloc.stop()
        with source.open("rb") as fh:
            assert digest == hashlib.file_digest(fh, "sha256").hexdigest(), "bytes differ"
        chunks = db.session.query(StoredFileChunk).filter_by(storage_key=key).count()
        print(f"storage {args.storage} on {db.engine.dialect.name}: file {size / MB:.1f} MB")
        print(f"  store: peak {store_peak / MB:6.2f} MB traced, {store_s:5.2f} s ({chunks} chunks)")
        print(f"  read:  peak {read_peak / MB:6.2f} MB traced, {read_s:5.2f} s (same SHA-256)")
        file_store.file_store().delete(key)
        db.session.commit()


if __name__ == "__main__":
    main()
