from django.core.management.base import BaseCommand, CommandError

from core.mail import insecure_mail
from jobs.choices import JobKind
from jobs.services import start
from notifications import tasks


class Command(BaseCommand):
    help = (
        "The day's notification work, to run once a day (cron or a systemd timer): tell "
        "each owner of an open action due tomorrow or overdue (once a day), then email "
        "everyone who chose one email a day their unread notifications not yet sent. "
        "Nothing marked above DJANGO_EMAIL_MAX_MARKING goes by email, and SMTP only over "
        "TLS. --queue leaves the work to a background job (manage.py worker)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue", action="store_true", help="do it in a background job, not from here"
        )

    def handle(self, queue, **options):
        if reason := insecure_mail():
            raise CommandError(f"Nothing sent: {reason}")
        if queue:
            job = start(JobKind.NOTIFY, tasks.daily)
            self.stdout.write(f"Queued the day's notifications as job {job.pk}.")
            return
        due = tasks.notify_due_actions()
        sent = tasks.send_daily_emails()["sent"]
        self.stdout.write(f"{due} action(s) due told; {sent} daily email(s) sent.")
