"""Time the main pages, API lists and reports on a large data set.

Not a test: it prints timings and ratios. Run against a database of its own, e.g.

    createdb -h 127.0.0.1 -U postgres tracker_bench
    DJANGO_DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench \\
        .venv/bin/python bench/bench_pages.py --engagements 1000000

It migrates, loads reference data and seeds the engagements when the table holds fewer.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from accounts.choices import Marking, Role  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.roles import create_user_with_role  # noqa: E402
from engagements.models import Engagement  # noqa: E402


def timed(client, url, repeat, cold=True):
    """Median seconds over `repeat` requests; `cold` empties the report cache first."""
    times = []
    for _ in range(repeat):
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
            times.append(time.perf_counter() - began)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), len(queries), response


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engagements", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("load_reference_data", verbosity=0)
    have = Engagement.objects.count()
    if have < args.engagements:
        began = time.perf_counter()
        call_command("seed_demo", engagements=args.engagements - have, seed=1)
        print(f"seeded {args.engagements - have} in {time.perf_counter() - began:.0f} s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    user = User.objects.filter(username="bench").first() or create_user_with_role(
        "bench", "bench-password-1", Role.MANAGER, Marking.NS
    )
    client = Client()
    client.force_login(user)

    total = Engagement.objects.count()
    print(f"{connection.vendor}, {total} engagements, median of {args.repeat}")
    first, _, page = timed(client, "/engagements/", 1)
    cursor = page.context["page"].next_cursor
    rows = []
    for label, url in [
        ("list, page 1", "/engagements/"),
        ("list, page 2 (cursor)", f"/engagements/?cursor={cursor}"),
        ("list, deep (a year back)", "/engagements/?start_before=2025-11-01"),
        ("list, partner filter", "/engagements/?partner=TLS&partner=MNG"),
        ("list, sorted by title", "/engagements/?ordering=title"),
        ("list, sorted by kind, desc", "/engagements/?ordering=-kind"),
        ("list, search", "/engagements/?search=cyber"),
        ("API list, page 1", "/api/v1/engagements/"),
        ("API list, deep, 500 rows", "/api/v1/engagements/?start_before=2025-11-01&page_size=500"),
        ("partner profile", "/partners/JPN/"),
        ("dashboard", "/"),
        ("roadmap", "/roadmap/"),
        ("coverage, 12 months", "/reports/coverage/"),
        ("coverage, rollup", "/reports/coverage/?rollup=members"),
        ("trend, 3 years by month", "/api/v1/reports/trend/?start=2023-12-01&interval=month"),
        ("gaps", "/api/v1/reports/gaps/"),
        ("CSV, one small partner", "/engagements/?partner=TLS&format=csv"),
    ]:
        seconds, queries, _ = timed(client, url, args.repeat)
        rows.append((label, seconds, queries))
    for label, url in [
        ("dashboard, report cache warm", "/"),
        ("coverage, report cache warm", "/reports/coverage/"),
    ]:
        timed(client, url, 1, cold=False)
        seconds, queries, _ = timed(client, url, args.repeat, cold=False)
        rows.append((label, seconds, queries))
    base = rows[0][1]
    print(f"{'what':32} {'seconds':>8} {'× page 1':>9} {'queries':>8}")
    for label, seconds, queries in rows:
        print(f"{label:32} {seconds:8.3f} {seconds / base:9.1f} {queries:8d}")


if __name__ == "__main__":
    main()
