"""Admin pieces shared by the apps (they import from here, never from each other)."""

from functools import update_wrapper

from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import NestedObjects, quote, unquote
from django.contrib.auth.views import redirect_to_login
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import router
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from core import gates, markings

# What "Recent actions" reads to find the ten the admin may see now.
RECENT_ACTIONS_READ = 100


class AdminSite(admin.AdminSite):
    """The project's admin site: its titles, and a "Recent actions" panel that shows only
    what the admin may see now (`core.gates.visible_log`)."""

    site_header = "Partnership Engagement Tracker: administration"
    site_title = "Partnership Engagement Tracker"
    index_title = "Records and users"

    def admin_view(self, view, cacheable=False):
        """Django's, but someone signed in without staff rights gets the app's 403 page,
        not the admin's second sign-in form."""
        guarded = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if _signed_in_without_staff(request):
                return _not_for_you(request)
            return guarded(request, *args, **kwargs)

        return update_wrapper(inner, guarded)

    def login(self, request, extra_context=None):
        """One sign-in page for the whole app (with its lockout): the admin's sends there."""
        if _signed_in_without_staff(request):
            return _not_for_you(request)
        if request.user.is_authenticated:
            return redirect(f"{self.name}:index")
        return redirect_to_login(request.GET.get("next") or request.path.replace("login/", ""))

    def get_urls(self):
        """Django's, with "view on site" (`r/<content type>/<id>/`) through the gate: the
        same 404 for what does not exist and what the admin may not see."""
        gated = path(
            "r/<int:content_type_id>/<path:object_id>/",
            self.admin_view(self.view_on_site),
            name="view_on_site",
        )
        return [
            gated if getattr(url, "name", None) == "view_on_site" else url
            for url in super().get_urls()
        ]

    def view_on_site(self, request, content_type_id, object_id):
        try:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
        except ContentType.DoesNotExist:
            model = None
        if model is None:
            raise Http404("No such object.")
        try:
            found = gates.restrict(model._default_manager.filter(pk=object_id), request.user)
            obj = found.first()
        except (ValueError, ValidationError):
            obj = None
        if obj is None or not hasattr(obj, "get_absolute_url"):
            raise Http404("No such object.")
        return redirect(obj.get_absolute_url())

    def index(self, request, extra_context=None):
        entries = LogEntry.objects.filter(user=request.user).select_related("content_type")
        recent = gates.visible_log(request.user, entries[:RECENT_ACTIONS_READ])[:10]
        # The names of the objects listed are theirs: so are their markings.
        for entry in recent:
            obj = getattr(entry, "shown_object", None)
            if obj is not None and self.is_registered(type(obj)):
                model_admin = self.get_model_admin(type(obj))
                markings.shown(request, *model_admin.shown_markings(request, [obj], whole=False))
        return super().index(request, {"recent_actions": recent, **(extra_context or {})})


def _signed_in_without_staff(request):
    user = request.user
    return user.is_authenticated and user.is_active and not user.is_staff


def _not_for_you(request):
    message = "The admin is for admins. Ask one if something there needs changing."
    return render(request, "403.html", {"exception": message}, status=403)


