"""Database helpers shared by the apps."""

import contextlib


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
