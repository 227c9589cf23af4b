"""The one FilterSet for notifications: the page and the API share it."""

import django_filters

from core.filters import FilterSet
from notifications.models import Notification


class NotificationFilterSet(FilterSet):
    unread = django_filters.BooleanFilter(method="filter_unread", label="Unread only")

    class Meta:
        model = Notification
        fields = ["kind"]

    def filter_unread(self, queryset, name, unread):
        return queryset.filter(read_at__isnull=unread)
