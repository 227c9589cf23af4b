from django.core.management.base import BaseCommand, CommandError

from accounts.models import AuditChain, AuditEntry


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain: exit 0 when every entry is as it was written "
        "and none is missing, 1 naming the first entry that is not."
    )

    def handle(self, **options):
        chain = AuditChain.objects.filter(pk=1).first() or AuditChain()
        expected_sequence, expected_hash = chain.pruned_sequence + 1, chain.pruned_hash
        checked = 0
        for entry in AuditEntry.objects.order_by("sequence").iterator(chunk_size=5000):
            if entry.sequence > expected_sequence:
                missing = expected_sequence
                if entry.sequence - 1 > missing:
                    missing = f"{expected_sequence} to {entry.sequence - 1}"
                self._broken(f"entry {missing}, before entry {entry.sequence}, is missing")
            if entry.sequence != expected_sequence or entry.previous_hash != expected_hash:
                self._broken(
                    f"entry {entry.sequence} (id {entry.pk}) does not follow the entry "
                    f"before it: one of them was changed or replaced"
                )
            if entry.computed_hash() != entry.hash:
                self._broken(f"entry {entry.sequence} (id {entry.pk}) was changed")
            expected_sequence, expected_hash = entry.sequence + 1, entry.hash
            checked += 1
        if chain.pk and (
            chain.last_sequence != expected_sequence - 1 or chain.last_hash != expected_hash
        ):
            self._broken(f"entries after {expected_sequence - 1} are missing")
        self.stdout.write(f"The audit trail is intact: {checked:,} entries checked.")

    def _broken(self, what):
        raise CommandError(f"The audit trail is broken: {what}.", returncode=1)
