import datetime
import time

from django.core.management.base import BaseCommand, CommandError

from engagements.demo import seed_engagements
from roadmap.models import Pillar


class Command(BaseCommand):
    help = "Add N deterministic synthetic engagements (same --seed and --as-of, same data)."

    def add_arguments(self, parser):
        parser.add_argument("--engagements", type=int, default=2000, metavar="N")
        parser.add_argument("--seed", type=int, default=0, metavar="S")
        parser.add_argument(
            "--as-of",
            type=datetime.date.fromisoformat,
            default=None,
            help="The 'today' the dates are spread around (YYYY-MM-DD; default today).",
        )

    def handle(self, engagements, seed, as_of, **options):
        if not 0 < engagements <= 1_000_000:
            raise CommandError("--engagements must be between 1 and 1,000,000.")
        if not Pillar.objects.exists():
            raise CommandError("No reference data: run `manage.py load_reference_data` first.")
        began = time.monotonic()
        created = seed_engagements(engagements, seed=seed, as_of=as_of)
        self.stdout.write(
            f"Created {created} demo engagements (seed {seed}) in {time.monotonic() - began:.1f} s."
        )
