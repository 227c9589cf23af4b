"""The audit trail's one FilterSet: the `/audit/` page and `GET /api/v1/audit/` share it."""

import django_filters
from django import forms

from accounts.models import AuditEntry
from core.filters import FilterSet


class AuditFilterSet(FilterSet):
    user = django_filters.CharFilter(
        label="User", field_name="username", help_text="The username, exactly."
    )
    action = django_filters.CharFilter(
        label="Action", help_text="sign_in, sign_out, sign_in_failed, read, download, …"
    )
    object_type = django_filters.CharFilter(label="Object type", help_text="engagement, …")
    object_id = django_filters.CharFilter(label="Object id")
    since = django_filters.DateTimeFilter(
        label="Since",
        field_name="at",
        lookup_expr="gte",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = django_filters.DateTimeFilter(
        label="Until",
        field_name="at",
        lookup_expr="lt",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    class Meta:
        model = AuditEntry
        fields = ["user", "action", "object_type", "object_id", "since", "until"]
