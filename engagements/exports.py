"""Engagements as download rows, with the API's field names as column headers."""

import json
import tempfile

from django.core.exceptions import EmptyResultSet
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, connections, transaction
from django.db.models import Prefetch
from django.http import QueryDict
from django.urls import reverse

from accounts.choices import Marking
from accounts.models import highest_marking
from core.db import local_settings
from core.downloads import FORMULA_STARTS, write_xlsx
from engagements.fields import API_FIELDS
from engagements.filters import filtered_list
from engagements.models import Engagement, EngagementPartner
from partners.models import Partner
from roadmap.models import Facet, Pillar, Tip

EXPORT_FIELDS = API_FIELDS  # downloads use the API's names, so they import back


def with_relations(engagements):
    """Everything a list row, a download row or an API answer shows, in a fixed number of
    queries (one per relation)."""
    return engagements.select_related("created_by").prefetch_related(
        Prefetch(
            "partner_links",
            queryset=EngagementPartner.objects.select_related("partner").order_by("id"),
        ),
        "pillars",
        "facets",
        "tips",
    )


CHUNK = 5000  # rows fetched from the server-side cursor at a time

# Each many-valued column: its link table, the column naming the related row, and the
# related model with the field shown and the field it sorts by.
RELATIONS = {
    "partners": (EngagementPartner, "partner_id", Partner, "code", None),
    "pillars": (Engagement.pillars.through, "pillar_id", Pillar, "code", "order"),
    "facets": (Engagement.facets.through, "facet_id", Facet, "code", "code"),
    "tips": (Engagement.tips.through, "tip_id", Tip, "number", "number"),
}
SCALARS = [
    "created_by__username" if name == "created_by" else name
    for name in EXPORT_FIELDS
    if name not in RELATIONS
]


def export_rows(engagements):
    """The download rows of `engagements` (visible to the reader, filtered and ordered):
    iterating gives them as values (`python_rows()`); on PostgreSQL a CSV download asks
    for them as CSV lines instead (`ExportRows.csv_chunks()`)."""
    return ExportRows(engagements)


class ExportRows:
    def __init__(self, engagements):
        self.engagements = engagements
        self.count = 0  # rows written as CSV lines by `csv_chunks()`, once streamed

    def __iter__(self):
        return python_rows(self.engagements)

    def csv_chunks(self):
        """CSV lines (bytes, without the header) written by PostgreSQL's COPY, or None
        where the database is not PostgreSQL: then the rows are written in Python. The
        lines are counted in `count` as they go (for the download's audit entry)."""
        if connections[self.engagements.db].vendor != "postgresql":
            return None
        return copy_csv(self.engagements, self)


def python_rows(engagements):
    """Rows of values in EXPORT_FIELDS order; codes joined by "; " in many-valued columns.

    The scalar columns come from one query read through a server-side cursor on
    PostgreSQL (`iterator()`): one consistent snapshot of the visible engagements
    (`engagements` must be `restrict(user)`, filtered and ordered), so nothing raised
    above the reader's clearance after the download started can reach it, in constant
    memory. For each chunk of rows the relations are read as id pairs (one query per
    relation, the chunk's ids as one array parameter) and mapped to codes in memory.
    Relations hold codes only, never marked text. No model instances, no query per row.
    """
    codes, order = {}, {}
    for name, (_, _, model, shown, sort) in RELATIONS.items():
        values = model.objects.values_list("id", shown, *([sort] if sort else []))
        codes[name] = {row[0]: str(row[1]) for row in values}
        order[name] = {row[0]: row[-1] for row in values} if sort else None
    chunk = []
    for row in engagements.values_list(*SCALARS).iterator(chunk_size=CHUNK):
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield from _with_relations(chunk, codes, order)
            chunk = []
    yield from _with_relations(chunk, codes, order)


def _with_relations(rows, codes, order):
    if not rows:
        return
    ids = [row[0] for row in rows]
    related = {}
    for name, (link, column, *_) in RELATIONS.items():
        grouped = related[name] = {}
        for engagement_id, target in _link_pairs(link, column, ids):
            grouped.setdefault(engagement_id, []).append(target)
    for row in rows:
        values = dict(zip(SCALARS, row, strict=True))
        values["created_by"] = values.pop("created_by__username")
        for name, grouped in related.items():
            targets = grouped.get(row[0], ())
            if order[name] is not None:
                targets = sorted(targets, key=order[name].get)
            values[name] = "; ".join(codes[name][target] for target in targets)
        yield [values[name] for name in EXPORT_FIELDS]


def _link_pairs(link, column, ids):
    """(engagement id, related id) pairs of a link table for these engagements, in the
    order they were linked (partners: the lead first)."""
    table = link._meta.db_table
    if connection.vendor == "postgresql":  # one array parameter: far quicker than IN (…)
        where, params = "engagement_id = ANY(%s)", [ids]
    else:
        where, params = f"engagement_id IN ({', '.join(['%s'] * len(ids))})", ids
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT engagement_id, {column} FROM {table} WHERE {where} ORDER BY id", params
        )
        return cursor.fetchall()


