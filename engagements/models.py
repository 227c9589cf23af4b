import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from simple_history.manager import HistoricalQuerySet
from simple_history.models import HistoricalRecords

from accounts.choices import Marking, Role
from accounts.models import MarkedQuerySet, visible_markings
from core.errors import StaleVersion  # noqa: F401 (raised by the write service; re-exported)
from engagements.choices import (
    ActionStatus,
    EngagementKind,
    EngagementStatus,
    EscalationRisk,
    PartnerRole,
    ReviewDecision,
)
from engagements.snapshots import RelationSnapshot, relation_snapshot
from partners.models import Partner

# Long enough for a page of notes, short enough that one request cannot fill the disk.
TEXT_MAX_LENGTH = 10_000


class MarkedHistoricalQuerySet(HistoricalQuerySet, MarkedQuerySet):
    """An engagement's history rows, each marked as the version it holds."""


class EngagementQuerySet(MarkedQuerySet):
    """Engagements; `restrict(user, action)` is their one gate (NetBox's restricted
    queryset): every page, download, report and API answer reads through it, and the
    write service claims rows through it."""

    def restrict(self, user, action="view"):
        """The engagements `user` may `view` (marking ≤ clearance, with the permission to
        view them), `change` (and the permission to change them) or `delete` (managers and
        admins any they may see; analysts those they logged)."""
        if not user.has_perm(f"engagements.{'view' if action == 'view' else 'change'}_engagement"):
            return self.none()
        seen = super().restrict(user)
        if action in ("view", "change"):
            return seen
        if action != "delete":
            raise ValueError(f"No such action on engagements: {action}")
        if user.has_perm("engagements.delete_engagement"):
            return seen
        if user.has_perm("engagements.add_engagement"):
            return seen.filter(created_by=user.pk)
        return self.none()

    def matching(self, text):
        """Those whose title, summary, outcomes or location holds `text`, or with a partner
        whose name, code or another name matches it ("Hanoi", "Vietnam", "VNM"): the
        list's `search` and each word of the search box. The partners are looked up first
        (a few hundred rows): a text that names none adds no condition on the links."""
        matches = (
            Q(title__icontains=text)
            | Q(summary__icontains=text)
            | Q(outcomes__icontains=text)
            | Q(location__icontains=text)
        )
        partners = list(Partner.objects.search(text).values_list("pk", flat=True))
        if partners:
            matches |= Exists(
                EngagementPartner.objects.filter(engagement=OuterRef("pk"), partner__in=partners)
            )
        return self.filter(matches)

    def high_risk_plans(self):
        """The engagements escalation review is for (`Engagement.is_high_risk_plan`)."""
        return self.filter(status=EngagementStatus.PLANNED, escalation_risk=EscalationRisk.HIGH)


