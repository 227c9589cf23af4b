"""API token authentication: django-rest-knox's, noting where and when each token was last
used (`TokenActivity`, listed on the user's sessions page).

Kept apart from accounts/api.py: DRF reads its authentication classes while it is still
loading its views, so this module must not import them."""

import binascii
import time
from hmac import compare_digest

from django.core.cache import cache
from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import TokenActivity

# A token's "last seen" is written as often as a session's (each write is a database
# write; the shared cache remembers the last one, so that most requests query nothing).
from accounts.sessions import SEEN_EVERY_SECONDS
from core.addresses import client_address

# When this process last asked the shared cache about each token (by its digest): it asks
# again only SEEN_EVERY_SECONDS later, so most API calls make no round trip for it.
_asked = {}


def note_token_use(token, request, started=False):
    """Record that `token` was used by `request` now (or was issued by it: `started`)."""
    if not started:
        moment = time.monotonic()
        if moment - _asked.get(token.digest, -SEEN_EVERY_SECONDS) < SEEN_EVERY_SECONDS:
            return
        if len(_asked) >= 10_000:
            _asked.clear()
        _asked[token.digest] = moment
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


def remove_expired_tokens(user):
    """Delete `user`'s expired tokens (done when a token is issued: see below)."""
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's token check in one query. knox's own also reads every token of the user on
    each request, to delete the expired ones: a second query on every API call, for work
    done instead when a token is issued (`remove_expired_tokens`). An expired token is
    refused (and deleted) as knox refuses it."""

    def authenticate_credentials(self, token):
        refused = AuthenticationFailed("Invalid token.")
        token = token.decode()
        try:
            digest = hash_token(token)
        except (TypeError, binascii.Error):
            raise refused from None
        candidates = AuthToken.objects.filter(
            token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]
        ).select_related("user")
        for auth_token in candidates:
            if compare_digest(digest, auth_token.digest):
                if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                    auth_token.delete()
                    raise refused
                return self.validate_user(auth_token)
        raise refused

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            note_token_use(result[1], request)
        return result
