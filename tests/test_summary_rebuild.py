"""The full rebuild counts in SQL (`summaries.rebuild()`): it must store exactly the
buckets the Python tally gives (`summaries.compute_all()`, what check_summaries uses)."""

import datetime

import pytest

from engagements import summaries
from partners.models import Membership, Partner
from tests.factories import make_engagement, make_engagements_in_bulk

pytestmark = pytest.mark.usefixtures("reference_data")

D = datetime.date


def test_rebuild_stores_what_the_tally_counts(db):
    make_engagement(partners=["JPN", "IDN"], pillars=["security", "dialogue"], tips=[1, 2])
    make_engagement(
        partners=["TLS", "KOR"],
        pillars=["hadr"],
        facets=["hadr.coordination"],
        start_date=D(2025, 10, 26),  # the day Timor-Leste joined ASEAN
        marking="NR",
    )
    make_engagement(partners=["TLS"], start_date=D(2025, 10, 25), status="planned")
    # No pillar: the write service refuses it, the database holds it (the bulk path makes it).
    make_engagements_in_bulk(
        [dict(partners=["ASEAN", "IDN"], pillars=[], start_date=D(2024, 12, 31))]
    )
    # A membership that ended: it rolls up the day before it ended, not on that day.
    Membership.objects.create(
        member=Partner.objects.get(code="JPN"),
        organization=Partner.objects.get(code="PIF"),
        joined=D(2020, 1, 1),
        left=D(2025, 6, 1),
    )
    make_engagement(partners=["JPN"], start_date=D(2025, 5, 31), marking="NS")
    Partner.objects.filter(code="KOR").update(active=False)  # in no group

    summaries.rebuild()

    stored, expected = summaries.stored_all(), summaries.compute_all()
    pif = str(Partner.objects.get(code="PIF").pk)
    assert {key[4] for key in stored if key[:3] == ("day", "rollup", pif)} == {D(2025, 5, 31)}
    assert {k: v for k, v in stored.items() if k not in expected} == {}
    assert {k: v for k, v in expected.items() if stored.get(k) != v} == {}


def _assert_exact():
    stored, expected = summaries.stored_all(), summaries.compute_all()
    assert {k: v for k, v in stored.items() if k not in expected} == {}
    assert {k: v for k, v in expected.items() if stored.get(k) != v} == {}


def _set(code, **fields):
    partner = Partner.objects.get(code=code)
    for name, value in fields.items():
        setattr(partner, name, value)
    partner.save()


def _membership(member, organization):
    return Membership.objects.get(member__code=member, organization__code=organization)


def _move(membership, **fields):
    for name, value in fields.items():
        setattr(membership, name, value)
    membership.save()


CHANGES = {
    "deactivate a state": lambda: _set("IDN", active=False),
    "deactivate an organization with members": lambda: _set("ASEAN", active=False),
    "another region": lambda: _set("KOR", region="oceania"),
    "another kind": lambda: _set("ASEAN", kind="international_org"),
    "kind and region at once": lambda: _set("KOR", kind="civil_society", region="oceania"),
    # Into groups from none: no group is left, every group of the partner is joined.
    "deactivated, then active again": lambda: (
        _set("IDN", active=False),
        _set("IDN", active=True),
    ),
    "joined later": lambda: _move(_membership("TLS", "ASEAN"), joined=D(2025, 11, 3)),
    "joined earlier": lambda: _move(_membership("TLS", "ASEAN"), joined=D(2024, 1, 1)),
    "left": lambda: _move(_membership("IDN", "ASEAN"), left=D(2025, 3, 1)),
    "another member": lambda: _move(
        _membership("TLS", "ASEAN"), member=Partner.objects.get(code="KOR")
    ),
    "another organization": lambda: _move(
        _membership("TLS", "ASEAN"), organization=Partner.objects.get(code="PIF")
    ),
    # An inactive organization is in no group: only its rollups move.
    "a membership of an inactive organization": lambda: (
        _set("ASEAN", active=False),
        _move(_membership("IDN", "ASEAN"), left=D(2025, 3, 1)),
    ),
    "a new membership": lambda: Membership.objects.create(
        member=Partner.objects.get(code="JPN"),
        organization=Partner.objects.get(code="PIF"),
        joined=D(2025, 1, 15),
    ),
    "a membership deleted": lambda: _membership("IDN", "ASEAN").delete(),
    # One queryset delete (the admin's "delete selected", a cascade): all rows go first,
    # then each signal; an engagement with two of the members rolls up through both.
    "an organization's memberships deleted at once": lambda: Membership.objects.filter(
        organization__code="ASEAN"
    ).delete(),
    # An admin inline row edited and deleted in one save: what was stored is what goes.
    "a membership edited, then deleted": lambda: _edited_then_deleted(),
}


def _edited_then_deleted():
    membership = _membership("TLS", "ASEAN")
    membership.member = Partner.objects.get(code="AUS")
    membership.joined = D(2000, 1, 1)
    membership.delete()


@pytest.mark.parametrize("change", CHANGES)
def test_partner_and_membership_changes_move_exactly_what_they_move(db, change, monkeypatch):
    """Each change is followed by `regroup()`, which counts only the engagements of the
    partners concerned, under the directory before and after: the summaries stay exactly
    what the tally counts, without a rebuild of the months those engagements span."""
    # Twenty engagements for each of the changes: the bulk path (what is tested is the
    # change, not these writes). One has no pillar: the service refuses that, the database
    # holds it.
    rows = []
    for start, status, marking in [
        (D(2025, 1, 14), "completed", "NU"),
        (D(2025, 2, 28), "planned", "NS"),
        (D(2025, 10, 26), "completed", "NR"),
        (D(2025, 11, 30), "cancelled", "NU"),
    ]:
        common = {"start_date": start, "status": status, "marking": marking}
        rows += [
            dict(partners=["IDN", "JPN"], pillars=["security", "dialogue"], **common),
            dict(partners=["TLS"], pillars=["hadr"], tips=[1], **common),
            dict(partners=["ASEAN", "KOR"], pillars=[], **common),
            dict(partners=["KOR", "TLS", "IDN"], pillars=["economic"], **common),
            dict(partners=["AUS"], pillars=["dialogue"], **common),  # never moves
        ]
    make_engagements_in_bulk(rows)
    _assert_exact()

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a partner or membership change rebuilt whole months")

    monkeypatch.setattr(summaries, "rebuild", no_rebuild)
    CHANGES[change]()
    _assert_exact()