class Engagement(models.Model):
    title = models.CharField("title", max_length=300)
    kind = models.CharField("kind", max_length=30, choices=EngagementKind.choices)
    status = models.CharField(
        "status", max_length=20, choices=EngagementStatus.choices, default=EngagementStatus.PLANNED
    )
    start_date = models.DateField("start date")
    end_date = models.DateField("end date", null=True, blank=True)
    location = models.CharField("location", max_length=200, blank=True)
    partners = models.ManyToManyField(
        "partners.Partner",
        verbose_name="partners",
        through="EngagementPartner",
        related_name="engagements",
    )
    pillars = models.ManyToManyField(
        "roadmap.Pillar", verbose_name="pillars", related_name="engagements"
    )
    facets = models.ManyToManyField(
        "roadmap.Facet", verbose_name="facets", related_name="engagements", blank=True
    )
    tips = models.ManyToManyField(
        "roadmap.Tip",
        verbose_name="tips advanced",
        related_name="engagements",
        blank=True,
    )
    # Who took part. A person carries a marking of their own: each reader is shown only
    # those within their clearance, and a write keeps the ones its writer cannot see.
    people = models.ManyToManyField(
        "people.Person", verbose_name="people", related_name="engagements", blank=True
    )
    marking = models.CharField("marking", max_length=2, choices=Marking.choices, default=Marking.NU)
    # The marking's place on the scale (NU 0 … NS 3): sorting by marking means by rank.
    marking_rank = models.GeneratedField(
        expression=models.Case(
            *(models.When(marking=value, then=rank) for rank, value in enumerate(Marking.values)),
            default=None,
            output_field=models.PositiveSmallIntegerField(),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
        verbose_name="marking rank",
    )
    escalation_risk = models.CharField(
        "escalation risk",
        max_length=10,
        choices=EscalationRisk.choices,
        default=EscalationRisk.LOW,
    )
    summary = models.TextField(
        "summary", blank=True, validators=[MaxLengthValidator(TEXT_MAX_LENGTH)]
    )
    outcomes = models.TextField(
        "outcomes", blank=True, validators=[MaxLengthValidator(TEXT_MAX_LENGTH)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="created by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="engagements_created",
    )
    created_at = models.DateTimeField("created at", auto_now_add=True)
    updated_at = models.DateTimeField("updated at", auto_now=True)
    version = models.PositiveIntegerField(
        "version", default=1, editable=False, help_text="Grows by one on every change."
    )

    objects = EngagementQuerySet.as_manager()
    # Every save and delete; `updated_at` and `version` change on every save anyway.
    history = HistoricalRecords(
        bases=[RelationSnapshot],
        # Each row holds the marking of its version: read through the same rule.
        historical_queryset=MarkedHistoricalQuerySet,
        excluded_fields=["updated_at", "marking_rank"],
        cascade_delete_history=False,
    )

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="%(app_label)s_%(class)s_end_not_before_start",
                violation_error_message="The end date cannot be before the start date.",
            ),
            models.CheckConstraint(
                condition=Q(marking__in=Marking.values),
                name="%(app_label)s_%(class)s_marking_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=EngagementKind.values),
                name="%(app_label)s_%(class)s_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=EngagementStatus.values),
                name="%(app_label)s_%(class)s_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(escalation_risk__in=EscalationRisk.values),
                name="%(app_label)s_%(class)s_escalation_risk_valid",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="%(app_label)s_%(class)s_version_positive"
            ),
            models.CheckConstraint(
                condition=~Q(title=""), name="%(app_label)s_%(class)s_title_not_empty"
            ),
        ]
        indexes = [
            # The list's and the API's default ordering, also used for keyset paging.
            models.Index(fields=["-start_date", "-id"], name="engagement_newest_idx"),
            models.Index(fields=["status", "start_date"], name="engagement_status_start_idx"),
            models.Index(fields=["marking", "start_date"], name="engagement_marking_start_idx"),
            # Each sortable column with id, so a sorted page is an index range, not a sort.
            models.Index(fields=["title", "id"], name="engagement_title_idx"),
            models.Index(fields=["kind", "id"], name="engagement_kind_idx"),
            models.Index(fields=["status", "id"], name="engagement_status_idx"),
            models.Index(fields=["marking_rank", "id"], name="engagement_marking_idx"),
            models.Index(fields=["escalation_risk", "id"], name="engagement_risk_idx"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("engagements:detail", args=[self.pk])

    @property
    def is_high_risk_plan(self):
        """Planned and of high escalation risk: a manager reviews it before it happens
        (the rule of `EngagementQuerySet.high_risk_plans`)."""
        return (
            self.status == EngagementStatus.PLANNED and self.escalation_risk == EscalationRisk.HIGH
        )

    def clean(self):
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date cannot be before the start date."})

    @staticmethod
    def validate_relations(partners, pillars, facets):
        """Rules across the many-to-many fields, shared by the form and the API serializer.

        The database cannot hold these (the rows arrive after the engagement), so every
        entry point calls this before saving.
        """
        errors = {}
        if not partners:
            errors["partners"] = ["Choose at least one partner."]
        if not pillars:
            errors["pillars"] = ["Choose at least one pillar."]
        pillar_ids = {pillar.pk for pillar in pillars}
        stray = [facet for facet in facets if facet.pillar_id not in pillar_ids]
        if stray:
            errors["facets"] = [
                f"“{facet.name}” belongs to the pillar “{facet.pillar}”, which is not chosen."
                for facet in stray
            ]
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def validate_marking(user, marking):
        if not user.may_see(marking):
            raise ValidationError(
                {
                    "marking": [
                        f"You cannot mark an engagement above your clearance ({user.clearance})."
                    ]
                }
            )

    def set_partners(self, partners, roles=None, new=False):
        """Replace the partners, in the order given but the lead first; `roles` maps a
        partner's pk to its role (default participant). `new`: the engagement was just
        created, and has none to replace."""
        roles = roles or {}
        partners = lead_first(partners, roles)
        if not new:
            self.partner_links.all().delete()
        EngagementPartner.objects.bulk_create(
            EngagementPartner(
                engagement=self,
                partner=partner,
                role=roles.get(partner.pk, PartnerRole.PARTICIPANT),
            )
            for partner in partners
        )

    def link_new(self, name, objects):
        """Relate a just-created engagement to `objects` by the many-to-many field `name`,
        in one insert (`set()` would first read what is there: nothing)."""
        field = self._meta.get_field(name)
        through = field.remote_field.through
        source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
        through.objects.bulk_create(through(**{source: self, target: obj}) for obj in objects)

    def record_relations(self):
        """Bring the newest history row's snapshot of the relations up to date; every
        write path calls this once it has set partners, pillars, facets and tips."""
        latest = self.history.order_by("-history_date", "-history_id").first()
        if latest is not None:
            snapshot = relation_snapshot(self)
            for name, value in snapshot.items():
                setattr(latest, name, value)
            latest.save(update_fields=list(snapshot))

    def partner_roles(self):
        return dict(self.partner_links.values_list("partner_id", "role"))

    def allows(self, user, action):
        """Whether `user` may `action` this engagement now (its gate, as stored)."""
        return Engagement.objects.restrict(user, action).filter(pk=self.pk).exists()


def lead_first(partners, roles):
    """`partners` in the order they are stored: as given, but the lead first."""
    return sorted(partners, key=lambda partner: roles.get(partner.pk) != PartnerRole.LEAD)


class EngagementPartner(models.Model):
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="partner_links"
    )
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="engagement_links"
    )
    role = models.CharField(
        "role", max_length=20, choices=PartnerRole.choices, default=PartnerRole.PARTICIPANT
    )

    class Meta:
        verbose_name = "engagement partner"
        ordering = ["engagement", "id"]  # as given, the lead first
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "partner"], name="%(app_label)s_%(class)s_unique_partner"
            ),
            models.CheckConstraint(
                condition=Q(role__in=PartnerRole.values),
                name="%(app_label)s_%(class)s_role_valid",
            ),
            models.UniqueConstraint(
                fields=["engagement"],
                condition=Q(role=PartnerRole.LEAD),
                name="%(app_label)s_%(class)s_one_lead",
                violation_error_message="Only one partner can lead an engagement.",
            ),
        ]
        indexes = [models.Index(fields=["partner", "engagement"])]

    def __str__(self):
        return f"{self.partner} ({self.get_role_display()})"


