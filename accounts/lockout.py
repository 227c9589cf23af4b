from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import JsonResponse
from django.shortcuts import render


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler, which locks one account from one address
    (AXES_LOCKOUT_PARAMETERS), plus a cap on the failures from one address whatever the
    accounts tried (password spraying): ADDRESS_FAILURE_LIMIT in any cool-off period.

    Both count the same recorded failures, so neither is extended by attempts made while
    it holds (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False records none).
    """

    def get_failures(self, request, credentials=None):
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if failures < limit and self.address_failures(request) >= settings.ADDRESS_FAILURE_LIMIT:
            request.axes_address_locked = True
            return limit
        return failures

    def address_failures(self, request):
        recent = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,
            attempt_time__gte=get_cool_off_threshold(request),
        )
        return recent.aggregate(n=Sum("failures_since_start"))["n"] or 0


def lockout_response(request, original_response, credentials):
    """What a locked-out client sees: JSON from the API, a page in the browser (429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    locked = (
        "from this address"
        if getattr(request, "axes_address_locked", False)
        else "for this account"
    )
    message = f"Too many failed sign-in attempts {locked}. Try again in {minutes} minutes."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)
