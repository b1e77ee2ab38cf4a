"""Session events that queue what a transaction changed, inside that same transaction.

After every flush the ids of the cases, constituents and agencies the flush touched are
inserted into ``search_queue`` on the flushing connection: a rollback leaves no row behind
(flask-whooshee's ghosts), and a change flushed long before the commit is not missed
(microblog's before_commit snapshot). The indexer applies the queue to Whoosh after commit.

What touches what: a case itself; any row with a ``case_id`` (timeline events, referrals,
filed mail, releases, follow-ups, letters ...) and an agency response (via its referral) touch
their case; a contact point touches its constituent; a constituent touches itself, every one of
its cases (the name is in the case document) and the survivor it was merged into; an agency or
contact touches the agency, and a renamed agency, category, district or assignee touches the
cases that show the old name.

Not seen: bulk statements that bypass the unit of work (``session.execute(update(Case)...)``,
``insert(...)`` of many rows, as the demo seeder does). Code doing that should call
queue_records() for what it changed, or run ``flask search reindex`` afterwards;
``flask search check --repair`` finds and fixes whatever was missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction

from constituent.models import (
    Agency,
    AgencyContact,
    AgencyResponse,
    AuditEvent,
    Case,
    Category,
    Constituent,
    ContactPoint,
    District,
    Notification,
    Referral,
    SearchQueue,
    User,
    utcnow,
)

log = logging.getLogger(__name__)

CASE, CONSTITUENT, AGENCY = "case", "constituent", "agency"
KINDS = (CASE, CONSTITUENT, AGENCY)
# Rows that never change what a search finds.
_IGNORED = (SearchQueue, AuditEvent, Notification)
_TABLE = cast(sa.Table, SearchQueue.__table__)

_QUEUED = "search_queue.keys"
_PENDING = "search_queue.pending"
_tables_seen: set[int] = set()
_tables_warned: set[int] = set()
_tables_lock = threading.Lock()
_wake_callbacks: list[Callable[[], None]] = []


def on_commit(callback: Callable[[], None]) -> None:
    """Call ``callback`` after a transaction that queued something commits (wakes the indexer)."""
    if callback not in _wake_callbacks:
        _wake_callbacks.append(callback)


def off_commit(callback: Callable[[], None]) -> None:
    """Stop calling ``callback`` after commits."""
    if callback in _wake_callbacks:
        _wake_callbacks.remove(callback)


_PREVIOUS = "search_queue.previous"
# Foreign keys whose old value also names a record that changed (a message re-filed from
# one case to another changes both).
_POINTERS = ("case_id", "constituent_id", "agency_id", "referral_id", "merged_into_id")


def before_flush(session: Session, _flush_context: UOWTransaction, _instances: Any) -> None:
    """Remember what re-pointed foreign keys pointed at before: that record changed too.

    The old value is in the attribute's history when it was loaded; when it was not (the
    object was expired by a commit), the row still holds it until this flush writes it.
    """
    previous: dict[tuple[int, str], list[Any]] = {}
    for obj in session.dirty:
        if isinstance(obj, _IGNORED):
            continue
        state = sa.inspect(obj)
        for attr in _POINTERS:
            if attr not in state.mapper.column_attrs:
                continue
            history = state.attrs[attr].history
            if not history.has_changes():
                continue
            old = [v for v in (history.deleted or ()) if v is not None]
            if not old and state.identity is not None and len(state.identity) == 1:
                column = state.mapper.column_attrs[attr].columns[0]
                key = state.mapper.primary_key[0]
                value = (
                    session.connection()
                    .execute(sa.select(column).where(key == state.identity[0]))
                    .scalar()
                )
                old = [value] if value is not None else []
            previous[(id(obj), attr)] = old
    session.info[_PREVIOUS] = previous


def _previous(session: Session, obj: object, attr: str) -> list[Any]:
    """Values a pointer had before this flush."""
    return list(session.info.get(_PREVIOUS, {}).get((id(obj), attr), ()))


def _changed(obj: object, *attrs: str) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[a].history.has_changes() for a in attrs)


class _Touched:
    """The records one flush touched, and the fan-out selects for renamed lookups."""

    def __init__(self) -> None:
        self.ids: dict[str, set[int]] = {k: set() for k in KINDS}
        self.fanouts: list[tuple[str, sa.Select[Any]]] = []
        self.response_referrals: set[int] = set()

    def add(self, kind: str, *values: Any) -> None:
        for value in values:
            if value is not None:
                self.ids[kind].add(int(value))

    def fan_out(self, kind: str, select: sa.Select[Any]) -> None:
        self.fanouts.append((kind, select))


def _touch_case(session: Session, obj: Any, is_new: bool, touched: _Touched) -> None:
    touched.add(CASE, obj.id)


def _touch_constituent(session: Session, obj: Any, is_new: bool, touched: _Touched) -> None:
    """A person, their merge survivor (old and new), and every case that shows their name."""
    person_ids = [obj.id, obj.merged_into_id, *_previous(session, obj, "merged_into_id")]
    touched.add(CONSTITUENT, *person_ids)
    if not is_new:
        ids = [int(i) for i in person_ids if i is not None]
        touched.fan_out(CASE, sa.select(Case.id).where(Case.constituent_id.in_(ids)))


def _touch_contact_point(session: Session, obj: Any, is_new: bool, touched: _Touched) -> None:
    touched.add(CONSTITUENT, obj.constituent_id, *_previous(session, obj, "constituent_id"))


def _touch_agency(session: Session, obj: Any, is_new: bool, touched: _Touched) -> None:
    """The agency, and on a rename the cases referred to it."""
    touched.add(AGENCY, obj.id)
    if not is_new and _changed(obj, "name", "acronym"):
        touched.fan_out(CASE, sa.select(Referral.case_id).where(Referral.agency_id == obj.id))


def _touch_agency_contact(session: Session, obj: Any, is_new: bool, touched: _Touched) -> None:
    touched.add(AGENCY, obj.agency_id, *_previous(session, obj, "agency_id"))


def _touch_response(session: Session, obj: Any, is_new: bool, touched: _Touched) -> None:
    """A response touches its referral's case (found when the queue is written)."""
    touched.response_referrals.update(
        int(v) for v in (obj.referral_id, *_previous(session, obj, "referral_id")) if v
    )