# Follow-up actions and escalation reviews --------------------------------------------


class OfEngagementQuerySet(models.QuerySet):
    """Records of an engagement (actions, reviews): seen exactly when their engagement is,
    with the permission to view them."""

    def restrict(self, user, action="view"):
        if action != "view":
            raise ValueError(f"No such action: {action}")
        if not user.has_perm(f"engagements.view_{self.model._meta.model_name}"):
            return self.none()
        return self.filter(engagement__in=Engagement.objects.restrict(user).values("pk"))


class ActionQuerySet(OfEngagementQuerySet):
    def restrict(self, user, action="view"):
        """The actions `user` may `view` (those of the engagements it may see), `change`
        (its own, and those of the engagements it may change) or `delete` (of the
        engagements it may change: managers and admins any, analysts those they made)."""
        if action == "view":
            return super().restrict(user)
        seen = super().restrict(user)
        if action == "change":
            if not user.has_perm("engagements.change_action"):
                return self.none()
            editable = Engagement.objects.restrict(user, "change").values("pk")
            return seen.filter(Q(owner=user.pk) | Q(engagement__in=editable))
        if action == "delete":
            editable = seen.filter(
                engagement__in=Engagement.objects.restrict(user, "change").values("pk")
            )
            if user.has_perm("engagements.delete_action"):
                return editable
            return (
                editable.filter(created_by=user.pk)
                if user.has_perm("engagements.add_action")
                else self.none()
            )
        raise ValueError(f"No such action on actions: {action}")

    def overdue(self, today):
        return self.filter(status=ActionStatus.OPEN, due__lt=today)


