from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django_tasks_db.models import DBTaskResult

from jobs.services import collect

# The task backend's queue is the workers' business, not the admin's: a job is followed on
# its own page (/jobs/<id>/), by the user who started it.
admin.site.unregister(DBTaskResult)


class StartsJobsAdmin:
    """For a model admin whose saves may start background jobs: they are the admin's, and
    the page after the save links to each one's progress."""

    def changeform_view(self, request, *args, **kwargs):
        with collect(request.user) as started:
            response = super().changeform_view(request, *args, **kwargs)
        announce(request, started)
        return response

    def delete_view(self, request, *args, **kwargs):
        with collect(request.user) as started:
            response = super().delete_view(request, *args, **kwargs)
        announce(request, started)
        return response

    def changelist_view(self, request, *args, **kwargs):  # actions, bulk deletes
        with collect(request.user) as started:
            response = super().changelist_view(request, *args, **kwargs)
        announce(request, started)
        return response


def announce(request, started):
    for job in started:
        messages.info(
            request,
            format_html(
                'Applying the change to the reports ({}): <a href="{}">follow its progress</a>.',
                job.subject,
                reverse("jobs:detail", args=[job.pk]),
            ),
        )
