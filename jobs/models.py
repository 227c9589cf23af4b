from django.conf import settings
from django.db import models
from django.utils import timezone

from jobs.choices import JobKind, JobStatus


class JobQuerySet(models.QuerySet):
    def restrict(self, user, action="view"):
        """A job is its starter's: nobody else sees it (not even an admin: its result may
        carry what only its starter may read)."""
        if not (user and user.is_authenticated):
            return self.none()
        return self.filter(started_by=user)

    def pending(self):
        return self.filter(status__in=JobStatus.pending())

    def applying_partner_changes(self):
        """What the reports tell every reader, whoever started them: the subjects (partner
        names, never marked) of the partner changes still being applied to the numbers."""
        return self.pending().filter(kind=JobKind.REGROUP).values_list("subject", flat=True)


class Job(models.Model):
    """Work that outlasts a request, as the app follows it: the task backend (database or
    RQ) runs it, this row says how far it got and how it ended (`jobs.services`)."""

    kind = models.CharField("kind", max_length=20, choices=JobKind.choices)
    status = models.CharField(
        "status", max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField("progress (%)", default=0)
    # What the job works on, as people read it ("Japan"): the reports' notice names it.
    subject = models.CharField("subject", max_length=200, blank=True)
    # The task that runs it (its import path) and what it is given besides the job.
    task = models.CharField("task", max_length=200)
    arguments = models.JSONField("arguments", default=dict, blank=True)
    result = models.JSONField("result", null=True, blank=True)
    error = models.TextField("reason it failed", blank=True)
    attempts = models.PositiveSmallIntegerField("attempts", default=0)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="started by",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("queued at", auto_now_add=True)
    started_at = models.DateTimeField("started at", null=True, blank=True)
    finished_at = models.DateTimeField("finished at", null=True, blank=True)
    # Moved by every step: a running job not touched for JOBS_LEASE_SECONDS was abandoned.
    updated_at = models.DateTimeField("updated at", auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = "job"
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "kind"], name="jobs_job_status_kind")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="jobs_job_progress_range"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values), name="jobs_job_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=JobKind.values), name="jobs_job_kind_valid"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    def step(self, done, total):
        """Record how far a running job got (`done` of `total`); it also shows the job is
        alive (`updated_at`). Never 100 before the job has ended."""
        self.progress = min(99, done * 100 // total) if total else 0
        Job.objects.filter(pk=self.pk).update(progress=self.progress, updated_at=timezone.now())
