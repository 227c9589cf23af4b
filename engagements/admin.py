from django import forms
from django.contrib import admin

from engagements.models import Engagement, EngagementPartner


class EngagementPartnerInline(admin.TabularInline):
    model = EngagementPartner
    autocomplete_fields = ["partner"]
    extra = 1


class EngagementAdminForm(forms.ModelForm):
    class Meta:
        model = Engagement
        fields = [
            "title",
            "kind",
            "status",
            "start_date",
            "end_date",
            "location",
            "pillars",
            "facets",
            "tips",
            "marking",
            "escalation_risk",
            "summary",
            "outcomes",
        ]

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
