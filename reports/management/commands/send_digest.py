from django.core.management.base import BaseCommand, CommandError

from core.mail import insecure_mail
from jobs.choices import JobKind
from jobs.services import start
from reports import digest, tasks


class Command(BaseCommand):
    help = (
        "Email the weekly digest to each active manager and admin with an email address "
        "(targets behind, gaps, overdue actions, flagged tips and unreviewed high-risk plans "
        "of the next 30 days, through each one's clearance); nobody with nothing to read "
        "gets one. Nothing marked above DJANGO_EMAIL_MAX_MARKING goes by email (the message "
        "counts what waits in the tracker), and SMTP only over TLS. --dry-run prints the "
        "messages instead; --queue leaves the sending to a background job (manage.py "
        "worker). Mail settings: EMAIL_URL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print, do not send")
        parser.add_argument(
            "--queue", action="store_true", help="send from a background job, not from here"
        )

    def handle(self, dry_run, queue, **options):
        if not dry_run and (reason := insecure_mail()):
            raise CommandError(f"Nothing sent: {reason}")
        if queue and not dry_run:
            job = start(JobKind.DIGEST, tasks.send_digest)
            self.stdout.write(f"Queued the digest as job {job.pk}.")
            return
        outcome = digest.send_all(dry_run=dry_run)
        for preview in outcome["previews"]:
            self.stdout.write(preview)
        verb = "Would send" if dry_run else "Sent"
        self.stdout.write(
            f"{verb} {outcome['sent']} digest(s); {outcome['empty']} recipient(s) had nothing"
            " to read."
        )
        if outcome["failed"]:
            raise CommandError("Not sent to " + "; ".join(outcome["failed"]))
