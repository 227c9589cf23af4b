"""DRF's rate limits, counting per client address as core/addresses.py defines it."""

from rest_framework import throttling

from core.addresses import client_address


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_ident(self, request):
        return client_address(request)


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    def get_ident(self, request):
        return client_address(request)
