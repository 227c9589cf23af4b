"""Report summaries kept exact on every write, so that a report reads summaries, not rows.

Counting a year of engagements from the engagement tables reads every engagement of the
year however the query is written, and grows with the table; adding up summaries reads a
few thousand rows whatever its size (docs/performance.md). A summary row
(`ReportSummary`) holds, for one day or one month (`span`), one status and one marking,
how many engagements count under one *dimension* (kind, ref, pillar) and the newest start
date among them:

- `partner` (ref: partner id): engagements that include the partner (coverage cells and
  row totals, gaps);
- `rollup` (partner id): that include it or a state that was its member on the start date;
- `group` (group name): with at least one active partner in the group (coverage totals);
- `rollup-group` (group name): the same over rolled-up rows;
- `all` (""): every engagement (trend, roadmap counts);
- `tip`, `facet` (tip or facet id, pillar 0): that advance the tip, touch the facet.

Pillar 0 means "whatever its pillars": each engagement counts once there, so totals are
distinct counts. Groups are `active`, `kind:<kind>`, `region:<region>` and
`kind:<kind>/region:<region>`, the partner filters of the coverage report.

Keeping them exact: the one write service calls `move()` in the transaction that writes
an engagement, with how the engagement counted before and counts now; the buckets it
left and entered move by one, day and month, under a lock on the month, so concurrent
writers take turns and each sees the other (engagements inserted in bulk are counted
again slice by slice: `refresh_slices()`). Partner and membership
changes, which move engagements between rows and groups, have the summaries that depend
on the directory counted again where the change can move them (`regroup()`, a background
job: reports say a change is being applied meanwhile); `seed_demo` recomputes every month
(`rebuild()`). `manage.py check_summaries` recomputes everything and reports differences.

Reading (`read()`): a period's whole months come from the month rows and the days of its
partial months from the day rows: at most two queries, whatever the number of engagements.

The package, by kind of work: `spec` (what is counted: the dimensions, the directory,
counting in Python), `stamps` (the counters that date cached reports), `refresh` (after a
write), `rebuild` (everything at once, in SQL), `regroup` (after a partner or membership
change), `read` (for the reports). The models are `roadmap.models.ReportSummary`,
`ReportStamp` and `SummaryMonth`.
"""

from engagements.summaries.read import pieces, read, read_windows
from engagements.summaries.rebuild import (
    analyze,
    compute_all,
    differences_by_month,
    rebuild,
    stored_all,
)
from engagements.summaries.refresh import deferred_refresh, move, refresh_slices
from engagements.summaries.regroup import regroup, scope
from engagements.summaries.spec import DAY, MONTH, group_name, group_names
from engagements.summaries.stamps import DATA_STAMP, DIRECTORY_STAMP, bump_stamp, stamp, stamps

__all__ = [
    "DATA_STAMP",
    "DAY",
    "DIRECTORY_STAMP",
    "MONTH",
    "analyze",
    "bump_stamp",
    "compute_all",
    "differences_by_month",
    "deferred_refresh",
    "group_name",
    "group_names",
    "move",
    "pieces",
    "read",
    "read_windows",
    "rebuild",
    "refresh_slices",
    "regroup",
    "scope",
    "stamp",
    "stamps",
    "stored_all",
]
