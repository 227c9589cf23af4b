import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.choices import Marking
from partners.choices import PartnerKind, Region


class PartnerQuerySet(models.QuerySet):
    def search(self, text):
        """Name, code or any alias, case-insensitively."""
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(name__icontains=text) | Q(code__iexact=text) | Q(aliases__icontains=text)
        )

    def member_of(self, organization_code, on=None):
        """States that are members of the organization on the given date (default today)."""
        on = on or timezone.localdate()
        return self.filter(
            memberships__organization__code=organization_code,
            memberships__joined__lte=on,
        ).filter(Q(memberships__left__isnull=True) | Q(memberships__left__gt=on))


class Partner(models.Model):
    code = models.CharField(
        "code",
        max_length=20,
        unique=True,
        help_text="ISO 3166-1 alpha-3 for states (JPN), an acronym for organizations (ASEAN).",
    )
    name = models.CharField("name", max_length=200)
    kind = models.CharField("kind", max_length=20, choices=PartnerKind.choices, db_index=True)
    region = models.CharField("region", max_length=20, choices=Region.choices, db_index=True)
    active = models.BooleanField("active", default=True, db_index=True)
    aliases = models.CharField(
        "aliases",
        max_length=500,
        blank=True,
        help_text="Other spellings of the name, separated by semicolons; searched like the name.",
    )
    notes = models.TextField("notes", blank=True, max_length=10_000)
    # The notes' own marking: the partner is for everyone with a role, its notes only for
    # readers cleared to them.
    notes_marking = models.CharField(
        "notes marking", max_length=2, choices=Marking.choices, default=Marking.NU
    )

    objects = PartnerQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=PartnerKind.values),
                name="%(app_label)s_%(class)s_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(region__in=Region.values),
                name="%(app_label)s_%(class)s_region_valid",
            ),
            models.CheckConstraint(
                condition=~Q(code=""), name="%(app_label)s_%(class)s_code_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(notes_marking__in=Marking.values),
                name="%(app_label)s_%(class)s_notes_marking_valid",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("partners:detail", args=[self.code])

    @property
    def alias_list(self):
        return [alias.strip() for alias in self.aliases.split(";") if alias.strip()]


class MembershipQuerySet(models.QuerySet):
    def current(self, on=None):
        on = on or timezone.localdate()
        return self.filter(joined__lte=on).filter(Q(left__isnull=True) | Q(left__gt=on))


class Membership(models.Model):
    """A state's membership of an organization, from `joined` until the day before `left`."""

    organization = models.ForeignKey(
        Partner,
        verbose_name="organization",
        on_delete=models.CASCADE,
        related_name="member_links",
        limit_choices_to={"kind__in": PartnerKind.organizations()},
    )
    member = models.ForeignKey(
        Partner,
        verbose_name="member",
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    joined = models.DateField("joined")
    left = models.DateField("left", null=True, blank=True)

    objects = MembershipQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["organization__name", "joined"]
        constraints = [
            models.CheckConstraint(
                condition=Q(left__isnull=True) | Q(left__gte=models.F("joined")),
                name="%(app_label)s_%(class)s_left_not_before_joined",
                violation_error_message="A membership cannot end before it began.",
            ),
            models.CheckConstraint(
                condition=~Q(organization=models.F("member")),
                name="%(app_label)s_%(class)s_not_member_of_itself",
                violation_error_message="A partner cannot be a member of itself.",
            ),
            # Only one open-ended membership of an organization at a time; the database
            # can hold this everywhere. Overlapping closed periods are refused by clean().
            models.UniqueConstraint(
                fields=["organization", "member"],
                condition=Q(left__isnull=True),
                name="%(app_label)s_%(class)s_one_open_membership",
                violation_error_message="This state already has an open membership here.",
            ),
            models.UniqueConstraint(
                fields=["organization", "member", "joined"],
                name="%(app_label)s_%(class)s_unique_start",
            ),
        ]
        indexes = [models.Index(fields=["member", "organization", "joined"])]

    def __str__(self):
        return f"{self.member} in {self.organization}"

    def is_current(self, on=None):
        on = on or timezone.localdate()
        return self.joined <= on and (self.left is None or self.left > on)

    def clean(self):
        if not (self.organization_id and self.member_id and self.joined):
            return
        if self.organization.kind not in PartnerKind.organizations():
            raise ValidationError({"organization": "Only an organization can have members."})
        far_future = datetime.date.max
        overlapping = Membership.objects.filter(
            organization_id=self.organization_id,
            member_id=self.member_id,
            joined__lt=self.left or far_future,
        ).filter(Q(left__isnull=True) | Q(left__gt=self.joined))
        if self.pk:
            overlapping = overlapping.exclude(pk=self.pk)
        if overlapping.exists():
            raise ValidationError(
                "This membership overlaps another membership of the same organization."
            )