class RestrictedAdmin(admin.ModelAdmin):
    """The base of every model admin here: each door reads through the model's gate
    (`core.gates.restrict`), so an object the admin may not see is not listed, its pages
    answer 404 (not Django's "perhaps it was deleted" redirect), and a delete confirmation
    lists and counts only what the admin may see; anything hidden among what a delete
    would touch refuses the delete.

    Its pages name the highest marking of what they show (the banners of
    templates/admin/base_site.html): see `shown_markings`."""

    # The relation whose `marking` an object carries when it has none of its own (an
    # action or a review: "engagement"); loaded with the list (list_select_related).
    marked_by = None

    def shown_markings(self, request, objects, whole):
        """The markings a page of this admin shows with `objects` (model instances or
        history rows): each one's own `marking`, else its `marked_by` record's. `whole`:
        the page shows each object whole (its form, its history), not a row of a list."""
        found = []
        for obj in objects:
            carrier = getattr(obj, self.marked_by) if self.marked_by else obj
            found.append(getattr(carrier, "marking", None))
        return found

    def _note_shown(self, request, response, *names, whole=True):
        """Note, for the banners, the markings of the objects a page's context holds under
        `names` (a page of a list: `cl`, its rows), before the page is rendered (a
        TemplateResponse renders once the view has returned)."""
        self._note_context(request, getattr(response, "context_data", None) or {}, names, whole)
        return response

    def render_history_view(self, request, template, context, **kwargs):
        # django-simple-history's pages (the history, a version) render at once: their
        # objects are noted from the context first.
        self._note_context(request, context, ["object", "original", "page_obj"], True)
        return super().render_history_view(request, template, context, **kwargs)

    def _note_context(self, request, context, names, whole):
        objects = []
        for name in names:
            value = context.get(name)
            if name == "cl" and value is not None:
                objects += list(value.result_list)
            elif name == "page_obj" and value is not None:
                objects += list(value.object_list)
            elif value is not None:
                objects.append(value)
        markings.shown(request, *self.shown_markings(request, objects, whole))

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        return self._note_shown(request, response, "cl", whole=False)

    def get_queryset(self, request):
        return gates.restrict(super().get_queryset(request), request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return obj

    def get_deleted_objects(self, objs, request):
        return deleted_objects(objs, request, self.admin_site)

    # The form checks every rule first; these are the races it cannot see coming: what the
    # write hangs on was raised above the admin or deleted meanwhile (the write service's
    # NotVisible is an ObjectDoesNotExist), or a rule fails at the moment of writing.
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            response = super().changeform_view(request, object_id, form_url, extra_context)
            return self._note_shown(request, response, "original")
        except ObjectDoesNotExist:
            return self._gone(request)
        except ValidationError as error:
            messages.error(request, "Nothing saved: " + " ".join(error.messages))
            return redirect(request.path)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            response = super().delete_view(request, object_id, extra_context)
            return self._note_shown(request, response, "object", whole=False)
        except ObjectDoesNotExist:
            return self._gone(request)

    def _gone(self, request):
        messages.error(request, "Nothing changed: it is gone, or no longer visible to you.")
        opts = self.opts
        return redirect(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A form offers (and a raw id accepts) only what the admin may see.
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and gates.is_gated(db_field.related_model):
            field.queryset = gates.restrict(field.queryset, request.user)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and gates.is_gated(db_field.related_model):
            field.queryset = gates.restrict(field.queryset, request.user)
        return field

    # django-simple-history's pages fall back to the history rows of an object the
    # queryset hides, and its version page reads no queryset at all: both go through
    # get_object first. (Only admins with history have these pages.)
    def history_view(self, request, object_id, extra_context=None):
        self.get_object(request, unquote(object_id))
        response = super().history_view(request, object_id, extra_context)
        return self._note_shown(request, response, "object", "page_obj")

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self.get_object(request, unquote(object_id))
        response = super().history_form_view(request, object_id, version_id, extra_context)
        return self._note_shown(request, response, "original")


HIDDEN_RECORDS = (
    "Records above your clearance: deleting this would change them too. Ask an admin "
    "cleared to see them (or, for an account, deactivate it instead)."
)


def deleted_objects(objs, request, admin_site):
    """Django's `get_deleted_objects` (what a delete removes, what protects against it,
    the counts), leaving out everything `request.user` may not see. If the delete would
    touch anything hidden, it is refused with one line that names nothing of it."""
    objs = list(objs)
    if not objs:
        return [], {}, set(), []
    collector = NestedObjects(using=router.db_for_write(type(objs[0])), origin=objs)
    collector.collect(objs)
    touched = [obj for instances in collector.model_objs.values() for obj in instances]
    concealed = gates.hidden([*touched, *collector.protected], request.user)
    # Rows a delete would change rather than remove (their author set to none, say).
    changed_hidden = any(
        gates.any_hidden(batch, request.user)
        for batches in collector.field_updates.values()
        for batch in batches
    )
    perms_needed = set()

    def describe(obj):  # as Django's: "Verbose name: <a href=change page>obj</a>"
        opts = obj._meta
        if admin_site.is_registered(type(obj)):
            if not admin_site.get_model_admin(type(obj)).has_delete_permission(request, obj):
                perms_needed.add(opts.verbose_name)
            try:
                url = reverse(
                    f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                    args=[quote(obj.pk)],
                )
                return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)
            except NoReverseMatch:
                pass
        return f"{capfirst(opts.verbose_name)}: {obj}"

    seen = set()

    def nested(obj):
        if obj in seen or obj in concealed:
            return []
        seen.add(obj)
        children = [item for child in collector.edges.get(obj, ()) for item in nested(child)]
        return [describe(obj), children] if children else [describe(obj)]

    to_delete = [item for root in collector.edges.get(None, ()) for item in nested(root)]
    model_count = {}
    for model, instances in collector.model_objs.items():
        shown = [obj for obj in instances if obj not in concealed]
        if shown:
            model_count[model._meta.verbose_name_plural] = len(shown)
    protected = [describe(obj) for obj in collector.protected if obj not in concealed]
    if concealed or changed_hidden:
        protected.append(HIDDEN_RECORDS)
    return to_delete, model_count, perms_needed, protected


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


# What "in use" means: rows of this app refer to the object. Named, not imported: core
# imports no app.
IN_USE_BY = "engagements"


def _engagement_links(obj):
    """A query per model of the engagements app that refers to `obj`, of any marking."""
    for relation in obj._meta.related_objects:
        if relation.related_model._meta.app_label == IN_USE_BY:
            yield relation.related_model._base_manager.filter(**{relation.field.name: obj})


def used_by_engagements(obj):
    """Whether any engagement (of any marking) refers to `obj`."""
    return any(links.exists() for links in _engagement_links(obj))


def in_use_message(obj, user):
    """ "Japan: in use by engagements (3 you can see)", counting only what `user` may see
    (through the gate of each referring model)."""
    ids = set()
    for links in _engagement_links(obj):
        column = "pk" if links.model._meta.model_name == "engagement" else "engagement"
        ids.update(gates.restrict(links, user).values_list(column, flat=True))
    return f"{obj}: in use by engagements ({len(ids)} you can see)"
