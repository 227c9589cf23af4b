"""Which address a request comes from: one rule for the sign-in lockout (django-axes) and
the API's rate limits (DRF)."""

import ipaddress

from django.conf import settings


def client_address(request):
    """`REMOTE_ADDR`, unless the deployment sits behind `TRUSTED_PROXIES` proxies.

    Each proxy appends the address it received the request from to `X-Forwarded-For`, so
    behind n proxies the n-th entry from the right was written by our own first proxy;
    whatever stands left of it came from the client and may be forged. The header is
    ignored altogether when no proxy is trusted (the default), as DRF does with
    `NUM_PROXIES = 0`.
    """
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not proxies or not forwarded.strip():
        return remote
    entries = [entry.strip() for entry in forwarded.split(",")]
    try:
        return str(ipaddress.ip_address(entries[-min(proxies, len(entries))]))
    except ValueError:  # not an address: a misconfigured proxy, never a reason for a 500
        return remote
