from django.shortcuts import get_object_or_404, render

from jobs.choices import JobStatus
from jobs.models import Job


def job_detail(request, pk):
    """How far a job got: the page reloads itself until the job has ended."""
    job = get_object_or_404(Job.objects.restrict(request.user), pk=pk)
    response = render(request, "jobs/job_detail.html", {"job": job})
    if job.status in JobStatus.pending():
        response["Refresh"] = "2"
    return response
