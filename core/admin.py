"""Admin pieces shared by the apps (they import from here, never from each other)."""

from django.contrib import messages


class InUseByEngagementsMixin:
    """Refuse to delete an object that any engagement refers to, saying only "in use".

    Django's delete confirmation lists and counts every related row, including the links
    of engagements marked above the admin's clearance ("Engagement-tip relationships: 5"
    when two are visible). The plain refusal gives nothing away but that it is used, and
    deleting it would change engagements the admin may not even see. Deactivate instead.
    """

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        in_use = [obj for obj in objs if used_by_engagements(obj)]
        if in_use:
            protected = [f"{obj}: in use by engagements" for obj in in_use]
            return [str(obj) for obj in objs], {}, set(), protected
        return to_delete, model_count, perms_needed, protected

    def delete_queryset(self, request, queryset):
        in_use = [obj for obj in queryset if used_by_engagements(obj)]
        if in_use:
            messages.error(request, "Nothing deleted: in use by engagements.")
            return
        super().delete_queryset(request, queryset)


def used_by_engagements(obj):
    """Whether any engagement (of any marking) refers to `obj`."""
    for relation in obj._meta.related_objects:
        if relation.related_model._meta.app_label != "engagements":
            continue
        manager = relation.related_model._base_manager
        if manager.filter(**{relation.field.name: obj}).exists():
            return True
    return False
