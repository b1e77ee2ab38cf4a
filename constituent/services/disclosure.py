"""Disclosure control for summaries read by audiences that see no names (the legislator).

A breakdown (cases by category, ZIP code, town, channel, outcome, time to close, priority,
age, agency) counts the cases of one population (opened, closed, open at the end, referrals)
in one period; its total is treated as known, since any breakdown of the same population
with nothing withheld publishes it. The rules, for each one-way table:

1. Primary suppression: every count from 1 to ``threshold - 1`` is withheld.
2. Complementary suppression: while the withheld cells are fewer than two, hold fewer than
   ``threshold`` cases together, or are all ones, the smallest other non-zero count is
   withheld too (ties by key), so no withheld cell is the total minus the published ones.
3. A table that cannot be completed that way (one non-zero count, and it is small) is
   withheld whole: its rows are not even listed.
4. Periods longer than a month are unions of whole months, and a month's table is published
   by the same rules when its own page is read. So a row of a longer period is withheld when
   it is withheld in any of its months (and the whole table when a month's is): every figure
   of a quarter, a year or 12 months is then a sum of figures already published for months,
   and no difference of periods (a year minus its months, two overlapping 12-month windows,
   a period and the one before) isolates a withheld month.

Snapshots (open cases at a period's end by priority or age, referrals overdue now) are not
sums over months and follow rules 1–3 for the instant they describe.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Withheld:
    """The cells of one column of a table that are not published."""

    keys: frozenset[Hashable] = frozenset()
    whole: bool = False  # the whole column is withheld, row names included

    def hides(self, key: Hashable) -> bool:
        return self.whole or key in self.keys

    def __bool__(self) -> bool:
        return self.whole or bool(self.keys)


NOTHING = Withheld()


def _order(key: Hashable) -> tuple[int, str]:
    return (0, "") if key is None else (1, str(key))


def withheld(counts: Mapping[Hashable, int], threshold: int) -> Withheld:
    """Primary and complementary suppression of a one-way table whose total is known."""
    hidden = {k for k, n in counts.items() if 0 < n < threshold}
    if not hidden:
        return NOTHING
    spare = sorted(
        (k for k, n in counts.items() if n > 0 and k not in hidden),
        key=lambda k: (counts[k], _order(k)),
    )

    def safe() -> bool:
        total = sum(counts[k] for k in hidden)
        return len(hidden) >= 2 and total >= threshold and total > len(hidden)

    while not safe() and spare:
        hidden.add(spare.pop(0))
    if len(hidden) < 2:
        return Withheld(whole=True)
    return Withheld(frozenset(hidden))


def over_months(months: Iterable[Withheld]) -> Withheld:
    """A longer period's cells withheld because they are withheld in one of its months."""
    keys: set[Hashable] = set()
    for month in months:
        if month.whole:
            return Withheld(whole=True)
        keys |= month.keys
    return Withheld(frozenset(keys))