def _touch_category(session: Session, obj: Any, is_new: bool, touched: _Touched) -> None:
    if not is_new and _changed(obj, "name", "slug"):
        touched.fan_out(CASE, sa.select(Case.id).where(Case.category_id == obj.id))


def _touch_district(session: Session, obj: Any, is_new: bool, touched: _Touched) -> None:
    if not is_new and _changed(obj, "code"):
        touched.fan_out(CASE, sa.select(Case.id).where(Case.district_id == obj.id))
        touched.fan_out(
            CONSTITUENT, sa.select(Constituent.id).where(Constituent.district_id == obj.id)
        )


def _touch_user(session: Session, obj: Any, is_new: bool, touched: _Touched) -> None:
    if not is_new and _changed(obj, "full_name", "email"):
        touched.fan_out(CASE, sa.select(Case.id).where(Case.assignee_id == obj.id))


def _touch_case_row(session: Session, obj: Any, is_new: bool, touched: _Touched) -> None:
    """Timeline events, referrals, filed mail, releases, follow-ups, letters: their case."""
    touched.add(CASE, obj.case_id, *_previous(session, obj, "case_id"))


# What a changed row touches, by its type (the first that matches); any other row with a
# ``case_id`` touches that case.
_TOUCHES: list[tuple[type, Callable[[Session, Any, bool, _Touched], None]]] = [
    (Case, _touch_case),
    (Constituent, _touch_constituent),
    (ContactPoint, _touch_contact_point),
    (Agency, _touch_agency),
    (AgencyContact, _touch_agency_contact),
    (AgencyResponse, _touch_response),
    (Category, _touch_category),
    (District, _touch_district),
    (User, _touch_user),
]


def _toucher(obj: object) -> Callable[[Session, Any, bool, _Touched], None] | None:
    for kind, touch in _TOUCHES:
        if isinstance(obj, kind):
            return touch
    return _touch_case_row if hasattr(obj, "case_id") else None


def _collect(session: Session) -> _Touched:
    touched = _Touched()
    dirty = [o for o in session.dirty if session.is_modified(o)]
    for obj, is_new in _each(session.new, dirty, session.deleted):
        if isinstance(obj, _IGNORED):
            continue
        touch = _toucher(obj)
        if touch is not None:
            touch(session, obj, is_new, touched)
    return touched


def _each(
    new: Iterable[object], dirty: Iterable[object], deleted: Iterable[object]
) -> Iterable[tuple[object, bool]]:
    for obj in new:
        yield obj, True
    for obj in dirty:
        yield obj, False
    for obj in deleted:
        yield obj, False


def _has_queue_table(connection: Connection) -> bool:
    """Whether this database has the queue table yet (a save never fails for want of it)."""
    key = id(connection.engine)
    if key in _tables_seen:
        return True
    if sa.inspect(connection).has_table(SearchQueue.__tablename__):
        with _tables_lock:
            _tables_seen.add(key)
        return True
    if key not in _tables_warned:
        _tables_warned.add(key)
        log.warning("search_queue table missing: run `flask db upgrade`; changes are not queued")
    return False


