from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, views, viewsets
from rest_framework.response import Response

from engagements.choices import ReviewDecision
from partners.models import Partner
from roadmap import reports
from roadmap.choices import TargetStatus
from roadmap.filters import TargetFilterSet
from roadmap.forms import CoverageForm, GapsForm, PlanForm, TrendForm
from roadmap.models import Facet, Pillar, Target, Tip, TipStatusUpdate


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


# Reports: the parameters are checked by the report's form (roadmap/forms.py, shared with
# the pages and downloads), the numbers come from roadmap/reports.py.


def _schema_type(field):
    if isinstance(field, forms.DateField):
        return OpenApiTypes.DATE
    if isinstance(field, forms.IntegerField):
        return {"type": "integer", "minimum": field.min_value, "maximum": field.max_value}
    return str


def form_parameters(form_class):
    """The form's fields as documented query parameters."""
    return [
        OpenApiParameter(
            name,
            type=_schema_type(field),
            enum=[value for value, _ in field.choices]
            if isinstance(field, forms.ChoiceField)
            else None,
            description=field.help_text,
        )
        for name, field in form_class.base_fields.items()
    ]


def _parameters(form_class, request):
    form = form_class(request.query_params)
    if not form.is_valid():
        raise serializers.ValidationError(form.error_dict())
    return form


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
    @extend_schema(parameters=form_parameters(CoverageForm), responses=COVERAGE)
    def get(self, request):
        form = _parameters(CoverageForm, request)
        return Response(reports.coverage(request.user, **form.report_arguments()))


class TrendReportView(views.APIView):
    @extend_schema(parameters=form_parameters(TrendForm), responses=TREND)
    def get(self, request):
        form = _parameters(TrendForm, request)
        return Response(reports.trend(request.user, **form.report_arguments()))


class GapsReportView(views.APIView):
    @extend_schema(parameters=form_parameters(GapsForm), responses=GAP)
    def get(self, request):
        form = _parameters(GapsForm, request)
        return Response(reports.gaps(request.user, **form.report_arguments())["gaps"])


# Engagement plan ---------------------------------------------------------------------


class TargetSerializer(serializers.ModelSerializer):
    """Partner and pillar by code. The rules (minimum ≥ 1, months 1–36, one active target
    per partner and pillar) are the model's, checked with `full_clean()` as the forms do."""

    partner = serializers.SlugRelatedField(slug_field="code", queryset=Partner.objects.all())
    pillar = serializers.SlugRelatedField(slug_field="code", queryset=Pillar.objects.all())

    class Meta:
        model = Target
        fields = ["id", "partner", "pillar", "minimum", "months", "note", "active"]
        # The model checks the one-active rule (and names the field).
        validators = []

    def validate(self, attrs):
        target = self.instance or Target()
        for name, value in attrs.items():
            setattr(target, name, value)
        try:
            target.full_clean(exclude=["created_by"])
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs

    def save(self, **kwargs):
        try:
            with transaction.atomic():
                return super().save(**kwargs)
        except IntegrityError:  # a concurrent writer set the same target first
            raise serializers.ValidationError(
                {"pillar": ["This partner already has an active target in this pillar."]}
            ) from None


class TargetViewSet(viewsets.ModelViewSet):
    """Targets; anyone with a role reads, managers and admins write."""

    queryset = Target.objects.select_related("partner", "pillar").order_by(
        "partner__code", "pillar__order", "id"
    )
    serializer_class = TargetSerializer
    filterset_class = TargetFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    write_permissions = {
        "POST": "roadmap.add_target",
        "PATCH": "roadmap.change_target",
        "DELETE": "roadmap.delete_target",
    }

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)


PLAN = inline_serializer(
    "PlanEntry",
    {
        "target": serializers.IntegerField(),
        "partner": serializers.CharField(),
        "pillar": serializers.CharField(),
        "minimum": serializers.IntegerField(),
        "months": serializers.IntegerField(),
        "done": serializers.IntegerField(),
        "planned": serializers.IntegerField(),
        "last": serializers.DateField(allow_null=True),
        "status": serializers.ChoiceField(TargetStatus.values),
    },
    many=True,
)
PLAN_FIELDS = list(PLAN.child.fields)


class PlanReportView(views.APIView):
    @extend_schema(parameters=form_parameters(PlanForm), responses=PLAN)
    def get(self, request):
        form = _parameters(PlanForm, request)
        rows = reports.plan(request.user, **form.report_arguments())["targets"]
        return Response([{name: row[name] for name in PLAN_FIELDS} for row in rows])


RISKS = inline_serializer(
    "Risk",
    {
        "engagement": serializers.IntegerField(),
        "title": serializers.CharField(),
        "start_date": serializers.DateField(),
        "partners": serializers.ListField(child=serializers.CharField()),
        "partner_names": serializers.ListField(
            child=serializers.CharField(), help_text="the partners' names, in that order"
        ),
        "review": serializers.ChoiceField(ReviewDecision.values, allow_null=True),
    },
    many=True,
)


class RisksReportView(views.APIView):
    @extend_schema(responses=RISKS)
    def get(self, request):
        """Visible planned high-risk engagements, soonest first, with their review."""
        return Response(reports.risks(request.user))
