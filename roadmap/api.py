from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, views, viewsets
from rest_framework.response import Response

from engagements.choices import EngagementStatus
from partners.choices import PartnerKind, Region
from roadmap import reports
from roadmap.models import Facet, Pillar, Tip, TipStatusUpdate


class FacetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Facet
        fields = ["code", "name"]


class PillarSerializer(serializers.ModelSerializer):
    facets = FacetSerializer(many=True, read_only=True)

    class Meta:
        model = Pillar
        fields = ["code", "name", "order", "facets"]


class PillarViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Pillar.objects.order_by("order").prefetch_related("facets")
    serializer_class = PillarSerializer
    pagination_class = None
    lookup_field = "code"


class StatusSerializer(serializers.ModelSerializer):
    date = serializers.DateTimeField(source="created_at", read_only=True)
    by = serializers.SlugRelatedField(source="created_by", slug_field="username", read_only=True)

    class Meta:
        model = TipStatusUpdate
        fields = ["status", "note", "date", "by"]


class TipSerializer(serializers.ModelSerializer):
    pillars = serializers.SlugRelatedField(many=True, slug_field="code", read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Tip
        fields = ["number", "code", "title", "pillars", "status"]

    @extend_schema_field(StatusSerializer(allow_null=True))
    def get_status(self, tip):
        """The newest update, or null: the tip is then `not_started`."""
        newest = tip.updates[0] if tip.updates else None
        return StatusSerializer(newest).data if newest else None


class TipViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Tip.objects.order_by("number").prefetch_related(
        "pillars",
        Prefetch(
            "status_updates",
            queryset=TipStatusUpdate.objects.select_related("created_by").order_by(
                "-created_at", "-id"
            ),
            to_attr="updates",
        ),
    )
    serializer_class = TipSerializer
    pagination_class = None
    lookup_field = "number"
    lookup_value_regex = "[0-9]+"


class TipStatusView(generics.ListCreateAPIView):
    """A tip's status history, newest first; managers and admins post a new status."""

    serializer_class = StatusSerializer
    queryset = TipStatusUpdate.objects.none()  # for the schema; see get_queryset
    write_permissions = {"POST": "roadmap.add_tipstatusupdate"}

    def get_tip(self):
        return get_object_or_404(Tip, number=self.kwargs["number"])

    def get_queryset(self):
        return (
            TipStatusUpdate.objects.filter(tip=self.get_tip())
            .select_related("created_by")
            .order_by("-created_at", "-id")
        )

    def perform_create(self, serializer):
        serializer.save(tip=self.get_tip(), created_by=self.request.user)


# Reports: the parameters are validated here, the numbers come from roadmap/reports.py.


class CoverageParameters(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    kind = serializers.ChoiceField(PartnerKind.choices, required=False)
    region = serializers.ChoiceField(Region.choices, required=False)
    status = serializers.ChoiceField(
        EngagementStatus.choices, required=False, default=EngagementStatus.COMPLETED
    )
    rollup = serializers.ChoiceField(["members"], required=False)

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": ["The period ends before it starts."]})
        return attrs


class TrendParameters(CoverageParameters):
    kind = region = rollup = None
    interval = serializers.ChoiceField(["month", "quarter"], required=False, default="month")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and (end.year - start.year) > reports.MAX_PERIOD_YEARS:
            raise serializers.ValidationError(
                {"start": [f"At most {reports.MAX_PERIOD_YEARS} years at a time."]}
            )
        return attrs


class GapsParameters(serializers.Serializer):
    months = serializers.IntegerField(required=False, default=6, min_value=1, max_value=600)
    as_of = serializers.DateField(required=False)


def _parameters(serializer_class, request):
    parameters = serializer_class(data=request.query_params)
    parameters.is_valid(raise_exception=True)
    return parameters.validated_data


CELL = inline_serializer(
    "CoverageCell",
    {"count": serializers.IntegerField(), "last": serializers.DateField(allow_null=True)},
)
COVERAGE = inline_serializer(
    "Coverage",
    {
        "start": serializers.DateField(),
        "end": serializers.DateField(),
        "status": serializers.CharField(allow_null=True),
        "rollup": serializers.BooleanField(),
        "pillars": serializers.ListField(child=serializers.CharField()),
        "rows": inline_serializer(
            "CoverageRow",
            {
                "partner": serializers.CharField(),
                "name": serializers.CharField(),
                "cells": serializers.DictField(child=CELL),
                "total": serializers.IntegerField(),
            },
            many=True,
        ),
        "totals": serializers.DictField(child=serializers.IntegerField()),
        "total": serializers.IntegerField(),
        "max_count": serializers.IntegerField(),
    },
)
TREND = inline_serializer(
    "Trend",
    {
        "start": serializers.DateField(),
        "end": serializers.DateField(),
        "interval": serializers.CharField(),
        "status": serializers.CharField(allow_null=True),
        "pillars": serializers.ListField(child=serializers.CharField()),
        "periods": inline_serializer(
            "TrendPeriod",
            {
                "period": serializers.CharField(),
                "counts": serializers.DictField(child=serializers.IntegerField()),
                "total": serializers.IntegerField(),
            },
            many=True,
        ),
    },
)
GAP = inline_serializer(
    "Gap",
    {
        "partner": serializers.CharField(),
        "partner_name": serializers.CharField(),
        "pillar": serializers.CharField(),
        "pillar_name": serializers.CharField(),
        "last": serializers.DateField(allow_null=True),
    },
    many=True,
)


class CoverageReportView(views.APIView):
    @extend_schema(parameters=[CoverageParameters], responses=COVERAGE)
    def get(self, request):
        params = _parameters(CoverageParameters, request)
        return Response(
            reports.coverage(
                request.user,
                start=params.get("start"),
                end=params.get("end"),
                kind=params.get("kind"),
                region=params.get("region"),
                status=params["status"],
                rollup=params.get("rollup") == "members",
            )
        )


class TrendReportView(views.APIView):
    @extend_schema(parameters=[TrendParameters], responses=TREND)
    def get(self, request):
        params = _parameters(TrendParameters, request)
        return Response(
            reports.trend(
                request.user,
                params.get("start"),
                params.get("end"),
                params["interval"],
                status=params["status"],
            )
        )


class GapsReportView(views.APIView):
    @extend_schema(parameters=[GapsParameters], responses=GAP)
    def get(self, request):
        params = _parameters(GapsParameters, request)
        return Response(
            reports.gaps(request.user, months=params["months"], as_of=params.get("as_of"))["gaps"]
        )
