"""Engagements as download rows, with the API's field names as column headers."""

from django.db import connection
from django.db.models import Prefetch

from engagements.choices import API_FIELDS
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
    """Rows of values in EXPORT_FIELDS order; codes joined by "; " in many-valued columns.

    The scalar columns come from one query read through a server-side cursor on
    PostgreSQL (`iterator()`): one consistent snapshot of the visible engagements
    (`engagements` must be `visible_to(user)`, filtered and ordered), so nothing raised
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
