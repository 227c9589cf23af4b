from django.core.management.base import BaseCommand, CommandError

from engagements import summaries


class Command(BaseCommand):
    help = (
        "Recompute every report summary from the engagement tables and compare it with the "
        "stored one; exit 1 and list the differences if any. --fix rebuilds them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="rebuild the summaries after")
        parser.add_argument("--show", type=int, default=20, help="list at most this many")

    def handle(self, fix, show, **options):
        # A month at a time (memory holds one month's buckets); the first `show` kept.
        buckets, count, shown = 0, 0, []
        for stored, differences in summaries.differences_by_month():
            buckets, count = buckets + stored, count + len(differences)
            shown = sorted(shown + differences, key=lambda difference: difference[0])[:show]
        differences = shown
        if not count:
            self.stdout.write(f"Summaries are exact ({buckets} buckets).")
            return
        for (span, kind, ref, pillar, first, status, marking), want, have in differences:
            self.stdout.write(
                f"{span} {first} {kind} {ref} pillar {pillar} {status} {marking}: "
                f"should be {want or 'nothing'}, stored {have or 'nothing'}"
            )
        if fix:
            summaries.rebuild()
            self.stdout.write("Rebuilt the summaries.")
        raise CommandError(f"{count} summary bucket(s) differ from the engagements.")
