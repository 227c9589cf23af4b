"""Making notifications, watching, and marking them read: the write paths that cause a
notification call these (notifications/receivers.py), never a view."""

from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.choices import Marking
from accounts.models import users_who_may_see
from jobs.choices import JobKind
from jobs.services import start
from notifications.choices import EmailChoice
from notifications.models import Notification, Preference, Watch

# What a notification may be about that carries a marking (its text may quote it).
MARKED = ("engagement", "note")


def notify(recipients, kind, text, **about):
    """One notification of `kind` for each of `recipients` (users; the inactive left out),
    about `about` (engagement, action, note, partner); those who want an email for each
    get it from a background job once the change commits. Returns the notifications."""
    marking = Marking.highest(
        [record.marking for name, record in about.items() if name in MARKED and record is not None]
    )
    made = Notification.objects.bulk_create(
        [
            Notification(recipient=user, kind=kind, text=text[:500], marking=marking, **about)
            for user in {user.pk: user for user in recipients if user.is_active}.values()
        ]
    )
    instant = set(
        Preference.objects.filter(
            user__in=[n.recipient_id for n in made], email=EmailChoice.INSTANT
        ).values_list("user", flat=True)
    )
    if instant:
        start(
            JobKind.NOTIFY,
            import_string("notifications.tasks.send_instant"),
            listed=False,
            ids=[n.pk for n in made if n.recipient_id in instant],
        )
    return made


def who_may_see(users, engagement):
    """Those of `users` who may see `engagement` now (one query; none for nobody)."""
    if not users:
        return []
    cleared = set(users_who_may_see(engagement.marking).values_list("pk", flat=True))
    return [user for user in users if user.pk in cleared]


def watch(user, engagement=None, partner=None):
    """`user` watches the engagement or the partner (one statement; again: no change)."""
    Watch.objects.bulk_create(
        [Watch(user=user, engagement=engagement, partner=partner)], ignore_conflicts=True
    )


def unwatch(user, engagement=None, partner=None):
    Watch.objects.filter(user=user, engagement=engagement, partner=partner).delete()


def watchers(engagement=None, partner=None, besides=None):
    """The users who watch the engagement or the partner, but `besides`."""
    found = Watch.objects.filter(engagement=engagement, partner=partner).select_related("user")
    return [w.user for w in found if besides is None or w.user_id != besides.pk]


def is_watching(user, engagement=None, partner=None):
    return Watch.objects.filter(user=user.pk, engagement=engagement, partner=partner).exists()


def mark_read(user, ids=None):
    """Mark `user`'s notifications read: those of `ids`, or all (None). Returns how many."""
    mine = Notification.objects.restrict(user).unread()
    if ids is not None:
        mine = mine.filter(pk__in=ids)
    return mine.update(read_at=timezone.now())
