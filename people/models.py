"""The people at partners: a desk officer's counterparts, with their roles over time.

A person carries a marking of their own (who someone is can itself be sensitive): a
reader cleared below it learns nothing of them, not in a list, an engagement, a search or
a timeline. People are written only through `people.services`, versioned like
engagements."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from accounts.choices import Marking, Role
from accounts.models import MarkedQuerySet
from partners.models import Partner


class PersonQuerySet(MarkedQuerySet):
    def restrict(self, user, action="view"):
        """The people `user` may `view` (marked within its clearance), `change` (and the
        permission to) or `delete` (managers and admins any they see; analysts those they
        entered)."""
        if action not in ("view", "change", "delete"):
            raise ValueError(f"No such action on people: {action}")
        if not user.has_perm(f"people.{action}_person"):
            return self.none()
        seen = super().restrict(user)
        if action != "delete" or user.role in (Role.MANAGER, Role.ADMIN):
            return seen
        return seen.filter(created_by=user.pk)

    def search(self, text):
        """Name, title or email, case-insensitively."""
        return self.filter(
            Q(name__icontains=text) | Q(title__icontains=text) | Q(email__icontains=text)
        )


class Person(models.Model):
    name = models.CharField("name", max_length=200)
    title = models.CharField("title", max_length=200, blank=True, help_text="Their role now.")
    partner = models.ForeignKey(
        Partner,
        verbose_name="partner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="people",
        help_text="Where they work now.",
    )
    email = models.EmailField("email", blank=True)
    phone = models.CharField("phone", max_length=50, blank=True)
    marking = models.CharField(
        "marking",
        max_length=2,
        choices=Marking.choices,
        default=Marking.NU,
        help_text="Of who they are: readers cleared below it do not see them at all.",
    )
    version = models.PositiveIntegerField("version", default=1, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="entered by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("entered at", auto_now_add=True)
    updated_at = models.DateTimeField("updated at", auto_now=True)

    objects = PersonQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name_plural = "people"
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(marking__in=Marking.values),
                name="%(app_label)s_%(class)s_marking_valid",
            ),
            models.CheckConstraint(
                condition=~Q(name=""), name="%(app_label)s_%(class)s_name_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="%(app_label)s_%(class)s_version_positive"
            ),
        ]
        indexes = [models.Index(fields=["partner", "name"], name="person_partner_idx")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("people:detail", args=[self.pk])

    def allows(self, user, action):
        """Whether `user` may `action` this person now (its gate, as stored)."""
        return Person.objects.restrict(user, action).filter(pk=self.pk).exists()


class Affiliation(models.Model):
    """A person's role at a partner from `start` until `end` (either unknown: blank)."""

    person = models.ForeignKey(
        Person, verbose_name="person", on_delete=models.CASCADE, related_name="affiliations"
    )
    partner = models.ForeignKey(
        Partner, verbose_name="partner", on_delete=models.CASCADE, related_name="affiliations"
    )
    title = models.CharField("title", max_length=200, blank=True)
    start = models.DateField("from", null=True, blank=True)
    end = models.DateField("until", null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = [F("start").desc(nulls_last=True), "id"]
        constraints = [
            # Strictly after: joining and leaving are two moments on the partner's timeline.
            models.CheckConstraint(
                condition=Q(start__isnull=True) | Q(end__isnull=True) | Q(end__gt=F("start")),
                name="%(app_label)s_%(class)s_end_after_start",
                violation_error_message="An affiliation must end after it began.",
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "start"], name="affiliation_start_idx"),
            models.Index(fields=["partner", "end"], name="affiliation_end_idx"),
        ]

    def __str__(self):
        return f"{self.person} at {self.partner}"
