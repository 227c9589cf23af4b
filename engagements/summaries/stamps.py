"""The counters that date what is cached: a report computed under a stamp is stale once
a write that moves it commits."""

import secrets

from django.db import connections, router
from django.db.models import F

from core.db import prepared_cursor
from roadmap.models import ReportStamp

# Rows of ReportStamp. DATA grows with everything a report counts. DIRECTORY grows only
# with the names and options pages draw from the partner directory and the roadmap
# (partners, pillars, facets, tips): what depends on those alone (the engagement list's
# filter panel and its rows, cached at their versions) stays cached while engagements are
# written.
DATA_STAMP, DIRECTORY_STAMP = 1, 2


def bump_stamp(row=DATA_STAMP):
    """Inside the writing transaction: what was cached under the stamp is stale once it
    commits."""
    nonce = secrets.randbits(62)
    updated = ReportStamp.objects.filter(pk=row).update(value=F("value") + 1, nonce=nonce)
    if not updated:
        ReportStamp.objects.bulk_create(
            [ReportStamp(pk=row, value=1, nonce=nonce)], ignore_conflicts=True
        )


def stamp():
    """The data stamp, (value, nonce): asked at every report request (its cache key), so in
    the plainest SQL (the ORM's compiling of even this query costs more than running it),
    planned once per connection (`prepared_cursor`)."""
    database = router.db_for_read(ReportStamp)
    connection = connections[database]
    with prepared_cursor(database) as cursor:
        cursor.execute(
            f"SELECT value, nonce FROM {connection.ops.quote_name(ReportStamp._meta.db_table)} "
            "WHERE id = %s",
            [DATA_STAMP],
        )
        row = cursor.fetchone()
    return tuple(row) if row else (0, 0)


def stamps():
    """(the data stamp, the directory stamp), in one query."""
    rows = ReportStamp.objects.filter(pk__in=[DATA_STAMP, DIRECTORY_STAMP])
    values = {pk: (value, nonce) for pk, value, nonce in rows.values_list("pk", "value", "nonce")}
    return values.get(DATA_STAMP, (0, 0)), values.get(DIRECTORY_STAMP, (0, 0))
