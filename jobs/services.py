"""Starting and running background jobs (Django's task API, the `django-tasks` backport).

A job is a row of `Job` (what the app shows: status, progress, result, reason) and a task
of the configured backend that runs it (`settings.TASKS`: the database by default, RQ with
DJANGO_TASKS_URL, run in place in tests). `start()` makes both; a task made with
`job_task` claims its row, runs, and records how it ended: done, queued again (a failure,
up to JOBS_MAX_ATTEMPTS attempts) or failed with its reason. A job's work must be
idempotent: a job whose worker died is run again from the start (`requeue_abandoned`).
"""

import contextlib
import contextvars
import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks_db import DatabaseBackend

from jobs.choices import JobStatus
from jobs.models import Job

# Who starts the jobs of this request, and the jobs it started (`collect`).
_collecting = contextvars.ContextVar("jobs_collecting", default=None)


@contextlib.contextmanager
def collect(user):
    """Jobs started inside the block are `user`'s, and listed in the list it yields (an
    API answer names its job; the admin links to the progress of each)."""
    started = []
    token = _collecting.set((user, started))
    try:
        yield started
    finally:
        _collecting.reset(token)


def start(kind, runner, *, subject="", listed=True, **arguments):
    """Queue `runner` (a task made with `job_task`) for a new Job of `kind`; `arguments` (JSON)
    are passed to its function. Inside the caller's transaction: the job exists exactly
    when the change it follows was committed. A job not `listed` (an email a change
    causes) is not among those `collect` gives (an API answer names the change's own)."""
    user, started = _collecting.get() or (None, None)
    job = Job.objects.create(
        kind=kind,
        task=runner.module_path,
        subject=subject[:200],
        arguments=arguments,
        started_by=user if user is not None and user.is_authenticated else None,
    )
    if started is not None and listed:
        started.append(job)
    _enqueue(runner, job.pk)
    return job


def _enqueue(runner, job_id, after=None):
    """A backend that keeps its queue in our database enqueues in the transaction (the task
    commits with the job, or neither does), as does the immediate one of tests (the job
    runs in place); one outside it (RQ) on commit, so that no worker starts the job before
    the change it follows can be read."""
    backend = runner.get_backend()
    if after and backend.supports_defer and not isinstance(backend, ImmediateBackend):
        runner = runner.using(run_after=timezone.now() + after)
    if isinstance(backend, (DatabaseBackend, ImmediateBackend)):
        runner.enqueue(job_id)
    else:
        transaction.on_commit(lambda: runner.enqueue(job_id))


def job_task(function):
    """A task (module level, like `function`) that runs `function(job, **arguments)` for
    the Job whose id it is given, and returns what it returns (the job's `result`)."""

    def run(job_id):
        return execute(job_id, function, made)

    run.__module__, run.__name__, run.__qualname__ = (
        function.__module__,
        function.__name__,
        function.__qualname__,
    )
    run.__doc__ = function.__doc__
    made = task()(run)
    return made


def execute(job_id, function, runner):
    """Claim the job (queued, or running if abandoned and queued again), run it, record
    the outcome. A failure is tried again later up to JOBS_MAX_ATTEMPTS attempts in all,
    then the job is failed with the reason (and the task fails too, for the backend's
    own records)."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status__in=JobStatus.pending()).update(
        status=JobStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        updated_at=now,
    )
    if not claimed:  # done or failed already (a task delivered twice)
        return None
    job = Job.objects.get(pk=job_id)
    try:
        result = function(job, **job.arguments)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"[:2000]
        ended = timezone.now()
        if job.attempts < settings.JOBS_MAX_ATTEMPTS:
            Job.objects.filter(pk=job_id).update(
                status=JobStatus.QUEUED, error=reason, updated_at=ended
            )
            delay = datetime.timedelta(seconds=settings.JOBS_RETRY_SECONDS * job.attempts)
            _enqueue(runner, job_id, after=delay)
            return None
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED, error=reason, finished_at=ended, updated_at=ended
        )
        raise
    ended = timezone.now()
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.DONE,
        progress=100,
        result=result,
        error="",
        finished_at=ended,
        updated_at=ended,
    )
    return result


def requeue_abandoned():
    """Queue again the jobs left running by a worker that stopped (killed, machine lost):
    running, and not a step further for JOBS_LEASE_SECONDS. Their work is idempotent, so
    running one twice does no harm. Returns how many."""
    stale = timezone.now() - datetime.timedelta(seconds=settings.JOBS_LEASE_SECONDS)
    requeued = 0
    for job in Job.objects.filter(status=JobStatus.RUNNING, updated_at__lt=stale):
        with transaction.atomic():
            if Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, updated_at__lt=stale).update(
                status=JobStatus.QUEUED, updated_at=timezone.now()
            ):
                _enqueue(import_string(job.task), job.pk)
                requeued += 1
    return requeued
