"""The one FilterSet for people: the HTML list, its downloads and the API share it."""

import django_filters
from django.db.models import Exists, OuterRef, Q

from core.filters import CodeChoiceFilter, FilterSet
from partners.models import Partner
from people.models import Affiliation, Person


class PersonFilterSet(FilterSet):
    partner = CodeChoiceFilter(
        queryset=Partner.objects.order_by("name"),
        to_field_name="code",
        method="filter_partner",
        label="Partner",
        help_text="Working there now, or once.",
    )
    search = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = Person
        fields = []

    def filter_partner(self, queryset, name, partner):
        once = Affiliation.objects.filter(person=OuterRef("pk"), partner=partner)
        return queryset.filter(Q(partner=partner) | Exists(once))

    def filter_search(self, queryset, name, text):
        return queryset.search(text.strip()) if text.strip() else queryset
