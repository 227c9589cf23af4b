import datetime

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditChain, AuditEntry

BATCH = 10_000


class Command(BaseCommand):
    help = (
        "Delete audit entries older than DJANGO_AUDIT_DAYS (default 400), oldest first, "
        "keeping the chain checkable: the last deleted entry's hash is kept. The only way "
        "entries leave the trail. Meant for cron, e.g. daily."
    )

    def handle(self, **options):
        cutoff = timezone.now() - datetime.timedelta(days=settings.AUDIT_DAYS)
        deleted = 0
        while True:
            with transaction.atomic():
                old = list(
                    AuditEntry.objects.filter(at__lt=cutoff)
                    .order_by("sequence")
                    .values_list("sequence", "hash")[:BATCH]
                )
                if not old:
                    break
                chain = AuditChain.objects.select_for_update().get(pk=1)
                if connection.vendor == "postgresql":  # the trigger lets this one through
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT set_config('tracker.audit_prune', 'on', true)")
                AuditEntry.objects.filter(sequence__lte=old[-1][0]).for_pruning().delete()
                chain.pruned_sequence, chain.pruned_hash = old[-1]
                chain.save(update_fields=["pruned_sequence", "pruned_hash"])
                deleted += len(old)
        self.stdout.write(f"Pruned {deleted:,} audit entries older than {cutoff:%Y-%m-%d}.")
