"""Engagements as download rows, with the API's field names as column headers."""

from django.db.models import Prefetch

from engagements.choices import API_FIELDS
from engagements.models import EngagementPartner

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


def export_rows(engagements):
    """Rows of values in EXPORT_FIELDS order; codes joined by "; " in many-valued columns."""
    for engagement in with_relations(engagements).iterator(chunk_size=2000):
        yield [
            engagement.pk,
            engagement.title,
            engagement.kind,
            engagement.status,
            engagement.start_date,
            engagement.end_date,
            engagement.location,
            "; ".join(link.partner.code for link in engagement.partner_links.all()),
            "; ".join(pillar.code for pillar in engagement.pillars.all()),
            "; ".join(facet.code for facet in engagement.facets.all()),
            "; ".join(str(tip.number) for tip in engagement.tips.all()),
            engagement.marking,
            engagement.escalation_risk,
            engagement.summary,
            engagement.outcomes,
            engagement.created_by.username if engagement.created_by else "",
            engagement.created_at,
            engagement.updated_at,
            engagement.version,
        ]
