"""Sessions that end: the session engine (`SESSION_ENGINE = "accounts.sessions"`) and the
middleware that keeps each session's times.

Django's database sessions, stored in `accounts.Session`, which records the account each
session signs in (so that all of an account's can be ended at once), when it started, when
it was last used, from which address and browser (the user's sessions page lists them).
A session ends after SESSION_IDLE_MINUTES without a request and after SESSION_HOURS in any
case (NIST SP 800-53 AC-11/AC-12; 800-63B's AAL2 asks for 30 minutes idle).
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.dispatch import receiver

from core.addresses import client_address

# Where the times live in a session's data (and, copied by the store, in its columns).
STARTED, SEEN, ADDRESS, AGENT = "_started", "_seen", "_address", "_agent"
# A session's "last seen" is written at most this often (each write is a database write).
SEEN_EVERY_SECONDS = 60


class SessionStore(DatabaseStore):
    @classmethod
    def get_model_class(cls):
        from accounts.models import Session

        return Session

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        try:
            session.user_id = int(data.get(SESSION_KEY))
        except (TypeError, ValueError):
            session.user_id = None
        if STARTED in data:
            session.started_at = _moment(data[STARTED])
            session.last_seen = _moment(data.get(SEEN, data[STARTED]))
            session.address = data.get(ADDRESS, "")[:45]
            session.user_agent = data.get(AGENT, "")[:300]
        return session


def _moment(seconds):
    import datetime

    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


class SessionLimitMiddleware:
    """After authentication: a signed-in session idle longer than SESSION_IDLE_MINUTES,
    or older than SESSION_HOURS, ends here (the request goes on signed out, so a page
    sends to the sign-in page and the API answers 401); otherwise its last use is noted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if SESSION_KEY in session:
            now = time.time()
            started, seen = session.get(STARTED), session.get(SEEN)
            if started is None:
                _stamp(request, now)
            elif now - seen > settings.SESSION_IDLE_MINUTES * 60:
                minutes = settings.SESSION_IDLE_MINUTES
                unit = "minute" if minutes == 1 else "minutes"
                _end(request, f"You were signed out after {minutes} {unit} without use.")
            elif now - started > settings.SESSION_HOURS * 3600:
                _end(
                    request,
                    f"You were signed out: a session lasts {settings.SESSION_HOURS} hours at most.",
                )
            elif now - seen > SEEN_EVERY_SECONDS:
                session[SEEN] = now
        return self.get_response(request)


@receiver(user_logged_in, dispatch_uid="accounts.sessions.stamp")
def stamp_new_session(sender, request, user, **kwargs):
    """A session is born with its times, saved with the sign-in's own session write."""
    if request is not None and hasattr(request, "session"):
        _stamp(request, time.time())


def _stamp(request, now):
    session = request.session
    session[STARTED] = session[SEEN] = now
    session[ADDRESS] = client_address(request) or ""
    session[AGENT] = request.META.get("HTTP_USER_AGENT", "")[:300]


def _end(request, why):
    logout(request)
    messages.info(request, why + " Sign in again to go on.")


def limits(request):
    """Context processor: the idle limit in seconds, for the idle warning."""
    return {"session_idle_seconds": settings.SESSION_IDLE_MINUTES * 60}
