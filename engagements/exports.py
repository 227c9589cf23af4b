"""Engagements as download rows, with the API's field names as column headers."""

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


SCALARS = [
    "id",
    "title",
    "kind",
    "status",
    "start_date",
    "end_date",
    "location",
    "marking",
    "escalation_risk",
    "summary",
    "outcomes",
    "created_by__username",
    "created_at",
    "updated_at",
    "version",
]
CHUNK = 2000


def export_rows(engagements):
    """Rows of values in EXPORT_FIELDS order; codes joined by "; " in many-valued columns.

    Built for whole-table downloads: the ordered ids first (small), then a chunk at a time
    the plain values and each relation as id pairs, mapped to codes in memory. No model
    instances, no per-row queries, and no long-running server-side cursor (whose plan is
    poor for a filtered, ordered scan on PostgreSQL).

    `engagements` must be a visible queryset (`visible_to(user)`, filtered): each chunk is
    read through it again, so a row raised above the reader's clearance while a slow
    download runs is left out, not sent.
    """
    ids = list(engagements.values_list("id", flat=True))
    codes = {
        "partners": dict(Partner.objects.values_list("id", "code")),
        "pillars": dict(Pillar.objects.values_list("id", "code")),
        "facets": dict(Facet.objects.values_list("id", "code")),
        "tips": {pk: str(number) for pk, number in Tip.objects.values_list("id", "number")},
    }
    pillar_order = dict(Pillar.objects.values_list("id", "order"))
    links = {
        "partners": (EngagementPartner, "partner_id", "id"),
        "pillars": (Engagement.pillars.through, "pillar_id", None),
        "facets": (Engagement.facets.through, "facet_id", None),
        "tips": (Engagement.tips.through, "tip_id", None),
    }
    for start in range(0, len(ids), CHUNK):
        chunk_ids = ids[start : start + CHUNK]
        rows = {
            values[0]: dict(zip(SCALARS, values, strict=True))
            for values in engagements.order_by().filter(id__in=chunk_ids).values_list(*SCALARS)
        }
        related = {}
        for name, (model, column, order) in links.items():
            pairs = model.objects.filter(engagement_id__in=chunk_ids).values_list(
                "engagement_id", column
            )
            grouped = related[name] = {}
            for engagement_id, target in pairs.order_by(order) if order else pairs:
                grouped.setdefault(engagement_id, []).append(target)
        for engagement_id in chunk_ids:
            row = rows.get(engagement_id)
            if row is None:  # deleted, or raised above the reader's sight, meanwhile
                continue
            row["created_by"] = row.pop("created_by__username") or ""
            for name, grouped in related.items():
                targets = grouped.get(engagement_id, [])
                if name == "pillars":
                    targets = sorted(targets, key=pillar_order.get)
                elif name != "partners":
                    targets = sorted(targets, key=lambda pk, name=name: codes[name][pk])
                row[name] = "; ".join(codes[name][pk] for pk in targets)
            yield [row[name] for name in EXPORT_FIELDS]