class Action(models.Model):
    """Something someone must do after an engagement."""

    engagement = models.ForeignKey(
        Engagement, verbose_name="engagement", on_delete=models.CASCADE, related_name="actions"
    )
    title = models.CharField("title", max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="owner",
        on_delete=models.PROTECT,
        related_name="actions_owned",
    )
    due = models.DateField("due")
    status = models.CharField(
        "status", max_length=10, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    done_at = models.DateField("done on", null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="created by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions_created",
    )
    created_at = models.DateTimeField("created at", auto_now_add=True)

    objects = ActionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["due", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ActionStatus.values),
                name="%(app_label)s_%(class)s_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(title=""), name="%(app_label)s_%(class)s_title_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(status=ActionStatus.DONE, done_at__isnull=False)
                | (~Q(status=ActionStatus.DONE) & Q(done_at__isnull=True)),
                name="%(app_label)s_%(class)s_done_at_when_done",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "due"], name="action_owner_idx"),
            models.Index(fields=["due", "id"], name="action_due_idx"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.stamp_done()
        super().save(*args, **kwargs)

    def clean(self):
        """The owner must be able to see the engagement (through the one gate)."""
        self.stamp_done()
        if self.owner_id is None or self.engagement_id is None:
            return
        if not Engagement.objects.restrict(self.owner).filter(pk=self.engagement_id).exists():
            raise ValidationError({"owner": [f"{self.owner.username} cannot see this engagement."]})

    def stamp_done(self):
        """Done today when it becomes done; a reopened or dropped action is not done."""
        if self.status == ActionStatus.DONE:
            if self.done_at is None:
                self.done_at = timezone.localdate()
        else:
            self.done_at = None

    def is_overdue(self, today=None):
        return self.status == ActionStatus.OPEN and self.due < (today or timezone.localdate())

    def allows(self, user, action):
        """Whether `user` may `action` this action now (its gate, as stored)."""
        return Action.objects.restrict(user, action).filter(pk=self.pk).exists()


class ReviewQuerySet(OfEngagementQuerySet):
    def current(self):
        """Reviews of the plan as it stands: not made stale by a later change."""
        return self.filter(current=True)

    def newest_decision(self):
        """The newest current decision of the engagement of the outer query, as a subquery
        to annotate engagements with."""
        return Subquery(
            self.current()
            .filter(engagement=OuterRef("pk"))
            .order_by("-at", "-id")
            .values("decision")[:1]
        )


class Review(models.Model):
    """A manager's decision on a planned high-risk engagement (tip 6). It holds for the
    plan it was made for: `engagements.services` marks it stale (`current` false) when
    the engagement's risk, start date, partners or kind change."""

    engagement = models.ForeignKey(
        Engagement, verbose_name="engagement", on_delete=models.CASCADE, related_name="reviews"
    )
    decision = models.CharField("decision", max_length=10, choices=ReviewDecision.choices)
    note = models.TextField("note", blank=True, validators=[MaxLengthValidator(TEXT_MAX_LENGTH)])
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviews",
    )
    at = models.DateTimeField("at", default=timezone.now)
    current = models.BooleanField(
        "current", default=True, help_text="False once the plan it reviewed has changed."
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=ReviewDecision.values),
                name="%(app_label)s_%(class)s_decision_valid",
            ),
        ]
        indexes = [models.Index(fields=["engagement", "-at"], name="review_engagement_idx")]

    def __str__(self):
        return f"{self.engagement}: {self.get_decision_display()}"


class NoteQuerySet(models.QuerySet):
    def restrict(self, user, action="view"):
        """The notes `user` may `view`: marked within its clearance, and (a note on an
        engagement) on an engagement it may see. `change` and `delete`: of those, its own,
        or any for a manager or admin."""
        markings = visible_markings(user)
        if not markings or not user.has_perm("engagements.view_note"):
            return self.none()
        seen = self.filter(marking__in=markings).filter(
            Q(engagement__isnull=True) | Q(engagement__marking__in=markings)
        )
        if action == "view":
            return seen
        if action not in ("change", "delete"):
            raise ValueError(f"No such action on notes: {action}")
        if user.role in (Role.MANAGER, Role.ADMIN):
            return seen
        return seen.filter(author=user.pk) if user.has_perm("engagements.add_note") else self.none()


