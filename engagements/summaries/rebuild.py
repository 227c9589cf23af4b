"""Everything at once: every summary of a range of months counted again by the database
(`seed_demo`, `check_summaries --fix`), and what `check_summaries` compares."""

from django.db import connection, transaction
from django.db.models import Max, Min, Sum, Value
from django.db.models.functions import TruncMonth

from core.db import local_settings
from core.periods import month_of, months_between, next_month
from engagements.models import Engagement, EngagementPartner
from engagements.summaries.refresh import _lock_months
from engagements.summaries.spec import (
    DAY,
    MONTH,
    ONCE_SQL,
    PER_PILLAR_SQL,
    SUMMARY_COLUMNS,
    Directory,
    by_span,
    directory_sql,
    load,
    tally,
)
from engagements.summaries.stamps import bump_stamp
from partners.models import Membership, Partner
from roadmap.models import ReportSummary


def rebuild(start=None, end=None):
    """Recompute every summary of the months from `start` to `end` (default: all of them),
    a year of engagements at a time. For changes that move many engagements at once:
    partners, memberships, bulk loads."""
    with transaction.atomic():
        bump_stamp()
        span = Engagement.objects.aggregate(first=Min("start_date"), last=Max("start_date"))
        if span["first"] is None:
            ReportSummary.objects.all().delete()
            return
        first = month_of(max(start or span["first"], span["first"]))
        last = month_of(min(end or span["last"], span["last"]))
        months = months_between(first, last)
        _lock_months(months)
        stale = ReportSummary.objects.all()
        if start is not None or end is not None:
            after = next_month(last)
            stale = stale.filter(start__gte=first, **({"start__lt": after} if after else {}))
        stale.delete()
        with local_settings(connection, REBUILD_SETTINGS):
            for month in months:  # a month of engagements at a time: its groups fit in memory
                _insert_days(month, next_month(month))
            _insert_months(months[0], next_month(months[-1]))
        analyze(ReportSummary)


def analyze(*models):
    """Gather the planner's statistics of tables just filled or rewritten in bulk. Without
    them PostgreSQL plans for the tables as they were: after a rebuild it takes a table of
    millions of summary rows for a small one and picks plans (hashing the whole table to
    apply a partner change) that only suit a small one. Outside a transaction
    (`seed_demo`), PostgreSQL also vacuums them: a trigram index's pending entries (a bulk
    load leaves many, and every search reads them all) go into the index, and index-only
    scans stop visiting the table. Autovacuum does both later, where it runs (it is off on
    some machines); doing it here costs little beside the bulk write it follows.
    docs/performance.md has the figures."""
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        for model in models:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"{'VACUUM ' if vacuum else ''}ANALYZE {table}")


# PostgreSQL, for the rebuild's INSERTs: group in memory (hash aggregates) rather than sort
# a month's bucket keys, which are text and many (sorting them is most of the work), and
# no JIT (compiling each statement costs more than it saves; docs/performance.md).
REBUILD_SETTINGS = {"work_mem": "64MB", "enable_sort": "off", "jit": "off"}


# The rebuild counts in SQL, one INSERT … SELECT … GROUP BY for the days (every kind at
# once) and one for their months: the same buckets as `tally()` and `by_span()`, which
# `check_summaries` compares them with. Portable SQL (PostgreSQL and SQLite).
DAYS_SQL = """
WITH eng AS (
    SELECT id, start_date, status, marking FROM {engagement} WHERE {within}
), links AS (
    SELECT l.engagement_id, l.partner_id, eng.start_date FROM {link} l
    JOIN eng ON eng.id = l.engagement_id
), {directory}, dims AS (
    {per_pillar}
), pillars AS (
    SELECT l.engagement_id, l.pillar_id AS pillar FROM {pillar_link} l
    JOIN eng ON eng.id = l.engagement_id
    UNION ALL
    SELECT id, 0 FROM eng
), buckets AS (
    SELECT d.kind, d.ref, pillars.pillar, eng.start_date, eng.status, eng.marking
    FROM dims d
    JOIN pillars ON pillars.engagement_id = d.engagement_id
    JOIN eng ON eng.id = d.engagement_id
    UNION ALL
    {once}
)
INSERT INTO {summary} ({columns})
SELECT %s, kind, ref, pillar, start_date, status, marking, COUNT(*), MAX(start_date)
FROM buckets
GROUP BY kind, ref, pillar, start_date, status, marking
"""


