from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def lockout_response(request, original_response, credentials):
    """What a locked-out account sees: JSON from the API, a page in the browser (429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = f"Too many failed sign-in attempts for this account. Try again in {minutes} minutes."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)
