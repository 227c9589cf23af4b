"""The one FilterSet for engagements: the HTML list, its downloads and the API share it."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.choices import Marking
from core.widgets import QuickSelect, QuickSelectMultiple
from engagements.choices import ActionStatus, EngagementKind, EngagementStatus, EscalationRisk
from engagements.models import Action, Engagement, EngagementPartner
from partners.choices import Region
from partners.models import Partner
from roadmap.models import Facet, Pillar, Tip


@extend_schema_field(OpenApiTypes.STR)
class CodeMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Repeatable `?partner=JPN&partner=KOR`: any of these codes."""


@extend_schema_field(OpenApiTypes.STR)
class CodeChoiceFilter(django_filters.ModelChoiceFilter):
    """One object by its code."""


# `ordering` names → the column sorted on: a marking sorts by its rank (NU < NR < NC < NS).
SORTABLE = {
    "start_date": "start_date",
    "title": "title",
    "kind": "kind",
    "status": "status",
    "marking": "marking_rank",
    "escalation_risk": "escalation_risk",
    "id": "id",
}


def sort_column(sort_key):
    """The column behind an `ordering` value such as "-marking" ("-marking_rank")."""
    descending = sort_key.startswith("-")
    return ("-" if descending else "") + SORTABLE[sort_key.lstrip("-")]


class EngagementFilterSet(django_filters.FilterSet):
    # Relations are matched with EXISTS rather than joins: no duplicate rows, no DISTINCT,
    # and the indexed ordering keeps working on large tables.
    partner = CodeMultipleChoiceFilter(
        label="Partners",
        queryset=Partner.objects.order_by("name"),
        to_field_name="code",
        method="filter_partner",
        help_text="Any of these partners.",
        widget=QuickSelectMultiple(attrs={"size": 5, "data-filterable": "true"}),
    )
    pillar = django_filters.ModelChoiceFilter(
        queryset=Pillar.objects.order_by("order"),
        to_field_name="code",
        field_name="pillars",
        widget=QuickSelect,
        method="filter_through",
    )
    facet = django_filters.ModelChoiceFilter(
        queryset=Facet.objects.order_by("pillar__order", "order"),
        to_field_name="code",
        field_name="facets",
        widget=QuickSelect,
        method="filter_through",
    )
    tip = django_filters.ModelChoiceFilter(
        queryset=Tip.objects.order_by("number"),
        to_field_name="number",
        field_name="tips",
        widget=QuickSelect,
        method="filter_through",
    )
    kind = django_filters.ChoiceFilter(choices=EngagementKind.choices, widget=QuickSelect)
    status = django_filters.ChoiceFilter(choices=EngagementStatus.choices, widget=QuickSelect)
    marking = django_filters.ChoiceFilter(choices=Marking.choices, widget=QuickSelect)
    escalation_risk = django_filters.ChoiceFilter(
        choices=EscalationRisk.choices, widget=QuickSelect
    )
    region = django_filters.ChoiceFilter(
        choices=Region.choices, method="filter_region", label="Partner region", widget=QuickSelect
    )
    start_after = django_filters.DateFilter(
        field_name="start_date",
        lookup_expr="gte",
        label="Starts on or after",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    start_before = django_filters.DateFilter(
        field_name="start_date",
        lookup_expr="lte",
        label="Starts on or before",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    search = django_filters.CharFilter(method="filter_search", label="Search")
    ordering = django_filters.OrderingFilter(
        fields=[(column, name) for name, column in SORTABLE.items()]
    )

    class Meta:
        model = Engagement
        fields = []

    def filter_partner(self, queryset, name, partners):
        if not partners:
            return queryset
        return queryset.filter(
            Exists(
                EngagementPartner.objects.filter(
                    engagement=OuterRef("pk"), partner__in=[p.pk for p in partners]
                )
            )
        )

    def filter_region(self, queryset, name, region):
        return queryset.filter(
            Exists(
                EngagementPartner.objects.filter(engagement=OuterRef("pk"), partner__region=region)
            )
        )

    def filter_search(self, queryset, name, text):
        text = text.strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(title__icontains=text) | Q(summary__icontains=text) | Q(outcomes__icontains=text)
        )

    def filter_through(self, queryset, name, value):
        """`name` is the many-to-many field (pillars, facets, tips)."""
        if not value:
            return queryset
        through = getattr(Engagement, name).through
        column = through._meta.get_field(name.removesuffix("s")).attname
        return queryset.filter(
            Exists(through.objects.filter(engagement=OuterRef("pk"), **{column: value.pk}))
        )


class IdFilter(django_filters.NumberFilter):
    """A database id: a whole number from 1 to the largest a column holds (no 1e228)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)

    def get_max_validator(self):
        return None  # max_value says it


class ActionFilter(django_filters.FilterSet):
    """Follow-up actions: the `/actions/` page and the API share it."""

    owner = django_filters.CharFilter(
        method="filter_owner", label="Owner", help_text="a username, or “me”"
    )
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices, widget=QuickSelect)
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="Overdue", help_text="true: open and due before today"
    )
    engagement = IdFilter(field_name="engagement_id", label="Engagement id")

    class Meta:
        model = Action
        fields = []

    def filter_owner(self, queryset, name, username):
        if username == "me":
            return queryset.filter(owner=self.request.user) if self.request else queryset.none()
        return queryset.filter(owner__username=username)

    def filter_overdue(self, queryset, name, overdue):
        if overdue is None:
            return queryset
        late = Q(status=ActionStatus.OPEN, due__lt=timezone.localdate())
        return queryset.filter(late) if overdue else queryset.exclude(late)
