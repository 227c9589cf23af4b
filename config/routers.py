"""Reads on PostgreSQL replicas, writes on the primary (`DATABASE_REPLICA_URLS`).

Only requests read from a replica, and only requests with a safe method (GET, HEAD,
OPTIONS) from a client that has not written anything in the last
`REPLICA_PIN_SECONDS`: a request that may write (any other method) runs on the primary
and marks its client with a short-lived cookie, so that the client's next reads see its
own write even while the replicas lag behind. Everything else stays on the primary: writes,
who is signed in and what they may do (sessions, API tokens, users, roles, permissions),
every query inside a transaction (`atomic()`, `select_for_update()`), management commands,
and streamed downloads (their rows are read after the request has returned, each chunk
through the marking gate on the primary).

One request reads from one replica, chosen when it starts, so that the report cache's data
stamp and the numbers computed under it come from the same copy of the data.
"""

import contextvars
import random

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

PIN_COOKIE = "primary_reads"

# The replica this request reads from, or None (the primary).
_reads_from = contextvars.ContextVar("reads_from", default=None)


# Who is signed in and what they may do is always read from the primary: a sign-out, a
# revoked API token or a role taken away counts at once, not once the replicas catch up.
PRIMARY_APPS = {"sessions", "knox", "auth", "accounts"}


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        alias = _reads_from.get()
        if (
            alias is None
            or model._meta.app_label in PRIMARY_APPS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints):
        # Explicitly the primary: an object read on a replica is saved on the primary.
        return DEFAULT_DB_ALIAS

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Replicas copy the primary's schema; nothing is migrated on them.
        return db == DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replicas hold the primary's rows: objects read from either belong together.
        databases = {DEFAULT_DB_ALIAS, *settings.DATABASE_REPLICAS}
        if {obj1._state.db, obj2._state.db} <= databases:
            return True
        return None


class ReplicaMiddleware:
    """Chooses where a request reads from (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        replicas = settings.DATABASE_REPLICAS
        if not replicas:
            return self.get_response(request)
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        alias = None if writes or PIN_COOKIE in request.COOKIES else random.choice(replicas)
        token = _reads_from.set(alias)
        try:
            response = self.get_response(request)
        finally:
            _reads_from.reset(token)
        if writes:
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
