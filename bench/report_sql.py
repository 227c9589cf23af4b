"""Where the time of one report goes, and what the same numbers cost in plain SQL.

Not a test: it prints. For a report computed afresh (not from the cache) it prints the
time in SQL and in Python, the slowest queries with `EXPLAIN ANALYZE` of the slowest, then
times one hand-written PostgreSQL query that counts the same numbers straight from the
engagement tables, and checks that both give the same answer; with `--clients N` it then
runs that plain SQL from N connections at once for `--seconds`. Example:

    DJANGO_DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scale \\
        .venv/bin/python bench/report_sql.py coverage --user bench-manager

Default period: the reports' own default, the last 12 months up to today.
"""

import argparse
import cProfile
import math
import os
import pstats
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User, visible_markings  # noqa: E402
from core.periods import last_months  # noqa: E402
from engagements.models import Engagement, EngagementPartner  # noqa: E402
from partners.models import Partner  # noqa: E402
from reports import queries as reports  # noqa: E402
from roadmap.models import Pillar  # noqa: E402

ENGAGEMENTS = Engagement._meta.db_table
PARTNER_LINKS = EngagementPartner._meta.db_table
PILLAR_LINKS = Engagement.pillars.through._meta.db_table
PARTNERS = Partner._meta.db_table

# Coverage with the default filters: active partners' rows, cells, row and pillar totals
# and the grand total, all distinct engagements, in one pass.
COVERAGE_SQL = f"""
SELECT link.partner_id, pillar.pillar_id, COUNT(DISTINCT e.id), MAX(e.start_date),
       GROUPING(link.partner_id), GROUPING(pillar.pillar_id)
FROM {ENGAGEMENTS} e
JOIN {PARTNER_LINKS} link ON link.engagement_id = e.id
JOIN {PARTNERS} partner ON partner.id = link.partner_id AND partner.active
JOIN {PILLAR_LINKS} pillar ON pillar.engagement_id = e.id
WHERE e.status = 'completed' AND e.start_date BETWEEN %s AND %s AND e.marking = ANY(%s)
GROUP BY GROUPING SETS ((link.partner_id, pillar.pillar_id), (link.partner_id),
                        (pillar.pillar_id), ())
"""

# Trend by month with the default filters: per month and pillar, and per month.
TREND_SQL = f"""
SELECT date_trunc('month', e.start_date)::date, pillar.pillar_id, COUNT(DISTINCT e.id),
       GROUPING(pillar.pillar_id)
FROM {ENGAGEMENTS} e
JOIN {PILLAR_LINKS} pillar ON pillar.engagement_id = e.id
WHERE e.status = 'completed' AND e.start_date BETWEEN %s AND %s AND e.marking = ANY(%s)
GROUP BY GROUPING SETS ((1, pillar.pillar_id), (1))
"""


def raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def coverage_from_sql(rows, pillars, codes):
    cells, totals, total = {}, {}, 0
    for partner, pillar, count, last, no_partner, no_pillar in rows:
        if no_partner and no_pillar:
            total = count
        elif no_partner:
            totals[pillars[pillar]] = count
        elif not no_pillar:
            cells[(codes[partner], pillars[pillar])] = (count, last)
    return cells, totals, total


def check_coverage(result, rows):
    pillars = dict(Pillar.objects.values_list("id", "code"))
    codes = dict(Partner.objects.values_list("id", "code"))
    cells, totals, total = coverage_from_sql(rows, pillars, codes)
    shown = {
        (row["partner"], pillar): (cell["count"], cell["last"])
        for row in result["rows"]
        for pillar, cell in row["cells"].items()
        if cell["count"]
    }
    return (
        shown == cells
        and result["totals"] == {code: totals.get(code, 0) for code in result["pillars"]}
        and result["total"] == total
    )


def check_trend(result, rows):
    pillars = dict(Pillar.objects.values_list("id", "code"))
    by_month = {}
    for month, pillar, count, no_pillar in rows:
        label = f"{month:%Y-%m}"
        key = "total" if no_pillar else pillars[pillar]
        by_month.setdefault(label, {})[key] = count
    for period in result["periods"]:
        found = by_month.get(period["period"], {})
        expected = {code: found.get(code, 0) for code in result["pillars"]}
        if period["counts"] != expected or period["total"] != found.get("total", 0):
            return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report", choices=["coverage", "trend"])
    parser.add_argument("--user", default="bench-manager")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clients", type=int, default=0, help="then load the plain SQL")
    parser.add_argument("--seconds", type=int, default=60, help="for --clients")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("PostgreSQL only (the plain SQL uses GROUPING SETS).")

    user = User.objects.get(username=args.user)
    function = getattr(reports, args.report).uncached
    start, end = last_months(12)
    markings = list(visible_markings(user))
    sql = COVERAGE_SQL if args.report == "coverage" else TREND_SQL
    print(
        f"{args.report} for {user.username} ({user.clearance}), {start} … {end}, "
        f"{Engagement.objects.count():,} engagements"
    )

    times = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        function(user)
        times.append(time.perf_counter() - began)
    print(
        f"  report, computed: median {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})"
    )

    with CaptureQueriesContext(connection) as queries:
        profile = cProfile.Profile()
        began = time.perf_counter()
        result = profile.runcall(function, user)
        elapsed = time.perf_counter() - began
    in_sql = sum(float(query["time"]) for query in queries.captured_queries)
    print(
        f"  one run under the profiler: {elapsed * 1000:.0f} ms, "
        f"{len(queries.captured_queries)} queries taking {in_sql * 1000:.0f} ms, "
        f"Python {max(0.0, elapsed - in_sql) * 1000:.0f} ms"
    )
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
    for query in slowest[:3]:
        print(f"    {float(query['time']) * 1000:6.0f} ms  {query['sql'][:150]}")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(r"roadmap|engagements", 8)
    if slowest:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest[0]["sql"])
            print("  EXPLAIN ANALYZE of the slowest query:")
            for (line,) in cursor.fetchall():
                print("    " + line)

    params = [start, end, markings]
    times = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        rows = raw(sql, params)
        times.append(time.perf_counter() - began)
    print(
        f"  plain SQL over the engagement tables: median {statistics.median(times) * 1000:.0f}"
        f" ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})"
    )
    same = (check_coverage if args.report == "coverage" else check_trend)(result, rows)
    print(f"  same numbers as the report: {'yes' if same else 'NO'}")
    if args.clients:
        load_plain_sql(sql, params, args.clients, args.seconds)


def load_plain_sql(sql, params, clients, seconds):
    """`clients` connections run the plain SQL back to back for `seconds` (what the
    database alone does under the load bench/load.py puts on a report)."""
    times, deadline = [], time.monotonic() + seconds

    def run():
        try:
            while time.monotonic() < deadline:
                began = time.perf_counter()
                raw(sql, params)
                times.append(time.perf_counter() - began)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times.sort()

    def percentile(p):
        return times[max(0, math.ceil(p / 100 * len(times)) - 1)] * 1000

    print(
        f"  plain SQL, {clients} clients for {seconds} s: {len(times)} queries, "
        f"p50 {percentile(50):.0f} ms, p95 {percentile(95):.0f} ms, p99 {percentile(99):.0f} ms"
    )


if __name__ == "__main__":
    main()
