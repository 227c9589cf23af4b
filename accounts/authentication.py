"""API token authentication: django-rest-knox's, noting where and when each token was last
used (`TokenActivity`, listed on the user's sessions page).

Kept apart from accounts/api.py: DRF reads its authentication classes while it is still
loading its views, so this module must not import them."""

from django.core.cache import cache
from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication

from accounts.models import TokenActivity

# A token's "last seen" is written as often as a session's (each write is a database
# write; the shared cache remembers the last one, so that most requests query nothing).
from accounts.sessions import SEEN_EVERY_SECONDS
from core.addresses import client_address


def note_token_use(token, request, started=False):
    """Record that `token` was used by `request` now (or was issued by it: `started`)."""
    now = timezone.now()
    values = {
        "last_seen": now,
        "address": (client_address(request) or "")[:45],
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
    }
    if started:
        TokenActivity.objects.update_or_create(token=token, defaults=values)
    elif cache.add(f"token-seen:{token.pk}", True, SEEN_EVERY_SECONDS):
        TokenActivity.objects.filter(token=token).update(**values)


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            note_token_use(result[1], request)
        return result
