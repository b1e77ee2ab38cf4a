"""Benchmark the district summaries on the demo office at scale (400 cases per scale unit).

    python bench/summary.py --scale 500            # ~200,000 cases, SQLite file database
    python bench/summary.py --scale 500 --database postgresql://postgres@127.0.0.1/bench
    python bench/summary.py --scale 100 --years 10 # also the same cases spread over 10 years

Seeds the demo office into a file database it creates (or reuses, when already seeded at that
scale). The demo's own seeding is dense: every case opened in the last two years, most of them
in the last one. With ``--years N`` the bench also seeds a second database (``..._yearsN``,
created beside the first) where the same number of cases is spread over N years at an even,
realistic daily volume (the demo seeding repeated every half year, each batch's cases that
were still open at its end closed by then), and prints the figures of both.

On each database it times, over --runs runs each (after warm-up): the 12-month summary of one
district (both periods, every table), the all-districts comparison, and the CSV exports, each
beside one hand-written SQL query that computes the same headline figures (cases opened,
closed, open at the end, median days to close) in the same run: the reference. Finally it
measures the peak Python memory of the CSV export of every case at two sizes, to show that it
stays flat.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from constituent import create_app  # noqa: E402
from constituent.extensions import db  # noqa: E402
from constituent.models import (  # noqa: E402
    Case,
    CaseInterval,
    CaseStatus,
    District,
    Outcome,
    Role,
    User,
)
from constituent.reports import tables as summary_tables  # noqa: E402
from constituent.services import demo, exports, permissions, summaries  # noqa: E402
from constituent.views.summaries import drill_csv_header, drill_csv_rows  # noqa: E402

# Opened, closed and open at the end (the same SQL on both databases), before the median.
_COUNTS = """SELECT
  (SELECT COUNT(*) FROM cases WHERE district_id = :d AND opened_at >= :s AND opened_at < :e),
  (SELECT COUNT(*) FROM closed),
  (SELECT COUNT(DISTINCT ci.case_id) FROM case_intervals ci JOIN cases c ON c.id = ci.case_id
    WHERE c.district_id = :d AND ci.opened_at < :e
      AND (ci.closed_at IS NULL OR ci.closed_at >= :e)),
"""

REFERENCE_SQLITE = (
    """
WITH closed AS (
  SELECT COALESCE(
           (SELECT SUM(julianday(ci.closed_at) - julianday(ci.opened_at)) FROM case_intervals ci
             WHERE ci.case_id = c.id AND ci.closed_at IS NOT NULL),
           julianday(c.closed_at) - julianday(c.opened_at)) AS days
    FROM cases c
   WHERE c.district_id = :d AND c.status = 'closed' AND c.closed_at >= :s AND c.closed_at < :e
), ranked AS (
  SELECT days, ROW_NUMBER() OVER (ORDER BY days) AS rn, COUNT(*) OVER () AS n FROM closed
)
"""
    + _COUNTS
    + """  (SELECT AVG(days) FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2))
"""
)

REFERENCE_POSTGRES = (
    """
WITH closed AS (
  SELECT COALESCE(
           (SELECT SUM(EXTRACT(EPOCH FROM ci.closed_at - ci.opened_at) / 86400.0)
              FROM case_intervals ci WHERE ci.case_id = c.id AND ci.closed_at IS NOT NULL),
           EXTRACT(EPOCH FROM c.closed_at - c.opened_at) / 86400.0) AS days
    FROM cases c
   WHERE c.district_id = :d AND c.status = 'closed' AND c.closed_at >= :s AND c.closed_at < :e
)
"""
    + _COUNTS
    + """  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FROM closed)
"""
)


def reference(district_id: int, start: Any, end: Any) -> tuple:
    """The hand-written query: opened, closed, open at the end, median days to close."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if not postgres:  # SQLite stores UTC instants as naive text
        start = start.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        end = end.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    sql = REFERENCE_POSTGRES if postgres else REFERENCE_SQLITE
    return tuple(db.session.execute(sa.text(sql), {"d": district_id, "s": start, "e": end}).one())


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    for _ in range(3):
        fn()
    out = []
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def timed_beside(
    fn: Callable[[], object], ref: Callable[[], object], runs: int
) -> tuple[list[float], list[float]]:
    """Run ``fn`` and the reference alternately, so both meet the same machine load."""
    for _ in range(3):
        fn()
        ref()
    mine, theirs = [], []
    for _ in range(runs):
        for f, out in ((fn, mine), (ref, theirs)):
            gc.collect()
            t = time.perf_counter()
            f()
            out.append((time.perf_counter() - t) * 1000)
    return mine, theirs


