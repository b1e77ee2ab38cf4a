"""Caseload imports started on the admin Import page: the job row its progress page polls,
the progress, and the result (counts, refused rows, why it stopped). The running itself, in a
thread that commits a batch at a time, is ``constituent/jobs.py``."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import ImportJob, ImportStatus, User, utcnow
from constituent.services.errors import DomainError, must_exist
from constituent.services.imports import ImportReport, Refusal

KINDS = ("constituents", "cases")
MAX_LISTED = 2000  # refused rows kept for the page; `flask import --dry-run` lists them all
# A running import writes its progress every batch (a few seconds at most): one silent this
# long stopped with its process (a restart), and blocks nothing.
STALLED_AFTER = timedelta(minutes=5)


def is_stalled(job: ImportJob) -> bool:
    """True for an import marked running that has not written progress for a while."""
    return job.status == ImportStatus.RUNNING and job.updated_at < utcnow() - STALLED_AFTER


def running_job(writing_only: bool = False) -> ImportJob | None:
    """The import running now (not a stalled one), if any (only real ones: ``writing_only``)."""
    since = utcnow() - STALLED_AFTER
    query = sa.select(ImportJob).where(
        ImportJob.status == ImportStatus.RUNNING, ImportJob.updated_at >= since
    )
    if writing_only:
        query = query.where(ImportJob.dry_run.is_(False))
    return db.session.scalars(query.order_by(ImportJob.id.desc()).limit(1)).first()


def latest_job() -> ImportJob | None:
    """The most recent import started on the page."""
    return db.session.scalars(sa.select(ImportJob).order_by(ImportJob.id.desc()).limit(1)).first()


def start_job(
    kind: str, filename: str, total_rows: int, by: User | None, dry_run: bool = False
) -> ImportJob:
    """Record an import about to run; a real one is refused while another real one runs
    (their case numbers and writes would interleave). A dry run writes nothing: it may run
    beside anything."""
    if kind not in KINDS:
        raise DomainError("Choose what the file holds: constituents or cases.", field="kind")
    running = None if dry_run else running_job(writing_only=True)
    if running is not None:
        raise DomainError(
            f"An import of {running.kind} is running ({running.processed_rows:,} of about "
            f"{running.total_rows:,} rows so far): wait for it to finish, then import this file.",
            field="file",
        )
    job = ImportJob(
        kind=kind,
        dry_run=dry_run,
        filename=filename[:255],
        total_rows=total_rows,
        started_by_id=by.id if by is not None else None,
    )
    db.session.add(job)
    db.session.flush()
    return job


def get_job(job_id: int) -> ImportJob:
    """An import by id (NotFound for none)."""
    return must_exist(db.session.get(ImportJob, job_id), "There is no such import.")


def progress_update(job_id: int, rows: int) -> sa.Update:
    """The statement that records rows read so far: a real import runs it with each batch
    (their commit is one), a dry run in a short transaction of its own."""
    return sa.update(ImportJob).where(ImportJob.id == job_id).values(processed_rows=rows)


def finish_job(job_id: int, report: ImportReport) -> None:
    """The import ran to the end: its counts, refused rows and reading notes."""
    job = get_job(job_id)
    job.status = ImportStatus.DONE
    job.processed_rows = report.rows
    job.total_rows = max(job.total_rows, report.rows)
    job.created, job.updated, job.matched = report.created, report.updated, report.matched
    job.refused_count = len(report.refused)
    job.refusals = [[r.line, r.column, r.reason] for r in report.refused[:MAX_LISTED]]
    job.notes = list(report.notes)
    job.finished_at = utcnow()


def fail_job(job_id: int, message: str, saved_rows: int) -> None:
    """The import stopped: why, and how far its saved batches reached."""
    job = get_job(job_id)
    job.status = ImportStatus.FAILED
    job.processed_rows = saved_rows
    job.error = (
        f"{message} Nothing was saved (a dry run)."
        if job.dry_run
        else f"{message} The rows read before it were saved whole ({saved_rows:,} rows, in "
        "whole batches); none is half-imported. Fix the file and import it again: the rows "
        "already imported are updated by their external id, not added twice."
    )
    job.finished_at = utcnow()


def report_of(job: ImportJob) -> ImportReport:
    """The finished import as the report the dry run and the command show."""
    return ImportReport(
        kind="constituent" if job.kind == "constituents" else "case",
        rows=job.processed_rows,
        created=job.created,
        updated=job.updated,
        matched=job.matched,
        refused=[Refusal(line, column, reason) for line, column, reason in job.refusals or []],
        notes=list(job.notes or []),
    )


def percent(job: ImportJob) -> int:
    """How far the import is, 0-100 (100 once done)."""
    if job.status == ImportStatus.DONE:
        return 100
    return min(99, job.processed_rows * 100 // job.total_rows) if job.total_rows else 0
