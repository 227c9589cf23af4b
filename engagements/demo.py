"""Deterministic synthetic engagements for demos, benchmarks and load tests.

The same seed and `as_of` date give the same rows. Everything is written with bulk inserts
in chunks, so a million engagements fit in memory and no row costs a query of its own.
Bulk inserts bypass `Engagement.save()`, which is fine for synthetic data: it has no
history to keep and every row starts at version 1.
"""

import datetime
import random

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from accounts.choices import Marking
from engagements import summaries
from engagements.choices import EngagementKind, EngagementStatus, EscalationRisk, PartnerRole
from engagements.models import Engagement, EngagementPartner
from partners.choices import PartnerKind
from partners.models import Partner
from roadmap.models import Pillar, Tip

CHUNK = 5000

KIND_WEIGHTS = {
    EngagementKind.HIGH_LEVEL_DIALOGUE: 8,
    EngagementKind.STAFF_TALKS: 16,
    EngagementKind.EXERCISE: 10,
    EngagementKind.TRAINING: 12,
    EngagementKind.INFORMATION_EXCHANGE: 14,
    EngagementKind.WORKSHOP: 14,
    EngagementKind.AGREEMENT: 3,
    EngagementKind.ASSISTANCE: 6,
    EngagementKind.CAPACITY_BUILDING: 12,
    EngagementKind.OTHER: 5,
}
MARKING_WEIGHTS = {Marking.NU: 50, Marking.NR: 30, Marking.NC: 15, Marking.NS: 5}
RISK_WEIGHTS = {EscalationRisk.LOW: 70, EscalationRisk.MEDIUM: 25, EscalationRisk.HIGH: 5}
TITLES = {
    EngagementKind.HIGH_LEVEL_DIALOGUE: "High-level dialogue with {partner} on {topic}",
    EngagementKind.STAFF_TALKS: "Staff talks with {partner}: {topic}",
    EngagementKind.EXERCISE: "Joint exercise with {partner} ({topic})",
    EngagementKind.TRAINING: "{topic} training course for {partner}",
    EngagementKind.INFORMATION_EXCHANGE: "Information exchange with {partner} on {topic}",
    EngagementKind.WORKSHOP: "{topic} workshop with {partner}",
    EngagementKind.AGREEMENT: "{topic} arrangement signed with {partner}",
    EngagementKind.ASSISTANCE: "{topic} assistance to {partner}",
    EngagementKind.CAPACITY_BUILDING: "{topic} capacity-building programme with {partner}",
    EngagementKind.OTHER: "Meeting with {partner} on {topic}",
}
CITIES = {
    "ASEAN": "Jakarta",
    "PIF": "Suva",
    "BRN": "Bandar Seri Begawan",
    "KHM": "Phnom Penh",
    "IDN": "Jakarta",
    "LAO": "Vientiane",
    "MYS": "Kuala Lumpur",
    "MMR": "Naypyidaw",
    "PHL": "Manila",
    "SGP": "Singapore",
    "THA": "Bangkok",
    "TLS": "Dili",
    "VNM": "Hanoi",
    "JPN": "Tokyo",
    "KOR": "Seoul",
    "MNG": "Ulaanbaatar",
    "IND": "New Delhi",
    "AUS": "Canberra",
    "NZL": "Wellington",
    "FJI": "Suva",
    "WSM": "Apia",
    "TON": "Nukuʻalofa",
}


