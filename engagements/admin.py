from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from engagements.forms import EngagementForm
from engagements.history import deleted_engagements, restore_engagement
from engagements.models import Engagement, EngagementPartner


class EngagementPartnerInline(admin.TabularInline):
    model = EngagementPartner
    autocomplete_fields = ["partner"]
    extra = 1


class EngagementAdminForm(forms.ModelForm):
    class Meta:
        model = Engagement
        fields = EngagementForm.Meta.fields

    def clean(self):
        cleaned = super().clean()
        pillars, facets = cleaned.get("pillars"), cleaned.get("facets")
        if pillars is not None and facets is not None:
            # Partners arrive through the inline, which the admin validates on its own.
            try:
                Engagement.validate_relations(["inline"], list(pillars), list(facets))
            except forms.ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    form = EngagementAdminForm
    list_display = ["title", "kind", "status", "start_date", "marking", "created_by"]
    list_filter = ["status", "kind", "marking", "escalation_risk", "pillars"]
    search_fields = ["title", "summary", "outcomes"]
    date_hierarchy = "start_date"
    list_select_related = ["created_by"]
    autocomplete_fields = ["facets", "tips"]
    filter_horizontal = ["pillars"]
    readonly_fields = ["version", "created_by", "created_at", "updated_at"]
    inlines = [EngagementPartnerInline]
    show_full_result_count = False  # no COUNT(*) over a million rows on every page

    change_list_template = "admin/engagements/engagement/change_list.html"

    def get_urls(self):
        return [
            path(
                "deleted/",
                self.admin_site.admin_view(self.deleted_view),
                name="engagements_engagement_deleted",
            ),
            *super().get_urls(),
        ]

    def deleted_view(self, request):
        """Deleted engagements (those the user's clearance allows) and a way back."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            try:
                engagement = restore_engagement(int(request.POST.get("id", 0)), request.user)
            except (LookupError, ValueError):
                messages.error(request, "That engagement cannot be restored.")
            else:
                messages.success(request, f"Restored “{engagement.title}”.")
                return redirect("admin:engagements_engagement_change", engagement.pk)
            return redirect("admin:engagements_engagement_deleted")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Deleted engagements",
            "records": deleted_engagements(request.user)[:200],
        }
        return TemplateResponse(request, "admin/engagements/engagement/deleted.html", context)

    def get_queryset(self, request):
        # Staff see only what their clearance allows, superusers included.
        return Engagement.objects.visible_to(request.user)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.record_relations()

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "marking":
            kwargs["choices"] = [
                choice for choice in db_field.choices if request.user.may_see(choice[0])
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)
