"""Background jobs of the reports (jobs/services.py runs them)."""

from core.mail import insecure_mail
from jobs.services import job_task
from reports import digest


@job_task
def send_digest(job):
    """Email the weekly digest (`manage.py send_digest --queue`); refused, like the
    command, when mail would go without TLS."""
    if reason := insecure_mail():
        raise RuntimeError(f"Nothing sent: {reason}")
    outcome = digest.send_all(step=job.step)
    return {"sent": outcome["sent"], "empty": outcome["empty"], "failed": outcome["failed"]}
