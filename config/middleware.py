import functools

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as BaseLoginRequired
from django.contrib.messages.middleware import MessageMiddleware as BaseMessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject, empty

from core.uploads import limit_for

NO_ROLE = "Your account has no role yet. Ask an admin to give you one."


class LoginRequiredMiddleware(BaseLoginRequired):
    """Every page needs a signed-in user with a role: anonymous users go to sign in, and
    a user without a role gets 403 on every page and download (signing out still works).
    The API answers 401/403 itself (`core.permissions.HasRole`), so it is left to DRF."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        refused = super().process_view(request, view_func, view_args, view_kwargs)
        if refused is not None or not getattr(view_func, "login_required", True):
            return refused
        if request.user.is_authenticated and not request.user.role:
            if request.resolver_match and request.resolver_match.url_name == "logout":
                return None
            return render(request, "403.html", {"exception": NO_ROLE}, status=403)
        return None


class MessageMiddleware(BaseMessageMiddleware):
    """Django's, except that a request's message storage is made when a message is first
    added or read: an API answer, most requests, does neither, and making the storage (a
    cookie's signer and the session's) cost it more than some whole middleware."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        storage = getattr(request, "_messages", None)
        if isinstance(storage, SimpleLazyObject) and storage._wrapped is empty:
            return response  # never used: nothing to keep for the next request
        return super().process_response(request, response)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's, except that a response with no policy of its own and no nonce (nearly
    all: no page uses a nonce) gets the site's policy built once per process, not once per
    response, where building it costs a fair part of a cached API answer."""

    OWN_POLICY = ("_csp_config", "_csp_update", "_csp_replace", "_csp_exempt")

    def process_response(self, request, response):
        policy = site_policy()
        if (
            policy is None
            or getattr(request, "_csp_nonce", None) is not None
            or any(getattr(response, name, None) for name in self.OWN_POLICY)
        ):
            return super().process_response(request, response)
        if HEADER not in response:
            response[HEADER] = policy
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


@functools.cache
def site_policy():
    """The site's policy, or None where django-csp decides each response's (DEBUG, a
    report-only policy, URL prefixes left out)."""
    if (
        settings.DEBUG
        or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        or settings.CONTENT_SECURITY_POLICY.get("EXCLUDE_URL_PREFIXES")
    ):
        return None
    return build_policy()


@receiver(setting_changed)
def policy_changed(setting, **kwargs):
    if setting in ("DEBUG", "CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"):
        site_policy.cache_clear()


class BodyLimitMiddleware:
    """A request body over its view's limit (`core.uploads.body_limit`, else
    DATA_UPLOAD_MAX_MEMORY_SIZE) is refused from its Content-Length, 413, before any
    middleware or view reads it: Django would otherwise read a multipart upload whole (to
    memory or a temporary file) as soon as anything touches `request.POST`, the CSRF check
    included. Above every middleware whose `process_view` may read the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = limit_for(view_func)
        if length <= limit:
            return None
        message = f"The request is {length:,} bytes; this address takes up to {limit:,}."
        if request.path_info.startswith("/api/"):
            if request.content_type == "application/json":  # bad input, as the API says it
                detail = f"JSON parse error - body too large (over {limit} bytes)"
                return JsonResponse({"detail": detail}, status=400)
            return JsonResponse({"detail": message}, status=413)
        return render(request, "413.html", {"message": message}, status=413)


class RejectNullCharactersMiddleware:
    """A NUL character is never valid input here, and PostgreSQL refuses it in any query
    (a server error). Refuse it at the door, in the path, query string or form data
    (once the body's size has been checked: BodyLimitMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        values = [request.path]
        values += [v for _, vs in request.GET.lists() for v in vs]
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += [v for _, vs in request.POST.lists() for v in vs if isinstance(v, str)]
        if any("\x00" in value for value in values):
            message = "Null characters are not allowed."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message)
        return None


class NoStoreMiddleware:
    """Pages, downloads and API answers may hold marked content: no browser, proxy or
    shared cache may keep a copy (`Cache-Control: no-store`, added to whatever a view
    set). Static files are served by WhiteNoise, above this in the chain, and keep their
    long caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_cache_control(response, no_store=True)
        return response
