from django.db import models


class JobKind(models.TextChoices):
    """What a job does; the task that does it lives with the data it touches."""

    REGROUP = "regroup", "Apply a partner or membership change to the reports"
    DIGEST = "digest", "Send the weekly digest"
    EXPORT = "export", "Write a spreadsheet"
    NOTIFY = "notify", "Email notifications"
    BULK = "bulk", "Edit engagements in bulk"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"

    @classmethod
    def pending(cls):
        return [cls.QUEUED, cls.RUNNING]