# PostgreSQL: the whole CSV from one COPY statement --------------------------------------

COPY_CHUNK = 256 * 1024  # bytes of CSV per piece of the streamed response

# For the one COPY statement: room to hash the visible ids and sort the links in memory
# (not on disk); no parallel workers (`string_agg()` must see each engagement's links in
# the sorted order, not as workers hand them back); no JIT (compiling a plan this size
# costs more than it saves). docs/performance.md has the measurements.
COPY_SETTINGS = {
    "work_mem": "64MB",
    "max_parallel_workers_per_gather": "0",
    "jit": "off",
    "DateStyle": "ISO, YMD",  # a date cast to text is YYYY-MM-DD, whatever the server's
}


def copy_csv(engagements, tally=None):
    """The CSV lines of `engagements` (bytes, no header), written by PostgreSQL; each
    adds one to `tally.count` when given.

    One `COPY (SELECT …) TO STDOUT` statement: one consistent snapshot, read as the
    server sends it, so the worker holds one piece at a time whatever the table's size.
    The SELECT starts from the same queryset as `python_rows()` (visible, filtered,
    ordered) and formats every cell as `downloads.csv_response()` does in Python, so the
    bytes are the same: empty text and no value both as an empty cell (NULL: COPY
    writes an empty string as `""`), ISO dates and times, relation codes joined by "; "
    in the same order, and the formula guard of `downloads.csv_text()`. Python's
    csv.writer and COPY quote the same cells (those holding `,`, `"`, CR or LF, quotes
    doubled); only the line end differs, and is rewritten here.
    """
    # Chosen when the response streams, so on the primary (config/routers.py).
    database = connections[engagements.db]
    try:
        sql, params = _copy_sql(engagements, database)
    except EmptyResultSet:
        return
    with (
        transaction.atomic(using=database.alias),
        local_settings(database, COPY_SETTINGS),
        database.cursor() as cursor,
        cursor.cursor.copy(sql, params) as copy,
    ):
        chunk = bytearray()
        for line in copy:  # one row at a time, ending in "\n"
            chunk += line[:-1]
            chunk += b"\r\n"
            if tally is not None:
                tally.count += 1
            if len(chunk) >= COPY_CHUNK:
                yield bytes(chunk)
                chunk.clear()
    # The last piece goes out once the statement and its transaction are over, so the
    # connection is free again while the client reads it.
    if chunk:
        yield bytes(chunk)


def _copy_sql(engagements, connection):
    """COPY of the engagements in the queryset's order, each with its relations from one
    grouped subquery, all four relations in one pass: the links of the same visible,
    filtered engagements (a few index entries for a filtered download), or of every
    engagement when the download is most of the table (`_most_of_the_table`)."""
    qn = connection.ops.quote_name
    if engagements.query.is_empty():
        raise EmptyResultSet
    ordering = engagements.query.order_by or Engagement._meta.ordering  # field names
    keys = [name.lstrip("-") for name in ordering]
    inner, params = (
        engagements.order_by()
        .values_list(*SCALARS, *keys)
        .query.get_compiler(connection=connection)
        .as_sql()
    )
    ids, ids_params = (
        engagements.order_by().values("id").query.get_compiler(connection=connection).as_sql()
    )
    if _most_of_the_table(connection, ids, ids_params):
        ids, ids_params = None, ()
    names = ["created_by" if name == "created_by__username" else name for name in SCALARS]
    names += [f"csv_key_{number}" for number in range(len(keys))]
    columns = [
        f"r.{qn(name)}" if name in RELATIONS else _cell_sql(name, f"e.{qn(name)}")
        for name in EXPORT_FIELDS
    ]
    order = [
        f"e.csv_key_{number} {'DESC' if name.startswith('-') else 'ASC'}"
        for number, name in enumerate(ordering)
    ]
    sql = (
        f"COPY (SELECT {', '.join(columns)}"
        f" FROM ({inner}) e ({', '.join(qn(name) for name in names)})"
        f" LEFT JOIN ({_relations_sql(ids, qn)}) r ON r.id = e.id"
        f"{' ORDER BY ' if order else ''}{', '.join(order)}) TO STDOUT WITH (FORMAT csv)"
    )
    return sql, (*params, *ids_params)


# Above this share of the table, the relations of every engagement are grouped (the join
# with the download's rows keeps its own): cheaper than looking up which links belong to
# a download of most of the table, which means hashing its ids and probing every link
# with them.
MOST_OF_THE_TABLE = 0.5


