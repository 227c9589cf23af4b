import smtplib

from django.core.mail import get_connection
from django.core.management.base import BaseCommand, CommandError

from reports import digest
from reports.checks import insecure_mail


class Command(BaseCommand):
    help = (
        "Email the weekly digest to each active manager and admin with an email address "
        "(targets behind, gaps, overdue actions, flagged tips and unreviewed high-risk plans "
        "of the next 30 days, through each one's clearance); nobody with nothing to read "
        "gets one. Nothing marked above DJANGO_EMAIL_MAX_MARKING goes by email (the message "
        "counts what waits in the tracker), and SMTP only over TLS. --dry-run prints the "
        "messages instead. Mail settings: EMAIL_URL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print, do not send")

    def handle(self, dry_run, **options):
        if not dry_run and (reason := insecure_mail()):
            raise CommandError(f"Nothing sent: {reason}")
        sent, empty, failed = 0, 0, []
        connection = None if dry_run else get_connection()
        for user in digest.recipients():
            message = digest.message_for(user, connection=connection)
            if message is None:
                empty += 1
                continue
            if dry_run:
                self.stdout.write(f"To: {user.email}\nSubject: {message.subject}\n\n{message.body}")
                sent += 1
                continue
            try:
                message.send()
                sent += 1
            except (smtplib.SMTPException, OSError) as error:
                failed.append(f"{user.username} <{user.email}>: {error}")
        verb = "Would send" if dry_run else "Sent"
        self.stdout.write(f"{verb} {sent} digest(s); {empty} recipient(s) had nothing to read.")
        if failed:
            raise CommandError("Not sent to " + "; ".join(failed))
