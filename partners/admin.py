from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from core.admin import InUseByEngagementsMixin
from partners.models import Membership, Partner


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "organization"
    verbose_name = "member"
    verbose_name_plural = "members"
    autocomplete_fields = ["member"]
    extra = 0


class MemberOfInline(admin.TabularInline):
    model = Membership
    fk_name = "member"
    verbose_name = "membership"
    verbose_name_plural = "member of"
    autocomplete_fields = ["organization"]
    extra = 0


@admin.register(Partner)
class PartnerAdmin(InUseByEngagementsMixin, SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "region", "active"]
    list_filter = ["kind", "region", "active"]
    search_fields = ["code", "name", "aliases"]
    ordering = ["name"]
    inlines = [MembershipInline, MemberOfInline]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["member", "organization", "joined", "left"]
    list_filter = ["organization"]
    search_fields = ["member__name", "member__code", "organization__code"]
    autocomplete_fields = ["organization", "member"]
    list_select_related = ["member", "organization"]
    date_hierarchy = "joined"
