from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.choices import Marking
from accounts.models import MarkedQuerySet
from roadmap.choices import TipStatus

TARGET_MAX_MONTHS = 36
TARGET_MAX_MINIMUM = 1000


class Pillar(models.Model):
    """One of the roadmap's four pillars of engagement."""

    code = models.SlugField("code", max_length=40, unique=True)
    name = models.CharField("name", max_length=200)
    order = models.PositiveSmallIntegerField("order", unique=True)
    description = models.TextField("description", blank=True)

    class Meta:
        ordering = ["order"]

    def __str__(self):
        return self.name


class Facet(models.Model):
    """A facet of a pillar; its code is `<pillar>.<facet>`."""

    pillar = models.ForeignKey(
        Pillar, verbose_name="pillar", on_delete=models.PROTECT, related_name="facets"
    )
    code = models.CharField("code", max_length=80, unique=True)
    name = models.CharField("name", max_length=200)
    order = models.PositiveSmallIntegerField("order")
    description = models.TextField("description", blank=True)

    class Meta:
        ordering = ["pillar__order", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["pillar", "order"], name="%(app_label)s_%(class)s_unique_order"
            ),
        ]

    def __str__(self):
        return self.name


class Tip(models.Model):
    """One of the roadmap's six recommended tips."""

    number = models.PositiveSmallIntegerField("number", unique=True)
    code = models.SlugField("code", max_length=40, unique=True)
    title = models.CharField("title", max_length=200)
    description = models.TextField("description", blank=True)
    pillars = models.ManyToManyField(
        Pillar, verbose_name="pillars", related_name="tips", blank=True
    )

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(number__gte=1), name="%(app_label)s_%(class)s_number_positive"
            ),
        ]

    def __str__(self):
        return f"{self.number}. {self.title}"

    def get_absolute_url(self):
        return reverse("roadmap:tip", args=[self.number])


class TipStatusUpdate(models.Model):
    """A dated statement of a tip's status; the newest one is the tip's current status."""

    tip = models.ForeignKey(
        Tip, verbose_name="tip", on_delete=models.CASCADE, related_name="status_updates"
    )
    status = models.CharField("status", max_length=20, choices=TipStatus.choices)
    note = models.TextField("note", blank=True, max_length=10_000)
    # The note's own marking: the status is for everyone with a role, the note only for
    # readers cleared to it (accounts.markings.shown_note and the API).
    note_marking = models.CharField(
        "note marking", max_length=2, choices=Marking.choices, default=Marking.NU
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="set by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("set at", default=timezone.now, db_index=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TipStatus.values),
                name="%(app_label)s_%(class)s_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(note_marking__in=Marking.values),
                name="%(app_label)s_%(class)s_note_marking_valid",
            ),
        ]
        indexes = [models.Index(fields=["tip", "-created_at"])]

    def __str__(self):
        return f"{self.tip}: {self.get_status_display()}"


class Challenge(models.Model):
    """One of the three challenges the roadmap names."""

    code = models.SlugField("code", max_length=40, unique=True)
    title = models.CharField("title", max_length=200)
    order = models.PositiveSmallIntegerField("order", unique=True)
    description = models.TextField("description", blank=True)

    class Meta:
        ordering = ["order"]

    def __str__(self):
        return self.title


