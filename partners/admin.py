from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from accounts.markings import MarkedNoteAdmin
from core.admin import InUseByEngagementsMixin, RestrictedAdmin
from jobs.admin import StartsJobsAdmin, announce
from jobs.services import collect
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
class PartnerAdmin(
    StartsJobsAdmin, MarkedNoteAdmin, InUseByEngagementsMixin, RestrictedAdmin, SimpleHistoryAdmin
):
    note_field = "notes"
    list_display = ["code", "name", "kind", "region", "active"]
    list_filter = ["kind", "region", "active"]
    search_fields = ["code", "name", "aliases"]
    ordering = ["name"]
    inlines = [MembershipInline, MemberOfInline]
    actions = ["deactivate_selected"]

    @admin.action(description="Deactivate selected partners", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        count = deactivate(queryset)
        self.message_user(request, f"Deactivated {count} partner(s).", messages.SUCCESS)

    def get_urls(self):
        deactivate_view = self.admin_site.admin_view(require_POST(self.deactivate_view))
        return [
            path(
                "<path:object_id>/deactivate/", deactivate_view, name="partners_partner_deactivate"
            ),
            *super().get_urls(),
        ]

    def deactivate_view(self, request, object_id):
        """The way out offered where a delete is refused because engagements use it."""
        partner = get_object_or_404(Partner, pk=object_id)
        if not self.has_change_permission(request, partner):
            return redirect("admin:index")
        with collect(request.user) as started:
            deactivate(Partner.objects.filter(pk=partner.pk))
        announce(request, started)
        self.message_user(request, f"{partner} is deactivated.", messages.SUCCESS)
        return redirect(reverse("admin:partners_partner_change", args=[partner.pk]))


def deactivate(partners):
    """Deactivate one by one, so that history and the report summaries follow (a bulk
    update would skip both)."""
    changed = 0
    for partner in partners.filter(active=True):
        partner.active = False
        partner.save()
        changed += 1
    return changed


@admin.register(Membership)
class MembershipAdmin(StartsJobsAdmin, RestrictedAdmin, SimpleHistoryAdmin):
    list_display = ["member", "organization", "joined", "left"]
    list_filter = ["organization"]
    search_fields = ["member__name", "member__code", "organization__code"]
    autocomplete_fields = ["organization", "member"]
    list_select_related = ["member", "organization"]
    date_hierarchy = "joined"
