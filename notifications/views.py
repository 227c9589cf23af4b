from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.forms import whole_number
from engagements.models import Engagement
from notifications import emails
from notifications.choices import EmailChoice
from notifications.filters import NotificationFilterSet
from notifications.forms import PreferenceForm
from notifications.models import Notification, Preference, preference_of
from notifications.services import mark_read, unwatch, watch
from partners.models import Partner

PER_PAGE = 50


def notification_list(request):
    mine = Notification.objects.restrict(request.user).with_targets().order_by("-at", "-id")
    filterset = NotificationFilterSet(request.GET, queryset=mine)
    shown = filterset.qs if filterset.is_valid() else mine
    page = Paginator(shown, PER_PAGE).get_page(request.GET.get("page"))
    preference = preference_of(request.user)
    return render(
        request,
        "notifications/notification_list.html",
        {
            "filterset": filterset,
            "page": page,
            "preference_form": PreferenceForm(instance=preference),
        },
    )


@require_POST
def notification_read(request):
    """Mark one (`id`) or all (`all`) of the reader's notifications read."""
    ids = request.POST.getlist("id")
    if request.POST.get("all"):
        marked = mark_read(request.user)
    else:
        marked = mark_read(request.user, [n for n in map(whole_number, ids) if n is not None])
    messages.success(request, f"{marked} notification{'s' if marked != 1 else ''} marked read.")
    return redirect("notifications:list")


@require_POST
def preference(request):
    form = PreferenceForm(request.POST, instance=preference_of(request.user))
    if form.is_valid():
        form.save()
        messages.success(request, f"Email: {form.instance.get_email_display().lower()}.")
    else:
        messages.error(request, "Choose none, one email for each or one a day.")
    return redirect("notifications:list")


@require_POST
def watch_engagement(request, pk):
    engagement = get_object_or_404(Engagement.objects.restrict(request.user), pk=pk)
    _toggle(request, engagement=engagement)
    return redirect(engagement)


@require_POST
def watch_partner(request, code):
    partner = get_object_or_404(Partner, code=code)
    _toggle(request, partner=partner)
    return redirect(partner)


def _toggle(request, **record):
    if request.POST.get("watch") == "1":
        watch(request.user, **record)
        messages.success(request, "Watching: you will hear when someone else changes it.")
    else:
        unwatch(request.user, **record)
        messages.success(request, "No longer watching.")


@login_not_required
def unsubscribe(request, token):
    """Turn notification emails off from the link in one, without signing in (the link is
    signed); a GET only asks, so that a mail scanner opening links changes nothing."""
    user_id = emails.user_of(token)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        raise Http404
    done = False
    if request.method == "POST":
        Preference.objects.update_or_create(user=user, defaults={"email": EmailChoice.NONE})
        done = True
    return render(request, "notifications/unsubscribe.html", {"done": done, "account": user})
