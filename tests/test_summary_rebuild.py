"""The full rebuild counts in SQL (`summaries.rebuild()`): it must store exactly the
buckets the Python tally gives (`summaries.compute_all()`, what check_summaries uses)."""

import datetime

import pytest

from partners.models import Membership, Partner
from roadmap import summaries
from tests.factories import make_engagement

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
    make_engagement(partners=["ASEAN", "IDN"], pillars=[], start_date=D(2024, 12, 31))
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
