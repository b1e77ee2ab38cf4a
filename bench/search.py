"""Search benchmark: Whoosh as the app uses it, beside SQLite FTS5 over the same text.

    python bench/search.py --scale 100            # 40,000 cases per 100: --scale 500 = 200,000
    python bench/search.py --scale 5 --queries 200 --workdir /tmp/search-bench
    python bench/search.py --scale 20 --backend postgres \
        --database-url postgresql://postgres@127.0.0.1:5432/bench   # PostgreSQL beside Whoosh

Seeds (or reuses) a database with `flask demo seed --scale N` in --workdir (SQLite there, or
--database-url for PostgreSQL), rewrites the timeline notes with generated text of realistic
length and vocabulary (the demo's dozen stock notes would make every word appear in every
case; see --text), builds the Whoosh index with `flask search reindex`'s code and an FTS5
table over the same documents, then prints for each query kind p50 and p95 over --queries
queries, Whoosh beside FTS5 and their ratio; then rebuild time and documents per second,
index size, the latency a save adds, how long until a saved case is findable, and the memory
of a serving process that has searched.

Both engines do the same work per query, as the results page needs it, for a supervisor of
every district (the widest permission, so the largest result sets): permitted matches,
their count, facet counts by district/status/category/agency, and the top 20 (by relevance,
or by date); the "highlights" kind also renders highlighted passages for those 20.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = [
    "single word",
    "two-word AND",
    "phrase",
    "prefix",
    "field filter + words",
    "date range",
    "sorted by date",
    "with highlights (20)",
]
NOTE_KINDS = ("note", "call", "email")


# --- setting up ------------------------------------------------------------------------------


def environment(args: argparse.Namespace) -> dict[str, str]:
    """CONSTITUENT_* settings for the benchmark's database and index."""
    work = Path(args.workdir)
    env = dict(os.environ)
    env.update(
        {
            "CONSTITUENT_INSTANCE_PATH": str(work / "instance"),
            "CONSTITUENT_DATABASE_URL": args.database_url or f"sqlite:///{work / 'bench.db'}",
            "CONSTITUENT_SEARCH_INDEX_DIR": str(work / "index"),
            "CONSTITUENT_SEARCH_BACKGROUND_INDEXER": "0",
            "FLASK_APP": "constituent",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def flask(env: dict[str, str], *argv: str) -> None:
    """Run a `flask` command in the benchmark's environment."""
    subprocess.run([sys.executable, "-m", "flask", *argv], env=env, check=True, cwd=ROOT)


def say(message: str) -> None:
    """Print a progress line at once."""
    print(message, flush=True)


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """English words first (Faker's list and casework words), then made-up words for the
    long tail, shuffled within bands so that frequency does not follow the alphabet."""
    from faker.providers.lorem.en_US import Provider

    casework = (
        "benefit payment claim appeal denial letter notice hearing office caseworker "
        "application document records deadline pension survivor disability medical "
        "housing landlord eviction voucher rent utility heat shutoff passport visa "
        "naturalization interview refund identity verification levy installment "
        "premium coverage prescription insulin treatment shelter custody placement "
        "overpayment waiver reconsideration adjudicator liaison inquiry release "
        "signature certificate transcript diagnosis surgery invoice collections "
        "veteran widow daughter husband grandson employer paycheck wages mortgage "
        "foreclosure insurance deductible pharmacy clinic hospital ambulance"
    ).split()
    words = list(dict.fromkeys([w for w in Provider.word_list if len(w) > 2] + casework))
    rng.shuffle(words)
    syllables = [
        "ba",
        "be",
        "bo",
        "ca",
        "co",
        "da",
        "de",
        "di",
        "fa",
        "fo",
        "ga",
        "ge",
        "ha",
        "ka",
        "ke",
        "la",
        "le",
        "li",
        "lo",
        "ma",
        "me",
        "mi",
        "mo",
        "na",
        "ne",
        "no",
        "pa",
        "pe",
        "po",
        "ra",
        "re",
        "ri",
        "ro",
        "sa",
        "se",
        "si",
        "so",
        "ta",
        "te",
        "ti",
        "to",
        "va",
        "ve",
        "vi",
        "wa",
        "za",
        "ter",
        "son",
        "ling",
        "ford",
        "wick",
        "mont",
        "ville",
        "ham",
        "dale",
        "rick",
        "stan",
        "bert",
        "gar",
        "lin",
    ]
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def generate_notes(env: dict[str, str], args: argparse.Namespace) -> None:
    """Give note/call/email events generated text (Zipf-distributed words, 8–40 per note)."""
    marker = Path(args.workdir) / "generated-text.done"
    if marker.exists() or args.text == "demo":
        return
    from constituent import create_app
    from constituent.extensions import db

    rng = random.Random(7)
    words = vocabulary(rng, args.vocabulary)
    weights = [1 / (rank + 1) ** 1.07 for rank in range(len(words))]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    app = create_app({"SEARCH_BACKGROUND_INDEXER": False})
    say(f"Generating note text ({args.vocabulary:,}-word vocabulary, Zipf s=1.07) ...")
    started = time.perf_counter()
    with app.app_context():
        import sqlalchemy as sa

        from constituent.models import TimelineEvent

        ids = db.session.scalars(
            sa.select(TimelineEvent.id)
            .where(TimelineEvent.kind.in_(NOTE_KINDS))
            .order_by(TimelineEvent.id)
        ).all()
        batch = []
        for n, event_id in enumerate(ids, 1):
            length = rng.randint(8, 40)
            chosen = rng.choices(words, cum_weights=cumulative, k=length)
            text = " ".join(chosen).capitalize() + "."
            batch.append({"b_id": event_id, "body": text})
            if len(batch) >= 5000 or n == len(ids):
                db.session.execute(
                    sa.update(TimelineEvent.__table__)
                    .where(TimelineEvent.__table__.c.id == sa.bindparam("b_id"))
                    .values(body=sa.bindparam("body")),
                    batch,
                )
                db.session.commit()
                batch.clear()
    marker.write_text(f"{len(ids)} notes\n")
    say(f"  {len(ids):,} notes rewritten in {time.perf_counter() - started:.0f}s")


def ensure_database(env: dict[str, str], args: argparse.Namespace) -> None:
    """Seed the database once per --scale (then reuse it) and give it generated note text."""
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    seeded = work / f"seeded-scale-{args.scale}"
    if not seeded.exists():
        say(f"Creating the database and seeding --scale {args.scale} ...")
        flask(env, "db", "upgrade")
        create_queue_table(env)
        started = time.perf_counter()
        flask(env, "demo", "seed", "--scale", str(args.scale), "--if-empty")
        seeded.write_text(f"seeded in {time.perf_counter() - started:.0f}s\n")
    else:
        create_queue_table(env)
        say(f"Reusing the database seeded at --scale {args.scale} in {work}.")
    generate_notes(env, args)


def create_queue_table(env: dict[str, str]) -> None:
    """search_queue arrives with the next migration; create it if the database lacks it."""
    code = (
        "from constituent import create_app\nfrom constituent.extensions import db\n"
        "from constituent.models import SearchQueue\napp = create_app()\n"
        "with app.app_context():\n"
        "    SearchQueue.__table__.create(db.engine, checkfirst=True)\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)


# --- FTS5 over the same documents ------------------------------------------------------------


def build_fts(app, path: Path) -> tuple[float, int]:
    """An FTS5 table of every case document's text, and a table of what filters need."""
    from sqlalchemy.orm import Session

    from constituent.extensions import db
    from constituent.search import documents

    if path.exists():
        path.unlink()
    conn = sqlite3.connect(path)
    conn.executescript("""
        PRAGMA journal_mode=WAL;
        CREATE VIRTUAL TABLE fts USING fts5(text, body UNINDEXED,
                                            tokenize='porter unicode61 remove_diacritics 2');
        CREATE TABLE meta (id INTEGER PRIMARY KEY, district_id INT, confidential INT,
                           assignee_id INT, opened_by_id INT, district TEXT, status TEXT,
                           category TEXT, opened INT, closed INT, opened_ts INT,
                           activity_ts INT);
        CREATE TABLE case_agency (case_id INT, agency TEXT);
        CREATE INDEX ix_case_agency ON case_agency (case_id);
    """)
    tz = ZoneInfo(app.config["OFFICE_TIMEZONE"])
    started = time.perf_counter()
    n = 0
    with app.app_context():
        with Session(db.engine) as session:
            top = documents.max_id(session, "cases")
        low = 1
        while low <= top:
            with Session(db.engine) as session:
                docs = documents.case_documents(
                    session, documents.Selection(low=low, high=low + 1999), tz
                )
            conn.executemany(
                "INSERT INTO fts (rowid, text, body) VALUES (?, ?, ?)",
                [(i, d["text"], documents.decompress(d["body"])) for i, d in docs.items()],
            )
            conn.executemany(
                "INSERT INTO meta VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        i,
                        int(d["district_id"]),
                        d["confidential"] == "y",
                        None if d["assignee_id"] == "none" else int(d["assignee_id"]),
                        None if d["opened_by_id"] == "none" else int(d["opened_by_id"]),
                        d["district"],
                        d["status"],
                        d["category"],
                        d["opened"],
                        d.get("closed"),
                        d["opened_ts"],
                        d["activity_ts"],
                    )
                    for i, d in docs.items()
                ],
            )
            conn.executemany(
                "INSERT INTO case_agency VALUES (?, ?)",
                [(i, a) for i, d in docs.items() for a in d["agency"].split(",") if a],
            )
            n += len(docs)
            low += 2000
    conn.commit()
    conn.execute("INSERT INTO fts(fts) VALUES ('optimize')")
    conn.commit()
    conn.close()
    return time.perf_counter() - started, n


class FTS:
    """The same queries on FTS5: permitted matches, count, four facets, top 20."""

    def __init__(self, path: Path, district_ids: list[int]) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("PRAGMA cache_size=-65536")
        # A supervisor of these districts: the same rule as case_scope.
        self.permitted = f"meta.district_id IN ({','.join(str(d) for d in district_ids)})"

    def run(
        self,
        match: str | None,
        where: str = "",
        params: Iterable = (),
        order: str = "bm25(fts)",
        highlight: bool = False,
    ) -> int:
        params = list(params)
        conds = [self.permitted] + ([where] if where else [])
        if match is not None:
            base = (
                f"FROM fts JOIN meta ON meta.id = fts.rowid WHERE fts MATCH ? AND "
                f"{' AND '.join(conds)}"
            )
            params = [match, *params]
        else:
            base = f"FROM meta WHERE {' AND '.join(conds)}"
            order = order.replace("bm25(fts)", "meta.id")
        c = self.conn
        c.execute("CREATE TEMP TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY)")
        c.execute("DELETE FROM hits")
        c.execute(f"INSERT INTO hits SELECT meta.id {base}", params)  # noqa: S608
        total = c.execute("SELECT count(*) FROM hits").fetchone()[0]
        for column in ("district", "status", "category"):
            c.execute(
                f"SELECT {column}, count(*) FROM meta JOIN hits USING (id) "  # noqa: S608
                f"GROUP BY {column}"
            ).fetchall()
        c.execute(
            "SELECT agency, count(*) FROM case_agency JOIN hits ON hits.id = "
            "case_agency.case_id GROUP BY agency"
        ).fetchall()
        select = "fts.rowid" if match is not None else "meta.id"
        if highlight and match is not None:
            select = "fts.rowid, snippet(fts, 1, '<mark>', '</mark>', '…', 24)"
        rows = c.execute(
            f"SELECT {select} {base} ORDER BY {order} LIMIT 20",  # noqa: S608
            params,
        ).fetchall()
        return total if rows is not None else 0


# --- the queries -----------------------------------------------------------------------------


def sample_queries(
    fts_path: Path,
    count: int,
    rng: random.Random,
    statuses: list[str],
    categories: list[str],
    months: list[tuple[int, int]],
) -> dict[str, list[tuple]]:
    """Queries people would type: words taken from random documents (so frequent words are
    asked for more often, as in life), pairs and phrases from the same document."""
    conn = sqlite3.connect(fts_path)
    top = conn.execute("SELECT max(rowid) FROM fts").fetchone()[0]
    word_re = re.compile(r"[A-Za-z]{4,}")
    stop = {
        "with",
        "that",
        "this",
        "from",
        "have",
        "they",
        "them",
        "were",
        "their",
        "been",
        "will",
        "about",
        "into",
        "there",
        "what",
        "when",
        "which",
        "after",
        "before",
    }

    def doc_words() -> list[str]:
        while True:
            row = conn.execute(
                "SELECT body FROM fts WHERE rowid >= ? LIMIT 1", (rng.randint(1, top),)
            ).fetchone()
            if row:
                words = [w.lower() for w in word_re.findall(row[0]) if w.lower() not in stop]
                if len(words) >= 3:
                    return words

    queries: dict[str, list[tuple]] = {k: [] for k in KINDS}
    for _ in range(count):
        words = doc_words()
        one = rng.choice(words)
        queries["single word"].append((one,))
        a, b = rng.sample(words, 2)
        queries["two-word AND"].append((f"{a} {b}",))
        body = conn.execute(
            "SELECT body FROM fts WHERE rowid >= ? LIMIT 1", (rng.randint(1, top),)
        ).fetchone()[0]
        tokens = word_re.findall(body)
        start = rng.randint(0, max(0, len(tokens) - 3))
        phrase = " ".join(t.lower() for t in tokens[start : start + rng.choice((2, 3))])
        queries["phrase"].append((phrase,))
        long_words = [w for w in words if len(w) >= 6] or ["pension"]
        queries["prefix"].append((rng.choice(long_words)[:4],))
        field = rng.choice(["status", "category"])
        value = rng.choice(statuses if field == "status" else categories)
        queries["field filter + words"].append((field, value, rng.choice(words)))
        year, month = rng.choice(months)
        queries["date range"].append((year, month))
        queries["sorted by date"].append((rng.choice(words),))
        queries["with highlights (20)"].append((rng.choice(words),))
    conn.close()
    return queries


def fts_quote(words: str) -> str:
    """Words as FTS5 string tokens (so that none is read as an operator)."""
    return " ".join('"' + w.replace('"', "") + '"' for w in words.split())


def whoosh_text(kind: str, q: tuple) -> tuple[str, str]:
    """A query kind's sample as the search text a person would type, and the sort."""
    if kind in ("single word", "two-word AND", "sorted by date", "with highlights (20)"):
        return q[0], "newest" if kind == "sorted by date" else "relevance"
    if kind == "phrase":
        return f'"{q[0]}"', "relevance"
    if kind == "prefix":
        return f"{q[0]}*", "relevance"
    if kind == "field filter + words":
        return f"{q[0]}:{q[1]} {q[2]}", "relevance"
    year, month = q
    return f"opened:{year}-{month:02d}", "relevance"


def fts_run(fts: FTS, kind: str, q: tuple) -> int:
    """The same query kind on FTS5."""
    if kind in ("single word", "two-word AND"):
        return fts.run(fts_quote(q[0]))
    if kind == "sorted by date":
        return fts.run(fts_quote(q[0]), order="meta.opened_ts DESC")
    if kind == "with highlights (20)":
        return fts.run(fts_quote(q[0]), highlight=True)
    if kind == "phrase":
        return fts.run('"' + q[0] + '"')
    if kind == "prefix":
        return fts.run(f'"{q[0]}"*')
    if kind == "field filter + words":
        return fts.run(fts_quote(q[2]), where=f"meta.{q[0]} = ?", params=[q[1]])
    year, month = q
    last = (datetime(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return fts.run(
        None,
        where="meta.opened BETWEEN ? AND ?",
        params=[year * 10000 + month * 100 + 1, year * 10000 + month * 100 + last],
        order="meta.opened_ts DESC",
    )


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 of some timings."""
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return p50, p95


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds a call took."""
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


# --- measurements ----------------------------------------------------------------------------


def measure_queries(app, supervisor, fts: FTS, queries: dict[str, list[tuple]]) -> list[dict]:
    """p50/p95 per query kind for Whoosh (as the app searches) and FTS5."""
    from constituent.search import engine, searching
    from constituent.search import query as search_query
    from constituent.search.documents import decompress
    from constituent.search.store import search_index

    index = search_index(app)
    search_engine = engine.current()
    rows = []
    for kind in KINDS:
        w_times, f_times, totals = [], [], []
        for q in queries[kind]:
            text, sort = whoosh_text(kind, q)
            parsed = search_query.parse(text)

            def whoosh(parsed=parsed, sort=sort, kind=kind, totals=totals) -> None:
                with index.reading() as reading:
                    found = searching.case_page(reading, supervisor, parsed, sort)
                    totals.append(found.total)
                    if kind == "with highlights (20)" and found.query is not None:
                        terms = search_engine.highlight_terms(found.query)
                        for _docnum, stored in found.chosen:
                            search_engine.highlight(decompress(stored.get("body")), terms)

            w_times.append(timed(whoosh))
            f_times.append(timed(lambda kind=kind, q=q: fts_run(fts, kind, q)))
        wp50, wp95 = percentiles(w_times)
        fp50, fp95 = percentiles(f_times)
        rows.append(
            {
                "kind": kind,
                "n": len(w_times),
                "whoosh_p50": wp50,
                "whoosh_p95": wp95,
                "fts_p50": fp50,
                "fts_p95": fp95,
                "ratio_p95": wp95 / fp95 if fp95 else 0,
                "median_hits": statistics.median(totals) if totals else 0,
            }
        )
    return rows


def measure_postgres(app, supervisor, queries: dict[str, list[tuple]]) -> list[dict]:
    """p50/p95 per query kind for Whoosh and the postgres backend, each query run on both
    in turn (so that both see the same load on a shared machine), the same work for both:
    permitted matches counted, four facets, the top 20 (highlighted for the highlights
    kind: ts_headline on PostgreSQL)."""
    from constituent.search import engine, postgres, searching
    from constituent.search import query as search_query
    from constituent.search.documents import decompress
    from constituent.search.store import search_index

    index = search_index(app)
    search_engine = engine.current()
    rows = []
    for kind in KINDS:
        w_times, p_times, totals = [], [], []
        for q in queries[kind]:
            text, sort = whoosh_text(kind, q)
            parsed = search_query.parse(text)
            highlights = kind == "with highlights (20)"

            def whoosh(parsed=parsed, sort=sort, highlights=highlights) -> None:
                with index.reading() as reading:
                    found = searching.case_page(reading, supervisor, parsed, sort)
                    if highlights and found.query is not None:
                        terms = search_engine.highlight_terms(found.query)
                        for _docnum, stored in found.chosen:
                            search_engine.highlight(decompress(stored.get("body")), terms)

            def run(parsed=parsed, sort=sort, highlights=highlights, totals=totals) -> None:
                found = postgres.case_page(supervisor, parsed, sort, highlights=highlights)
                totals.append(found.total if found is not None else 0)

            w_times.append(timed(whoosh))
            p_times.append(timed(run))
        wp50, wp95 = percentiles(w_times)
        p50, p95 = percentiles(p_times)
        rows.append(
            {
                "kind": kind,
                "whoosh_p50": wp50,
                "whoosh_p95": wp95,
                "pg_p50": p50,
                "pg_p95": p95,
                "median_hits": statistics.median(totals),
            }
        )
    index.close()
    return rows


def print_postgres(pg_rows: list[dict], seconds: float, docs: int) -> None:
    """PostgreSQL beside Whoosh, per query kind, on the same queries in the same loop."""
    header = (
        f"{'query kind':<24} {'Whoosh p50':>10} {'p95':>8} {'PG p50':>8} {'p95':>8} "
        f"{'PG/Whoosh p95':>13} {'median hits':>11}"
    )
    print_table(
        header,
        (
            f"{p['kind']:<24} {p['whoosh_p50']:>8.1f}ms {p['whoosh_p95']:>6.1f}ms "
            f"{p['pg_p50']:>6.1f}ms {p['pg_p95']:>6.1f}ms "
            f"{p['pg_p95'] / p['whoosh_p95'] if p['whoosh_p95'] else 0:>12.2f}x "
            f"{p['median_hits']:>11,.0f}"
            for p in pg_rows
        ),
    )
    print(f"PostgreSQL search documents rebuilt in {seconds:.1f}s ({docs:,} documents)")


def measure_full_page(app, supervisor, queries: dict[str, list[tuple]]) -> tuple[float, float]:
    """The whole results page's search (SQL check of the page, sections, highlights)."""
    from constituent.search import searching

    times = []
    with app.test_request_context():
        for q in queries["single word"][:100]:
            times.append(timed(lambda q=q: searching.search(supervisor, q[0])))
    return percentiles(times)


PEOPLE_USERS = (
    ("caseworker2@demo.example", "NY-21 caseworker"),
    ("intake@demo.example", "intake, 3 districts"),
    ("supervisor@demo.example", "supervisor, 3 districts"),
)


def people_queries(app, n: int, rng: random.Random) -> list[str]:
    """Searches for people: a surname, a full name, a name with a ZIP, and the OR of a full
    name and another surname (the shape of the issue-11 probe), from the demo's residents."""
    import sqlalchemy as sa

    from constituent.extensions import db
    from constituent.models import Constituent

    with app.app_context():
        rows = db.session.execute(
            sa.select(Constituent.first_name, Constituent.last_name, Constituent.zip5)
            .order_by(Constituent.id)
            .limit(5000)
        ).all()
    texts = []
    for i in range(n):
        first, last, zip5 = rng.choice(rows)
        other = rng.choice(rows)[1]
        texts.append(
            [last, f"{first} {last}", f"{last} zip:{zip5}", f"({first} {last}) OR {other}"][i % 4]
        )
    return texts


def measure_people(app, texts: list[str]) -> list[dict]:
    """The people section ("N people found" and its top rows) per user: warm (permission
    filter cached for this version of the index) and cold (the first search after a save,
    when the filter is recomputed), beside the case section for the same searches."""
    import sqlalchemy as sa

    from constituent.extensions import db
    from constituent.models import User
    from constituent.search import query as search_query
    from constituent.search import searching
    from constituent.search.store import search_index

    index = search_index(app)
    rows = []
    with app.app_context():
        for email, label in PEOPLE_USERS:
            user = db.session.scalar(sa.select(User).where(User.email == email))
            if user is None:
                continue
            timings: dict[str, list[float]] = {"warm": [], "cold": [], "cases": []}
            totals = []
            for text in texts:
                parsed = search_query.parse(text)

                def people(parsed=parsed, text=text, user=user, totals=totals, cold=False) -> None:
                    with index.reading() as reading:
                        if cold:
                            reading.opened.filters.clear()
                        outcome = searching.Outcome(text=text)
                        searching._constituents(reading, user, parsed, outcome)
                        totals.append(outcome.constituent_total)

                def cases(parsed=parsed, user=user) -> None:
                    with index.reading() as reading:
                        searching.case_page(reading, user, parsed)

                people()  # warm the filter for this user
                timings["warm"].append(timed(people))
                timings["cold"].append(timed(lambda p=people: p(cold=True)))
                timings["cases"].append(timed(cases))
            row = {"user": label, "n": len(texts), "median_people": statistics.median(totals)}
            for key, samples in timings.items():
                row[f"{key}_p50"], row[f"{key}_p95"] = percentiles(samples)
            rows.append(row)
    return rows


def print_table(header: str, lines: Iterable[str]) -> None:
    """A table of figures: its header, a rule under it, then its lines."""
    print(header)
    print("-" * len(header))
    for line in lines:
        print(line)


def print_people(rows: list[dict]) -> None:
    header = (
        f"{'people section':<26} {'warm p50':>9} {'p95':>8} {'cold p50':>9} {'p95':>8} "
        f"{'cases p50':>9} {'warm/cases':>10} {'median found':>12}"
    )
    print_table(
        header,
        (
            f"{r['user']:<26} {r['warm_p50']:>7.1f}ms {r['warm_p95']:>6.1f}ms "
            f"{r['cold_p50']:>7.1f}ms {r['cold_p95']:>6.1f}ms {r['cases_p50']:>7.1f}ms "
            f"{(r['warm_p50'] / r['cases_p50'] if r['cases_p50'] else 0):>9.2f}x "
            f"{r['median_people']:>12,.0f}"
            for r in rows
        ),
    )


def measure_saves(app, supervisor, n: int) -> dict[str, float]:
    """Commit latency of adding a note, with and without the search queue's listener, and
    the time until the note's unique word is found (background indexer thread running)."""
    import sqlalchemy as sa
    from sqlalchemy import event

    from constituent.extensions import db
    from constituent.models import Case, EventKind
    from constituent.search import indexer, queue, searching
    from constituent.services import timeline

    rng = random.Random(11)
    out: dict[str, float] = {}
    with app.app_context():
        top = db.session.scalar(sa.select(sa.func.max(Case.id)))

        def save(word: str) -> float:
            """One request's work: load a case, add a note, commit (timed from the load)."""
            case_id = rng.randint(1, top)
            with app.test_request_context(method="POST"):
                started = time.perf_counter()
                case = db.session.get(Case, case_id) or db.session.scalar(
                    sa.select(Case).order_by(Case.id).limit(1)
                )
                timeline.add_event(case, EventKind.NOTE, f"Benchmark note {word}.")
                db.session.commit()
                elapsed = (time.perf_counter() - started) * 1000
                db.session.remove()
            return elapsed

        listeners = [("before_flush", queue.before_flush), ("after_flush", queue.after_flush)]
        without = []
        for name, fn in listeners:
            event.remove(db.session, name, fn)
        try:
            for i in range(n):
                without.append(save(f"plainsave{i}"))
        finally:
            queue.install(db.session)
        with_queue = [save(f"queuedsave{i}") for i in range(n)]
        indexer.drain(app, lock_timeout=60)
        out["save_without_p50"], out["save_without_p95"] = percentiles(without)
        out["save_with_p50"], out["save_with_p95"] = percentiles(with_queue)
        out["save_added_p50"] = out["save_with_p50"] - out["save_without_p50"]
        out["save_added_p95"] = out["save_with_p95"] - out["save_without_p95"]

        background = indexer.start_background_indexer(app)
        findable = []
        try:
            for i in range(max(20, n // 4)):
                word = f"findme{i}x{rng.randint(1000, 9999)}"
                save(word)
                started = time.perf_counter()
                while True:
                    with app.test_request_context():
                        if searching.count_cases(supervisor, word):
                            break
                    if time.perf_counter() - started > 30:
                        break
                    time.sleep(0.005)
                findable.append((time.perf_counter() - started) * 1000)
        finally:
            indexer.stop_background_indexer(app)
            del background
        out["findable_p50"], out["findable_p95"] = percentiles(findable)
    return out


RSS_PROBE = textwrap.dedent("""
    import json, sys
    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    from constituent import create_app
    from constituent.extensions import db
    from constituent.models import User
    from constituent.search import searching
    import sqlalchemy as sa
    app = create_app()
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == sys.argv[1]))
        texts = json.loads(sys.argv[2])
        start = rss()
        with app.test_request_context():
            for t in texts:
                searching.search(user, t)
        print(json.dumps({"start": start, "after": rss(), "searches": len(texts)}))
""")


def measure_rss(env: dict[str, str], email: str, queries: dict[str, list[tuple]]) -> dict:
    """Resident memory of a fresh serving process before and after searching."""
    texts = []
    for kind in KINDS:
        texts += [whoosh_text(kind, q)[0] for q in queries[kind][:60]]
    done = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, email, json.dumps(texts)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def directory_size(path: Path) -> int:
    """Bytes under a directory."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    """Seed or reuse, build both indexes, measure, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale",
        type=int,
        default=100,
        help="`flask demo seed --scale`: 400 cases per unit (500 = 200,000)",
    )
    parser.add_argument("--workdir", default="/tmp/constituent-search-bench")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL (default: SQLite in --workdir)"
    )
    parser.add_argument("--queries", type=int, default=200, help="queries per kind (≥200)")
    parser.add_argument("--procs", type=int, default=2, help="processes for the rebuild")
    parser.add_argument("--saves", type=int, default=100, help="saves to time")
    parser.add_argument(
        "--text",
        choices=["generated", "demo"],
        default="generated",
        help="notes with generated text (default) or the demo's stock notes",
    )
    parser.add_argument("--vocabulary", type=int, default=30000)
    parser.add_argument(
        "--backend",
        choices=["whoosh", "postgres"],
        default="whoosh",
        help="postgres: also time the postgres search backend on the same queries (needs "
        "--database-url postgresql://...) and print it beside Whoosh",
    )
    parser.add_argument(
        "--skip-reindex", action="store_true", help="reuse the index already built in --workdir"
    )
    parser.add_argument(
        "--people-only",
        action="store_true",
        help="only the people section's timings (counts over constituent_scope), per user",
    )
    args = parser.parse_args()
    if args.backend == "postgres" and not (args.database_url or "").startswith("postgresql"):
        parser.error("--backend postgres needs --database-url postgresql://...")

    env = environment(args)
    os.environ.update({k: v for k, v in env.items() if k.startswith("CONSTITUENT_")})
    ensure_database(env, args)

    from constituent import create_app
    from constituent.extensions import db
    from constituent.models import CaseStatus, Category, User
    from constituent.search import indexer
    from constituent.search.store import current_generation, index_root, search_index

    app = create_app({"SEARCH_BACKGROUND_INDEXER": False})
    import sqlalchemy as sa

    work = Path(args.workdir)
    with app.app_context():
        supervisor = db.session.scalar(
            sa.select(User).where(User.email == "supervisor@demo.example")
        )
        district_ids = sorted(supervisor.district_ids)
        categories = list(db.session.scalars(sa.select(Category.slug)))
        cases = db.session.scalar(sa.text("SELECT count(*) FROM cases"))
        events = db.session.scalar(sa.text("SELECT count(*) FROM timeline_events"))
        first_opened = db.session.scalar(sa.text("SELECT min(opened_at) FROM cases"))
        db.session.expunge(supervisor)
    say(f"Database: {cases:,} cases, {events:,} timeline events.")

    rebuild = None
    if not args.skip_reindex or current_generation(index_root(app)) is None:
        say(f"Rebuilding the Whoosh index (procs={args.procs}) ...")
        with app.app_context():
            rebuild = indexer.rebuild(app, procs=args.procs)
    gen = current_generation(index_root(app))
    index_bytes = directory_size(gen)

    say(f"Timing the people section ({args.queries} searches per user) ...")
    people_rows = measure_people(app, people_queries(app, args.queries, random.Random(21)))
    search_index(app).close()
    if args.people_only:
        print()
        print(f"People section: {cases:,} cases (--scale {args.scale}), {args.queries} searches")
        print_people(people_rows)
        return

    fts_path = work / "fts.db"
    say("Building the FTS5 table over the same documents ...")
    fts_seconds, fts_docs = build_fts(app, fts_path)
    fts_bytes = fts_path.stat().st_size

    if isinstance(first_opened, str):
        first_opened = datetime.fromisoformat(first_opened)
    first_opened = first_opened or datetime.now(UTC)
    months = []
    cursor = datetime(first_opened.year, first_opened.month, 1)
    now = datetime.now()
    while cursor <= now:
        months.append((cursor.year, cursor.month))
        cursor = datetime(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
    rng = random.Random(2026)
    queries = sample_queries(
        fts_path, args.queries, rng, [s.value for s in CaseStatus], categories, months
    )
    fts = FTS(fts_path, district_ids)

    say(f"Running {args.queries} queries of each kind (warm-up first) ...")
    with app.app_context():
        supervisor = db.session.merge(supervisor)
        warm = {k: v[:10] for k, v in queries.items()}
        measure_queries(app, supervisor, fts, warm)
        rows = measure_queries(app, supervisor, fts, queries)
        page_p50, page_p95 = measure_full_page(app, supervisor, queries)
    search_index(app).close()

    pg_rows: list[dict] = []
    pg_seconds, pg_docs = 0.0, 0
    if args.backend == "postgres":
        from constituent.search import postgres

        say("Rebuilding the PostgreSQL search documents ...")
        with app.app_context():
            started = time.perf_counter()
            pg_docs = sum(postgres.reindex(app).counts.values())
            pg_seconds = time.perf_counter() - started
            say(f"Running {args.queries} queries of each kind, Whoosh and PostgreSQL in turn ...")
            supervisor = db.session.merge(supervisor)
            measure_postgres(app, supervisor, {k: v[:10] for k, v in queries.items()})
            pg_rows = measure_postgres(app, supervisor, queries)

    say("Timing saves and how soon they are findable ...")
    saves = measure_saves(app, supervisor, args.saves)
    say("Measuring a serving process's memory ...")
    rss = measure_rss(env, "supervisor@demo.example", queries)

    print()
    print(
        f"Search benchmark: {cases:,} cases, {events:,} timeline events "
        f"(--scale {args.scale}, text: {args.text}), supervisor of {len(district_ids)} "
        f"districts, {args.queries} queries per kind"
    )
    print()
    header = (
        f"{'query kind':<24} {'Whoosh p50':>10} {'p95':>8} {'FTS5 p50':>9} {'p95':>8} "
        f"{'p95 ratio':>9} {'median hits':>11}"
    )
    print_table(
        header,
        (
            f"{r['kind']:<24} {r['whoosh_p50']:>8.1f}ms {r['whoosh_p95']:>6.1f}ms "
            f"{r['fts_p50']:>7.1f}ms {r['fts_p95']:>6.1f}ms {r['ratio_p95']:>8.1f}x "
            f"{r['median_hits']:>11,.0f}"
            for r in rows
        ),
    )
    print(
        f"{'full results page':<24} {page_p50:>8.1f}ms {page_p95:>6.1f}ms "
        f"{'(cases + people + agencies sections, SQL check, highlights)':>0}"
    )
    print()
    if pg_rows:
        print_postgres(pg_rows, pg_seconds, pg_docs)
        print()
    print_people(people_rows)
    print()
    if rebuild is not None:
        docs = sum(rebuild.counts.values())
        print(
            f"Full reindex: {rebuild.seconds:.1f}s for {docs:,} documents "
            f"({docs / rebuild.seconds:,.0f} docs/s; cases {rebuild.counts['cases']:,}), "
            f"procs={args.procs}"
        )
    print(f"FTS5 build over the same case documents: {fts_seconds:.1f}s ({fts_docs:,} docs)")
    print(
        f"Index size: Whoosh {index_bytes / 1e6:,.1f} MB, FTS5 (with text) "
        f"{fts_bytes / 1e6:,.1f} MB"
    )
    print(
        f"Save (add a note, commit): p50 {saves['save_with_p50']:.2f} ms / p95 "
        f"{saves['save_with_p95']:.2f} ms with the queue; {saves['save_without_p50']:.2f} / "
        f"{saves['save_without_p95']:.2f} ms without: adds {saves['save_added_p50']:.2f} ms "
        f"(p50), {saves['save_added_p95']:.2f} ms (p95)"
    )
    print(
        f"Saved case findable after: p50 {saves['findable_p50']:.0f} ms, p95 "
        f"{saves['findable_p95']:.0f} ms (background indexer thread)"
    )
    print(
        f"Serving process memory: {rss['start']:.0f} MB at start, {rss['after']:.0f} MB after "
        f"{rss['searches']} searches (+{rss['after'] - rss['start']:.0f} MB)"
    )


if __name__ == "__main__":
    main()
