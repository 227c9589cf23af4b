"""What the tracker tells each person (`Notification`, one row per recipient), what they
follow (`Watch`) and how they want to hear of it by email (`Preference`).

A notification names what it is about (an engagement, an action, a note, a partner) and
is shown only while its reader may still see that: the check is made whenever it is
read (`NotificationQuerySet.restrict`), not only when it was made, so a notification made
before an engagement was raised above its reader shows nothing afterwards."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.choices import Marking
from accounts.models import visible_markings
from engagements.models import Action, Engagement, Note
from notifications.choices import EmailChoice, NotificationKind


class NotificationQuerySet(models.QuerySet):
    def restrict(self, user, action="view"):
        """`user`'s own notifications about what it may see now, whose text (written from
        what it was about then) is within its clearance too."""
        if not user.is_authenticated:
            return self.none()
        markings = visible_markings(user)
        if not markings:
            return self.none()
        mine = self.filter(recipient=user.pk, marking__in=markings)
        return mine.filter(
            Q(engagement__isnull=True) | Q(engagement__in=Engagement.objects.restrict(user)),
            Q(action__isnull=True) | Q(action__in=Action.objects.restrict(user)),
            Q(note__isnull=True) | Q(note__in=Note.objects.restrict(user)),
        )

    def unread(self):
        return self.filter(read_at__isnull=True)

    def with_targets(self):
        """What a notification's link and marking are made of, in the same query."""
        return self.select_related("engagement", "note__engagement", "note__partner", "partner")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="recipient",
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField("kind", max_length=20, choices=NotificationKind.choices)
    at = models.DateTimeField("at", auto_now_add=True)
    text = models.CharField("text", max_length=500)
    # The highest marking of what the text was written from (a title may have been
    # retitled and lowered since): the text is shown, and emailed, only within it.
    marking = models.CharField("marking", max_length=2, choices=Marking.choices, default="NU")
    # What it is about (at most one of each; none for a partner's): gone with it.
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    note = models.ForeignKey(
        Note, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Once a day for an action due: the day, so that a second run that day adds none.
    key = models.CharField("key", max_length=100, blank=True)
    read_at = models.DateTimeField("read at", null=True, blank=True)
    emailed_at = models.DateTimeField("emailed at", null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=NotificationKind.values),
                name="%(app_label)s_%(class)s_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(marking__in=Marking.values),
                name="%(app_label)s_%(class)s_marking_valid",
            ),
            models.UniqueConstraint(
                fields=["recipient", "kind", "key"],
                condition=~Q(key=""),
                name="%(app_label)s_%(class)s_once",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-at"], name="notification_recipient_idx"),
        ]

    def __str__(self):
        return self.text

    def get_absolute_url(self):
        if self.note_id:
            return (self.note.engagement or self.note.partner).get_absolute_url() + "#notes"
        if self.action_id:
            return self.engagement.get_absolute_url() + "#actions"
        if self.engagement_id:
            return self.engagement.get_absolute_url()
        return self.partner.get_absolute_url()

    @property
    def carried_marking(self):
        """What an email of it would carry: the highest of its text's marking and of what
        it is about now."""
        markings = [self.marking]
        markings += [self.engagement.marking] if self.engagement_id else []
        return Marking.highest(markings + ([self.note.marking] if self.note_id else []))


class Watch(models.Model):
    """`user` hears when someone else changes the engagement or the partner."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches"
    )
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, null=True, blank=True, related_name="watches"
    )
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="watches",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(engagement__isnull=False, partner__isnull=True)
                | Q(engagement__isnull=True, partner__isnull=False),
                name="%(app_label)s_%(class)s_one_record",
            ),
            models.UniqueConstraint(
                fields=["user", "engagement"], name="%(app_label)s_%(class)s_engagement_once"
            ),
            models.UniqueConstraint(
                fields=["user", "partner"], name="%(app_label)s_%(class)s_partner_once"
            ),
        ]

    def __str__(self):
        return f"{self.user} watches {self.engagement or self.partner}"


class Preference(models.Model):
    """How a user hears of their notifications by email (DAILY when they never chose)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.CharField(
        "email", max_length=10, choices=EmailChoice.choices, default=EmailChoice.DAILY
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(email__in=EmailChoice.values),
                name="%(app_label)s_%(class)s_email_valid",
            ),
        ]

    def __str__(self):
        return f"{self.user}: {self.get_email_display()}"


def preference_of(user):
    """`user`'s Preference, or an unsaved one with the default (DAILY)."""
    return Preference.objects.filter(user=user.pk).first() or Preference(user=user)
