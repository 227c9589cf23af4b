"""Database helpers shared by the apps."""

import contextlib
import contextvars

from django.core.signals import request_finished, request_started
from django.db import connections
from django.dispatch import receiver


@contextlib.contextmanager
def local_settings(connection, settings):
    """PostgreSQL run-time settings (e.g. {"work_mem": "64MB"}) for the statements inside
    the block, then back to what they were; inside a transaction (`atomic()`), which
    keeps them (`set_config(…, true)`, as SET LOCAL) even if the block fails. Nothing on
    other databases."""
    if connection.vendor != "postgresql" or not settings:
        yield
        return
    with connection.cursor() as cursor:
        before = {}
        for name, value in settings.items():
            cursor.execute(
                "SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value]
            )
            before[name] = cursor.fetchone()[0]
    yield
    with connection.cursor() as cursor:
        for name, value in before.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


@contextlib.contextmanager
def prepared_cursor(using):
    """A cursor for the few queries asked at nearly every request (a token with its user, the
    data stamp). On PostgreSQL it binds its parameters on the server, so that psycopg
    prepares a query it has run a few times on a connection (`prepare_threshold`, off behind
    PgBouncer) and PostgreSQL plans it once there instead of at every request: planning the
    token's join cost PostgreSQL three times what running it did. Django's own cursors bind
    on the client, which never prepares (and server-side binding for every query would
    change how the ORM's other queries compile). Elsewhere, a cursor like any other."""
    connection = connections[using]
    with connection.cursor() as cursor:
        prepares = connection.vendor == "postgresql"
        if prepares and connection.connection.prepare_threshold is not None:
            from psycopg import Cursor  # PostgreSQL's driver, imported only where it is used

            cursor.cursor.close()  # Django's, binding on the client: ours instead
            cursor.cursor = Cursor(connection.connection)
        yield cursor


# Read along with the token ---------------------------------------------------------------
# A value asked at nearly every API call (the report cache's data stamp) is selected by the
# call's first query, its token's (accounts.authentication), as a scalar subquery that the
# app owning the value registers here when it is ready, instead of in a round trip of its
# own. The rest of the request finds it with `read_along`; nothing outlives the request.

_along_with_token = {}
_read_along = contextvars.ContextVar("read_along", default=None)


def read_along_with_token(name, sql):
    """From now on, every API token's query also selects `sql` (a scalar subquery without
    parameters) as `name`. Registered in an AppConfig.ready(), before any request."""
    _along_with_token[name] = sql


def along_with_token():
    """What a token's query selects besides the token and its user: [(name, sql)]."""
    return list(_along_with_token.items())


def keep_read_along(database, values):
    """For the rest of this request: `values` ({name: value}) as read on `database`."""
    _read_along.set((database, values))


def read_along(name, database):
    """`name`'s value as this request read it along on `database`; None if it did not
    (another database: a replica; no token; or forgotten since)."""
    kept = _read_along.get()
    return kept[1].get(name) if kept is not None and kept[0] == database else None


@receiver(request_started, dispatch_uid="core.db.forget_read_along_at_start")
@receiver(request_finished, dispatch_uid="core.db.forget_read_along_at_end")
def forget_read_along(**kwargs):
    """Called as a request starts and ends, and by a write that moves such a value."""
    _read_along.set(None)
