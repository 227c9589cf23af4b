"""Plain factory functions with sensible defaults (see STYLE.md).

Engagements are made the way production makes them: `make_engagement` writes through the
one write service. `make_engagements_in_bulk` is the one quicker path, for the few tests
that need many rows or rows the service refuses on purpose; it is named as such.
"""

import datetime
import itertools

from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from accounts.choices import Marking, Role
from accounts.roles import create_user_with_role
from engagements import summaries
from engagements.choices import EngagementKind, EngagementStatus, PartnerRole
from engagements.models import Engagement, EngagementPartner
from engagements.services import save_engagement
from partners.models import Partner
from roadmap.models import Facet, Pillar, Tip

PASSWORD = "a-long-test-password-1"
_sequence = itertools.count(1)

# The statements of one audit entry (accounts/audit.py), for the pinned query counts: on
# PostgreSQL one (the chain's end moved on and the entry inserted together); elsewhere the
# end moved on, the entry inserted, its hash made the end's.
AUDIT_ENTRY_QUERIES = 1 if connection.vendor == "postgresql" else 3


def make_user(role=Role.ANALYST, clearance=Marking.NU, username=None):
    """A user of `role` cleared to `clearance`. The usual ones are the cast in
    tests/conftest.py; this is for a test that needs one more, or an unusual one."""
    username = username or f"{role}-{clearance}-{next(_sequence)}".lower()
    return create_user_with_role(username, PASSWORD, role, clearance)


def make_partner(**fields):
    number = next(_sequence)
    fields.setdefault("code", f"P{number}")
    fields.setdefault("name", f"Partner {number}")
    fields.setdefault("kind", "state")
    fields.setdefault("region", "southeast_asia")
    return Partner.objects.create(**fields)


def factory_writer():
    """Who writes an engagement a test makes without a `created_by` that may write it: an
    unsaved superuser cleared NS, as `import_engagements` writes without a user. It may use
    every marking, and is recorded as nobody (created_by and the history's user None)."""
    return get_user_model()(username="factory", clearance=Marking.NS, is_superuser=True)


def make_engagement(
    partners=("JPN",), pillars=("dialogue",), facets=(), tips=(), created_by=None, **fields
):
    """An engagement linked to partners (codes or Partner objects; the first is the lead,
    the others participants), pillars and facets given by code, tips by number.

    Written through the write service (`engagements.services.save_engagement`), as every
    entry point writes: its rules are checked (a broken one raises ValidationError), the
    history gets its row with the relations, the report summaries are brought up to date.
    `fields` are the service's writable fields (title, kind, status, dates, marking, ...).

    `created_by` writes it when that user may use its marking (the history then names the
    creator, as in production). Otherwise `factory_writer()` writes it, and `created_by`
    (when given) is set afterwards: the service stamps its writer as the creator, but a
    test may need an engagement logged by someone it has since been marked above.
    """
    data = _engagement_data(partners, pillars, facets, tips, fields)
    may_write = created_by is not None and created_by.may_see(data["marking"])
    engagement = save_engagement(created_by if may_write else factory_writer(), data)
    if created_by is not None and not may_write:
        Engagement.objects.filter(pk=engagement.pk).update(created_by=created_by)
        Engagement.history.filter(id=engagement.pk).update(created_by=created_by)
        engagement.created_by = created_by
    return engagement


def make_engagements_in_bulk(rows):
    """The bulk path, for speed only: one engagement per dict in `rows` (the arguments of
    `make_engagement`), inserted a few statements for all of them, the report summaries
    refreshed once. Not the production write path: no rule is checked and no history is
    recorded, so use it where a test needs many rows and proves nothing about writing
    them, or rows the service would refuse on purpose. Returns the engagements in order."""
    made, links = [], {"partners": [], "pillars": [], "facets": [], "tips": []}
    for row in rows:
        row = dict(row)
        relations = {
            name: row.pop(name, default)
            for name, default in (
                ("partners", ("JPN",)),
                ("pillars", ("dialogue",)),
                ("facets", ()),
                ("tips", ()),
            )
        }
        _engagement_defaults(row)
        made.append((Engagement(**row), relations))
    engagements = Engagement.objects.bulk_create([engagement for engagement, _ in made])
    lookup = _lookups([relations for _, relations in made])
    through = {name: getattr(Engagement, name).through for name in ("pillars", "facets", "tips")}
    for engagement, relations in made:
        for position, code in enumerate(relations["partners"]):
            links["partners"].append(
                EngagementPartner(
                    engagement=engagement,
                    partner=lookup["partners"][code],
                    role=PartnerRole.LEAD if position == 0 else PartnerRole.PARTICIPANT,
                )
            )
        for name, column in (("pillars", "pillar"), ("facets", "facet"), ("tips", "tip")):
            links[name] += [
                through[name](engagement=engagement, **{column: lookup[name][code]})
                for code in relations[name]
            ]
    EngagementPartner.objects.bulk_create(links["partners"])
    for name in ("pillars", "facets", "tips"):
        through[name].objects.bulk_create(links[name])
    summaries.refresh_slices(
        sorted({(e.start_date, e.status, e.marking) for e in engagements}, key=str)
    )
    return engagements


def api_client(user=None):
    """An API client signed in as `user` (anonymous without one)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _engagement_defaults(fields):
    fields.setdefault("title", f"Engagement {next(_sequence)}")
    fields.setdefault("kind", EngagementKind.STAFF_TALKS)
    fields.setdefault("status", EngagementStatus.COMPLETED)
    fields.setdefault("start_date", datetime.date(2025, 6, 1))
    fields.setdefault("marking", Marking.NU)
    return fields


def _engagement_data(partners, pillars, facets, tips, fields):
    """The write service's `data` for make_engagement's arguments."""
    relations = {"partners": partners, "pillars": pillars, "facets": facets, "tips": tips}
    lookup = _lookups([relations])
    chosen = {name: [lookup[name][code] for code in codes] for name, codes in relations.items()}
    lead = chosen["partners"][:1]
    return {
        **_engagement_defaults(fields),
        **chosen,
        "partner_roles": {partner.pk: PartnerRole.LEAD for partner in lead},
    }


def _lookups(relations):
    """{relation: {code as given: object}} for every code in `relations` (a list of
    {partners, pillars, facets, tips}), a query per kind of relation named; an unknown code
    raises LookupError (a test's typo, not an engagement without it)."""
    models = {
        "partners": (Partner, "code"),
        "pillars": (Pillar, "code"),
        "facets": (Facet, "code"),
        "tips": (Tip, "number"),
    }
    found = {}
    for name, (model, key) in models.items():
        codes = {code for row in relations for code in row[name]}
        wanted = {code for code in codes if not isinstance(code, model)}
        objects = model.objects.in_bulk(wanted, field_name=key) if wanted else {}
        missing = wanted - set(objects)
        if missing:
            raise LookupError(f"No {name} {sorted(map(str, missing))}")
        found[name] = {**objects, **{code: code for code in codes if isinstance(code, model)}}
    return found