class ReportSummary(models.Model):
    """How many engagements count under one dimension in one day or one month, with one
    status and one marking, and the newest start date among them. Kept exact on every
    write by `engagements.summaries`; reports read whole months, and the days of partial
    months, from here (see that module)."""

    DAY, MONTH = "day", "month"

    span = models.CharField("span", max_length=5, choices=[(DAY, "day"), (MONTH, "month")])
    start = models.DateField("first day")
    status = models.CharField("status", max_length=20)
    marking = models.CharField("marking", max_length=2)
    kind = models.CharField("kind", max_length=20)
    ref = models.CharField("reference", max_length=80)  # a partner/tip/facet id or a group
    pillar = models.IntegerField("pillar id", default=0)  # 0: whatever the pillar
    count = models.PositiveIntegerField("count")
    last = models.DateField("newest start date")

    objects = MarkedQuerySet.as_manager()  # a reader adds up the markings it may see

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["span", "kind", "ref", "pillar", "start", "status", "marking"],
                name="%(app_label)s_%(class)s_unique_bucket",
            ),
        ]
        indexes = [
            # Reports: one kind over a range of months or days. Writes: one slice replaced.
            models.Index(fields=["span", "kind", "start", "status"], name="summary_read_idx"),
            models.Index(fields=["span", "start", "status", "marking"], name="summary_slice_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.ref} {self.pillar} {self.span} {self.start} {self.status}"


class SummaryMonth(models.Model):
    """One row per month that has summaries: writers lock it (SELECT … FOR UPDATE) while
    they recompute that month's summaries, so two writers of one month take turns and
    each sees the other's engagement."""

    month = models.DateField("month", primary_key=True)

    def __str__(self):
        return f"{self.month:%Y-%m}"


class ReportStamp(models.Model):
    """One row whose `value` grows inside every transaction that changes what a report
    counts: the report cache's key holds it, so a cached report is never older than the
    data it was computed from (ids of history rows are not handed out in commit order)."""

    value = models.BigIntegerField("value", default=0)
    # Drawn afresh at each move: a value seen again (a transaction rolled back, a database
    # restored from a backup, then written to) never names different data twice, so that
    # what was cached under the old one is never taken for the new one's.
    nonce = models.BigIntegerField("nonce", default=0)

    def __str__(self):
        return f"{self.value}.{self.nonce}"


class Target(models.Model):
    """ "At least `minimum` completed engagements with `partner` in `pillar` in every
    window of `months` months": set by managers and admins, measured by `reports.queries.plan`."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name="partner", on_delete=models.PROTECT, related_name="targets"
    )
    pillar = models.ForeignKey(
        Pillar, verbose_name="pillar", on_delete=models.PROTECT, related_name="targets"
    )
    minimum = models.PositiveSmallIntegerField(
        "minimum",
        validators=[MinValueValidator(1), MaxValueValidator(TARGET_MAX_MINIMUM)],
        help_text="completed engagements needed in every window",
    )
    months = models.PositiveSmallIntegerField(
        "months",
        validators=[MinValueValidator(1), MaxValueValidator(TARGET_MAX_MONTHS)],
        help_text=f"the window's length, 1 to {TARGET_MAX_MONTHS} months",
    )
    note = models.TextField("note", blank=True, max_length=10_000)
    note_marking = models.CharField(
        "note marking", max_length=2, choices=Marking.choices, default=Marking.NU
    )
    active = models.BooleanField("active", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="set by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["partner__code", "pillar__order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "pillar"],
                condition=Q(active=True),
                name="%(app_label)s_%(class)s_one_active",
                violation_error_message=(
                    "This partner already has an active target in this pillar: change that "
                    "one, or deactivate it first."
                ),
            ),
            models.CheckConstraint(
                condition=Q(minimum__gte=1, minimum__lte=TARGET_MAX_MINIMUM),
                name="%(app_label)s_%(class)s_minimum_range",
            ),
            models.CheckConstraint(
                condition=Q(months__gte=1, months__lte=TARGET_MAX_MONTHS),
                name="%(app_label)s_%(class)s_months_range",
            ),
            models.CheckConstraint(
                condition=Q(note_marking__in=Marking.values),
                name="%(app_label)s_%(class)s_note_marking_valid",
            ),
        ]

    def __str__(self):
        return f"{self.partner}: {self.pillar}, {self.minimum} in {self.months} months"

    def validate_constraints(self, exclude=None):
        # The one-active rule names no single field: show it beside the pillar.
        try:
            super().validate_constraints(exclude)
        except ValidationError as error:
            if NON_FIELD_ERRORS in error.error_dict:
                error.error_dict["pillar"] = error.error_dict.pop(NON_FIELD_ERRORS)
            raise
