"""District casework summaries: periods, and the one definition of every figure.

Each figure is defined once, in ``definitions``, as a SQL condition or aggregate with a
docstring saying what it counts. The summary page, the comparison of districts, the CSV
downloads, the print view, the drill-down lists and ``flask report district`` all call these
functions. The package by job:

- ``periods``: the periods a summary covers, and the period menu;
- ``audience``: who reads a summary, what they may see, and which districts they may open;
- ``definitions``: the SQL definitions, buckets and statistics, and ``HOW_COUNTED`` in words;
- ``figures``: every figure of some periods for some districts, from grouped queries;
- ``summary``: one district's summary beside its previous period, and the comparison;
- ``drill``: the cases behind a number.

Times: models store UTC instants. A period is a range of office-local dates; its bounds are the
local midnights at its start and after its end, converted to UTC, and every timestamp is
compared with those instants (half-open: ``start <= t < end``). So with the office in
America/New_York, a case opened at 11 pm on 31 March (03:00 UTC on 1 April) is a March case.

Summaries are aggregates over the whole district, confidential cases included (the legislator
must see the true workload); lists of cases behind a number go through
``permissions.visible_cases``.
"""

from constituent.services.summaries.audience import (
    FULL_VIEW,
    LEGISLATOR_VIEW,
    SMALL_COUNT,
    Audience,
    audience_for,
    district_for,
    summary_districts,
)
from constituent.services.summaries.definitions import (
    AGE_BUCKETS,
    CLOSE_BUCKETS,
    HOW_COUNTED,
    WAITING_REFERRAL_STATUSES,
    WITHIN_DAYS,
    Bucket,
    DurationStats,
    age_at,
    bucket_of,
    closed_in,
    covering,
    days_to_close,
    in_districts,
    median,
    open_at,
    opened_in,
    percentile_90,
    referral_overdue,
    referral_responded_in,
    referral_sent_in,
)
from constituent.services.summaries.drill import (
    DRILL_FILTERS,
    Drill,
    DrillRow,
    DrillTarget,
    Figure,
    count_behind,
    describe_drill,
    drill_row,
    drill_rows_select,
    drill_select,
    parse_drill,
)
from constituent.services.summaries.figures import (
    AgencyRow,
    CategoryRow,
    Figures,
    Headline,
    MonthRow,
    PlaceRow,
    StaffRow,
    headlines,
    period_figures,
    period_headlines,
)
from constituent.services.summaries.periods import (
    CALENDAR_ONLY_MESSAGE,
    MAX_PERIOD_YEARS,
    Period,
    PeriodKind,
    add_months,
    calendar_period,
    custom_period,
    date_range_text,
    last_12_complete_months,
    last_12_months,
    local_midnight,
    parse_period,
    period_choices,
)
from constituent.services.summaries.summary import (
    SUM_TABLES,
    Comparison,
    ComparisonRow,
    DistrictSummary,
    MonthBreakdown,
    compare_districts,
    district_summary,
    month_breakdowns,
)

__all__ = [
    "AGE_BUCKETS",
    "CALENDAR_ONLY_MESSAGE",
    "CLOSE_BUCKETS",
    "DRILL_FILTERS",
    "FULL_VIEW",
    "HOW_COUNTED",
    "LEGISLATOR_VIEW",
    "MAX_PERIOD_YEARS",
    "SMALL_COUNT",
    "SUM_TABLES",
    "WAITING_REFERRAL_STATUSES",
    "WITHIN_DAYS",
    "add_months",
    "age_at",
    "AgencyRow",
    "Audience",
    "audience_for",
    "Bucket",
    "bucket_of",
    "calendar_period",
    "CategoryRow",
    "closed_in",
    "compare_districts",
    "Comparison",
    "ComparisonRow",
    "count_behind",
    "covering",
    "custom_period",
    "date_range_text",
    "days_to_close",
    "describe_drill",
    "district_for",
    "district_summary",
    "DistrictSummary",
    "Drill",
    "drill_row",
    "drill_rows_select",
    "drill_select",
    "DrillRow",
    "DrillTarget",
    "DurationStats",
    "Figure",
    "Figures",
    "Headline",
    "headlines",
    "in_districts",
    "last_12_complete_months",
    "last_12_months",
    "local_midnight",
    "median",
    "month_breakdowns",
    "MonthBreakdown",
    "MonthRow",
    "open_at",
    "opened_in",
    "parse_drill",
    "parse_period",
    "percentile_90",
    "Period",
    "period_choices",
    "period_figures",
    "period_headlines",
    "PeriodKind",
    "PlaceRow",
    "referral_overdue",
    "referral_responded_in",
    "referral_sent_in",
    "StaffRow",
    "summary_districts",
]
