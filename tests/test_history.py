import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.choices import Marking, Role
from engagements.models import Engagement
from engagements.services import delete_engagement, save_engagement
from partners.models import Partner
from roadmap.models import Facet, Pillar, TipStatusUpdate
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")


def ids(*codes):
    return [str(Pillar.objects.get(code=c).pk) for c in codes if "." not in c] + [
        str(Facet.objects.get(code=c).pk) for c in codes if "." in c
    ]


FORM = {
    "title": "Harbour security talks",
    "kind": "staff_talks",
    "status": "planned",
    "start_date": "2025-04-01",
    "partners": ["JPN", "KOR"],
    "lead_partner": "JPN",
    "marking": "NU",
    "escalation_risk": "low",
}


def test_every_write_path_is_recorded_with_who_and_what(client):
    analyst = make_user(Role.ANALYST, Marking.NR, username="writer")
    editor = make_user(Role.ANALYST, Marking.NR, username="editor")
    manager = make_user(Role.MANAGER, Marking.NR, username="boss")
    client.force_login(analyst)
    client.post(
        "/engagements/new/",
        {**FORM, "pillars": ids("security"), "facets": ids("security.maritime")},
    )
    engagement = Engagement.objects.get()

    client.force_login(editor)
    client.post(
        f"/engagements/{engagement.pk}/edit/",
        {
            **FORM,
            "title": "Harbour security talks, round 2",
            "partners": ["JPN", "AUS"],
            "pillars": ids("security", "hadr"),
            "version": 1,
        },
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(manager)[1]}")
    assert (
        api.patch(
            f"/api/v1/engagements/{engagement.pk}/", {"marking": "NR", "version": 2}, format="json"
        ).status_code
        == 200
    )
    history = api.get(f"/api/v1/engagements/{engagement.pk}/history/").json()

    assert [(h["action"], h["by"]) for h in history] == [
        ("changed", "boss"),
        ("changed", "editor"),
        ("created", "writer"),
    ]
    assert history[0]["changes"] == {"marking": ["NU", "NR"]}
    assert history[1]["changes"] == {
        "title": ["Harbour security talks", "Harbour security talks, round 2"],
        "partners": [["JPN", "KOR"], ["JPN", "AUS"]],
        "pillars": [["security"], ["hadr", "security"]],
        "facets": [["security.maritime"], []],
    }
    created = history[2]["changes"]
    assert created["title"] == [None, "Harbour security talks"]
    assert created["partners"] == [None, ["JPN", "KOR"]]
    assert created["start_date"] == [None, "2025-04-01"]

    # The page shows the same history.
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert "Change history" in page and "round 2" in page and "boss" in page

    # Deleting is recorded too, and the history stays for the admin.
    client.force_login(manager)
    client.post(f"/engagements/{engagement.pk}/delete/", {"version": 3})
    assert (
        Engagement.history.filter(id=engagement.pk, history_type="-").get().history_user == manager
    )


def test_history_is_404_above_clearance():
    secret = make_engagement(marking="NS")
    api = APIClient()
    api.force_authenticate(make_user(Role.ANALYST, Marking.NU))
    assert api.get(f"/api/v1/engagements/{secret.pk}/history/").status_code == 404


def test_an_admin_restores_a_deleted_engagement(client):
    admin = make_user(Role.ADMIN, Marking.NS)
    low_admin = make_user(Role.ADMIN, Marking.NU)
    engagement = make_engagement(
        title="Lost and found",
        partners=["KOR", "JPN"],
        pillars=["security"],
        facets=["security.cyber"],
        tips=[2],
        marking="NC",
    )
    save_engagement(admin, {"title": "Lost and found, edited"}, engagement.pk, version=1)
    pk = engagement.pk
    delete_engagement(admin, pk, version=2)

    client.force_login(low_admin)
    assert (
        "Lost and found"
        not in client.get("/admin/engagements/engagement/deleted/").content.decode()
    )
    client.post("/admin/engagements/engagement/deleted/", {"id": pk})
    assert not Engagement.objects.filter(pk=pk).exists()

    client.force_login(admin)
    assert (
        "Lost and found, edited"
        in client.get("/admin/engagements/engagement/deleted/").content.decode()
    )
    response = client.post("/admin/engagements/engagement/deleted/", {"id": pk})
    assert response.status_code == 302
    restored = Engagement.objects.get(pk=pk)
    # created 1, edited 2, deleted 3: restored goes on at 4, so copies read before stay stale
    assert (restored.title, restored.version, restored.marking) == (
        "Lost and found, edited",
        4,
        "NC",
    )
    assert restored.created_at == engagement.created_at  # restored, not made anew
    assert [link.partner.code for link in restored.partner_links.all()] == ["KOR", "JPN"]
    assert restored.partner_links.get(partner__code="KOR").role == "lead"
    assert list(restored.facets.values_list("code", flat=True)) == ["security.cyber"]
    assert list(restored.tips.values_list("number", flat=True)) == [2]
    assert restored.history.latest().history_user == admin
    analyst = make_user(Role.ANALYST, Marking.NS)
    client.force_login(analyst)
    assert client.get("/admin/engagements/engagement/deleted/").status_code == 403  # not staff


def test_partners_memberships_and_tip_statuses_keep_history():
    admin = make_user(Role.ADMIN, Marking.NS)
    api = APIClient()
    api.force_authenticate(admin)
    api.patch("/api/v1/partners/JPN/", {"notes": "Key partner"}, format="json")
    latest = Partner.objects.get(code="JPN").history.latest()
    assert (latest.notes, latest.history_user, latest.history_type) == ("Key partner", admin, "~")
    api.post("/api/v1/tips/3/status/", {"status": "on_track", "note": "Good"}, format="json")
    assert TipStatusUpdate.history.get().history_user == admin
    from partners.models import Membership

    membership = Membership.objects.get(member__code="TLS")
    membership.left = None
    membership.save()
    assert membership.history.count() == 2