def _most_of_the_table(connection, ids, params):
    """Whether PostgreSQL's planner expects the query `ids` to find more than
    MOST_OF_THE_TABLE of the engagements (its own estimates: no rows are read)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {ids}", params)
        plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
            [Engagement._meta.db_table],
        )
        table_rows = cursor.fetchone()[0]
    return table_rows > 0 and plan[0]["Plan"]["Plan Rows"] > MOST_OF_THE_TABLE * table_rows


def _relations_sql(ids, qn):
    """engagement id → the codes of each relation joined by "; ", in `python_rows()`'s
    order, for the engagements of the query `ids` (None: of every engagement). The links
    of all four relations come in one sorted stream (engagement, relation, rank: the
    link's id for partners, the related row's place in its sort order for the others),
    and `string_agg()` joins each group's rows in the order the sorted subquery hands
    them over (no parallel workers here: COPY_SETTINGS)."""
    branches, aggregates = [], []
    for number, (name, (link, column, model, shown, sort)) in enumerate(RELATIONS.items()):
        table = qn(model._meta.db_table)
        if sort is None:
            target, rank = table, "l.id"
        else:
            target = (
                f"(SELECT id, {qn(shown)}, ROW_NUMBER() OVER (ORDER BY {qn(sort)}, id) AS rank"
                f" FROM {table})"
            )
            rank = "t.rank"
        branches.append(
            f"SELECT l.engagement_id AS id, {number} AS relation, {rank} AS rank,"
            f" CAST(t.{qn(shown)} AS text) AS code"
            f" FROM {qn(link._meta.db_table)} l JOIN {target} t ON t.id = l.{qn(column)}"
        )
        codes = f"string_agg(code, '; ') FILTER (WHERE relation = {number})"
        aggregates.append(f"{_csv_text_sql(codes)} AS {qn(name)}")
    return (
        f"SELECT id, {', '.join(aggregates)}"
        f" FROM (SELECT * FROM ({' UNION ALL '.join(branches)}) links"
        f"{f' WHERE id IN ({ids})' if ids else ''} ORDER BY id, relation, rank) links"
        " GROUP BY id"
    )


def _cell_sql(name, value):
    """A scalar column as `downloads._csv_cell()` writes it. Each function call here runs a
    million times for the whole table: a date is cast (ISO under COPY_SETTINGS' DateStyle,
    cheaper than `to_char()`), a time formatted once, and a choice column, which
    the database holds to its choices (a CHECK constraint), never starts like a formula."""
    internal = Engagement._meta.get_field(name).get_internal_type()
    if name in CHECKED_CHOICES:
        return value
    if name == "created_by" or internal in ("CharField", "TextField"):
        return _csv_text_sql(value)
    if internal == "BooleanField":  # as Python's csv writes True and False, not t and f
        return f"CASE WHEN {value} THEN 'True' WHEN NOT {value} THEN 'False' END"
    if internal == "DateField":
        return f"CAST({value} AS TEXT)"
    if internal == "DateTimeField":  # datetime.isoformat() in UTC: microseconds if any
        utc = f"({value} AT TIME ZONE 'UTC')"
        return f"replace(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '') || '+00:00'"
    return value  # numbers


# Choice columns, which the database keeps to their choices (Engagement.Meta.constraints:
# a choice field has its CHECK constraint, tests/test_constraints.py), none of which is
# empty or starts like a formula (tests/test_download_copy.py checks).
CHECKED_CHOICES = tuple(
    field.name
    for field in Engagement._meta.concrete_fields
    if field.choices and field.name in EXPORT_FIELDS
)


def _csv_text_sql(value):
    """`downloads.csv_text()` in SQL, with NULL for an empty text. Most cells start with
    neither a formula character nor a quote: for them the first test decides, and `ltrim()`
    does not copy the text, as it would for every cell if it came first."""
    starts = ", ".join(f"chr({ord(character)})" for character in FORMULA_STARTS)
    return (
        f"CASE WHEN left({value}, 1) IN ({starts}, '''')"
        f" AND left(ltrim({value}, ''''), 1) IN ({starts})"
        f" THEN '''' || {value} ELSE NULLIF({value}, '') END"
    )


# A whole-table XLSX: written by a background job into the default storage (never under a
# public URL), downloaded by its starter through `views.export_download`, kept this long.
def export_file_name(job):
    return f"exports/engagements-job-{job.pk}.xlsx"


def write_export(job, user, query):
    """Write the engagement list for `query` (the list page's query string) as `user` may
    see it now into the default storage, recording progress on `job`; returns the job's
    result: the file's name for people, its rows, its highest marking and where to get it."""
    _, engagements, _, keyset = filtered_list(QueryDict(query), user)
    total = engagements.count()
    marking = highest_marking(engagements)
    name = export_file_name(job)
    with tempfile.TemporaryFile() as output:
        rows = write_xlsx(
            output,
            f"engagements-{marking}",
            EXPORT_FIELDS,
            python_rows(engagements.order_by(*keyset)),
            Marking.banner(marking),
            step=lambda done: job.step(done, total),
        )
        output.seek(0)
        default_storage.delete(name)  # a job tried again writes its file afresh
        default_storage.save(name, File(output))
    return {
        "filename": f"engagements-{marking}.xlsx",
        "rows": rows,
        "marking": marking,
        "download": reverse("engagements:export-download", args=[job.pk]),
    }
