"""The print view's brief: a few rows of the main tables, from the cells the reader may see."""

from __future__ import annotations

from constituent.reports.tables import Cell, Column, Table, brief_lists


def _table(key: str, rows: list[tuple[str, int | None]]) -> Table:
    cells = [
        [Cell(name, name), Cell(n, str(n) if n is not None else "withheld")] for name, n in rows
    ]
    return Table(key, key.title(), [Column("Name"), Column("This period")], cells)


def test_the_brief_lists_the_largest_visible_counts_first():
    tables = [
        _table("by_category", [("Housing", 12), ("IRS", None), ("Veterans", 40), ("Zero", 0)]),
        _table("time_to_close", [("30 days or less", 9), ("31–90 days", 20)]),
    ]
    category, closing = brief_lists(tables, top=5)
    assert category.title == "What residents needed"
    assert category.rows == [("Veterans", "40"), ("Housing", "12")]  # ranked; withheld left out
    assert category.more == 2  # the withheld row and the empty one are in the full table
    assert closing.rows == [("30 days or less", "9"), ("31–90 days", "20")]  # buckets in order


def test_the_brief_keeps_to_its_top_rows_and_skips_tables_the_reader_has_not():
    tables = [_table("by_agency", [(f"Agency {n}", n) for n in range(1, 9)])]
    (agencies,) = brief_lists(tables, top=3)
    assert [name for name, _ in agencies.rows] == ["Agency 8", "Agency 7", "Agency 6"]
    assert agencies.more == 5
