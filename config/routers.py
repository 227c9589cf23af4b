"""Reads on PostgreSQL replicas, writes on the primary (`DATABASE_REPLICA_URLS`).

Only requests read from a replica, and only requests with a safe method (GET, HEAD,
OPTIONS). Everything else stays on the primary: writes, who is signed in and what they may
do (sessions, API tokens, users, roles, permissions), every query inside a transaction
(`atomic()`, `select_for_update()`), management commands, and streamed downloads (their
rows are read after the request has returned, each chunk through the marking gate on the
primary).

Read-your-writes, per user, on every app server (GitLab's way): after a request that may
write, the primary's WAL position is kept in the shared cache for the user who made it
(signed in by session or by API token alike). That user's reads go to a replica only once
it has replayed past that position, otherwise to the primary; other users read from the
replicas as they are. A position is kept for `REPLICA_PIN_SECONDS` at most. (Where the
primary has no WAL position to give, as with SQLite in tests, the user reads from the
primary for that long.)

One request reads from one database, chosen at its first read of data, so that the report
cache's data stamp and the numbers computed under it come from the same copy of the data.
"""

import contextvars
import random

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections

from core.cache import SHARED

# The choice of this request (a `_Choice`), or None: every read on the primary.
_reads_from = contextvars.ContextVar("reads_from", default=None)

# Who is signed in and what they may do is always read from the primary: a sign-out, a
# revoked API token or a role taken away counts at once, not once the replicas catch up.
PRIMARY_APPS = {"sessions", "knox", "auth", "accounts"}

# Kept for a user whose writes have no WAL position (a primary other than PostgreSQL).
NO_POSITION = "primary"


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        choice = _reads_from.get()
        if (
            choice is None
            or model._meta.app_label in PRIMARY_APPS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return choice.alias() or DEFAULT_DB_ALIAS

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


class _Choice:
    """Where a read request reads from, decided at its first read of data: by then the
    user is known, whether signed in by session or (in the API view) by token."""

    UNDECIDED = object()

    def __init__(self, request, replicas):
        self.request, self.replicas, self.chosen = request, replicas, self.UNDECIDED

    def alias(self):
        if self.chosen is self.UNDECIDED:
            self.chosen = None  # anything read while choosing is read on the primary
            self.chosen = choose(getattr(self.request, "user", None), self.replicas)
        return self.chosen


def choose(user, replicas):
    """A replica for `user` to read from (one that has replayed the user's last write),
    or None for the primary."""
    shuffled = random.sample(replicas, len(replicas))
    position = written_at(user)
    if position is None:
        return shuffled[0]
    if position == NO_POSITION:
        return None
    return next((alias for alias in shuffled if replayed_past(alias, position)), None)


def _key(user):
    # Shared by servers running different versions of the code during a deploy.
    return f"{SHARED}replica-position:{user.pk}"


def written_at(user):
    """The primary's WAL position after `user`'s last write, while it is kept."""
    if user is None or not user.is_authenticated:
        return None
    return cache.get(_key(user))


def note_write(user):
    """Keep the primary's WAL position now (after `user`'s write has committed)."""
    if user is None or not user.is_authenticated:
        return
    primary = connections[DEFAULT_DB_ALIAS]
    position = NO_POSITION
    if primary.vendor == "postgresql":
        with primary.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            position = cursor.fetchone()[0]
    cache.set(_key(user), position, settings.REPLICA_PIN_SECONDS)


def replayed_past(alias, position):
    """Whether the replica `alias` has replayed the primary's WAL up to `position`. A
    database that is not in recovery is a primary itself (a test mirror): it has."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT NOT pg_is_in_recovery()"
            " OR coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)",
            [position],
        )
        return cursor.fetchone()[0]


class ReplicaMiddleware:
    """Chooses where a request reads from (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        replicas = settings.DATABASE_REPLICAS
        if not replicas:
            return self.get_response(request)
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        token = _reads_from.set(None if writes else _Choice(request, replicas))
        try:
            response = self.get_response(request)
        finally:
            _reads_from.reset(token)
        if writes:
            # The user as the request ended: signed in by a token in the API view, or by
            # this very request (a sign-in).
            note_write(getattr(request, "user", None))
        return response
