"""Engagements as download rows, with the API's field names as column headers."""

from django.db import connection
from django.db.models import Prefetch
from django.db.models.expressions import RawSQL

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


def _codes_sql(link_table, target_table, target_column, order, value="code"):
    """A correlated subquery: the engagement's related codes, joined by "; " in order."""
    outer = Engagement._meta.db_table
    where = f"link.engagement_id = {outer}.id"
    joined = f"{link_table} link JOIN {target_table} target ON target.id = link.{target_column}"
    if connection.vendor == "postgresql":
        return (
            f"(SELECT string_agg(target.{value}::text, '; ' ORDER BY {order}) "
            f"FROM {joined} WHERE {where})"
        )
    # SQLite's group_concat keeps the order of an ordered subquery.
    return (
        f"(SELECT group_concat(code, '; ') FROM (SELECT CAST(target.{value} AS TEXT) AS code "
        f"FROM {joined} WHERE {where} ORDER BY {order}))"
    )


def _relation_columns():
    quote = connection.ops.quote_name
    return {
        "partners": _codes_sql(
            EngagementPartner._meta.db_table, Partner._meta.db_table, "partner_id", "link.id"
        ),
        "pillars": _codes_sql(
            Engagement.pillars.through._meta.db_table,
            Pillar._meta.db_table,
            "pillar_id",
            f"target.{quote('order')}",
        ),
        "facets": _codes_sql(
            Engagement.facets.through._meta.db_table,
            Facet._meta.db_table,
            "facet_id",
            "target.code",
        ),
        "tips": _codes_sql(
            Engagement.tips.through._meta.db_table,
            Tip._meta.db_table,
            "tip_id",
            "target.number",
            value="number",
        ),
    }


def export_rows(engagements):
    """Rows of values in EXPORT_FIELDS order; codes joined by "; " in many-valued columns.

    One query, the relations as correlated subqueries, read through a server-side cursor
    on PostgreSQL (`iterator()`): no model instances, no query per row, constant memory,
    and one consistent snapshot of the visible engagements (`engagements` must be
    `visible_to(user)`, filtered and ordered), so nothing raised above the reader's
    clearance after the download started can reach it.
    """
    relations = _relation_columns()
    columns = {"created_by": "created_by__username"}
    columns.update({name: f"export_{name}" for name in relations})
    rows = engagements.annotate(
        **{columns[name]: RawSQL(sql, ()) for name, sql in relations.items()}
    ).values_list(*(columns.get(name, name) for name in EXPORT_FIELDS))
    # None (no end date, no creator, no tips) is an empty cell in both formats.
    yield from rows.iterator(chunk_size=CHUNK)
