"""Notification emails: one message per person, of their notifications not yet sent.

Email carries nothing marked above EMAIL_MAX_MARKING (DJANGO_EMAIL_MAX_MARKING, NU by
default) whatever the recipient's clearance, as the digest: such notifications are
counted ("2 items above what email may carry wait in the tracker") and their text stays
in the tracker. Each is checked through its gate when the message is written, so one
about something the recipient can no longer see is left out. Every message ends with a
link that turns these emails off (no sign-in needed: the link is signed)."""

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Marking
from core.mail import insecure_mail
from notifications.models import Notification

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def unsubscribe_url(user):
    token = signing.dumps(user.pk, salt=UNSUBSCRIBE_SALT)
    return settings.SITE_URL + reverse("notifications:unsubscribe", args=[token])


def user_of(token):
    """The account id an unsubscribe token names, or None."""
    try:
        return signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None


def send(user, notifications):
    """Email `user` these of their notifications (Notification rows) that they may still
    see, and mark all of them sent once the message has gone. Returns whether a message
    went. Refused (the job fails, saying why) while mail would go without TLS."""
    if reason := insecure_mail():
        raise RuntimeError(f"Nothing sent: {reason}")
    pending = [n.pk for n in notifications]
    visible = list(
        Notification.objects.restrict(user)
        .filter(pk__in=pending)
        .with_targets()
        .order_by("at", "id")
    )
    sent = Notification.objects.filter(pk__in=pending)
    if not visible or not user.email:
        sent.update(emailed_at=timezone.now())  # nothing to send: none is tried again
        return False
    sendable = Marking.up_to(settings.EMAIL_MAX_MARKING)
    carried = [n for n in visible if n.carried_marking in sendable]
    waiting = len(visible) - len(carried)
    marking = Marking.highest([n.carried_marking for n in carried])
    context = {
        "user": user,
        "notifications": carried,
        "waiting": waiting,
        "email_ceiling": Marking.banner(settings.EMAIL_MAX_MARKING),
        "marking_line": Marking.banner(marking),
        "site_url": settings.SITE_URL,
        "unsubscribe": unsubscribe_url(user),
    }
    count = len(visible)
    message = EmailMessage(
        subject=f"{Marking.banner(marking)} · {count} notification{'s' if count != 1 else ''} "
        "from the engagement tracker",
        body=render_to_string("notifications/email.txt", context),
        to=[user.email],
        headers={"List-Unsubscribe": f"<{context['unsubscribe']}>"},
    )
    message.send()  # a failure leaves them unsent: the job's next attempt sends them
    sent.update(emailed_at=timezone.now())
    return True
