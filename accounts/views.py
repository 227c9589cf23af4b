from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.http.request import split_domain_port
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from accounts.models import CalendarFeed
from reports import calendar


def calendar_index(request):
    """The user's private calendar address, with how to subscribe to it."""
    feed = CalendarFeed.for_user(request.user)
    address = request.build_absolute_uri(f"/calendar/{feed.token}.ics")
    return render(request, "accounts/calendar.html", {"feed": feed, "address": address})


@require_POST
def calendar_reset(request):
    CalendarFeed.for_user(request.user).reset()
    messages.success(
        request,
        "Your calendar has a new address: the old one no longer works. "
        "Subscribe again with the address below.",
    )
    return redirect("calendar:index")


@login_not_required
def calendar_feed(request, token):
    """No sign-in: the token is the key. What the feed holds is decided at each request,
    by the token owner's clearance and role at that moment: read on the primary database
    (in a transaction), so that a reset, a role taken away or a raised marking counts at
    once, not when a replica catches up."""
    with transaction.atomic():
        user = CalendarFeed.user_for(token)
        if user is None:
            raise Http404("No such calendar.")
        host = split_domain_port(request.get_host())[0]
        body = calendar.feed(user, host, request.build_absolute_uri)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="engagements.ics"'
    return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's: the old password, then the new one twice. Setting it ends every other
    session and every API token of the user (accounts.credentials); this session goes on
    under a new key."""

    success_url = reverse_lazy("dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request,
            "Your password is changed. Your other sessions and API tokens have ended.",
        )
        return response
