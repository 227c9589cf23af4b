"""The admin's daily chores with partners: deactivate instead of delete."""

import pytest
from django.urls import reverse

from accounts.choices import Marking, Role
from partners.models import Partner
from reports import queries as reports
from tests.factories import api_client, make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


@pytest.fixture
def admin_ns(client, admin_ns):
    """The conftest cast's admin, signed in."""
    client.force_login(admin_ns)
    return admin_ns


def test_the_admin_is_titled_with_the_apps_name(client, admin_ns):
    page = client.get("/admin/").content.decode()
    assert "<title>Records and users | Partnership Engagement Tracker</title>" in page
    assert "Partnership Engagement Tracker: administration" in page


def test_deactivate_selected_partners_keeps_history_and_reports(client, admin_ns):
    japan, korea = Partner.objects.get(code="JPN"), Partner.objects.get(code="KOR")
    make_engagement(partners=["JPN"], pillars=["security"])
    assert "JPN" in [row["partner"] for row in reports.coverage(admin_ns)["rows"]]
    response = client.post(
        reverse("admin:partners_partner_changelist"),
        {"action": "deactivate_selected", "_selected_action": [japan.pk, korea.pk]},
        follow=True,
    )
    assert "Deactivated 2 partner(s)." in response.content.decode()
    assert not Partner.objects.filter(code__in=["JPN", "KOR"], active=True).exists()
    assert japan.history.first().active is False  # each saved, so history has it
    # Summaries followed the change: an inactive partner has no coverage row.
    assert "JPN" not in [row["partner"] for row in reports.coverage(admin_ns)["rows"]]


def test_a_blocked_delete_counts_visible_engagements_and_offers_deactivation(client, admin_ns):
    japan = Partner.objects.get(code="JPN")
    for _ in range(3):
        make_engagement(partners=["JPN"])
    make_engagement(partners=["JPN"], marking=Marking.NS)
    nu_admin = make_user(Role.ADMIN, Marking.NU)
    url = reverse("admin:partners_partner_delete", args=[japan.pk])
    page = client.get(url).content.decode()
    assert "Japan: in use by engagements (4 you can see)" in page
    assert "relationship" not in page  # not the link rows, one per engagement
    client.force_login(nu_admin)
    page = client.get(url).content.decode()
    assert "Japan: in use by engagements (3 you can see)" in page
    deactivate = reverse("admin:partners_partner_deactivate", args=[japan.pk])
    assert f'action="{deactivate}"' in page
    assert client.get(deactivate).status_code == 405  # a change needs a POST
    response = client.post(deactivate, follow=True)
    assert "Japan is deactivated." in response.content.decode()
    japan.refresh_from_db()
    assert japan.active is False
    assert Partner.objects.filter(pk=japan.pk).exists()
    assert "already inactive" in client.get(url).content.decode()


def test_analysts_cannot_deactivate(client):
    client.force_login(make_user(Role.ANALYST, Marking.NS))
    japan = Partner.objects.get(code="JPN")
    response = client.post(reverse("admin:partners_partner_deactivate", args=[japan.pk]))
    assert response.status_code in (302, 403)
    japan.refresh_from_db()
    assert japan.active is True


def test_the_directory_opens_on_active_partners_and_marks_inactive_ones(client, admin_ns):
    Partner.objects.filter(code="JPN").update(active=False)
    page = client.get(reverse("partners:list")).content.decode()
    assert ">Japan<" not in page and ">Indonesia<" in page
    assert '<option value="true" selected>Active</option>' in page
    page = client.get(reverse("partners:list") + "?active=unknown").content.decode()
    assert ">Japan<" in page and 'badge inactive">inactive' in page
    page = client.get(reverse("partners:list") + "?active=false").content.decode()
    assert ">Japan<" in page and ">Indonesia<" not in page
    profile = client.get(reverse("partners:detail", args=["JPN"])).content.decode()
    assert 'badge inactive">inactive' in profile
    # The API keeps listing every partner unless asked.
    codes = [
        p["code"]
        for p in api_client(admin_ns).get("/api/v1/partners/?page_size=500").json()["results"]
    ]
    assert "JPN" in codes


def test_the_engagement_filters_mark_deactivated_partners(client, admin_ns):
    Partner.objects.filter(code="JPN").update(active=False)
    page = client.get(reverse("engagements:list")).content.decode()
    assert '<option value="JPN" data-code="JPN" data-aliases="">Japan (inactive)</option>' in page
    indonesia = 'data-code="IDN" data-aliases="Republic of Indonesia">Indonesia</option>'
    assert f'<option value="IDN" {indonesia}' in page
    chips = client.get(reverse("engagements:list") + "?partner=JPN").content.decode()
    assert 'value="JPN" selected data-code="JPN" data-aliases="">Japan (inactive)</option>' in chips
