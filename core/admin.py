"""Admin pieces shared by the apps (they import from here, never from each other)."""

from django.contrib import admin, messages

from engagements.models import Engagement

admin.site.site_header = "Partnership Engagement Tracker: administration"
admin.site.site_title = "Partnership Engagement Tracker"
admin.site.index_title = "Records and users"


class InUseByEngagementsMixin:
    """Refuse to delete an object that any engagement refers to, and say how many of
    those engagements the admin can see.

    Django's delete confirmation lists and counts every related row, including the links
    of engagements marked above the admin's clearance ("Engagement-tip relationships: 5"
    when two are visible), hundreds of lines for a busy partner. The refusal counts only
    the engagements the admin may see, and deleting would change engagements the admin
    may not even see. Deactivate instead.
    """

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        in_use = [obj for obj in objs if used_by_engagements(obj)]
        if in_use:
            protected = [in_use_message(obj, request.user) for obj in in_use]
            return [str(obj) for obj in objs], {}, set(), protected
        return to_delete, model_count, perms_needed, protected

    def delete_queryset(self, request, queryset):
        in_use = [obj for obj in queryset if used_by_engagements(obj)]
        if in_use:
            messages.error(request, "Nothing deleted: in use by engagements.")
            return
        super().delete_queryset(request, queryset)


def _engagement_links(obj):
    """A query per model of the engagements app that refers to `obj`, of any marking."""
    for relation in obj._meta.related_objects:
        if relation.related_model._meta.app_label == "engagements":
            yield relation.related_model._base_manager.filter(**{relation.field.name: obj})


def used_by_engagements(obj):
    """Whether any engagement (of any marking) refers to `obj`."""
    return any(links.exists() for links in _engagement_links(obj))


def in_use_message(obj, user):
    """ "Japan: in use by engagements (3 you can see)", counting only what `user` may see."""
    visible = Engagement.objects.visible_to(user)
    ids = set()
    for links in _engagement_links(obj):
        engagement_ids = links.values("pk" if links.model is Engagement else "engagement")
        ids.update(visible.filter(pk__in=engagement_ids).values_list("pk", flat=True))
    return f"{obj}: in use by engagements ({len(ids)} you can see)"