def _pick(rng, weights):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def seed_engagements(count, seed=0, as_of=None):
    """Create `count` engagements over the three years before `as_of` (and 90 days after)."""
    as_of = as_of or timezone.localdate()
    rng = random.Random(seed)
    partners = list(Partner.objects.filter(active=True).order_by("code"))
    states = [p for p in partners if p.kind == PartnerKind.STATE]
    others = [p for p in partners if p.kind != PartnerKind.STATE]
    pillars = list(Pillar.objects.prefetch_related("facets").order_by("order"))
    tips = list(Tip.objects.prefetch_related("pillars").order_by("number"))
    tip_pillars = {tip.pk: {p.pk for p in tip.pillars.all()} for tip in tips}
    authors = list(
        get_user_model().objects.filter(groups__name__in=["analyst", "manager"]).order_by("pk")
    ) or [None]
    first_day = as_of - datetime.timedelta(days=3 * 365)
    span = (as_of - first_day).days + 90

    created = 0
    while created < count:
        size = min(CHUNK, count - created)
        rows = []
        relations = []
        for _ in range(size):
            start = first_day + datetime.timedelta(days=rng.randrange(span))
            if start > as_of:
                status = EngagementStatus.PLANNED
            else:
                status = rng.choices(
                    [
                        EngagementStatus.COMPLETED,
                        EngagementStatus.CANCELLED,
                        EngagementStatus.PLANNED,
                    ],
                    weights=[88, 7, 5],
                )[0]
            chosen_partners = rng.sample(states, rng.choice([1, 1, 1, 2, 2, 3]))
            if rng.random() < 0.3:
                chosen_partners.append(rng.choice(others))
            chosen_pillars = rng.sample(pillars, rng.choice([1, 1, 2, 2, 3]))
            facet_pool = [f for p in chosen_pillars for f in p.facets.all()]
            chosen_facets = rng.sample(facet_pool, min(len(facet_pool), rng.randrange(0, 3)))
            pillar_ids = {p.pk for p in chosen_pillars}
            tip_pool = [t for t in tips if tip_pillars[t.pk] & pillar_ids]
            chosen_tips = rng.sample(tip_pool, min(len(tip_pool), rng.randrange(0, 3)))
            kind = _pick(rng, KIND_WEIGHTS)
            lead = chosen_partners[0]
            topic = chosen_facets[0].name if chosen_facets else chosen_pillars[0].name
            names = ", ".join(p.name for p in chosen_partners)
            title = TITLES[kind].format(partner=lead.name, topic=topic.lower())
            rows.append(
                Engagement(
                    title=title[0].upper() + title[1:],
                    kind=kind,
                    status=status,
                    start_date=start,
                    end_date=(
                        None
                        if rng.random() < 0.3
                        else start + datetime.timedelta(days=rng.randrange(0, 6))
                    ),
                    location=CITIES.get(
                        lead.code, rng.choice(["Brussels", "Virtual", "Singapore"])
                    ),
                    marking=_pick(rng, MARKING_WEIGHTS),
                    escalation_risk=_pick(rng, RISK_WEIGHTS),
                    summary=f"{EngagementKind(kind).label} with {names}.",
                    outcomes="" if status != EngagementStatus.COMPLETED else "Follow-up agreed.",
                    created_by=rng.choice(authors),
                )
            )
            relations.append((chosen_partners, chosen_pillars, chosen_facets, chosen_tips))
        with transaction.atomic():
            Engagement.objects.bulk_create(rows)
            _link(rows, relations, rng)
        created += size
    # The planner's statistics of the tables just filled (PostgreSQL's autovacuum would
    # gather them later, if it is on), then count them all again: bulk inserts bypass the
    # write service.
    summaries.analyze(
        Engagement,
        EngagementPartner,
        Engagement.pillars.through,
        Engagement.facets.through,
        Engagement.tips.through,
    )
    summaries.rebuild()
    return created


def _link(rows, relations, rng):
    """Insert the many-to-many rows with executemany: the ORM's per-object work would
    take most of the time here, and these rows have no behaviour of their own."""
    partner_links, pillar_links, facet_links, tip_links = [], [], [], []
    for engagement, (partners, pillars, facets, tips) in zip(rows, relations, strict=True):
        for position, partner in enumerate(partners):
            if position == 0:
                role = PartnerRole.LEAD
            else:
                role = PartnerRole.OBSERVER if rng.random() < 0.1 else PartnerRole.PARTICIPANT
            partner_links.append((engagement.pk, partner.pk, role.value))
        pillar_links += [(engagement.pk, pillar.pk) for pillar in pillars]
        facet_links += [(engagement.pk, facet.pk) for facet in facets]
        tip_links += [(engagement.pk, tip.pk) for tip in tips]
    _insert(EngagementPartner, ["engagement_id", "partner_id", "role"], partner_links)
    _insert(Engagement.pillars.through, ["engagement_id", "pillar_id"], pillar_links)
    _insert(Engagement.facets.through, ["engagement_id", "facet_id"], facet_links)
    _insert(Engagement.tips.through, ["engagement_id", "tip_id"], tip_links)


def _insert(model, columns, values):
    if not values:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", values
        )
