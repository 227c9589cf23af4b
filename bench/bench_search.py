"""Time the search (`engagements/search.py`) and a partner's timeline
(`engagements/timeline.py`) as an NS manager, in-process, on the database DATABASE_URL
names (seed it first: `manage.py seed_demo --engagements N`): a common word, a place, a
partner's other name, a word found nowhere (which also looks for a typo) and a typo; the
timeline's first page and its fifth of the partner with the most engagements. Prints the
median and the slowest of --repeat runs; asserts nothing.

    DATABASE_URL=postgres://… DJANGO_DEBUG=1 .venv/bin/python bench/bench_search.py
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

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from accounts.choices import Marking, Role  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.roles import create_user_with_role  # noqa: E402
from engagements.models import Engagement  # noqa: E402
from engagements.search import search  # noqa: E402
from engagements.timeline import timeline  # noqa: E402
from partners.models import Partner  # noqa: E402

WORDS = [
    "dialogue", "maritime", "Hanoi", "Vietnam", "zebrafish", "maritme", "dialgoue",
    "Hashimoto", "Hashimotto",  # a person's name (seed_demo adds people), and a typo of it
]  # fmt: skip


def timed(label, function, repeat):
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - began)
    print(
        f"{label:<28} median {statistics.median(times) * 1000:7.1f} ms   "
        f"slowest {max(times) * 1000:7.1f} ms"
    )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"{Engagement.objects.count():,} engagements on {connection.vendor}")
    user = User.objects.filter(username="bench-ns").first() or create_user_with_role(
        "bench-ns", "bench-password-1", Role.MANAGER, Marking.NS
    )
    for text in WORDS:
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            hits, corrected = search(user, text)
            times.append(time.perf_counter() - began)
        fixed = f" (searched {corrected})" if corrected else ""
        print(
            f"{text:<28} median {statistics.median(times) * 1000:7.1f} ms   "
            f"slowest {max(times) * 1000:7.1f} ms   {len(hits)} hits{fixed}"
        )
    busiest = Partner.objects.annotate(links=Count("engagement_links")).order_by("-links")[0]
    first = timed(
        f"timeline of {busiest.code}, page 1", lambda: timeline(user, busiest), args.repeat
    )
    cursor = first[1]
    for _ in range(3):
        cursor = timeline(user, busiest, cursor)[1]
    timed(
        f"timeline of {busiest.code}, page 5", lambda: timeline(user, busiest, cursor), args.repeat
    )


if __name__ == "__main__":
    main()
