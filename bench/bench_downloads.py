"""Time the engagement downloads (CSV and XLSX) of a whole table; print rows per second.

Not a test: it prints, never asserts. It uses a database of its own (default
`var/bench_downloads.sqlite3`; or give DATABASE_URL), migrates it, loads the reference data
and seeds engagements until it holds `--engagements` of them:

    DJANGO_DEBUG=1 .venv/bin/python bench/bench_downloads.py --engagements 83000

`--writer-only` times just the file writing on synthetic rows shaped like the export's
(no database), to tell the spreadsheet writer's cost from the queries'.
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench_downloads.sqlite3'}")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from accounts.choices import Marking, Role  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.roles import create_user_with_role  # noqa: E402
from core.downloads import download  # noqa: E402
from engagements.exports import EXPORT_FIELDS  # noqa: E402
from engagements.models import Engagement  # noqa: E402


def body(response):
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def synthetic_rows(count):
    created = datetime.datetime(2025, 1, 1, 9, 30, tzinfo=datetime.UTC)
    for number in range(count):
        start = datetime.date(2023, 1, 1) + datetime.timedelta(days=number % 1000)
        yield [
            number,
            f"Staff talks on maritime security, round {number}",
            "staff_talks",
            "completed",
            start,
            None,
            "Manila",
            "PHL; JPN",
            "security; hadr",
            "security.maritime",
            "1; 4",
            "NR",
            "low",
            "A summary of a realistic length for an engagement of this kind.",
            "Agreed to meet again.",
            "analyst",
            created,
            created,
            1,
        ]


def report(label, rows, seconds, size):
    print(f"{label:28} {rows:8d} rows {seconds:7.1f} s {rows / seconds:9.0f} rows/s {size:>11,d} B")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engagements", type=int, default=83_000)
    parser.add_argument("--writer-only", action="store_true")
    args = parser.parse_args()

    if args.writer_only:
        for request_format in ("csv", "xlsx"):
            began = time.perf_counter()
            response = download(
                request_format, "bench", EXPORT_FIELDS, synthetic_rows(args.engagements)
            )
            size = len(body(response))
            report(
                f"writer only, {request_format}",
                args.engagements,
                time.perf_counter() - began,
                size,
            )
        return

    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("load_reference_data", verbosity=0)
    have = Engagement.objects.count()
    if have < args.engagements:
        call_command("seed_demo", engagements=args.engagements - have, seed=1)
    user = User.objects.filter(username="bench").first() or create_user_with_role(
        "bench", "bench-password-1", Role.MANAGER, Marking.NS
    )
    client = Client()
    client.force_login(user)
    total = Engagement.objects.count()
    print(f"{connection.vendor}, {total} engagements")
    for request_format in ("csv", "xlsx"):
        began = time.perf_counter()
        response = client.get(f"/engagements/?format={request_format}")
        size = len(body(response))
        assert response.status_code == 200, response.status_code
        report(f"whole table, {request_format}", total, time.perf_counter() - began, size)


if __name__ == "__main__":
    main()
