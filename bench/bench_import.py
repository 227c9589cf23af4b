"""Time the import page's preview of a 1,000-row file (the most the page takes).

Not a test: it prints timings. Run against a database of its own, e.g. on SQLite:

    DJANGO_DEBUG=1 DATABASE_URL=sqlite:////tmp/tracker_bench.sqlite3 \\
        .venv/bin/python bench/bench_import.py --engagements 20000

It migrates, loads reference data, seeds engagements when the table holds fewer, then
posts a CSV of 1,000 good rows to /engagements/import/ as an analyst, and reads the
preview's query count and time (median of --repeat).
"""

import argparse
import csv
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from accounts.choices import Marking, Role  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.roles import create_user_with_role  # noqa: E402
from engagements.models import Engagement  # noqa: E402

HEADER = ["title", "kind", "status", "start_date", "partners", "pillars", "facets", "tips"]
PARTNERS = ["JPN", "Vietnam; KOR", "IDN", "AUS; NZL", "ASEAN", "PHL"]
PILLARS = ["dialogue", "security", "economic", "hadr"]


def csv_rows(count):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for number in range(count):
        pillar = PILLARS[number % 4]
        writer.writerow(
            [
                f"Imported engagement {number}",
                "staff_talks",
                "completed" if number % 3 else "planned",
                f"2025-{number % 12 + 1:02d}-{number % 28 + 1:02d}",
                PARTNERS[number % len(PARTNERS)],
                pillar,
                "",
                "1; 2" if number % 2 else "",
            ]
        )
    return out.getvalue().encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engagements", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("load_reference_data", stdout=io.StringIO())
    have = Engagement.objects.count()
    if have < args.engagements:
        call_command("seed_demo", engagements=args.engagements - have, seed=7, stdout=io.StringIO())
    user = User.objects.filter(username="bench-importer").first() or create_user_with_role(
        "bench-importer", "a-long-bench-password-1", Role.ANALYST, Marking.NS
    )
    client = Client()
    client.force_login(user)
    content = csv_rows(args.rows)
    times, counted = [], []

    def count(execute, sql, params, many, context):
        counted.append(sql)
        return execute(sql, params, many, context)

    for _ in range(args.repeat):
        upload = SimpleUploadedFile("bench.csv", content, content_type="text/csv")
        counted.clear()
        with connection.execute_wrapper(count):
            began = time.perf_counter()
            response = client.post("/engagements/import/", {"file": upload})
            times.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
        result = response.context["result"]
        assert not result.errors, result.errors[:3]
        assert len(result.created) == args.rows
        queries = len(counted)
    print(
        f"{connection.vendor}, {Engagement.objects.count():,} engagements: preview of "
        f"{args.rows:,} rows median {statistics.median(times):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in times)}), {queries:,} queries "
        f"({queries / args.rows:.1f} a row)"
    )


if __name__ == "__main__":
    main()
