"""Time one write as an API client makes it (issue 25's: `POST /api/v1/engagements/` with two
partners and two pillars, then a PATCH of it), in-process through the whole request, on the
database DATABASE_URL names (seed it first: `manage.py seed_demo --engagements N`). Prints
p50/p95 of each and where a write's time goes (its statements grouped by the table they
touch, summed); asserts nothing. Everything it writes is deleted again at the end.

    DATABASE_URL=postgres://… DJANGO_DEBUG=1 .venv/bin/python bench/bench_write.py --repeat 50
"""

import argparse
import collections
import datetime
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.choices import Marking, Role  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.roles import create_user_with_role  # noqa: E402
from engagements.models import Engagement  # noqa: E402
from engagements.services import delete_engagement  # noqa: E402

TABLE = re.compile(r'(?:FROM|INTO|UPDATE|JOIN)\s+"?(\w+)"?', re.IGNORECASE)


class Statements:
    """Every statement's time, by the first table it names and its verb."""

    def __init__(self):
        self.times = collections.defaultdict(list)

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            match = TABLE.search(sql)
            verb = sql.split(None, 1)[0].upper()
            key = f"{verb} {match.group(1) if match else '?'}"
            self.times[key].append(time.perf_counter() - began)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3, help="writes not counted first")
    args = parser.parse_args()
    print(f"{Engagement.objects.count():,} engagements on {connection.vendor}")
    user = User.objects.filter(username="bench-writer").first() or create_user_with_role(
        "bench-writer", "bench-password-1", Role.ANALYST, Marking.NS
    )
    client = APIClient(HTTP_HOST="127.0.0.1")
    client.force_authenticate(user)
    statements = Statements()
    created, patched, made = [], [], []
    day = datetime.date(2025, 1, 1)
    with connection.execute_wrapper(statements):
        for number in range(-args.warmup, args.repeat):
            if number == 0:  # the warm-up writes are not counted
                statements.times.clear()
                created.clear()
                patched.clear()
            began = time.perf_counter()
            response = client.post(
                "/api/v1/engagements/",
                {
                    "title": f"Bench write {number}",
                    "kind": "staff_talks",
                    "status": "completed",
                    "start_date": (day + datetime.timedelta(days=number % 300)).isoformat(),
                    "partners": ["JPN", "AUS"],
                    "pillars": ["security", "dialogue"],
                    "marking": "NU",
                },
                format="json",
            )
            created.append(time.perf_counter() - began)
            assert response.status_code == 201, response.content
            body = response.json()
            made.append(body["id"])
            began = time.perf_counter()
            response = client.patch(
                f"/api/v1/engagements/{body['id']}/",
                {"location": "Hanoi", "version": body["version"]},
                format="json",
            )
            patched.append(time.perf_counter() - began)
            assert response.status_code == 200, response.content
    for label, values in (("POST (create)", created), ("PATCH (change)", patched)):
        print(
            f"{label:<16} p50 {statistics.median(values) * 1000:7.1f} ms   "
            f"p95 {percentile(values, 0.95) * 1000:7.1f} ms   ({len(values)} writes)"
        )
    writes = len(created) + len(patched)
    print(f"\nStatements per write, by table (mean over {writes} writes):")
    rows = sorted(statements.times.items(), key=lambda item: -sum(item[1]))
    for key, values in rows[:25]:
        print(f"  {key:<50} {len(values) / writes:5.1f} × {sum(values) / writes * 1000:7.2f} ms")
    total = sum(sum(values) for values in statements.times.values()) / writes
    print(f"  {'all statements':<50} {total * 1000:15.2f} ms")
    for pk in made:
        current = Engagement.objects.get(pk=pk)
        delete_engagement(user, pk, current.version)


if __name__ == "__main__":
    main()