def after_flush(session: Session, _flush_context: UOWTransaction) -> None:
    """Queue the records this flush touched, on the same connection and transaction."""
    touched = _collect(session)
    session.info.pop(_PREVIOUS, None)
    if not any(touched.ids.values()) and not touched.fanouts and not touched.response_referrals:
        return
    connection = session.connection()
    if _writes_directly():
        _remember_direct(session, connection, touched)
        return
    if not _has_queue_table(connection):
        return
    if touched.response_referrals:
        touched.add(
            CASE,
            *connection.scalars(
                sa.select(Referral.case_id).where(
                    Referral.id.in_(sorted(touched.response_referrals))
                )
            ),
        )
    seen: set[tuple[str, int]] = session.info.setdefault(_QUEUED, set())
    now = utcnow()
    rows = []
    for kind in KINDS:
        for record_id in sorted(touched.ids[kind]):
            if (kind, record_id) not in seen:
                seen.add((kind, record_id))
                rows.append({"kind": kind, "record_id": record_id, "queued_at": now})
    table = _TABLE
    if rows:
        connection.execute(sa.insert(table), rows)
    for kind, select in touched.fanouts:
        ids = select.subquery()
        column = next(iter(ids.c))
        connection.execute(
            sa.insert(table).from_select(
                ["kind", "record_id", "queued_at"],
                sa.select(
                    sa.literal(kind), column, sa.literal(now, SearchQueue.queued_at.type)
                ).where(column.is_not(None)),
            )
        )
    if rows or touched.fanouts:
        session.info[_PENDING] = True


def after_transaction_end(session: Session, transaction: Any) -> None:
    """Forget what was queued: after a rollback those rows are gone, so queue them again."""
    session.info.pop(_QUEUED, None)
    if transaction.parent is None:
        session.info.pop(_DIRECT, None)


# --- writing search documents in the transaction itself (the postgres backend) ----------------

_DIRECT = "search_queue.direct"
_direct_writer: Callable[[Session, dict[str, set[int]]], None] | None = None
_direct_when: Callable[[], bool] | None = None


def write_directly(
    when: Callable[[], bool], writer: Callable[[Session, dict[str, set[int]]], None]
) -> None:
    """While ``when()`` holds, queue nothing: remember what each flush touched and call
    ``writer(session, {kind: ids})`` just before the commit, in the same transaction."""
    global _direct_writer, _direct_when
    _direct_when, _direct_writer = when, writer


def _writes_directly() -> bool:
    return _direct_when is not None and _direct_writer is not None and _direct_when()


def _remember_direct(session: Session, connection: Connection, touched: _Touched) -> None:
    """Add what a flush touched, fan-outs resolved now, to the transaction's set."""
    if touched.response_referrals:
        touched.add(
            CASE,
            *connection.scalars(
                sa.select(Referral.case_id).where(
                    Referral.id.in_(sorted(touched.response_referrals))
                )
            ),
        )
    for kind, select in touched.fanouts:
        touched.add(kind, *connection.scalars(select))
    pending: dict[str, set[int]] = session.info.setdefault(_DIRECT, {k: set() for k in KINDS})
    for kind in KINDS:
        pending[kind] |= touched.ids[kind]


def before_commit(session: Session) -> None:
    """Write the search documents of what the transaction touched, before it commits."""
    if not _writes_directly() or _direct_writer is None:
        return
    session.flush()
    pending = session.info.pop(_DIRECT, None)
    if pending and any(pending.values()):
        _direct_writer(session, pending)


def after_rollback(session: Session) -> None:
    """A rolled-back transaction queued nothing: nothing to wake the indexer for."""
    session.info.pop(_PENDING, None)


def after_commit(session: Session) -> None:
    """Wake the in-process indexer so that the saved record is findable at once."""
    if session.info.pop(_PENDING, None):
        for callback in list(_wake_callbacks):
            try:
                callback()
            except Exception:  # waking is a courtesy; the indexer polls anyway
                log.exception("search indexer wake-up failed")


def queue_records(session: Session, kind: str, ids: Iterable[int]) -> int:
    """Queue records explicitly (check --repair, tools); flushed with the caller's transaction.
    (With the postgres backend they are written before the caller commits.)"""
    if _writes_directly():
        pending: dict[str, set[int]] = session.info.setdefault(_DIRECT, {k: set() for k in KINDS})
        given = {int(i) for i in ids}
        pending[kind] |= given
        return len(given)
    rows = [{"kind": kind, "record_id": int(i), "queued_at": utcnow()} for i in ids]
    if rows:
        session.execute(sa.insert(_TABLE), rows)
        session.info[_PENDING] = True
    return len(rows)


def install(session_target: Any) -> None:
    """Listen on a session class (or scoped_session) once per process."""
    for name, fn in (
        ("before_flush", before_flush),
        ("after_flush", after_flush),
        ("after_transaction_end", after_transaction_end),
        ("after_rollback", after_rollback),
        ("after_commit", after_commit),
        ("before_commit", before_commit),
    ):
        if not event.contains(session_target, name, fn):
            event.listen(session_target, name, fn)
