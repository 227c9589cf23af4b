from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin

from accounts.markings import shown
from core.admin import RestrictedAdmin
from engagements.forms import EngagementForm
from engagements.history import deleted_engagements
from engagements.models import Action, Engagement, Review, StaleVersion
from engagements.services import (
    delete_engagement,
    delete_record,
    restore_engagement,
    save_record,
)


@admin.register(Engagement)
class EngagementAdmin(RestrictedAdmin):
    """The same form and the same write service as the site's own pages: an engagement
    saved here obeys the same rules (partners, lead, facets, marking, version)."""

    form = EngagementForm
    list_display = ["title", "kind", "status", "start_date", "marking", "created_by"]
    list_filter = ["status", "kind", "marking", "escalation_risk", "pillars"]
    search_fields = ["title", "summary", "outcomes"]
    date_hierarchy = "start_date"
    list_select_related = ["created_by"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    show_full_result_count = False  # no COUNT(*) over a million rows on every page

    change_list_template = "admin/engagements/engagement/change_list.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The model fields the form edits; its own fields (partners, version…) come along.
        kwargs["fields"] = EngagementForm.Meta.fields
        form_class = super().get_form(request, obj, change=change, **kwargs)

        class WriterForm(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, user=request.user, **kwargs)

        return WriterForm

    def get_fields(self, request, obj=None):
        # The form's fields in its order (engagements/fields.py), then who and when.
        return EngagementForm.field_order + (self.readonly_fields if obj else [])

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Someone else saved first (the base class answers the other races).
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleVersion:
            messages.error(request, "Nothing saved: someone else saved this engagement first.")
            return redirect(request.path)

    def save_form(self, request, form, change):
        # The write itself (engagement, relations, history): the one write service.
        return form.save()

    def save_model(self, request, obj, form, change):
        """Done in save_form."""

    def save_related(self, request, form, formsets, change):
        """Done in save_form (there are no inlines)."""

    def delete_model(self, request, obj):
        delete_engagement(request.user, obj.pk, obj.version)

    def delete_queryset(self, request, queryset):
        for engagement in queryset:
            delete_engagement(request.user, engagement.pk, engagement.version)

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
                engagement = restore_engagement(request.user, int(request.POST.get("id", 0)))
            except (LookupError, ValueError):
                messages.error(request, "That engagement cannot be restored.")
            except ValidationError as error:
                messages.error(
                    request, "That engagement cannot be restored: " + " ".join(error.messages)
                )
            else:
                messages.success(request, f"Restored “{engagement.title}”.")
                return redirect("admin:engagements_engagement_change", engagement.pk)
            return redirect("admin:engagements_engagement_deleted")
        records = list(deleted_engagements(request.user)[:200])
        shown(request, *(record.marking for record in records))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Deleted engagements",
            "records": records,
        }
        return TemplateResponse(request, "admin/engagements/engagement/deleted.html", context)


# Follow-up actions and escalation reviews: through the one gate like engagements. They
# are added on the engagement's page; here they are read, and actions changed.


@admin.register(Action)
class ActionAdmin(RestrictedAdmin, SimpleHistoryAdmin):
    marked_by = "engagement"  # an action is marked as its engagement
    list_display = ["title", "engagement", "owner", "due", "status", "done_at"]
    list_filter = ["status", "due"]
    search_fields = ["title"]
    list_select_related = ["engagement", "owner"]
    fields = ["engagement", "title", "owner", "due", "status", "done_at", "created_by"]
    readonly_fields = ["engagement", "done_at", "created_by"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # on the engagement's page, which knows the engagement

    # Written under the claim on the engagement, like every other door's.
    def save_model(self, request, obj, form, change):
        save_record(request.user, obj)

    def delete_model(self, request, obj):
        delete_record(request.user, obj)

    def delete_queryset(self, request, queryset):
        for action in queryset:
            delete_record(request.user, action)


@admin.register(Review)
class ReviewAdmin(RestrictedAdmin):
    marked_by = "engagement"
    list_display = ["engagement", "decision", "by", "at", "current"]
    list_filter = ["decision", "current"]
    list_select_related = ["engagement", "by"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # on the engagement's page

    def has_change_permission(self, request, obj=None):
        return False  # a review is a record: who decided what, when
