"""A generated caseload in the documented import layouts, and an agency directory with its
categories: what an office brings from its old system."""

from __future__ import annotations

import csv
import random
from pathlib import Path

AGENCIES = (
    "name,acronym,level,categories,expected_response_days,contact_name,contact_email\n"
    "Social Security Administration,SSA,federal,Social Security,30,Dana Whitfield,"
    "liaison@ssa.example.gov\n"
    "Department of Veterans Affairs,VA,federal,Veterans,30,Marcus Leone,"
    "congressional@va.example.gov\n"
    "Internal Revenue Service,IRS,federal,IRS,21,Helen Cho,tas@irs.example.gov\n"
)
FIRST = ["Ruby", "Mae", "James", "Luis", "Tanya", "Cole", "Ana", "Dwight", "Irene", "Hugo"]
LAST = ["Hollis", "Jordan", "Pruitt", "Vega", "Tidwell", "Oakes", "Banks", "Moody", "Reyes"]
CONCERNS = [
    ("Social Security", "SSDI payment stopped", "SSA"),
    ("Veterans", "VA disability claim stalled", "VA"),
    ("IRS", "Refund held for review", "IRS"),
    ("Social Security", "Retirement claim delayed", ""),
]


def write_caseload(
    folder: Path, zips: list[str], city: str, people: int = 1000, cases: int = 2000
) -> tuple[Path, Path, Path]:
    """agencies.csv, constituents.csv and cases.csv (about two thirds of the cases closed)."""
    rng = random.Random(7)  # nosec B311: test data
    folder.mkdir(parents=True, exist_ok=True)
    agencies = folder / "agencies.csv"
    agencies.write_text(AGENCIES, encoding="utf-8")
    constituents = folder / "constituents.csv"
    with constituents.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["external_id", "first_name", "last_name", "street", "city", "zip", "phone"])
        for n in range(people):
            out.writerow(
                [
                    f"OLD-{n}",
                    rng.choice(FIRST),
                    f"{rng.choice(LAST)}{n}",
                    f"{rng.randint(1, 999)} Main St",
                    city,
                    rng.choice(zips),
                    f"({rng.randint(201, 989)}) 555-{n:04d}",
                ]
            )
    case_file = folder / "cases.csv"
    with case_file.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["external_id", "constituent_external_id", "category", "subject", "opened_on",
             "status", "closed_on", "outcome", "agency", "notes"]
        )  # fmt: skip
        for n in range(cases):
            category, subject, agency = rng.choice(CONCERNS)
            month = rng.randint(1, 10)
            closed = n % 3 != 0
            out.writerow(
                [
                    f"CASE-{n}",
                    f"OLD-{rng.randrange(people)}",
                    category,
                    subject,
                    f"2025-{month:02d}-{rng.randint(1, 28):02d}",
                    "closed" if closed else "open",
                    f"2025-{month + 1:02d}-20" if closed else "",
                    "assisted" if closed else "",
                    agency,
                    "Carried over from the old system" if n % 5 == 0 else "",
                ]
            )
    return agencies, constituents, case_file