class Note(models.Model):
    """A note or the minutes of a meeting, on an engagement or on a partner: plain text
    with a marking of its own (a note may be more sensitive than what it hangs on), never
    above its writer's clearance. `@username` in its text mentions that user."""

    engagement = models.ForeignKey(
        Engagement,
        verbose_name="engagement",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
    )
    partner = models.ForeignKey(
        "partners.Partner",
        verbose_name="partner",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        # Partner.notes is the partner record's own marked note (one text field).
        related_name="journal_notes",
    )
    body = models.TextField("text", validators=[MaxLengthValidator(TEXT_MAX_LENGTH)])
    marking = models.CharField("marking", max_length=2, choices=Marking.choices, default=Marking.NU)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="author",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notes",
    )
    at = models.DateTimeField("written at", auto_now_add=True)
    edited_at = models.DateTimeField("edited at", null=True, blank=True, editable=False)
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="mentions", blank=True, related_name="mentioned_in"
    )

    objects = NoteQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(engagement__isnull=False, partner__isnull=True)
                | Q(engagement__isnull=True, partner__isnull=False),
                name="%(app_label)s_%(class)s_on_one_record",
            ),
            models.CheckConstraint(
                condition=Q(marking__in=Marking.values),
                name="%(app_label)s_%(class)s_marking_valid",
            ),
            models.CheckConstraint(
                condition=~Q(body=""), name="%(app_label)s_%(class)s_body_not_empty"
            ),
        ]
        indexes = [
            models.Index(fields=["engagement", "-at"], name="note_engagement_idx"),
            models.Index(fields=["partner", "-at"], name="note_partner_idx"),
        ]

    def __str__(self):
        return f"Note {self.pk} on {self.engagement or self.partner}"

    def allows(self, user, action):
        """Whether `user` may `action` this note now (its gate, as stored)."""
        return Note.objects.restrict(user, action).filter(pk=self.pk).exists()


class AttachmentQuerySet(models.QuerySet):
    def restrict(self, user, action="view"):
        """The files `user` may `view`: marked within its clearance, on an engagement it may
        see. `delete`: of those, the ones it uploaded, or any for a manager or admin."""
        markings = visible_markings(user)
        if not markings or not user.has_perm("engagements.view_attachment"):
            return self.none()
        seen = self.filter(marking__in=markings, engagement__marking__in=markings)
        if action == "view":
            return seen
        if action != "delete":
            raise ValueError(f"No such action on attachments: {action}")
        if user.role in (Role.MANAGER, Role.ADMIN):
            return seen
        return seen.filter(uploaded_by=user.pk)


def attachment_path(attachment, filename):
    """Where a file is stored: a random name, never the uploader's (which is kept apart,
    for the download's name)."""
    return f"attachments/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file on an engagement, with a marking of its own (never above its uploader's
    clearance). Kept in the default storage, never under a public URL: downloaded through
    the gate (`engagements.api.AttachmentDownloadView`)."""

    engagement = models.ForeignKey(
        Engagement, verbose_name="engagement", on_delete=models.CASCADE, related_name="attachments"
    )
    title = models.CharField("title", max_length=300, blank=True)
    file = models.FileField("file", upload_to=attachment_path, max_length=200)
    filename = models.CharField("file name", max_length=255)
    size = models.PositiveBigIntegerField("size (bytes)")
    content_type = models.CharField("content type", max_length=100)
    marking = models.CharField("marking", max_length=2, choices=Marking.choices, default=Marking.NU)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="uploaded by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField("uploaded at", auto_now_add=True)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(marking__in=Marking.values),
                name="%(app_label)s_%(class)s_marking_valid",
            ),
        ]

    def __str__(self):
        return self.title or self.filename

    def download_name(self):
        """The file's name with its marking before the extension: `minutes-NS.pdf`."""
        stem, dot, extension = self.filename.rpartition(".")
        if not dot or not stem:
            return f"{self.filename}-{self.marking}"
        return f"{stem}-{self.marking}.{extension}"
