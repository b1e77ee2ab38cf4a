"""Helpers for the search tests: a clean index per test, building and syncing it, asking it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from constituent.extensions import db
from constituent.models import SearchQueue, User
from constituent.search import backends, indexer, postgres
from constituent.search.store import index_root, search_index


def reset_index(app: Flask) -> None:
    """Close this process's searchers and delete the index directory."""
    search_index(app).close()
    root = index_root(app)
    if root.exists():
        shutil.rmtree(root)


def build(app: Flask) -> None:
    """Build the index from the database (one process: quick for small data); with the
    postgres backend, rewrite every search document."""
    if backends.name(app) == "postgres":
        postgres.reindex(app)
        return
    indexer.rebuild(app, procs=1)
    search_index(app).close()


def sync(app: Flask) -> indexer.DrainResult:
    """What the background indexer does after a commit: build if missing, then drain."""
    return indexer.run_once(app, lock_timeout=30.0)


def queued(in_transaction: bool = False) -> list[tuple[str, int]]:
    """The queue's rows as (kind, record id): committed ones, or those the test's own open
    transaction sees (``in_transaction``)."""
    stmt = sa.select(SearchQueue.kind, SearchQueue.record_id).order_by(SearchQueue.id)
    if in_transaction:
        rows = db.session.execute(stmt).all()
    else:
        with Session(db.engine) as session:
            rows = session.execute(stmt).all()
    return [(k, int(i)) for k, i in rows]


def case_numbers(user: User, text: str) -> set[int]:
    """Numbers of the cases on the first page of a search by ``user``."""
    outcome = backends.current().search(user, text)
    return {hit.case.number for hit in outcome.cases.hits} if outcome.cases else set()


def count(user: User, text: str) -> int:
    """How many permitted cases match a search for ``user``."""
    return backends.current().count_cases(user, text)


def page_text(html: str) -> str:
    """The visible text of a page (tags removed), for 'the word is nowhere' assertions."""
    return re.sub(r"<[^>]+>", " ", html)


def index_dir(app: Flask) -> Path:
    """The app's index directory."""
    return index_root(app)
