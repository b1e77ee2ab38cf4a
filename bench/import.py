"""Benchmark bringing a caseload in: constituents and cases from generated CSV files.

    python bench/import.py                       # 100,000 constituents, 200,000 cases
    python bench/import.py --constituents 20000  # a quicker look
    python bench/import.py --database postgresql://postgres@127.0.0.1/bench_import

Each size runs in a fresh process on a fresh database (an Alabama House office: AL-04 served,
the state's ZIP table, the starter categories, SSA in the agency directory), importing as
`flask import constituents` and `flask import cases` do (a commit per batch). It runs a tenth
of the size first and then the full size, and prints for each: rows per second of both imports,
the reference (plain ``csv.reader`` over the same file, rows per second) with the ratio, and
the process's peak resident memory (Linux VmHWM, reset before the import) above what it held
before the import. That peak staying
level while the file grows tenfold is what "flat" means here. Asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
FIRST = ["Ruby", "Mae", "James", "Luis", "Tanya", "Cole", "Ana", "Dwight", "Irene", "Hugo"]
LAST = ["Hollis", "Jordan", "Pruitt", "Vega", "Tidwell", "Oakes", "Banks", "Moody", "Reyes"]
SUBJECTS = ["SSDI payment stopped", "Retirement claim delayed", "Medicare card", "Overpayment"]
ZIPS = ["35055", "35057", "35077", "35179", "35016", "35950", "35901", "35903"]


def write_files(folder: Path, people: int, cases_per: int, seed: int = 12) -> tuple[Path, Path]:
    """A constituents file and a cases file of the documented layouts."""
    rng = random.Random(seed)  # nosec B311: test data
    folder.mkdir(parents=True, exist_ok=True)
    people_path, cases_path = folder / f"people-{people}.csv", folder / f"cases-{people}.csv"
    with people_path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["external_id", "first_name", "last_name", "street", "city", "zip", "phone"])
        for n in range(people):
            out.writerow(
                [
                    f"P{n}",
                    rng.choice(FIRST),
                    f"{rng.choice(LAST)}{n}",
                    f"{rng.randint(1, 9999)} Main St",
                    "Cullman",
                    rng.choice(ZIPS),
                    f"(256) {rng.randint(200, 999)}-{n % 10000:04d}",
                ]
            )
    with cases_path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["external_id", "constituent_external_id", "category", "subject", "opened_on",
             "status", "closed_on", "outcome", "agency", "notes"]
        )  # fmt: skip
        for n in range(people * cases_per):
            closed = rng.random() < 0.7
            month = rng.randint(1, 9)
            out.writerow(
                [
                    f"C{n}",
                    f"P{rng.randrange(people)}",
                    "Social Security",
                    rng.choice(SUBJECTS),
                    f"2025-{month:02d}-0{rng.randint(1, 9)}",
                    "closed" if closed else "open",
                    f"2025-{month + 1:02d}-15" if closed else "",
                    "assisted" if closed else "",
                    "SSA" if rng.random() < 0.5 else "",
                    "Imported note" if rng.random() < 0.3 else "",
                ]
            )
    return people_path, cases_path


def reference_rate(path: Path) -> float:
    """Rows per second of a plain csv.reader pass: the floor no import can beat."""
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    return rows / (time.perf_counter() - started)


def _status_kb(name: str) -> int:
    """A memory figure of this process from /proc/self/status (Linux), in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def child(people_path: Path, cases_path: Path, database: str) -> dict[str, float]:
    """Import both files into a fresh office; rates and the peak memory above the start."""
    from constituent import create_app
    from constituent.extensions import db
    from constituent.models import Agency, AgencyLevel
    from constituent.services import categories, districts, imports

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database,
            "SECRET_KEY": "bench-secret",
            "TESTING": True,
            "SEARCH_INDEX_DIR": str(Path(database.rsplit("/", 1)[-1] + "-index").absolute()),
        }
    )
    figures: dict[str, float] = {}
    with app.app_context():
        db.drop_all()
        db.create_all()
        districts.add_district(districts.DistrictSpec(code="AL-04", name="Alabama 4th"))
        with (ROOT / "constituent/data/zccd.csv").open(newline="", encoding="utf-8") as fh:
            districts.import_zip_table(fh, states={"AL"})
        cats = categories.add_starter_categories()
        ssa = [c for c in cats if c.name == "Social Security"]
        db.session.add(
            Agency(name="Social Security Administration", acronym="SSA",
                   level=AgencyLevel.FEDERAL, categories=ssa)
        )  # fmt: skip
        db.session.commit()
        before = _status_kb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # restart the peak (VmHWM) from here
        for kind, path in (("constituents", people_path), ("cases", cases_path)):
            started = time.perf_counter()
            with path.open("rb") as stream:
                run = imports.ImportRun(stream, dry_run=False, on_batch=db.session.commit)
                report = imports.run_import(kind, run)
            db.session.commit()
            seconds = time.perf_counter() - started
            figures[f"{kind}_rows"] = report.rows
            figures[f"{kind}_refused"] = len(report.refused)
            figures[f"{kind}_rate"] = report.rows / seconds
        figures["peak_mb"] = (_status_kb("VmHWM") - before) / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--constituents", type=int, default=100_000)
    parser.add_argument("--cases-per", type=int, default=2)
    parser.add_argument("--database", default=None, help="postgresql://... (default SQLite)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        people, cases, database = args.child
        print(json.dumps(child(Path(people), Path(cases), database)))
        return
    from bench.common import WORK, database_url

    for people in (args.constituents // 10, args.constituents):
        people_path, cases_path = write_files(WORK / "import", people, args.cases_per)
        database = database_url(f"import-{people}", 1, args.database)
        if database.startswith("sqlite:///"):
            Path(database[len("sqlite:///") :]).unlink(missing_ok=True)
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(people_path), str(cases_path), database],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        ref_people, ref_cases = reference_rate(people_path), reference_rate(cases_path)
        print(
            f"{people:>7,} constituents: {figures['constituents_rate']:>7,.0f} rows/s "
            f"(reference csv.reader {ref_people:,.0f} rows/s, ratio "
            f"{ref_people / figures['constituents_rate']:,.0f}x); "
            f"{figures['cases_rows']:,.0f} cases: {figures['cases_rate']:>7,.0f} rows/s "
            f"(reference {ref_cases:,.0f}, ratio {ref_cases / figures['cases_rate']:,.0f}x); "
            f"peak memory +{figures['peak_mb']:,.0f} MB; refused "
            f"{figures['constituents_refused']:.0f}/{figures['cases_refused']:.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
