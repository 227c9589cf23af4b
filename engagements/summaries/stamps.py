"""The counters that date what is cached: a report computed under a stamp is stale once
a write that moves it commits."""

import secrets

from django.db import connections, router
from django.db.models import F

from core.db import forget_read_along, prepared_cursor, read_along, read_along_with_token
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
    forget_read_along()  # the stamp read with this request's token is the old one now


def stamp():
    """The data stamp, (value, nonce): asked at every report request (its cache key). An
    API call has read it along with its token where it reads its data on the same database
    (`read_along_with_stamp`); otherwise asked in the plainest SQL (the ORM's compiling of
    even this query costs more than running it), planned once per connection
    (`prepared_cursor`)."""
    database = router.db_for_read(ReportStamp)
    value = read_along("data_stamp", database)
    if value is not None:
        return value, read_along("data_stamp_nonce", database)
    with prepared_cursor(database) as cursor:
        cursor.execute(_stamp_sql(connections[database], "value, nonce"), [DATA_STAMP])
        row = cursor.fetchone()
    return tuple(row) if row else (0, 0)


def _stamp_sql(connection, columns, row="%s"):
    table = connection.ops.quote_name(ReportStamp._meta.db_table)
    return f"SELECT {columns} FROM {table} WHERE id = {row}"


def read_along_with_stamp():
    """Every API token's query also reads the data stamp (core.db.read_along_with_token):
    a report API call then makes one query, its token's, where it made two. Called when
    the app is ready."""
    connection = connections[router.db_for_write(ReportStamp)]
    read_along_with_token("data_stamp", _stamp_sql(connection, "value", DATA_STAMP))
    read_along_with_token("data_stamp_nonce", _stamp_sql(connection, "nonce", DATA_STAMP))


def stamps():
    """(the data stamp, the directory stamp), in one query."""
    rows = ReportStamp.objects.filter(pk__in=[DATA_STAMP, DIRECTORY_STAMP])
    values = {pk: (value, nonce) for pk, value, nonce in rows.values_list("pk", "value", "nonce")}
    return values.get(DATA_STAMP, (0, 0)), values.get(DIRECTORY_STAMP, (0, 0))
