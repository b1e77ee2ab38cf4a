"""Benchmark logging a call: the constituent look-up and the intake POST, in-process.

    python bench/intake.py                 # demo office at --scale 100 (30,000 constituents)
    python bench/intake.py --scale 10 --runs 200 --database postgresql://postgres@127.0.0.1/x

Each request goes through the whole app stack (Flask test client, sign-in session, CSRF,
permission scope). The reference is a bare ``SELECT 1`` round trip through the same stack: a
route added for the benchmark that signs in the same way and runs only ``SELECT 1``. Prints p50
and p95 over --runs requests of each kind and the ratio to the reference; asserts nothing.
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench import common  # noqa: E402
from constituent.extensions import db  # noqa: E402
from constituent.models import (  # noqa: E402
    Category,
    Constituent,
    ContactKind,
    ContactPoint,
)


def main() -> None:
    args = common.request_bench_arguments(__doc__)
    app = common.request_bench_app(args.scale, args.database)
    rng = random.Random(42)  # noqa: S311
    with app.app_context():
        email = common.intake_staff_email()
        people = db.session.execute(
            sa.select(Constituent.first_name, Constituent.last_name, ContactPoint.value)
            .join(
                ContactPoint,
                (ContactPoint.constituent_id == Constituent.id)
                & (ContactPoint.kind == ContactKind.PHONE),
            )
            .order_by(sa.func.random())
            .limit(500)
        ).all()
        n_people = db.session.scalar(sa.select(sa.func.count()).select_from(Constituent))
        single = common.single_district_zips()
        category_id = db.session.scalar(sa.select(Category.id).order_by(Category.id))
        db.session.remove()

    client, token = common.intake_signed_in(app, email)

    def reference() -> None:
        assert client.get("/__bench__/select1").status_code == 200

    def lookup() -> None:
        first, last, phone = rng.choice(people)
        # What intake types: a nickname-able first name, the surname, the phone as spoken.
        query = {"first_name": first, "last_name": last[:5], "phone": re.sub(r"\D", "", phone)}
        assert client.get("/intake/lookup", query_string=query).status_code == 200

    counter = iter(range(10**9))

    def log_call() -> None:
        n = next(counter)
        response = common.log_a_call(client, token, n, rng.choice(single), category_id)
        assert response.status_code == 302, response.status_code

    print(
        f"\nIntake benchmark: {n_people:,} constituents, {args.runs} requests each "
        f"({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]})"
    )
    ref = common.p50_p95(common.timed_ms(reference, args.runs))
    print(f"{'request':<28}{'p50 ms':>9}{'p95 ms':>9}{'p50 ×ref':>10}{'p95 ×ref':>10}")
    print(f"{'SELECT 1 (reference)':<28}{ref[0]:>9.2f}{ref[1]:>9.2f}{1:>10.1f}{1:>10.1f}")
    for label, fn in (("constituent look-up", lookup), ("log a call (POST)", log_call)):
        p50, p95 = common.p50_p95(common.timed_ms(fn, args.runs))
        print(f"{label:<28}{p50:>9.2f}{p95:>9.2f}{p50 / ref[0]:>10.1f}{p95 / ref[1]:>10.1f}")


if __name__ == "__main__":
    main()
