"""Saved views of the engagement list: create, rename, share with the team, make one the
list's default, delete.

A view is its owner's; shared, it is listed for everyone with a role, with its owner's
name (each reader sees the rows their own clearance allows). Each user may make one view,
their own or a shared one, the view their engagement list opens on.

The navigation lists a person's views (and the team's) on every page without a query of
its own: they are kept in the session with the default view's address, filled at sign-in
and after each change of the person's own, and refreshed whenever the saved views page
reads them anyway (a view a colleague shares or deletes shows there, and from then on).
"""

from urllib.parse import parse_qsl, urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.db.models import Exists, OuterRef
from django.dispatch import receiver
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import DefaultView, SavedView

SESSION_KEY = "saved_views"
DEFAULT_KEY = "default_view"
# Not part of a view: where the list was in its pages, and a download's format.
NOT_SAVED = ("cursor", "format")


def clean_query(query):
    """The query string without a page position or download format."""
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    return urlencode([(name, value) for name, value in pairs if name not in NOT_SAVED])


class SavedViewForm(forms.ModelForm):
    class Meta:
        model = SavedView
        fields = ["name", "query", "shared"]
        widgets = {"query": forms.HiddenInput}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        others = SavedView.objects.filter(user=self.user, name=name).exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError("You already have a saved view with this name.")
        return name

    def clean_query(self):
        return clean_query(self.cleaned_data["query"])


class RenameForm(SavedViewForm):
    class Meta(SavedViewForm.Meta):
        fields = ["name", "shared"]


def views_of(user):
    """The user's own views, then the team's (with their owners), by name; `is_default`
    on the one their list opens on. One query."""
    default = DefaultView.objects.filter(user=user, view=OuterRef("pk"))
    views = SavedView.objects.for_user(user).select_related("user")
    views = views.annotate(is_default=Exists(default))
    return sorted(views, key=lambda view: (view.user_id != user.pk, view.name.casefold()))


def remember(request, saved=None, user=None):
    """Keep the nav's copy of the user's views, and the default's address, in the session."""
    user = user or request.user
    saved = views_of(user) if saved is None else saved
    listed = [
        [view.pk, view.name if view.user_id == user.pk else f"{view.name} ({view.user})", view.url]
        for view in saved
    ]
    address = next((view.url for view in saved if view.is_default), None)
    for key, value in ((SESSION_KEY, listed), (DEFAULT_KEY, address)):
        if key not in request.session or request.session[key] != value:
            request.session[key] = value


def listed(request):
    """The user's saved views as the navigation lists them, [pk, name, url] each: the
    session's copy (no query), read from the database only if the session has none."""
    if SESSION_KEY not in request.session:
        remember(request)
    return request.session[SESSION_KEY]


def default_address(request):
    """Where the user's engagement list opens (their default view's address), or None."""
    if DEFAULT_KEY not in request.session:
        remember(request)
    return request.session[DEFAULT_KEY]


@receiver(user_logged_in, dispatch_uid="accounts.saved_views.remember")
def remember_at_sign_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        remember(request, views_of(user), user)


def saved_view_list(request):
    saved = views_of(request.user)
    remember(request, saved)
    default = next((view.pk for view in saved if view.is_default), None)
    return render(
        request,
        "accounts/saved_views.html",
        {
            "own": [view for view in saved if view.user_id == request.user.pk],
            "team": [view for view in saved if view.user_id != request.user.pk],
            "default": default,
        },
    )


@require_POST
def saved_view_create(request):
    form = SavedViewForm(request.POST, user=request.user)
    if form.is_valid():
        view = form.save(commit=False)
        view.user = request.user
        view.save()
        remember(request)
        messages.success(request, f"Saved the view “{view.name}”: find it under Saved views.")
        return redirect(view.url)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, f"The view was not saved: {error}")
    query = clean_query(request.POST.get("query", ""))
    return redirect(SavedView(query=query).url)


@require_POST
def saved_view_update(request, pk):
    """Rename one's own view, or share it with the team (or stop)."""
    view = get_object_or_404(SavedView, pk=pk, user=request.user)  # others' views: 404
    form = RenameForm(request.POST, instance=view, user=request.user)
    if form.is_valid():
        form.save()
        remember(request)
        shared = "shared with the team" if view.shared else "yours only"
        messages.success(request, f"Saved the view “{view.name}” ({shared}).")
    else:
        for errors in form.errors.values():
            messages.error(request, f"Nothing changed: {' '.join(errors)}")
    return redirect("saved_views:list")


@require_POST
def saved_view_default(request):
    """Make a view (one's own or a shared one) the list's default, or none (`view` empty)."""
    chosen = request.POST.get("view", "")
    if not chosen:
        DefaultView.objects.filter(user=request.user).delete()
        messages.success(request, "The engagement list opens on recent work again.")
    else:
        reachable = SavedView.objects.for_user(request.user)
        view = get_object_or_404(reachable, pk=chosen if chosen.isdigit() else 0)
        DefaultView.objects.update_or_create(user=request.user, defaults={"view": view})
        messages.success(request, f"The engagement list opens on “{view.name}” from now on.")
    remember(request)
    return redirect("saved_views:list")


@require_POST
def saved_view_delete(request, pk):
    view = get_object_or_404(SavedView, pk=pk, user=request.user)  # others' views: 404
    view.delete()
    remember(request)
    messages.success(request, f"Deleted the saved view “{view.name}”.")
    return redirect("saved_views:list")
