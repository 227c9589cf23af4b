"""Time the reports read from the summaries, one write through the write service, a
summary rebuild and a whole-table CSV download, on the database DATABASE_URL names
(seed it first: `manage.py seed_demo --engagements N`). Prints timings; asserts nothing.

    DATABASE_URL=postgres://… DJANGO_DEBUG=1 .venv/bin/python bench/bench_reports.py
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.choices import Marking, Role  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.roles import create_user_with_role  # noqa: E402
from engagements import summaries  # noqa: E402
from engagements.models import Engagement  # noqa: E402
from engagements.services import save_engagement  # noqa: E402
from reports import queries as reports  # noqa: E402


def timed(label, function, repeat=3):
    best = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - began
        best = elapsed if best is None else min(best, elapsed)
    print(f"{label:<55} {best * 1000:9.1f} ms")
    return result


def main():
    count = Engagement.objects.count()
    print(f"{count} engagements on {connection.vendor}")
    user = User.objects.filter(username="bench-ns").first() or create_user_with_role(
        "bench-ns", "bench-password-1", Role.MANAGER, Marking.NS
    )
    assert user.role
    for name, call in [
        ("coverage, last 12 months", lambda: reports.coverage.uncached(user)),
        ("coverage, last 12 months, rollup", lambda: reports.coverage.uncached(user, rollup=True)),
        (
            "coverage, region southeast_asia",
            lambda: reports.coverage.uncached(user, region="southeast_asia"),
        ),
        ("trend, last 12 months", lambda: reports.trend.uncached(user)),
        ("gaps, 6 months", lambda: reports.gaps.uncached(user)),
        ("tip board", lambda: reports.tip_board.uncached(user)),
        ("roadmap counts", lambda: reports.roadmap_counts.uncached(user)),
    ]:
        timed(name, call)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    timed("dashboard page (cache cleared before each)", lambda: (_clear(), client.get("/"))[1])

    engagement = Engagement.objects.order_by("-start_date").first()

    def write():
        current = Engagement.objects.get(pk=engagement.pk)
        save_engagement(user, {"location": f"Bench {time.time()}"}, current.pk, current.version)

    timed("one write through the service (two slices refreshed)", write, repeat=5)

    began = time.perf_counter()
    response = client.get("/engagements/?format=csv")
    rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
    elapsed = time.perf_counter() - began
    print(f"{'CSV of every visible engagement':<55} {elapsed:9.1f} s  {rows / elapsed:,.0f} rows/s")
    if "--rebuild" in sys.argv:
        timed("rebuild every summary", summaries.rebuild, repeat=1)
        timed(
            "check_summaries (recompute and compare)",
            lambda: summaries.compute_all() == summaries.stored_all(),
            repeat=1,
        )


def _clear():
    from django.core.cache import cache

    cache.clear()


if __name__ == "__main__":
    main()
