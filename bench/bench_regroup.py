"""Time partner and membership changes: what the request costs (the save, its signals and
queueing the regroup job), then the job itself (`summaries.regroup()`, run here in place).

Not a test: it prints timings, never asserts them. Each change runs as an admin's save
would (the model's save and its signals), then its job, inside a transaction that is
rolled back, so the database is left as it was. Run it against a database you seeded (see
bench/bench_list.py), e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m .venv/bin/python bench/bench_regroup.py

`--check` afterwards compares the summaries with a full recount inside the same
transaction (slow at a million: minutes), to see that the job left them exact.
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from engagements import summaries  # noqa: E402
from engagements.models import EngagementPartner  # noqa: E402
from jobs.models import Job  # noqa: E402
from partners.choices import PartnerKind, Region  # noqa: E402
from partners.models import Membership, Partner  # noqa: E402


class RolledBack(Exception):
    pass


def change(code, **fields):
    partner = Partner.objects.get(code=code)
    for name, value in fields.items():
        setattr(partner, name, value)
    partner.save()


def move_membership(member):
    membership = Membership.objects.filter(member__code=member).first()
    if membership is None:  # a new one, so that there is something to move
        membership = Membership.objects.create(
            member=Partner.objects.get(code=member),
            organization=Partner.objects.get(code="ASEAN"),
            joined=datetime.date(2002, 5, 20),
        )
    membership.joined = membership.joined + datetime.timedelta(days=400)
    membership.save()


CASES = {
    "JPN deactivated": lambda: change("JPN", active=False),
    "TLS membership moved": lambda: move_membership("TLS"),
    "ASEAN kind changed": lambda: change("ASEAN", kind=PartnerKind.INTERNATIONAL_ORG),
    "ASEAN region changed": lambda: change("ASEAN", region=Region.GLOBAL),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--check", action="store_true", help="recount afterwards (slow)")
    args = parser.parse_args()
    print(
        f"{connection.vendor}, {EngagementPartner.objects.count()} partner links,"
        f" load average {os.getloadavg()[0]:.1f}"
    )
    for name in args.cases:
        try:
            with transaction.atomic():
                newest = Job.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                began = time.perf_counter()
                CASES[name]()
                request = time.perf_counter() - began
                began = time.perf_counter()
                for job in Job.objects.filter(pk__gt=newest).order_by("pk"):
                    import_string(job.task).call(job.pk)  # as a worker runs it
                work = time.perf_counter() - began
                verdict = ""
                if args.check:
                    exact = not any(found for _, found in summaries.differences_by_month())
                    verdict = "exact" if exact else "DIFFERS from a recount"
                raise RolledBack
        except RolledBack:
            pass
        print(f"{name:28} request {request:7.2f} s   job {work:7.1f} s  {verdict}")


if __name__ == "__main__":
    main()
