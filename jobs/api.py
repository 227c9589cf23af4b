from rest_framework import mixins, serializers, viewsets

from jobs.models import Job
from jobs.services import collect


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id", "kind", "status", "progress", "result"]


class JobViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A background job, for the user who started it (404 for anyone else)."""

    serializer_class = JobSerializer

    def get_queryset(self):
        return Job.objects.restrict(self.request.user)


class StartsJobsMixin:
    """For a viewset whose writes may start background jobs (a partner change applied to
    the reports): the jobs are the caller's, and a create or update answers as before plus
    `"job"`: the id of the (last) job it started, or null."""

    def perform_create(self, serializer):
        with collect(self.request.user) as started:
            super().perform_create(serializer)
        self.started_jobs = started

    def perform_update(self, serializer):
        with collect(self.request.user) as started:
            super().perform_update(serializer)
        self.started_jobs = started

    def perform_destroy(self, instance):
        with collect(self.request.user):
            super().perform_destroy(instance)

    def create(self, request, *args, **kwargs):
        return self._with_job(super().create(request, *args, **kwargs))

    def update(self, request, *args, **kwargs):
        return self._with_job(super().update(request, *args, **kwargs))

    def _with_job(self, response):
        started = getattr(self, "started_jobs", [])
        response.data["job"] = started[-1].pk if started else None
        return response
