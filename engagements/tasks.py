"""Background jobs on engagement data (jobs/services.py runs them)."""

from engagements import summaries
from jobs.services import job_task


@job_task
def regroup(job, partner_ids, kinds, names, organizations):
    """Apply a partner or membership change to the report summaries
    (`summaries.regroup()`); idempotent, so a job run again gives the same numbers."""
    return summaries.regroup(partner_ids, kinds, names, organizations, step=job.step)
