"""Shared set-up for the benchmarks: a demo office seeded at a given scale, reused across runs."""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402

from constituent import create_app  # noqa: E402
from constituent.extensions import db  # noqa: E402
from constituent.models import District, Role, User, ZipDistrict  # noqa: E402
from constituent.services import auth, demo  # noqa: E402

WORK = Path(tempfile.gettempdir()) / "constituent-bench"
# The staff member the request benches sign in as, and the token they read from each form.
PASSWORD = "benchmark password for intake"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def request_bench_arguments(doc: str | None) -> argparse.Namespace:
    """--scale (of the demo office), --runs (per kind of request) and --database."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file in /tmp)")
    return parser.parse_args()


def database_url(name: str, scale: int, database: str | None) -> str:
    """The given URL (postgresql:// accepted), or a SQLite file per benchmark and scale."""
    WORK.mkdir(exist_ok=True)
    url = database or f"sqlite:///{WORK / f'{name}-scale{scale}.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def bench_app(url: str, name: str, **config: object) -> Flask:
    """An app for a benchmark on ``url``, its index and uploads under WORK."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-secret",
            "TESTING": True,
            "SEARCH_INDEX_DIR": str(WORK / f"{name}-index"),
            "UPLOAD_DIR": str(WORK / "uploads"),
            **config,
        }
    )


def seeded_app(name: str, scale: int, database: str | None = None, **config: object) -> Flask:
    """An app on a database holding the demo office at ``scale`` (seeded once, then reused)."""
    url = database_url(name, scale, database)
    app = bench_app(url, name, **config)
    with app.app_context():
        db.create_all()
        if not demo.is_seeded():
            print(f"Seeding the demo office at scale {scale} into {url} ...", flush=True)
            started = time.perf_counter()
            demo.seed(scale=scale)
            db.session.commit()
            print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return app


def request_bench_app(scale: int, database: str | None, **config: object) -> Flask:
    """The seeded office as the request benches post to it (CSRF on), with the reference
    route ``/__bench__/select1``: one ``SELECT 1`` through the same stack."""
    app = seeded_app("intake", scale, database, WTF_CSRF_ENABLED=True, **config)

    @app.route("/__bench__/select1")
    def select1() -> str:
        db.session.execute(sa.text("SELECT 1")).scalar()
        return "1"

    return app


def intake_staff_email() -> str:
    """The intake staff member the request benches sign in as, their password set to PASSWORD
    (committed; call inside an app context)."""
    user = db.session.scalar(sa.select(User).where(User.role == Role.INTAKE))
    assert user is not None, "the demo office has no intake staff"
    user.password_hash = auth.hash_password(PASSWORD)
    db.session.commit()
    return user.email


def timed_ms(fn: Callable[[], object], runs: int, warmup: int = 5) -> list[float]:
    """Milliseconds of ``runs`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p50_p95(ms: list[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def log_a_call(client: object, token: str, n: int, zip5: str, category_id: int) -> object:
    """POST log a call as intake types it (caller ``n``, a new constituent each time): the one
    staff intake request the benches time (bench/intake.py, and beside the public form)."""
    return client.post(  # type: ignore[attr-defined]
        "/intake/",
        data={
            "csrf_token": token,
            "first_name": "Bench",
            "last_name": f"Caller{n}",
            "phone": f"(518) 555-{n % 10000:04d}",
            "street": f"{n} Main Street",
            "city": "Plattsburgh",
            "zip5": zip5,
            "category_id": category_id,
            "subject": "Retirement check stopped",
            "channel": "phone",
            "priority": "routine",
            "description": "Caller says the Social Security payment stopped last month.",
        },
    )


def single_district_zips(limit: int = 50) -> list[str]:
    """ZIPs wholly inside one served district (a ZIP split with any other district, served or
    not, makes log a call ask which, and the timed post would be refused)."""
    served = set(db.session.scalars(sa.select(District.code)))
    rows = db.session.execute(
        sa.select(ZipDistrict.zip5, sa.func.min(ZipDistrict.district_code))
        .group_by(ZipDistrict.zip5)
        .having(sa.func.count() == 1)
    )
    return [zip5 for zip5, code in rows if code in served][:limit]


def intake_signed_in(app: Flask, email: str) -> tuple[Any, str]:
    """A test client signed in as ``email`` (its password set to PASSWORD) and the token of
    its log-a-call form."""
    client = app.test_client()
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    signed_in = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 302, "benchmark sign-in failed"
    page = client.get("/intake/").get_data(as_text=True)
    return client, CSRF_RE.search(page).group(1)  # type: ignore[union-attr]
