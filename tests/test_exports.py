"""CSV exports: formula neutralising, UTF-8 header row, chunked streaming with flat memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from constituent.models import Case
from constituent.services import exports
from tests import factories


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x.example","y")']
)
def test_formula_starts_are_neutralised(text):
    assert exports.neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["Margaret", "", "a=b", " =not first", 12, -3, 2.5, None])
def test_other_values_are_left_alone(value):
    assert exports.neutralise(value) == value


def parse(chunks) -> list[list[str]]:  # type: ignore[no-untyped-def]
    text = "".join(chunks)
    return list(csv.reader(io.StringIO(text)))


def test_csv_has_a_header_and_writes_numbers_dates_and_blanks():
    rows = parse(
        exports.csv_chunks(
            ["Name", "Change", "Day", "Nothing"], [["Zoë Ångström", -3, date(2026, 3, 1), None]]
        )
    )
    assert rows == [["Name", "Change", "Day", "Nothing"], ["Zoë Ångström", "-3", "2026-03-01", ""]]


def test_download_flavour_starts_with_a_utf8_bom():
    text = "".join(exports.csv_chunks(["A"], [["é"]], bom=True))
    assert text.startswith("\ufeffA\r\n")
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbfA")


def test_neutralised_cells_survive_quoting():
    rows = parse(exports.csv_chunks(["Name"], [['=HYPERLINK("http://a.example","b"), x']]))
    assert rows[1] == ['\'=HYPERLINK("http://a.example","b"), x']


def test_rows_come_out_in_bounded_chunks_without_a_row_limit():
    n = 60_000
    chunks = list(exports.csv_chunks(["n", "text"], ([i, "x" * 20] for i in range(n))))
    assert len(chunks) > 10
    assert max(len(c) for c in chunks) < exports.CHUNK_CHARS + 200
    assert len(parse(chunks)) == n + 1


def test_memory_stays_flat_as_rows_grow():
    def peak(n: int) -> int:
        tracemalloc.start()
        for _ in exports.csv_chunks(["n", "text"], ([i, "row text " * 4] for i in range(n))):
            pass
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return high

    small, large = peak(20_000), peak(200_000)
    assert large < small * 1.5 + 64 * 1024  # ten times the rows, about the same memory


def test_stream_rows_reads_the_database_in_batches(office):
    for _ in range(7):
        factories.gen_case(office.a, office.category)
    numbers = [
        row[0] for row in exports.stream_rows(sa.select(Case.number).order_by(Case.number), batch=3)
    ]
    assert len(numbers) == 7 and numbers == sorted(numbers)


def test_local_text_uses_the_office_time_zone():
    tz = ZoneInfo("America/New_York")
    assert exports.local_text(datetime(2026, 4, 1, 3, 0, tzinfo=UTC), tz) == "2026-03-31 23:00"
    assert exports.local_text(None, tz) == ""