def _insert_days(first, after):
    """The day summaries of the engagements starting in [first, after) (after: None for
    no end), counted by the database."""
    qn = connection.ops.quote_name
    within, params = "start_date >= %s", [first]
    if after is not None:
        within, params = within + " AND start_date < %s", [first, after]
    tables = {
        "engagement": Engagement,
        "link": EngagementPartner,
        "membership": Membership,
        "partner": Partner,
        "pillar_link": Engagement.pillars.through,
        "tip_link": Engagement.tips.through,
        "facet_link": Engagement.facets.through,
        "summary": ReportSummary,
    }
    names = {name: qn(model._meta.db_table) for name, model in tables.items()}
    sql = DAYS_SQL.format(
        within=within,
        directory=directory_sql(names["partner"], names["membership"]),
        columns=", ".join(qn(name) for name in SUMMARY_COLUMNS),
        per_pillar="\n    UNION ALL\n    ".join(PER_PILLAR_SQL.values()),
        once="\n    UNION ALL\n    ".join(ONCE_SQL.values()).format(**names),
        **names,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, True, DAY])


def _insert_months(first, after):
    """The month summaries of [first, after): the sums of their day summaries."""
    days = ReportSummary.objects.filter(span=DAY, start__gte=first)
    if after is not None:
        days = days.filter(start__lt=after)
    sums = (
        days.annotate(month=TruncMonth("start"))
        .values("kind", "ref", "pillar", "month", "status", "marking")
        .annotate(span_name=Value(MONTH), n=Sum("count"), newest=Max("last"))
        .order_by()
    )
    compiler = sums.query.get_compiler(connection=connection)
    select, params = compiler.as_sql()
    # Name the columns in the order the SELECT lists them.
    renamed = {"month": "start", "span_name": "span", "n": "count", "newest": "last"}
    names = [alias or expression.target.column for expression, _, alias in compiler.select]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(renamed.get(name, name)) for name in names)
    table = qn(ReportSummary._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {select}", params)


def compute_all(start=None, end=None):
    """Every summary bucket of the engagements starting from `start` to before `end`
    (default: all), as the engagement tables give them now (for check_summaries)."""
    return by_span(
        tally(load(_between(Engagement.objects.all(), "start_date", start, end)), Directory())
    )


def stored_all(start=None, end=None):
    """The stored buckets of the days and months from `start` to before `end`."""
    return {
        (span, kind, ref, pillar, first_day, status, marking): [count, last]
        for span, kind, ref, pillar, first_day, status, marking, count, last in (
            _between(ReportSummary.objects.all(), "start", start, end).values_list(
                "span", "kind", "ref", "pillar", "start", "status", "marking", "count", "last"
            )
        )
    }


def differences_by_month():
    """What `check_summaries` compares, a month at a time, so that memory holds one
    month's buckets whatever the size of the tables (a day's and a month's bucket lie in
    the month of their first day): yields (stored buckets, [(key, expected, stored)])."""
    months = {*Engagement.objects.dates("start_date", "month")}
    months |= {*ReportSummary.objects.dates("start", "month")}
    for month in sorted(months):
        after = next_month(month)
        expected, stored = compute_all(month, after), stored_all(month, after)
        yield (
            len(stored),
            [
                (key, expected.get(key), stored.get(key))
                for key in expected.keys() | stored.keys()
                if expected.get(key) != stored.get(key)
            ],
        )


def _between(queryset, field, start, end):
    if start is not None:
        queryset = queryset.filter(**{f"{field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{field}__lt": end})
    return queryset
