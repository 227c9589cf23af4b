"""The one FilterSet for partners: the HTML list and the API share it."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.filters import CodeChoiceFilter, FilterSet
from partners.choices import PartnerKind, Region
from partners.models import Membership, Partner


class ActiveSelect(forms.NullBooleanSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [
            ("unknown", "Active and inactive"),
            ("true", "Active"),
            ("false", "Inactive"),
        ]


class PartnerFilterSet(FilterSet):
    kind = django_filters.ChoiceFilter(choices=PartnerKind.choices)
    region = django_filters.ChoiceFilter(choices=Region.choices)
    # The directory opens on active partners (partners.views); the API lists all unless asked.
    active = django_filters.BooleanFilter(widget=ActiveSelect)
    member_of = CodeChoiceFilter(
        queryset=Partner.objects.filter(kind__in=PartnerKind.organizations()).order_by("name"),
        to_field_name="code",
        method="filter_member_of",
        label="Member of",
    )
    search = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = Partner
        fields = []

    def filter_member_of(self, queryset, name, organization):
        today = timezone.localdate()
        current = Membership.objects.current(today).filter(
            organization=organization, member=OuterRef("pk")
        )
        return queryset.filter(Exists(current))

    def filter_search(self, queryset, name, text):
        return queryset.search(text)