def p50_p95(ms: list[float]) -> tuple[float, float]:
    return statistics.median(ms), statistics.quantiles(ms, n=20, method="inclusive")[18]


def consume(chunks: Any) -> int:
    return sum(len(c) for c in chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100, help="demo scale (400 cases each)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file in /tmp)")
    parser.add_argument("--district", default="NY-21")
    parser.add_argument(
        "--years",
        type=int,
        help="also time the same cases spread over this many years (a realistic daily volume)",
    )
    parser.add_argument(
        "--sqlite-tuned",
        action="store_true",
        help="SQLite: 1 GB mmap and a 256 MB page cache on every connection",
    )
    parser.add_argument(
        "--with-indexes",
        action="store_true",
        help="create the indexes recommended for summaries before timing",
    )
    args = parser.parse_args()

    work = Path(tempfile.gettempdir()) / "constituent-bench"
    work.mkdir(exist_ok=True)
    url = args.database or f"sqlite:///{work / f'summary-scale{args.scale}.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    cases = [("dense: the demo seeding, cases of the last two years", url, None)]
    if args.years:
        spread = _years_url(url, args.years)
        cases.append((f"realistic: the same cases over {args.years} years", spread, args.years))
    for label, database, years in cases:
        print(f"=== {label} ===", flush=True)
        bench_database(args, database, years, work)
        print(flush=True)


def _years_url(url: str, years: int) -> str:
    """The database of the spread-out cases: a file or database name with ``_yearsN``."""
    made = sa.engine.make_url(url)
    name = made.database or "bench"
    if made.get_backend_name() == "sqlite":
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem}_years{years}.{suffix}" if dot else f"{name}_years{years}"
        return made.set(database=name).render_as_string(hide_password=False)
    spread = made.set(database=f"{name}_years{years}")
    engine = sa.create_engine(made.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": spread.database}
        )
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{spread.database}"')
    engine.dispose()
    return spread.render_as_string(hide_password=False)


def bench_database(args: argparse.Namespace, url: str, years: int | None, work: Path) -> None:
    """Seed (or reuse) one database and time every figure on it."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "TESTING": True,
            "SEARCH_INDEX_DIR": str(work / "index"),
            "UPLOAD_DIR": str(work / "uploads"),
        }
    )
    with app.app_context():
        if args.sqlite_tuned and db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _tune_sqlite)
            db.engine.dispose()
        db.create_all()
        if not demo.is_seeded():
            print(f"Seeding the demo office at scale {args.scale} into {url} ...", flush=True)
            t = time.perf_counter()
            if years:
                seed_over_years(args.scale, years)
            else:
                demo.seed(scale=args.scale)
            db.session.commit()
            print(f"  seeded in {time.perf_counter() - t:.0f} s", flush=True)
            if db.engine.dialect.name == "postgresql":  # what autovacuum would do soon after
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()
        db.session.commit()
        _create_missing_indexes()
        if db.engine.dialect.name == "sqlite":  # fold the seeding's write-ahead log in
            with db.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        if args.with_indexes:
            for statement in RECOMMENDED_INDEXES:
                db.session.execute(sa.text(statement))
            db.session.commit()
        try:
            run(args)
        finally:
            if args.with_indexes:  # leave the reused database as the app's migrations made it
                db.session.rollback()
                for statement in RECOMMENDED_INDEXES:
                    name = statement.split("EXISTS ")[1].split(" ")[0]
                    db.session.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
                db.session.commit()


def _create_missing_indexes() -> None:
    """Give a database seeded by an earlier version the models' indexes (``create_all`` makes
    only the missing tables), as its migration would; PostgreSQL then analyzes them."""
    inspector = sa.inspect(db.engine)
    made = []
    for table, name in REPLACED_INDEXES:  # migration c2f4a6b8d0e1 widened them
        if name in {ix["name"] for ix in inspector.get_indexes(table)}:
            with db.engine.begin() as connection:
                connection.exec_driver_sql(f"DROP INDEX {name}")
            made.append(f"(dropped {name})")
    for table in db.metadata.sorted_tables:
        have = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have:
                index.create(db.engine)
                made.append(index.name)
    if made:
        print(f"  created the indexes {', '.join(made)}", flush=True)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()


HALF_YEAR = timedelta(days=182)


def seed_over_years(scale: int, years: int) -> None:
    """The demo office with ``scale`` × 400 cases spread evenly over ``years`` years.

    The demo seeding places cases up to two years before its ``now``, most in the last year.
    Seeding a share of the cases with ``now`` set every half year back to ``years`` years ago
    spreads them out; the cases a batch leaves open at its own ``now`` are then closed a few
    weeks after it (last interval, status, close time and outcome together), as an office
    closes its old cases, so only the latest batch has open cases today."""
    batches = max(1, min(scale, 2 * years - 3))  # each batch reaches two years further back
    now = datetime.now(UTC)
    for b in range(batches):
        share = scale // batches + (1 if b < scale % batches else 0)
        first_case = (db.session.scalar(sa.select(sa.func.max(Case.id))) or 0) + 1
        batch_now = now - b * HALF_YEAR
        demo.seed(scale=share, seed_value=2026 + 97 * b, now=batch_now)
        db.session.flush()
        if b:
            _close_left_open(first_case, batch_now)
        print(f"  batch {b + 1}/{batches}: {share * 400:,} cases up to {batch_now:%Y-%m-%d}")


def _close_left_open(first_case: int, batch_now: datetime) -> None:
    """Close the batch's cases still open at its ``now``, 1 to 60 days after it."""
    rows = db.session.execute(
        sa.select(CaseInterval.id, CaseInterval.case_id).where(
            CaseInterval.case_id >= first_case, CaseInterval.closed_at.is_(None)
        )
    ).all()
    for interval_id, case_id in rows:
        closed = batch_now + timedelta(days=1 + case_id % 60)
        db.session.execute(
            sa.update(CaseInterval).where(CaseInterval.id == interval_id).values(closed_at=closed)
        )
        db.session.execute(
            sa.update(Case)
            .where(Case.id == case_id)
            .values(status=CaseStatus.CLOSED, closed_at=closed, outcome=Outcome.ASSISTED)
        )


