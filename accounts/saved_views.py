"""Saved views of the engagement list: create, list, delete (each person their own).

The navigation lists a person's saved views on every page without a query of its own:
they are kept in the session, filled at sign-in and after each change (and refreshed
whenever the saved views page reads them anyway). The engagement list uses that copy too.
"""

from urllib.parse import parse_qsl, urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import SavedView

SESSION_KEY = "saved_views"
# Not part of a view: where the list was in its pages, and a download's format.
NOT_SAVED = ("cursor", "format")


def clean_query(query):
    """The query string without a page position or download format."""
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    return urlencode([(name, value) for name, value in pairs if name not in NOT_SAVED])


class SavedViewForm(forms.ModelForm):
    class Meta:
        model = SavedView
        fields = ["name", "query"]
        widgets = {"query": forms.HiddenInput}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if SavedView.objects.filter(user=self.user, name=name).exists():
            raise forms.ValidationError("You already have a saved view with this name.")
        return name

    def clean_query(self):
        return clean_query(self.cleaned_data["query"])


def views_of(user):
    return list(SavedView.objects.filter(user=user))


def remember(request, saved=None):
    """Keep the nav's copy of the user's saved views in the session."""
    saved = views_of(request.user) if saved is None else saved
    listed = [[view.pk, view.name, view.url] for view in saved]
    if request.session.get(SESSION_KEY) != listed:
        request.session[SESSION_KEY] = listed


def listed(request):
    """The user's saved views as the navigation lists them, [pk, name, url] each: the
    session's copy (no query), read from the database only if the session has none."""
    if SESSION_KEY not in request.session:
        remember(request)
    return request.session[SESSION_KEY]


@receiver(user_logged_in, dispatch_uid="accounts.saved_views.remember")
def remember_at_sign_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        remember(request, views_of(user))


def saved_view_list(request):
    saved = views_of(request.user)
    remember(request, saved)
    return render(request, "accounts/saved_views.html", {"saved_views": saved})


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
def saved_view_delete(request, pk):
    view = get_object_or_404(SavedView, pk=pk, user=request.user)  # others' views: 404
    view.delete()
    remember(request)
    messages.success(request, f"Deleted the saved view “{view.name}”.")
    return redirect("saved_views:list")
