"""The one FilterSet for notifications: the page and the API share it."""

import django_filters
from django import forms

from core.filters import FilterSet
from notifications.choices import NotificationKind
from notifications.models import Notification


class ReadSelect(forms.NullBooleanSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", "Read and unread"), ("true", "Unread"), ("false", "Read")]


class NotificationFilterSet(FilterSet):
    unread = django_filters.BooleanFilter(method="filter_unread", label="Show", widget=ReadSelect)
    kind = django_filters.ChoiceFilter(choices=NotificationKind.choices, empty_label="Any kind")

    class Meta:
        model = Notification
        fields = []

    def filter_unread(self, queryset, name, unread):
        return queryset.filter(read_at__isnull=unread)
