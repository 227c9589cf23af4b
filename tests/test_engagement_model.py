import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from accounts.choices import Marking, Role
from engagements.models import Engagement, StaleVersion
from engagements.services import save_engagement
from roadmap.models import Facet, Pillar
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


@pytest.fixture
def one_per_marking():
    return {marking: make_engagement(marking=marking) for marking in Marking.values}


@pytest.mark.parametrize(
    "clearance, expected",
    [
        ("NU", {"NU"}),
        ("NR", {"NU", "NR"}),
        ("NC", {"NU", "NR", "NC"}),
        ("NS", {"NU", "NR", "NC", "NS"}),
    ],
)
def test_visible_to_shows_markings_up_to_clearance(one_per_marking, clearance, expected):
    user = make_user(Role.ANALYST, clearance)
    visible = Engagement.objects.restrict(user)
    assert {e.marking for e in visible} == expected
    assert {e.pk for e in visible} == {one_per_marking[m].pk for m in expected}


def test_visible_to_hides_everything_from_anonymous_and_inactive_users(one_per_marking):
    assert not Engagement.objects.restrict(AnonymousUser()).exists()
    inactive = make_user(Role.ADMIN, Marking.NS)
    inactive.is_active = False
    assert not Engagement.objects.restrict(inactive).exists()


def test_superuser_clearance_still_applies(one_per_marking):
    boss = make_user(Role.ADMIN, Marking.NR)
    boss.is_superuser = True
    assert {e.marking for e in Engagement.objects.restrict(boss)} == {"NU", "NR"}


def test_clean_refuses_end_before_start():
    engagement = Engagement(
        title="X",
        kind="exercise",
        start_date=datetime.date(2025, 5, 2),
        end_date=datetime.date(2025, 5, 1),
    )
    with pytest.raises(ValidationError) as error:
        engagement.full_clean()
    assert "end_date" in error.value.message_dict


def test_validate_relations_names_each_broken_rule():
    security = Pillar.objects.get(code="security")
    cyber = Facet.objects.get(code="security.cyber")
    trade = Facet.objects.get(code="economic.trade")
    with pytest.raises(ValidationError) as error:
        Engagement.validate_relations([], [security], [cyber, trade])
    messages = error.value.message_dict
    assert messages["partners"] == ["Choose at least one partner."]
    assert "pillars" not in messages
    assert messages["facets"] == [
        "“Trade and Investment” belongs to the pillar “Economic Cooperation”, which is not chosen."
    ]
    with pytest.raises(ValidationError) as error:
        Engagement.validate_relations(["JPN"], [], [])
    assert error.value.message_dict == {"pillars": ["Choose at least one pillar."]}
    Engagement.validate_relations(["JPN"], [security], [cyber])


def test_validate_marking_caps_at_clearance():
    user = make_user(Role.ANALYST, Marking.NR)
    Engagement.validate_marking(user, "NR")
    with pytest.raises(ValidationError, match=r"above your clearance \(NR\)"):
        Engagement.validate_marking(user, "NC")


def test_every_write_increments_the_version(analyst):
    engagement = make_engagement()
    assert engagement.version == 1
    save_engagement(analyst, {"title": "Renamed"}, engagement.pk, version=1)
    engagement.refresh_from_db()
    assert (engagement.version, engagement.title) == (2, "Renamed")


def test_a_stale_write_stores_nothing(analyst):
    engagement = make_engagement(title="Original")
    save_engagement(analyst, {"title": "First writer"}, engagement.pk, version=1)
    with pytest.raises(StaleVersion):
        save_engagement(analyst, {"title": "Second writer"}, engagement.pk, version=1)
    engagement.refresh_from_db()
    assert (engagement.title, engagement.version) == ("First writer", 2)


def test_delete_rules():
    author = make_user(Role.ANALYST, Marking.NS)
    other_analyst = make_user(Role.ANALYST, Marking.NS)
    manager = make_user(Role.MANAGER, Marking.NS)
    low_manager = make_user(Role.MANAGER, Marking.NU)
    engagement = make_engagement(created_by=author, marking=Marking.NR)
    assert engagement.allows(author, "delete")
    assert not engagement.allows(other_analyst, "delete")
    assert engagement.allows(manager, "delete")
    assert not engagement.allows(low_manager, "delete")
