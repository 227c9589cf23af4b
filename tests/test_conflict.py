"""The edit-conflict screen (issue 12, item 4): who saved last and when, every tracked
field side by side (original / theirs / yours), a pick per field with safe defaults, and
the resolved save through the write service on top of the version shown."""

import re

import pytest

from engagements.models import Engagement
from engagements.services import save_engagement
from partners.models import Partner
from roadmap.models import Pillar
from tests.test_fields import WRITABLE_FIELDS
from tests.test_views import form_data, pillar_ids

pytestmark = pytest.mark.usefixtures("reference_data")


# Who is who, from the conftest cast: the engagement's creator (analyst_ns), the colleague
# who saves while I edit (manager_ns), and me (analyst_nr).


def create(creator, **fields):
    data = {
        "title": "Maritime domain awareness talks",
        "kind": "staff_talks",
        "status": "completed",
        "start_date": "2025-05-10",
        "end_date": "2025-05-11",
        "location": "Tokyo",
        "partners": [Partner.objects.get(code="JPN"), Partner.objects.get(code="KOR")],
        "partner_roles": {Partner.objects.get(code="JPN").pk: "lead"},
        "pillars": [Pillar.objects.get(code="security")],
        "marking": "NU",
        "escalation_risk": "low",
        "summary": "Talks.",
        **fields,
    }
    return save_engagement(creator, data)


def my_edit(**overrides):
    """What the edit form posts when I change the title, starting from version 1."""
    return form_data(**{"pillars": pillar_ids("security"), "version": "1", **overrides})


def rows(response):
    return {row["field"]: row for row in response.context["rows"]}


def test_the_screen_names_who_saved_last_and_shows_every_field(
    client, analyst_ns, manager_ns, analyst_nr
):
    engagement = create(analyst_ns)
    save_engagement(manager_ns, {"escalation_risk": "high"}, engagement.pk, 1)
    client.force_login(analyst_nr)
    response = client.post(f"/engagements/{engagement.pk}/edit/", my_edit(title="My title"))
    page = response.content.decode()
    assert "Someone else saved" in page
    assert f"{manager_ns.username} saved version 2 on" in page
    assert "you started from version 1" in page
    assert analyst_ns.username not in page  # who made it is not who saved last
    shown = rows(response)
    assert list(shown) == [*WRITABLE_FIELDS, "people"]
    assert len(re.findall(r'<tr class="[^"]*" id="row-', page)) == 15
    risk = shown["escalation_risk"]
    assert (risk["original"], risk["theirs"], risk["mine"]) == ("Low", "High", "Low")
    assert risk["they_changed"] and not risk["you_changed"] and risk["pick"] == "theirs"
    title = shown["title"]
    assert (title["theirs"], title["mine"], title["pick"]) == (
        "Maritime domain awareness talks",
        "My title",
        "mine",
    )
    assert shown["partners"]["theirs"] == "Japan (lead), Republic of Korea"
    assert not shown["kind"]["differs"]
    assert 'class="differs" id="row-escalation_risk"' in page
    assert 'name="pick_escalation_risk" value="theirs" checked' in page
    assert 'name="pick_title" value="mine" checked' in page
    engagement.refresh_from_db()
    assert (engagement.title, engagement.version) == ("Maritime domain awareness talks", 2)

    # Saving with the defaults keeps both changes: mine and theirs.
    picks = {"pick_title": "mine", "pick_escalation_risk": "theirs"}
    response = client.post(
        f"/engagements/{engagement.pk}/edit/",
        {**my_edit(title="My title"), **picks, "resolve": "1", "version": "2", "base_version": "1"},
    )
    assert response.status_code == 302
    engagement.refresh_from_db()
    assert (engagement.title, engagement.escalation_risk, engagement.version) == (
        "My title",
        "high",
        3,
    )
    # Through the write service: a history row by me.
    assert engagement.history.latest().history_user == analyst_nr


def test_a_field_both_changed_must_be_picked(client, analyst_ns, manager_ns, analyst_nr):
    engagement = create(analyst_ns)
    save_engagement(
        manager_ns,
        {"title": "Their title", "partners": [Partner.objects.get(code="AUS")]},
        engagement.pk,
        1,
    )
    client.force_login(analyst_nr)
    response = client.post(f"/engagements/{engagement.pk}/edit/", my_edit(title="My title"))
    title = rows(response)["title"]
    assert title["both_changed"] and title["pick"] is None
    assert rows(response)["partners"]["pick"] == "theirs"
    resolve = {"resolve": "1", "version": "2", "base_version": "1"}
    response = client.post(
        f"/engagements/{engagement.pk}/edit/", {**my_edit(title="My title"), **resolve}
    )
    assert "Pick a value for: Title" in response.content.decode()
    assert Engagement.objects.get().version == 2
    response = client.post(
        f"/engagements/{engagement.pk}/edit/",
        {**my_edit(title="My title"), **resolve, "pick_title": "theirs", "pick_partners": "theirs"},
    )
    assert response.status_code == 302
    engagement.refresh_from_db()
    assert engagement.title == "Their title"
    assert [link.partner.code for link in engagement.partner_links.all()] == ["AUS"]
    assert engagement.version == 3


