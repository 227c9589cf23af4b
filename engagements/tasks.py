"""Background jobs on engagement data (jobs/services.py runs them)."""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.utils import timezone

from engagements import bulk, exports, summaries
from jobs.choices import JobKind
from jobs.models import Job
from jobs.services import collect, job_task, start


@job_task
def regroup(job, partner_ids, kinds, names, organizations):
    """Apply a partner or membership change to the report summaries
    (`summaries.regroup()`); idempotent, so a job run again gives the same numbers."""
    return summaries.regroup(partner_ids, kinds, names, organizations, step=job.step)


@job_task
def export_xlsx(job, user_id, query):
    """Write the engagement list's XLSX for `query` (its query string) as its starter may
    see it when the job runs; idempotent (the file is written afresh). Files older than
    EXPORT_KEEP_HOURS are removed first."""
    prune_exports()
    user = get_user_model().objects.get(pk=user_id)
    return exports.write_export(job, user, query)


@job_task
def bulk_edit_job(job, user_id, items, set_, add, remove):
    """A bulk edit of more than BULK_JOB_ITEMS engagements (engagements.bulk), as its
    starter; an item already written when a crashed job runs again is reported stale."""
    user = get_user_model().objects.get(pk=user_id)
    results = bulk.bulk_edit(
        user,
        [tuple(item) for item in items],
        set_,
        bulk.from_codes(add),
        bulk.from_codes(remove),
        step=job.step,
    )
    return {"results": results}


def start_bulk_edit(user, items, set_, add, remove):
    """Queue a bulk edit for `user` (the job's starter)."""
    with collect(user):
        return start(
            JobKind.BULK,
            bulk_edit_job,
            subject=f"{len(items)} engagements",
            user_id=user.pk,
            items=[list(item) for item in items],
            set_=set_,
            add=bulk.as_codes(add),
            remove=bulk.as_codes(remove),
        )


def start_export(user, query):
    """Queue the XLSX of the engagement list for `query`, for `user` (the job's starter)."""
    with collect(user):
        return start(
            JobKind.EXPORT, export_xlsx, subject="Engagements", user_id=user.pk, query=query
        )


def prune_exports():
    """Remove the files of export jobs that ended more than EXPORT_KEEP_HOURS ago (their
    download says the file has expired). Returns how many were removed."""
    ended = timezone.now() - datetime.timedelta(hours=settings.EXPORT_KEEP_HOURS)
    removed = 0
    for job in Job.objects.filter(kind=JobKind.EXPORT, finished_at__lt=ended):
        name = exports.export_file_name(job)
        if default_storage.exists(name):
            default_storage.delete(name)
            removed += 1
    return removed
