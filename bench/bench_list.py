"""Time the engagement list against the raw SQL of the same page.

Not a test: it prints timings, never asserts them. Run it against a database you seeded,
e.g.

    createdb -h 127.0.0.1 -U postgres bench_list
    export DJANGO_DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_list
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py load_reference_data
    .venv/bin/python manage.py seed_demo --engagements 200000 --seed 7
    .venv/bin/python bench/bench_list.py

For each case it requests the page in-process (Django's test client, a manager cleared NS),
then re-runs on a plain cursor the page's own main query (the one that selects the
engagements, as the page ran it) and, separately, every query the page ran (session, user,
choices, relations…). "× SQL" is the whole page against the main query; "× all" against all
its queries: what is left above 1 is Python (views, forms, templates) and round trips.
`--profile CASE` prints a cProfile of one request instead.

With DEBUG on Django records every query, which costs a little per query; for production
settings run it with `DJANGO_DEBUG=0 DJANGO_SECRET_KEY=bench DJANGO_SECURE_SSL_REDIRECT=0`.
"""

import argparse
import cProfile
import datetime
import os
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.choices import Marking, Role  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.roles import create_user_with_role  # noqa: E402
from core.pagination import encode  # noqa: E402
from engagements import summaries  # noqa: E402
from engagements.models import Engagement  # noqa: E402


def page_request(client, url):
    began, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    assert response.status_code == 200, (url, response.status_code)
    page_request.cpu = cpu  # this process's CPU time: Python's share, whatever the load
    return seconds, response


def page_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        page_request(client, url)
    return queries.captured_queries


def main_query(queries):
    """The page's own query: the one that reads engagement rows with a LIMIT (for a page
    without one, its slowest)."""
    candidates = [
        q["sql"]
        for q in queries
        if 'FROM "engagements_engagement"' in q["sql"] and "LIMIT" in q["sql"]
    ]
    return candidates[0] if candidates else max(queries, key=lambda q: float(q["time"]))["sql"]


def sql_seconds(*statements):
    with connection.cursor() as cursor:
        began = time.perf_counter()
        for sql in statements:
            if not sql.startswith(("SELECT ", "(SELECT ", "DECLARE ")):
                continue  # a server-side cursor's FETCH and CLOSE (its DECLARE runs the
                # query), the bounded count's SAVEPOINT and SET LOCAL
            if sql.startswith("DECLARE "):
                sql = sql.split(" FOR ", 1)[1]
            cursor.execute(sql)
            cursor.fetchall()
        return time.perf_counter() - began


def cases(client):
    year_back = timezone.localdate() - datetime.timedelta(days=365)
    row = (
        Engagement.objects.filter(start_date__lte=year_back)
        .order_by("-start_date", "-id")
        .values("start_date", "id")
        .first()
    )
    url = "/engagements/"
    for _ in range(49):  # page 50: follow "Next page" 49 times
        html = page_request(client, url)[1].content.decode()
        url = "/engagements/?cursor=" + re.search(r'rel="next" href="\?cursor=([^"&]+)"', html)[1]
    return {
        # The floor: a signed-in page with the header and next to nothing else (no saved
        # views): session, user, role, permissions and the base template.
        "floor: the saved views page, empty": "/saved-views/",
        "page 1": "/engagements/",
        "page 50": url,
        "deep jump (cursor a year back)": "/engagements/?cursor="
        + encode([row["start_date"], row["id"]], "next"),
        "search, a word that matches nothing": "/engagements/?search=xyzzyq",
        "search, a common word": "/engagements/?search=cyber",
        "search + partner filter": "/engagements/?search=maritime&partner=TLS",
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--profile", help="the name of one case, e.g. 'page 1'")
    args = parser.parse_args()

    # Not setup_test_environment(): its template instrumentation would be timed too.
    settings.ALLOWED_HOSTS.append("testserver")
    user = User.objects.filter(username="bench").first() or create_user_with_role(
        "bench", "bench-password-1", Role.MANAGER, Marking.NS
    )
    client = Client()
    client.force_login(user)
    urls = cases(client)

    if args.profile:
        page_request(client, urls[args.profile])  # warm
        profile = cProfile.Profile()
        profile.enable()
        page_request(client, urls[args.profile])
        profile.disable()
        pstats.Stats(profile).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
            int(os.environ.get("LINES", "40"))
        )
        return

    total = Engagement.objects.count()
    print(
        f"{connection.vendor}, {total} engagements, median of {args.repeat}, in-process,"
        f" DEBUG {'on' if settings.DEBUG else 'off'}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'what':48} {'page ms':>8} {'CPU ms':>7} {'SQL ms':>7} {'× SQL':>6} {'all SQL':>8}"
        f" {'× all':>6}"
        f" {'queries':>8}"
    )
    # Seen again with nothing written since (count, filter panel and rows from the cache),
    # and seen after an engagement was written elsewhere (the data stamp moved: counted
    # again; panel and rows stay cached: they follow the directory stamp and row versions).
    for label, url in urls.items():
        for after_write in (False, True):
            prepare = summaries.bump_stamp if after_write else (lambda: None)
            page_request(client, url)  # warm
            prepare()
            queries = page_queries(client, url)
            pages, cpus, sqls, alls = [], [], [], []
            for _ in range(args.repeat):
                prepare()
                pages.append(page_request(client, url)[0])
                cpus.append(page_request.cpu)
                sqls.append(sql_seconds(main_query(queries)))
                alls.append(sql_seconds(*(query["sql"] for query in queries)))
            page, cpu, sql, every = (
                statistics.median(times) for times in (pages, cpus, sqls, alls)
            )
            name = f"{label}{', after a write' if after_write else ''}"
            print(
                f"{name:48} {page * 1000:8.1f} {cpu * 1000:7.1f} {sql * 1000:7.1f}"
                f" {page / sql:6.1f} {every * 1000:8.1f} {page / every:6.1f} {len(queries):8d}"
            )


if __name__ == "__main__":
    main()