def test_a_save_made_while_the_screen_was_open_is_a_new_conflict(
    client, analyst_ns, manager_ns, analyst_nr
):
    engagement = create(analyst_ns)
    save_engagement(manager_ns, {"location": "Seoul"}, engagement.pk, 1)
    client.force_login(analyst_nr)
    client.post(f"/engagements/{engagement.pk}/edit/", my_edit(title="My title"))
    save_engagement(manager_ns, {"summary": "Changed again."}, engagement.pk, 2)
    response = client.post(
        f"/engagements/{engagement.pk}/edit/",
        {**my_edit(title="My title"), "resolve": "1", "version": "2", "base_version": "1"},
    )
    assert response.status_code == 200
    shown = rows(response)
    assert shown["summary"]["theirs"] == "Changed again." and shown["summary"]["pick"] == "theirs"
    assert shown["location"]["theirs"] == "Seoul"
    assert f"{manager_ns.username} saved version 3" in response.content.decode()
    engagement.refresh_from_db()
    assert (engagement.title, engagement.version) == ("Maritime domain awareness talks", 3)


def test_without_a_recorded_original_every_difference_is_picked(
    client, analyst_ns, manager_ns, analyst_nr
):
    engagement = create(analyst_ns)
    Engagement.history.filter(id=engagement.pk, version=1).delete()
    save_engagement(manager_ns, {"escalation_risk": "medium"}, engagement.pk, 1)
    client.force_login(analyst_nr)
    response = client.post(f"/engagements/{engagement.pk}/edit/", my_edit(title="My title"))
    assert response.context["original_version"] is None
    assert set(response.context["missing"]) == {"Title", "Escalation risk"}
    assert "not in the history" in response.content.decode()


def test_an_original_above_the_readers_clearance_is_not_shown(
    client, analyst_ns, manager_ns, analyst_nr
):
    """I read version 1 (NU); it was raised to NS and rewritten (2), then lowered and
    rewritten again (3). The screen shows theirs (3, NU) and my original (1, NU), never the
    NS text of version 2."""
    engagement = create(analyst_ns)
    save_engagement(manager_ns, {"title": "Operation Pulsar", "marking": "NS"}, engagement.pk, 1)
    save_engagement(manager_ns, {"title": "Port call", "marking": "NU"}, engagement.pk, 2)
    client.force_login(analyst_nr)
    response = client.post(f"/engagements/{engagement.pk}/edit/", my_edit(title="My title"))
    page = response.content.decode()
    assert "Pulsar" not in page
    title = rows(response)["title"]
    assert (title["original"], title["theirs"]) == ("Maritime domain awareness talks", "Port call")
    # Starting from the NS version (which I could never have read) shows no original.
    response = client.post(
        f"/engagements/{engagement.pk}/edit/", my_edit(title="My title", version="2")
    )
    assert "Pulsar" not in response.content.decode()
    assert response.context["original_version"] is None


def test_line_endings_a_browser_sends_are_not_a_difference(
    client, analyst_ns, manager_ns, analyst_nr
):
    engagement = create(analyst_ns, summary="Two\nlines.")
    save_engagement(manager_ns, {"location": "Seoul"}, engagement.pk, 1)
    client.force_login(analyst_nr)
    response = client.post(f"/engagements/{engagement.pk}/edit/", my_edit(summary="Two\r\nlines."))
    summary = rows(response)["summary"]
    assert not summary["differs"] and not summary["you_changed"]


def test_people_are_a_row_and_theirs_are_kept_unless_picked(
    client, analyst_ns, manager_ns, analyst_nr
):
    from people.services import save_person

    seen = save_person(manager_ns, {"name": "Haruka Mori", "marking": "NU"})
    hidden = save_person(manager_ns, {"name": "Secret Source", "marking": "NS"})
    engagement = create(analyst_ns)
    save_engagement(manager_ns, {"people": [seen, hidden]}, engagement.pk, 1)
    client.force_login(analyst_nr)
    response = client.post(f"/engagements/{engagement.pk}/edit/", my_edit(title="My title"))
    people = rows(response)["people"]
    assert (people["original"], people["theirs"], people["mine"]) == ("", "Haruka Mori", "")
    assert people["they_changed"] and people["pick"] == "theirs"
    assert "Secret Source" not in response.content.decode()
    picks = {"pick_title": "mine", "pick_people": "theirs"}
    resolve = {"resolve": "1", "version": "2", "base_version": "1"}
    saved = client.post(
        f"/engagements/{engagement.pk}/edit/", {**my_edit(title="My title"), **picks, **resolve}
    )
    assert saved.status_code == 302
    engagement.refresh_from_db()
    assert engagement.title == "My title"
    assert set(engagement.people.all()) == {seen, hidden}
