from django.contrib.auth.middleware import LoginRequiredMiddleware as BaseLoginRequired
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

NO_ROLE = "Your account has no role yet. Ask an admin to give you one."


class LoginRequiredMiddleware(BaseLoginRequired):
    """Every page needs a signed-in user with a role: anonymous users go to sign in, and
    a user without a role gets 403 on every page and download (signing out still works).
    The API answers 401/403 itself (`config.permissions.HasRole`), so it is left to DRF."""

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


class RejectNullCharactersMiddleware:
    """A NUL character is never valid input here, and PostgreSQL refuses it in any query
    (a server error). Refuse it at the door, in the path, query string or form data."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        values = [request.path]
        values += [v for _, vs in request.GET.lists() for v in vs]
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += [v for _, vs in request.POST.lists() for v in vs if isinstance(v, str)]
        if any("\x00" in value for value in values):
            message = "Null characters are not allowed."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


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
