from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, views, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from engagements.models import Engagement
from notifications.filters import NotificationFilterSet
from notifications.models import Notification
from notifications.services import mark_read, unwatch, watch
from partners.models import Partner


class NotificationSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "at", "kind", "text", "url", "read"]

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


class ReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=1000,
    )
    all = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs["all"] and "ids" not in attrs:
            raise serializers.ValidationError("Send `ids`, or `all: true`.")
        return attrs


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """The caller's notifications, newest first; one about something the caller can no
    longer see is not listed."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilterSet
    queryset = Notification.objects.none()  # for the schema; see get_queryset

    def get_queryset(self):
        mine = Notification.objects.restrict(self.request.user)
        return mine.with_targets().order_by("-at", "-id")

    @extend_schema(
        request=ReadSerializer,
        responses=inline_serializer("Read", {"read": serializers.IntegerField()}),
        filters=False,
    )
    @action(detail=False, methods=["post"], pagination_class=None, filterset_class=None)
    def read(self, request, format=None):
        """Mark notifications read: `{ids: [...]}` or `{all: true}`."""
        sent = ReadSerializer(data=request.data)
        sent.is_valid(raise_exception=True)
        ids = None if sent.validated_data["all"] else sent.validated_data["ids"]
        return Response({"read": mark_read(request.user, ids)})


WATCHING = inline_serializer("Watching", {"watching": serializers.BooleanField()})


class WatchView(views.APIView):
    """POST: watch the record; DELETE: stop watching it."""

    def post(self, request, **kwargs):
        watch(request.user, **self.record(request, **kwargs))
        return Response({"watching": True}, status=201)

    def delete(self, request, **kwargs):
        unwatch(request.user, **self.record(request, **kwargs))
        return Response(status=204)


@extend_schema(request=None, responses={201: WATCHING, 204: None})
class EngagementWatchView(WatchView):
    def record(self, request, pk):
        return {"engagement": get_object_or_404(Engagement.objects.restrict(request.user), pk=pk)}


@extend_schema(request=None, responses={201: WATCHING, 204: None})
class PartnerWatchView(WatchView):
    def record(self, request, code):
        return {"partner": get_object_or_404(Partner, code=code)}