# Indexes of earlier versions that the models' covering indexes replace.
REPLACED_INDEXES = [
    ("cases", "ix_cases_district_opened_at"),
    ("cases", "ix_cases_district_status_closed_at"),
]

# Indexes tried with --with-indexes. The models now carry the ones the plans use (migrations
# b7c1d9e3f5a2 and c2f4a6b8d0e1: cases (district_id, opened_at, ...) and (district_id, status,
# closed_at, ...) with the columns grouped by, case_intervals (case_id, opened_at, closed_at),
# referrals by sent_on and responded_on); these remain to compare others.
RECOMMENDED_INDEXES = [
    "CREATE INDEX IF NOT EXISTS bench_cases_district_opened ON cases (district_id, opened_at)",
    "CREATE INDEX IF NOT EXISTS bench_cases_district_closed ON cases (district_id, closed_at)",
    "CREATE INDEX IF NOT EXISTS bench_intervals_case_span "
    "ON case_intervals (case_id, opened_at, closed_at)",
    "CREATE INDEX IF NOT EXISTS bench_intervals_opened ON case_intervals (opened_at, closed_at)",
    "CREATE INDEX IF NOT EXISTS bench_referrals_responded ON referrals (responded_on)",
]


def _tune_sqlite(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.close()


def run(args: argparse.Namespace) -> None:
    tz = ZoneInfo("America/New_York")
    engine = db.session.get_bind()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
    district = db.session.scalar(sa.select(District).where(District.code == args.district))
    districts = list(db.session.scalars(sa.select(District).order_by(District.code)))
    supervisor = db.session.scalar(sa.select(User).where(User.role == Role.SUPERVISOR))
    supervisor.districts = districts  # the export of every case needs every district
    db.session.flush()
    today = datetime.now(tz).date()
    period = summaries.last_12_months(today)
    start, end = period.bounds(tz)
    in_district = db.session.scalar(
        sa.select(sa.func.count()).select_from(Case).where(Case.district_id == district.id)
    )
    import os

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{engine.dialect.name}{' (tuned)' if args.sqlite_tuned else ''}"
        f"{' with the recommended indexes' if args.with_indexes else ''}: {total:,} cases "
        f"({in_district:,} in {district.code}); period {period.name}, {period.dates}; "
        f"{args.runs} runs each after 3 warm-up runs; load average {load} on "
        f"{os.cpu_count()} CPUs\n"
    )

    summary = summaries.district_summary(district, period, tz, today, staff=True)
    h = summary.current.headline
    ours = (h.opened, h.closed, h.open_at_end, round(h.time_to_close.median_days or 0, 6))
    ref = reference(district.id, start, end)
    theirs = (ref[0], ref[1], ref[2], round(float(ref[3] or 0), 6))
    print(
        f"headline: service {ours}  reference {theirs}  "
        f"{'agree' if ours == theirs else 'DISAGREE'}\n"
    )

    opened = summaries.Drill(summaries.Figure.OPENED)

    def case_csv() -> int:
        listed = summaries.drill_rows_select(
            permissions.visible_cases(supervisor),
            summaries.DrillTarget(opened, district, period, tz, today),
        )
        rows = (
            [r.number, r.constituent, r.subject, r.days_open]
            for r in map(summaries.drill_row, exports.stream_rows(listed))
        )
        return consume(exports.csv_chunks(["Case", "Constituent", "Subject", "Days"], rows))

    def summary_csv() -> int:
        s = summaries.district_summary(district, period, tz, today, staff=True)
        tables = summary_tables.summary_tables(s, summaries.FULL_VIEW)
        return consume(
            exports.csv_chunks(summary_tables.LONG_HEADER, summary_tables.long_rows(tables))
        )

    legislator = summaries.Audience(sees_names=False)
    complete_months = summaries.parse_period("last12", None, None, today, legislator)

    def legislator_summary() -> int:
        """The legislator's summary: its breakdowns need the figures of each of the 24 months
        (withheld month by month) besides the two periods."""
        s = summaries.district_summary(district, complete_months, tz, today, legislator)
        return len(summary_tables.summary_tables(s, legislator))

    def case_rows_reference() -> int:
        return len(
            db.session.execute(
                sa.text(
                    "SELECT c.number, co.first_name || ' ' || co.last_name, c.subject "
                    "FROM cases c JOIN constituents co ON co.id = c.constituent_id "
                    "WHERE c.district_id = :d AND c.opened_at >= :s AND c.opened_at < :e "
                    "ORDER BY c.number"
                ),
                {"d": district.id, "s": _bind(start), "e": _bind(end)},
            ).all()
        )

    measured = [
        (
            "12-month summary of one district (2 periods, all tables)",
            lambda: summaries.district_summary(district, period, tz, today, staff=True),
        ),
        (
            "the same, as the legislator reads it (12 complete months, withheld by month)",
            lambda: legislator_summary(),
        ),
        (
            "headline figures only, one district, this period",
            lambda: summaries.headlines([district.id], period, tz),
        ),
        (
            "all-districts table (2 periods)",
            lambda: summaries.compare_districts(districts, period, tz),
        ),
        ("CSV: every figure of the summary (all.csv)", summary_csv),
        (f"CSV: cases opened in the period, {district.code}", case_csv),
    ]

    def ref() -> tuple:
        return reference(district.id, start, end)

    print(
        f"{'':56} {'p50 ms':>8} {'p95 ms':>8}   {'reference p50/p95':>17}   {'ratio p50/p95':>13}"
    )
    for label, fn in measured:
        ms, ref_ms = timed_beside(fn, ref, args.runs)
        p50, p95 = p50_p95(ms)
        r50, r95 = p50_p95(ref_ms)
        print(
            f"{label:56} {p50:8.0f} {p95:8.0f}   {r50:8.0f} {r95:8.0f}   "
            f"{p50 / r50:6.2f}x {p95 / r95:5.2f}x",
            flush=True,
        )
    raw = timed(case_rows_reference, args.runs)
    print(
        f"{'  (raw SQL fetch of the same case rows, for the CSV)':56} "
        f"{p50_p95(raw)[0]:8.0f} {p50_p95(raw)[1]:8.0f}"
    )

    # Peak Python memory of the CSV export of every case, at two sizes.
    everything = summaries.parse_period("custom", date(today.year - 9, 1, 1), today, today)
    print("\nCSV export of every case (all districts, all dates):")
    for fraction in (10, 1):
        limit = max(total // fraction, 1)

        def export_all(limit: int = limit) -> tuple[int, int]:
            rows_out = 0
            out = 0
            for d in districts:
                listed = summaries.drill_rows_select(
                    permissions.visible_cases(supervisor),
                    summaries.DrillTarget(opened, d, everything, tz, today),
                ).limit(limit)
                rows = drill_csv_rows(listed, False, "", tz)
                for chunk in exports.csv_chunks(drill_csv_header(False), rows):
                    out += len(chunk)
                    rows_out += chunk.count("\r\n")
            return rows_out, out

        gc.collect()
        tracemalloc.start()
        t = time.perf_counter()
        rows_out, chars = export_all()
        seconds = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"  up to {limit:>8,} rows per district: {rows_out:>8,} lines, "
            f"{chars / 1e6:6.1f} MB of CSV, {seconds:5.1f} s (traced), "
            f"peak Python memory {peak / 1e6:5.2f} MB"
        )


def _bind(value: Any) -> Any:
    if db.session.get_bind().dialect.name == "sqlite":
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


if __name__ == "__main__":
    main()
