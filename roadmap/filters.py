"""The one FilterSet for targets: the plan page's list and the API share it."""

import django_filters

from core.filters import CodeChoiceFilter, FilterSet
from partners.models import Partner
from roadmap.models import Pillar, Target


class TargetFilterSet(FilterSet):
    partner = CodeChoiceFilter(queryset=Partner.objects.order_by("name"), to_field_name="code")
    pillar = CodeChoiceFilter(queryset=Pillar.objects.order_by("order"), to_field_name="code")
    active = django_filters.BooleanFilter()

    class Meta:
        model = Target
        fields = []
