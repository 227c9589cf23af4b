"""Database helpers shared by the apps."""

import contextlib

from django.db import connections


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
