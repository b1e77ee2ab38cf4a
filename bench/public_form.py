"""Benchmark the public help form's POST beside the staff intake POST, on the same machine and
database, in-process.

    python bench/public_form.py                # demo office at --scale 100
    python bench/public_form.py --scale 10 --runs 200 --database postgresql://...

Each request goes through the whole app stack (Flask test client, CSRF, the form, the
service, the commit). The public POST is timed twice: with the electronic release signed (its
HTML copy written to the file store) and without. The intake POST is "log a call" signed in as
intake staff. The reference is a bare ``SELECT 1`` round trip through the same stack. Prints
p50 and p95 over --runs requests of each kind, the ratio to the reference, and the ratio of
each public POST to the intake POST; asserts nothing.
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
from constituent.models import Category  # noqa: E402
from constituent.services import office, public_demo  # noqa: E402

HIDDEN_RE = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


def main() -> None:
    args = common.request_bench_arguments(__doc__)
    app = common.request_bench_app(
        args.scale,
        args.database,
        PUBLIC_FORM_MIN_SECONDS=0,
        PUBLIC_FORM_LIMIT_PER_ADDRESS="1000000 per minute",
        PUBLIC_FORM_LIMIT_PER_EMAIL="1000000 per minute",
    )
    rng = random.Random(42)  # noqa: S311
    with app.app_context():
        # A database seeded before the public form existed gets its public categories here.
        public_demo.ensure_public_form(office.profile().legislator or "the office")
        email = common.intake_staff_email()
        single = common.single_district_zips()
        category_id = db.session.scalar(sa.select(Category.id).order_by(Category.id))
        public_id = db.session.scalar(
            sa.select(Category.id).where(Category.name == "Social Security")
        )
        db.session.remove()

    staff, staff_token = common.intake_signed_in(app, email)

    resident = app.test_client()
    form_url = f"/help/request?category={public_id}"
    # One page drawn per request (a page posted twice keeps one request), before the timing.
    drawn = [
        dict(HIDDEN_RE.findall(resident.get(form_url).get_data(as_text=True)))
        for _ in range(2 * (args.runs + 5))  # each kind: its runs and 5 warm-up posts
    ]
    counter = iter(range(10**9))

    def reference() -> None:
        assert staff.get("/__bench__/select1").status_code == 200

    def log_call() -> None:
        n = next(counter)
        response = common.log_a_call(staff, staff_token, n, rng.choice(single), category_id)
        errors = re.findall(r"usa-error-message[^>]*>([^<]+)", response.get_data(as_text=True))
        assert response.status_code == 302, (response.status_code, errors)

    def ask(sign: bool) -> None:
        n = next(counter)
        data = {
            **drawn.pop(),
            "what_happened": "My Social Security payment stopped last month.",
            "tried": "I called the 800 number.",
            "first_name": "Bench",
            "last_name": f"Resident{n}",
            "address_line1": f"{n} Main Street",
            "city": "Plattsburgh",
            "state": "NY",
            "zip_code": rng.choice(single),
            "phone": f"(518) 555-{n % 10000:04d}",
            "preferred_contact": "phone",
            "ssn_last4": "1234",
        }
        if sign:
            data.update(attest="y", consent="y", signed_name=f"Bench Resident{n}")
        response = resident.post(form_url, data=data)
        assert response.status_code == 302, response.status_code

    print(
        f"\nPublic form benchmark: demo office at scale {args.scale}, {args.runs} requests each "
        f"({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]})"
    )
    ref = common.p50_p95(common.timed_ms(reference, args.runs))
    head = f"{'request':<36}{'p50 ms':>9}{'p95 ms':>9}{'p50 ×ref':>10}{'p95 ×ref':>10}"
    print(head + f"{'p50 ×intake':>13}{'p95 ×intake':>13}")
    print(f"{'SELECT 1 (reference)':<36}{ref[0]:>9.2f}{ref[1]:>9.2f}{1:>10.1f}{1:>10.1f}")
    intake = common.p50_p95(common.timed_ms(log_call, args.runs))
    rows = [
        ("staff: log a call (POST)", intake),
        (
            "public: ask, release signed (POST)",
            common.p50_p95(common.timed_ms(lambda: ask(True), args.runs)),
        ),
        (
            "public: ask, no release (POST)",
            common.p50_p95(common.timed_ms(lambda: ask(False), args.runs)),
        ),
    ]
    for label, (p50, p95) in rows:
        print(
            f"{label:<36}{p50:>9.2f}{p95:>9.2f}{p50 / ref[0]:>10.1f}{p95 / ref[1]:>10.1f}"
            f"{p50 / intake[0]:>13.2f}{p95 / intake[1]:>13.2f}"
        )


if __name__ == "__main__":
    main()
