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
from people.models import Affiliation, Person
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
    # People draw from a generator of their own, so the engagements are those of before.
    people_rng = random.Random(seed + 1)
    people = seed_people(partners, people_rng, as_of)

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
            took_part = people.get(lead.pk, [])
            chosen_people = (
                [people_rng.choice(took_part)] if took_part and people_rng.random() < 0.2 else []
            )
            relations.append(
                (chosen_partners, chosen_pillars, chosen_facets, chosen_tips, chosen_people)
            )
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
        Engagement.people.through,
    )
    summaries.rebuild()
    return created


GIVEN_NAMES = [
    "Aiko", "Ananda", "Arif", "Bao", "Chen", "Dewi", "Farid", "Hana", "Ismail", "Jin",
    "Kenji", "Lan", "Maya", "Minh", "Nur", "Priya", "Rahul", "Siti", "Tomas", "Wei",
]  # fmt: skip
FAMILY_NAMES = [
    "Aziz", "Chua", "Dang", "Gunawardena", "Hashimoto", "Kim", "Lestari", "Lim", "Mori",
    "Nguyen", "Park", "Rahman", "Santos", "Sato", "Tan", "Wijaya", "Wong", "Yamada",
]  # fmt: skip
JOB_TITLES = [
    "Director-General", "Deputy Director", "Desk officer", "Counsellor", "Defence attaché",
    "Senior analyst", "Head of division", "Ambassador",
]  # fmt: skip
PEOPLE_PER_PARTNER = 6


def seed_people(partners, rng, as_of):
    """PEOPLE_PER_PARTNER people at each partner, mostly unmarked, each with the role
    they hold and, for some, the one they held before: {partner pk: [people]}."""
    made = {}
    for partner in partners:
        at_partner = Person.objects.bulk_create(
            Person(
                name=f"{rng.choice(GIVEN_NAMES)} {rng.choice(FAMILY_NAMES)}",
                title=rng.choice(JOB_TITLES),
                partner=partner,
                email=f"contact{rng.randrange(10**6)}@{partner.code.lower()}.example.org",
                marking=_pick(rng, MARKING_WEIGHTS),
            )
            for _ in range(PEOPLE_PER_PARTNER)
        )
        affiliations = []
        for person in at_partner:
            since = as_of - datetime.timedelta(days=rng.randrange(60, 2000))
            affiliations.append(
                Affiliation(person=person, partner=partner, title=person.title, start=since)
            )
            if rng.random() < 0.3:
                before = since - datetime.timedelta(days=rng.randrange(300, 1500))
                elsewhere = rng.choice(partners)
                affiliations.append(
                    Affiliation(
                        person=person,
                        partner=elsewhere,
                        title=rng.choice(JOB_TITLES),
                        start=before,
                        end=since,
                    )
                )
        Affiliation.objects.bulk_create(affiliations)
        made[partner.pk] = at_partner
    return made


def _link(rows, relations, rng):
    """Insert the many-to-many rows with executemany: the ORM's per-object work would
    take most of the time here, and these rows have no behaviour of their own."""
    partner_links, pillar_links, facet_links, tip_links, people_links = [], [], [], [], []
    for engagement, (partners, pillars, facets, tips, people) in zip(rows, relations, strict=True):
        for position, partner in enumerate(partners):
            if position == 0:
                role = PartnerRole.LEAD
            else:
                role = PartnerRole.OBSERVER if rng.random() < 0.1 else PartnerRole.PARTICIPANT
            partner_links.append((engagement.pk, partner.pk, role.value))
        pillar_links += [(engagement.pk, pillar.pk) for pillar in pillars]
        facet_links += [(engagement.pk, facet.pk) for facet in facets]
        tip_links += [(engagement.pk, tip.pk) for tip in tips]
        people_links += [(engagement.pk, person.pk) for person in people]
    _insert(EngagementPartner, ["engagement_id", "partner_id", "role"], partner_links)
    _insert(Engagement.pillars.through, ["engagement_id", "pillar_id"], pillar_links)
    _insert(Engagement.facets.through, ["engagement_id", "facet_id"], facet_links)
    _insert(Engagement.tips.through, ["engagement_id", "tip_id"], tip_links)
    _insert(Engagement.people.through, ["engagement_id", "person_id"], people_links)


def _insert(model, columns, values):
    if not values:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", values
        )
