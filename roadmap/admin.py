from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from accounts.markings import WITHHELD, MarkedNoteAdmin, shown_note
from core.admin import InUseByEngagementsMixin, RestrictedAdmin
from roadmap.models import Challenge, Facet, Pillar, Target, Tip, TipStatusUpdate


class FacetInline(admin.TabularInline):
    model = Facet
    extra = 0


@admin.register(Pillar)
class PillarAdmin(InUseByEngagementsMixin, RestrictedAdmin):
    list_display = ["order", "code", "name"]
    list_display_links = ["code", "name"]
    search_fields = ["code", "name"]
    inlines = [FacetInline]


@admin.register(Facet)
class FacetAdmin(InUseByEngagementsMixin, RestrictedAdmin):
    list_display = ["code", "name", "pillar", "order"]
    list_filter = ["pillar"]
    search_fields = ["code", "name"]
    list_select_related = ["pillar"]


class TipStatusUpdateInline(admin.TabularInline):
    """A tip's statuses, read here (a marked note is withheld above the admin's
    clearance); they are set on the tip's page or under "Tip status updates"."""

    model = TipStatusUpdate
    extra = 0
    fields = ["status", "shown_note", "note_marking", "created_by", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_formset(self, request, obj=None, **kwargs):
        self.reader = request.user  # whose clearance `shown_note` reads by
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="note")
    def shown_note(self, update):
        text, _ = shown_note(self.reader, update.note, update.note_marking)
        return WITHHELD if text is None else text


@admin.register(Tip)
class TipAdmin(InUseByEngagementsMixin, RestrictedAdmin):
    list_display = ["number", "code", "title"]
    list_display_links = ["code", "title"]
    search_fields = ["code", "title"]
    filter_horizontal = ["pillars"]
    inlines = [TipStatusUpdateInline]


@admin.register(TipStatusUpdate)
class TipStatusUpdateAdmin(MarkedNoteAdmin, RestrictedAdmin, SimpleHistoryAdmin):
    list_display = ["tip", "status", "note_marking", "created_by", "created_at"]
    list_filter = ["status", "tip"]
    search_fields = ["tip__title"]
    autocomplete_fields = ["tip"]
    list_select_related = ["tip", "created_by"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Challenge)
class ChallengeAdmin(RestrictedAdmin):
    list_display = ["order", "code", "title"]
    list_display_links = ["code", "title"]
    search_fields = ["code", "title"]


@admin.register(Target)
class TargetAdmin(MarkedNoteAdmin, RestrictedAdmin, SimpleHistoryAdmin):
    list_display = ["partner", "pillar", "minimum", "months", "active"]
    list_filter = ["active", "pillar", "months"]
    search_fields = ["partner__code", "partner__name"]
    list_select_related = ["partner", "pillar"]
    autocomplete_fields = ["partner"]
    readonly_fields = ["created_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
