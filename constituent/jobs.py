"""Work that outlives its request: a caseload import uploaded on the admin Import page runs
in a thread of its own, with its own app context and database session, committing a batch at
a time as ``flask import`` does (so a row is saved whole or not at all), and writing its
progress with each batch for the page to poll (``services/import_jobs.py``)."""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import nullcontext
from pathlib import Path

from flask import Flask, current_app
from werkzeug.datastructures import FileStorage

from constituent.database import immediate_writes
from constituent.extensions import db
from constituent.models import User
from constituent.services import import_jobs, imports
from constituent.services.errors import DomainError

log = logging.getLogger(__name__)
_threads: dict[int, threading.Thread] = {}


def keep_upload(upload: FileStorage) -> tuple[Path, int]:
    """Save an uploaded file where the import thread reads it; its path and about how many
    rows it has (lines less the header)."""
    folder = Path(current_app.config["UPLOAD_DIR"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    upload.save(path)
    with path.open("rb") as stream:
        return path, imports.count_lines(stream)


def start_import(
    app: Flask, job_id: int, path: Path, user_id: int | None, dry_run: bool = False
) -> None:
    """Run the committed job's import (or dry run) in a daemon thread; it deletes the file
    when done."""
    thread = threading.Thread(
        target=_run,
        args=(app, job_id, path, user_id, dry_run),
        name=f"import-{job_id}",
        daemon=True,
    )
    _threads[job_id] = thread
    thread.start()


def wait(job_id: int, timeout: float | None = None) -> None:
    """Wait for an import started in this process to end (tests; a clean shutdown)."""
    thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)


def _run(app: Flask, job_id: int, path: Path, user_id: int | None, dry_run: bool) -> None:
    # Its own app context is its own session. A real import's transactions begin IMMEDIATE on
    # SQLite (wait for the lock rather than fail when a request has written since this thread
    # read); a dry run only reads, and writes its progress in short transactions of its own.
    with app.app_context(), nullcontext() if dry_run else immediate_writes():
        try:
            if dry_run:
                _dry_run(job_id, path)
            else:
                _import(job_id, path, user_id)
        finally:
            db.session.remove()
            path.unlink(missing_ok=True)
            _threads.pop(job_id, None)


def _import(job_id: int, path: Path, user_id: int | None) -> None:
    kind = import_jobs.get_job(job_id).kind
    user = db.session.get(User, user_id) if user_id is not None else None
    read = saved = 0

    def progress(rows: int) -> None:
        nonlocal read
        read = rows

    def on_batch() -> None:
        nonlocal saved
        db.session.execute(import_jobs.progress_update(job_id, read))
        db.session.commit()  # the batch and its progress together
        saved = read

    try:
        with path.open("rb") as stream:
            run = imports.ImportRun(
                stream, dry_run=False, by=user, progress=progress, on_batch=on_batch
            )
            report = imports.run_import(kind, run)
    except DomainError as exc:
        db.session.rollback()
        import_jobs.fail_job(job_id, exc.message, saved)
    except Exception:  # the thread must record why it stopped, whatever it was
        log.exception("import %s stopped", job_id)
        db.session.rollback()
        import_jobs.fail_job(
            job_id, "The import stopped on an unexpected error (the server's log has it).", saved
        )
    else:
        import_jobs.finish_job(job_id, report)
    db.session.commit()


def _dry_run(job_id: int, path: Path) -> None:
    """Check every row, save none: the report is the job's result."""
    kind = import_jobs.get_job(job_id).kind
    db.session.rollback()  # the import's reads begin afresh; nothing is held
    read = 0

    def progress(rows: int) -> None:
        nonlocal read
        read = rows
        if rows % imports.BATCH == 0:
            with immediate_writes(), db.engine.begin() as connection:
                connection.execute(import_jobs.progress_update(job_id, rows))

    try:
        with path.open("rb") as stream:
            report = imports.run_import(
                kind, imports.ImportRun(stream, dry_run=True, progress=progress)
            )
    except DomainError as exc:
        db.session.rollback()
        with immediate_writes():
            import_jobs.fail_job(job_id, exc.message, read)
            db.session.commit()
        return
    except Exception:  # the thread must record why it stopped, whatever it was
        log.exception("dry run %s stopped", job_id)
        db.session.rollback()
        with immediate_writes():
            import_jobs.fail_job(
                job_id,
                "The dry run stopped on an unexpected error (the server's log has it).",
                read,
            )
            db.session.commit()
        return
    db.session.rollback()  # a dry run keeps nothing
    with immediate_writes():
        import_jobs.finish_job(job_id, report)
        db.session.commit()
