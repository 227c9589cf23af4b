"""The reports over the API: each a `ReportAPIView`, its parameters checked by the report's
form (reports/forms.py, shared with the pages and downloads), its numbers from
`reports.queries`, its answer's shape declared here for the OpenAPI schema."""

from django import forms
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, views
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts.choices import Marking
from core import cache
from engagements.choices import ReviewDecision
from reports import queries
from reports.forms import CoverageForm, GapsForm, PlanForm, TrendForm
from roadmap.choices import TargetStatus


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


# Each report says the highest marking of the engagements behind what it shows.
def marking_field(of):
    return serializers.ChoiceField(Marking.choices, help_text=f"the highest marking of {of}")


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
        "marking": marking_field("the engagements counted"),
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
        "marking": marking_field("the engagements counted"),
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
        "marking": marking_field("the engagements that set `last` (NU: none)"),
    },
    many=True,
)


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
        "marking": marking_field("the engagement"),
    },
    many=True,
)


class ReportAPIView(views.APIView):
    """GET a report: `form` (None: no parameters) reads the query, `report(user,
    arguments)` answers. A concrete report sets both and its schema; `cached`, the
    cached report of reports.queries it answers from, if any."""

    form = None
    cached = None

    def report(self, user, arguments):
        raise NotImplementedError

    def get(self, request):
        arguments = {}
        if self.form is not None:
            arguments, invalid = self.form.arguments_for(request.query_params)
            if invalid is not None:
                raise serializers.ValidationError(invalid.error_dict())
        if self.cached is not None and plain_json(request):
            # Kept as the JSON it is sent as, under its report's key, in this process too:
            # rendering the numbers again, or asking the shared cache for them, at every
            # request would cost more than the rest of the answer.
            key = f"{self.cached.key(request.user, kwargs=arguments)}:{type(self).__name__}"
            body = cache.computed_once(
                key,
                lambda: JSONRenderer().render(self.report(request.user, arguments)),
                queries.REPORT_CACHE_SECONDS,
                local=True,
            )
            return HttpResponse(body, content_type="application/json")
        return Response(self.report(request.user, arguments))


def plain_json(request):
    """Whether the answer is JSON as JSONRenderer writes it by default (not indented, not
    the browsable API)."""
    renderer = request.accepted_renderer
    return (
        type(renderer) is JSONRenderer
        and renderer.get_indent(request.accepted_media_type, {}) is None
    )


def documented(form, responses):
    """The OpenAPI description of a report's GET: its form's fields, its answer's shape."""
    parameters = form_parameters(form) if form is not None else []
    return extend_schema_view(get=extend_schema(parameters=parameters, responses=responses))


@documented(CoverageForm, COVERAGE)
class CoverageReportView(ReportAPIView):
    form = CoverageForm
    cached = queries.coverage

    def report(self, user, arguments):
        return queries.coverage(user, **arguments)


@documented(TrendForm, TREND)
class TrendReportView(ReportAPIView):
    form = TrendForm
    cached = queries.trend

    def report(self, user, arguments):
        return queries.trend(user, **arguments)


@documented(GapsForm, GAP)
class GapsReportView(ReportAPIView):
    form = GapsForm
    cached = queries.gaps

    def report(self, user, arguments):
        return queries.gaps(user, **arguments)["gaps"]


@documented(PlanForm, PLAN)
class PlanReportView(ReportAPIView):
    form = PlanForm

    def report(self, user, arguments):
        targets = queries.plan(user, **arguments)["targets"]
        return [{name: row[name] for name in PLAN_FIELDS} for row in targets]


@documented(None, RISKS)
class RisksReportView(ReportAPIView):
    """Visible planned high-risk engagements, soonest first, with their review."""

    def report(self, user, arguments):
        return queries.risks(user)
