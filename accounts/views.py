import hashlib
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST
from knox.models import AuthToken

from accounts import audit
from accounts.credentials import end_sessions
from accounts.filters import AuditFilterSet
from accounts.forms import SignInForm
from accounts.markings import shown
from accounts.models import AuditEntry, CalendarFeed, Session
from accounts.sessions import SEEN
from core.pagination import paginate
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
        feed = calendar.feed(user, host, request.build_absolute_uri)
        # A fetch is a download of the events, recorded as the token's owner's.
        audit.download(request, "calendar", feed.marking, feed.events, "ics", "", user)
    response = HttpResponse(feed.body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="engagements-{feed.marking}.ics"'
    return response


class SignInView(auth_views.LoginView):
    """Django's sign-in page with the system-use notice to accept; once signed in, the
    previous sign-in and the failed attempts since are said once."""

    form_class = SignInForm

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "notice": settings.USE_NOTICE}

    def form_valid(self, form):
        previous, failed = audit.since_last_sign_in(form.get_user())
        response = super().form_valid(form)
        if previous is None:
            said = "Welcome: this is your first sign-in."
        else:
            at = date_format(timezone.localtime(previous.at), "DATETIME_FORMAT")
            said = f"Your previous sign-in: {at}, from {previous.address or 'an unknown address'}."
        if failed:
            attempts = "attempt" if failed == 1 else "attempts"
            said += f" Since then, {failed} failed sign-in {attempts} on your account."
            messages.warning(self.request, said + " If they were not yours, tell your admin.")
        else:
            messages.info(self.request, said)
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


def _session_id(session_key):
    """How the sessions page names a session: never by its key (the cookie's value)."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:16]


def sessions(request):
    """The user's sessions and API tokens (started, last seen, address, browser), each with
    "end", and "sign out everywhere"."""
    if request.method == "POST":
        return _end_sessions(request)
    now = timezone.now()
    current = request.session.session_key
    own_sessions = [
        {
            "id": _session_id(session.session_key),
            "current": session.session_key == current,
            "started": session.started_at,
            "last_seen": session.last_seen,
            "address": session.address,
            "user_agent": session.user_agent,
        }
        for session in Session.objects.filter(user=request.user, expire_date__gt=now).order_by(
            "-last_seen"
        )
    ]
    tokens = (
        AuthToken.objects.filter(user=request.user)
        .filter(Q(expiry__isnull=True) | Q(expiry__gt=now))
        .select_related("activity")
        .order_by("-created")
    )
    return render(
        request,
        "accounts/sessions.html",
        {
            "sessions": own_sessions,
            "tokens": tokens,
            "idle_minutes": settings.SESSION_IDLE_MINUTES,
            "session_hours": settings.SESSION_HOURS,
        },
    )


def _end_sessions(request):
    user = request.user
    if "everywhere" in request.POST:
        end_sessions([user.pk])
        audit.record("sessions_ended", request=request, detail={"ended": "everywhere"})
        logout(request)
        messages.success(request, "You are signed out everywhere: every session and token.")
        return redirect("login")
    if "token" in request.POST:
        ended, _ = AuthToken.objects.filter(user=user, digest=request.POST["token"]).delete()
        what = "token"
    else:
        chosen = request.POST.get("session", "")
        keys = [
            key
            for key in Session.objects.filter(user=user).values_list("session_key", flat=True)
            if _session_id(key) == chosen
        ]
        if request.session.session_key in keys:  # ending this one is signing out
            logout(request)
            return redirect("login")
        ended, _ = Session.objects.filter(user=user, session_key__in=keys).delete()
        what = "session"
    if ended:
        audit.record("sessions_ended", request=request, detail={"ended": what})
        messages.success(request, f"The {what} has ended.")
    else:
        messages.info(request, f"That {what} had already ended.")
    return redirect("sessions")


@require_POST
def session_ping(request):
    """ "Stay signed in": a request that counts as use (the idle warning's button)."""
    request.session[SEEN] = time.time()
    return JsonResponse({"idle_seconds": settings.SESSION_IDLE_MINUTES * 60})


@permission_required("accounts.view_auditentry", raise_exception=True)
def audit_list(request):
    """The audit trail for admins, newest first: entries within their clearance."""
    visible = AuditEntry.objects.restrict(request.user)
    filterset = AuditFilterSet(request.GET, queryset=visible, request=request)
    entries = filterset.qs if filterset.is_valid() else visible.none()
    try:
        page = paginate(entries, ["-at", "-id"], 100, request.GET.get("cursor"))
    except ValidationError:
        page = paginate(entries, ["-at", "-id"], 100)
    shown(request, *(entry.marking for entry in page))
    return render(request, "accounts/audit_list.html", {"filterset": filterset, "page": page})
