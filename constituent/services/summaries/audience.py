"""Who reads a summary (the audience and what it may see) and which districts they may open."""

from __future__ import annotations

from dataclasses import dataclass

from constituent.models import (
    District,
    User,
)
from constituent.services import districts as district_service
from constituent.services import permissions
from constituent.services.disclosure import Withheld
from constituent.services.errors import Forbidden, NotFound
from constituent.services.permissions import Capability

# Breakdown cells below this are withheld from audiences that see no names (the default of
# the CONSTITUENT_SUMMARY_MIN_CELL setting).
SMALL_COUNT = 5


# Who may see which district ------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Who reads a summary: staff who see names (and so may see every figure, the staff table
    and the cases behind a number), or an audience that sees no names (the legislator), for
    whom the summary must not single out a resident: calendar periods only, breakdowns only
    for complete periods, cells below ``threshold`` withheld with their complements, and
    confidential cases in the headline totals only."""

    sees_names: bool
    threshold: int = SMALL_COUNT

    @property
    def staff_table(self) -> bool:
        """Caseload and closures by staffer."""
        return self.sees_names

    @property
    def drill_down(self) -> bool:
        """Links from numbers to the cases behind them."""
        return self.sees_names

    @property
    def calendar_only(self) -> bool:
        """Calendar months, quarters, years and the last 12 complete months; no custom dates."""
        return not self.sees_names

    @property
    def suppress_small_counts(self) -> bool:
        """Breakdown cells below the threshold withheld (with complementary suppression)."""
        return not self.sees_names

    @property
    def shows_shares(self) -> bool:
        """The shares closed within 30, 60 and 90 days. Left out for readers who see no names:
        with the count closed they give how many closed within 30 days, which the
        time-to-close table may withhold."""
        return self.sees_names

    def shows_breakdowns(self, complete: bool) -> bool:
        """Tables by category, outcome, channel, agency, place and time. A period in progress
        changes day by day, and two days' breakdowns would differ by one day's cases, so
        readers who see no names get its totals only."""
        return not self.calendar_only or complete

    @staticmethod
    def published(n: int, hidden: bool) -> int | None:
        """A count as this reader is given it: None where the disclosure rules withhold it."""
        return None if hidden else n

    @staticmethod
    def lists_row(*cells: tuple[int, Withheld]) -> bool:
        """A row of a breakdown is listed when one of its counts is non-zero in a column that
        is not withheld whole (a column withheld whole does not even name its rows)."""
        return any(n and not hidden.whole for n, hidden in cells)

    @staticmethod
    def row_order(n: int, hidden: bool) -> tuple[int, int]:
        """Rows by published count, largest first; withheld rows after them, whatever their
        counts (the order must not tell them apart), then the zeros."""
        if hidden:
            return (1, 0)
        return (0, -n) if n else (2, 0)


LEGISLATOR_VIEW = Audience(sees_names=False)
FULL_VIEW = Audience(sees_names=True)


def audience_for(user: User, threshold: int = SMALL_COUNT) -> Audience:
    """Supervisors and admins see everything; legislators counts and durations that cannot
    single out a resident, with cells below ``threshold`` withheld."""
    return Audience(permissions.may(user, Capability.SUMMARY_DETAILS), threshold)


def summary_districts(user: User) -> list[District]:
    """The districts whose summaries the user may open (their own districts), by code."""
    if not permissions.may(user, Capability.READ_SUMMARIES):
        return []
    return district_service.districts_for(user)


def district_for(user: User, code: str) -> District:
    """The district named in a summary address: 404 when unknown, 403 when not the user's."""
    district = district_service.get_by_code(code[:16])
    if district is None:
        raise NotFound(
            f"There is no district with the code {code[:16]!r}. "
            "Check the address, or choose a district from the summaries page."
        )
    if not permissions.may(user, Capability.READ_SUMMARIES) or district.id not in user.district_ids:
        raise Forbidden(
            f"You do not have access to the summaries of {district.code}. "
            "An administrator can add the district to your account."
        )
    return district
