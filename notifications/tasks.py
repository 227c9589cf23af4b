"""Background jobs of notifications (jobs/services.py runs them)."""

import datetime
import smtplib
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from engagements.choices import ActionStatus
from engagements.models import Action
from jobs.services import job_task
from notifications import emails
from notifications.choices import EmailChoice, NotificationKind
from notifications.models import Notification, Preference
from notifications.services import notify


@job_task
def send_instant(job, ids):
    """Email each recipient who wants an email for each notification those of `ids` not yet
    sent; idempotent (sent ones are marked)."""
    return _send(Notification.objects.filter(pk__in=ids, emailed_at__isnull=True), instant=True)


def send_daily_emails():
    """Each recipient who wants one email a day gets their unread notifications not yet
    sent."""
    waiting = Notification.objects.filter(emailed_at__isnull=True, read_at__isnull=True)
    others = [EmailChoice.NONE, EmailChoice.INSTANT]
    return _send(waiting.exclude(recipient__notification_preference__email__in=others), False)


def _send(notifications, instant):
    by_user = defaultdict(list)
    for notification in notifications.order_by("at", "id"):
        by_user[notification.recipient_id].append(notification)
    chosen = dict(Preference.objects.filter(user__in=by_user).values_list("user", "email"))
    wanted = EmailChoice.INSTANT if instant else EmailChoice.DAILY
    sent, failed = 0, []
    for user in get_user_model().objects.filter(pk__in=by_user, is_active=True):
        if chosen.get(user.pk, EmailChoice.DAILY) != wanted:
            continue
        try:
            sent += emails.send(user, by_user[user.pk])
        except (smtplib.SMTPException, OSError) as error:  # the others still get theirs
            failed.append(f"{user.username}: {error}")
    if failed:  # the job fails and is tried again: only the unsent are sent again
        raise RuntimeError(f"Sent {sent}; not sent to " + "; ".join(failed))
    return {"sent": sent}


def notify_due_actions(today=None):
    """`action_due` for each open action due tomorrow or overdue, to its owner, once a
    day. Returns how many were made."""
    today = today or timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    due = Action.objects.filter(status=ActionStatus.OPEN, due__lte=tomorrow).select_related(
        "engagement", "owner"
    )
    made = 0
    for action in due:
        if action.due == tomorrow:
            when = "is due tomorrow"
        elif action.due == today:
            when = "is due today"
        else:
            when = f"is overdue (due {action.due:%d %b %Y})"
        try:
            with transaction.atomic():
                made += len(
                    notify(
                        [action.owner],
                        NotificationKind.ACTION_DUE,
                        f"Your action “{action.title}” on “{action.engagement.title}” {when}.",
                        engagement=action.engagement,
                        action=action,
                        key=f"{action.pk}:{today.isoformat()}",
                    )
                )
        except IntegrityError:  # made already today
            continue
    return made


@job_task
def daily(job):
    """The day's notification work (`manage.py send_notifications --queue`): actions due,
    then the daily emails."""
    return {"due": notify_due_actions(), **send_daily_emails()}
