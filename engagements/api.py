from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import KeysetPagination
from engagements.exports import EXPORT_FIELDS, with_relations
from engagements.filters import EngagementFilterSet
from engagements.history import engagement_history
from engagements.models import Engagement
from engagements.services import delete_engagement, save_engagement
from partners.models import Partner
from roadmap.models import Facet, Pillar, Tip


class CodeListField(serializers.ListField):
    """Related objects as a list of codes (or numbers), looked up in one query.

    An unknown code, a code listed twice or a list longer than `max_length` is a 400
    naming the field; the list is read from prefetched rows (no query per engagement).
    """

    def __init__(self, *, queryset, slug_field, **kwargs):
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)
        self.queryset, self.slug_field = queryset, slug_field

    def get_attribute(self, engagement):
        if self.field_name == "partners":  # lead first, in the order given
            return [link.partner for link in engagement.partner_links.all()]
        return list(getattr(engagement, self.field_name).all())

    def to_representation(self, objects):
        return [getattr(obj, self.slug_field) for obj in objects]

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        repeated = sorted({str(value) for value in values if values.count(value) > 1})
        if repeated:
            raise serializers.ValidationError([f"“{value}” is listed twice." for value in repeated])
        found = self.queryset.in_bulk(values, field_name=self.slug_field)
        unknown = [value for value in values if value not in found]
        if unknown:
            noun = self.queryset.model._meta.verbose_name
            raise serializers.ValidationError(
                [f"No {noun} with {self.slug_field} “{value}”." for value in unknown]
            )
        return [found[value] for value in values]


class EngagementSerializer(serializers.ModelSerializer):
    """Partners, pillars and facets by code, tips by number. Input is only parsed here:
    the rules and the write are `engagements.services.save_engagement`'s, the same for the
    form, the admin, the importer and restore."""

    partners = CodeListField(
        queryset=Partner.objects.all(),
        slug_field="code",
        child=serializers.CharField(max_length=20),
        allow_empty=False,
    )
    pillars = CodeListField(
        queryset=Pillar.objects.all(),
        slug_field="code",
        child=serializers.CharField(max_length=40),
        allow_empty=False,
    )
    facets = CodeListField(
        queryset=Facet.objects.all(),
        slug_field="code",
        child=serializers.CharField(max_length=80),
        required=False,
    )
    tips = CodeListField(
        queryset=Tip.objects.all(),
        slug_field="number",
        child=serializers.IntegerField(min_value=1, max_value=32767),
        required=False,
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="On PUT and PATCH: the version you read (or send If-Match). Read-only otherwise.",
    )

    class Meta:
        model = Engagement
        fields = EXPORT_FIELDS  # the contract's names, shared with the downloads
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]

    def validate(self, attrs):
        if self.instance is not None and attrs.get("version") is None:
            raise serializers.ValidationError(
                {"version": ["Send the version you read (or an If-Match header)."]}
            )
        return attrs

    @property
    def writer(self):
        # The API passes the request; the importer passes the user it imports as.
        return self.context.get("user") or self.context["request"].user

    def create(self, validated_data):
        validated_data.pop("version", None)
        return save_engagement(self.writer, validated_data)

    def update(self, engagement, validated_data):
        version = validated_data.pop("version")
        return save_engagement(self.writer, validated_data, engagement.pk, version)


HISTORY = inline_serializer(
    "EngagementChange",
    {
        "at": serializers.DateTimeField(),
        "by": serializers.CharField(allow_null=True),
        "action": serializers.ChoiceField(["created", "changed", "deleted"]),
        "changes": serializers.DictField(
            child=serializers.ListField(child=serializers.JSONField(), min_length=2, max_length=2)
        ),
        "redacted": serializers.BooleanField(),
    },
    many=True,
)


@extend_schema_view(
    update=extend_schema(
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)]
    ),
    partial_update=extend_schema(
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)]
    ),
)
class EngagementViewSet(viewsets.ModelViewSet):
    """Engagements visible to the caller; anything above its clearance is a 404."""

    serializer_class = EngagementSerializer
    filterset_class = EngagementFilterSet
    pagination_class = KeysetPagination
    write_permissions = {
        "POST": "engagements.add_engagement",
        "PUT": "engagements.change_engagement",
        "PATCH": "engagements.change_engagement",
        "DELETE": None,  # checked per object: analysts delete only their own
    }

    def get_queryset(self):
        return with_relations(Engagement.objects.visible_to(self.request.user))

    def get_serializer(self, *args, **kwargs):
        # An If-Match: "<version>" header stands in for a version in the body.
        match = self.request.headers.get("If-Match", "").strip('W/"')
        if "data" in kwargs and match.isdigit() and "version" not in kwargs["data"]:
            kwargs["data"] = {**kwargs["data"], "version": int(match)}
        return super().get_serializer(*args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response.data, dict) and "version" in response.data and "id" in response.data:
            response["ETag"] = f'"{response.data["version"]}"'
        return response

    @extend_schema(responses=HISTORY, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None, format=None):
        """Every change, newest first (see CONTRACT.md)."""
        return Response(engagement_history(self.get_object().pk, request.user))

    @extend_schema(
        parameters=[
            OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("version", int, required=False, description="or send If-Match"),
        ]
    )
    def destroy(self, request, *args, **kwargs):
        """Delete the engagement at the version you read (`version` or If-Match); a stale
        version is 409 and nothing is deleted."""
        engagement = self.get_object()
        if not engagement.can_be_deleted_by(request.user):  # before asking for a version
            raise exceptions.PermissionDenied("Analysts may delete only engagements they logged.")
        version = self._version_sent(request)
        delete_engagement(request.user, engagement.pk, version)
        return Response(status=204)

    @staticmethod
    def _version_sent(request):
        sent = request.headers.get("If-Match", "").strip('W/"') or request.query_params.get(
            "version", ""
        )
        if not sent and isinstance(request.data, dict):
            sent = str(request.data.get("version", ""))
        if not sent.isdigit() or len(sent) > 10:
            raise exceptions.ValidationError(
                {"version": ["Send the version you read (or an If-Match header)."]}
            )
        return int(sent)
