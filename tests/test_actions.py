"""Follow-up actions: visible exactly when their engagement is, owned by someone who can
see it, done on the day they are marked done."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.choices import Marking, Role
from engagements.models import Action
from tests.factories import api_client, make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def action(engagement, owner, due, title="Send the minutes", **fields):
    return Action.objects.create(engagement=engagement, owner=owner, due=due, title=title, **fields)


def test_an_analyst_adds_an_action_through_the_api(analyst_nu, analyst_ns):
    engagement = make_engagement()
    api = api_client(analyst_nu)
    body = {"title": "Send the minutes", "owner": "analyst-ns", "due": "2030-01-31"}
    response = api.post(f"/api/v1/engagements/{engagement.pk}/actions/", body)
    assert response.status_code == 201
    stored = Action.objects.get()
    assert response.json() == {
        "id": stored.pk,
        "engagement": engagement.pk,
        "title": "Send the minutes",
        "owner": "analyst-ns",
        "due": "2030-01-31",
        "status": "open",
        "done_at": None,
        "created_by": "analyst-nu",
    }
    assert (stored.owner, stored.created_by, stored.status) == (analyst_ns, analyst_nu, "open")
    listed = api.get(f"/api/v1/engagements/{engagement.pk}/actions/").json()
    assert [row["id"] for row in listed] == [stored.pk]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"owner": "nobody"}, "owner"),
        ({"owner": ""}, "owner"),
        ({"title": ""}, "title"),
        ({"due": "2030-02-30"}, "due"),
        ({"due": "10000-01-01"}, "due"),
    ],
)
def test_bad_actions_are_400_by_field(analyst_nu, analyst_ns, change, field):
    engagement = make_engagement()
    body = {"title": "Send the minutes", "owner": "analyst-ns", "due": "2030-01-31", **change}
    response = api_client(analyst_nu).post(f"/api/v1/engagements/{engagement.pk}/actions/", body)
    assert response.status_code == 400 and field in response.json()
    assert not Action.objects.exists()


def test_the_owner_must_be_able_to_see_the_engagement(analyst_ns, analyst_nu):
    secret = make_engagement(marking=Marking.NS)
    api = api_client(analyst_ns)
    body = {"title": "Brief the team", "owner": "analyst-nu", "due": "2030-01-31"}
    response = api.post(f"/api/v1/engagements/{secret.pk}/actions/", body)
    assert response.status_code == 400
    assert response.json() == {"owner": ["analyst-nu cannot see this engagement."]}
    owned = action(secret, analyst_ns, TODAY)
    response = api.patch(f"/api/v1/actions/{owned.pk}/", {"owner": "analyst-nu"})
    assert response.status_code == 400 and "owner" in response.json()
    # An engagement the writer cannot see: 404, nothing stored.
    body["owner"] = "analyst-nu"
    assert (
        api_client(analyst_nu).post(f"/api/v1/engagements/{secret.pk}/actions/", body).status_code
        == 404
    )
    assert Action.objects.count() == 1


def test_done_sets_done_at_to_today_and_reopening_clears_it(analyst_nu):
    owned = action(make_engagement(), analyst_nu, TODAY + DAY)
    api = api_client(analyst_nu)
    done = api.patch(f"/api/v1/actions/{owned.pk}/", {"status": "done"})
    assert done.status_code == 200
    assert done.json()["done_at"] == TODAY.isoformat() and done.json()["status"] == "done"
    assert api.patch(f"/api/v1/actions/{owned.pk}/", {"status": "open"}).json()["done_at"] is None
    dropped = api.patch(f"/api/v1/actions/{owned.pk}/", {"status": "dropped"}).json()
    assert (dropped["status"], dropped["done_at"]) == ("dropped", None)
    assert api.patch(f"/api/v1/actions/{owned.pk}/", {"status": "later"}).status_code == 400
    # Every change is kept: created, done, reopened, dropped.
    assert owned.history.count() == 4


def test_action_list_filters_and_order(analyst_nu, analyst_ns):
    seen = make_engagement()
    other = make_engagement()
    secret = make_engagement(marking=Marking.NS)
    alice, bob = analyst_nu, analyst_ns
    a1 = action(seen, alice, TODAY - DAY, title="late")  # overdue
    a2 = action(seen, bob, TODAY - 2 * DAY, status="done", title="done late")  # not overdue
    a3 = action(other, alice, TODAY, title="due today")  # not overdue: due today
    a4 = action(other, bob, TODAY - 5 * DAY, title="bob late")  # overdue
    a5 = action(seen, bob, TODAY - 3 * DAY, status="dropped", title="dropped")
    action(secret, bob, TODAY - 9 * DAY, title="hidden")  # not for alice

    def ids(user, query=""):
        response = api_client(user).get(f"/api/v1/actions/?{query}")
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert ids(alice) == [a4.pk, a5.pk, a2.pk, a1.pk, a3.pk]  # due, then id
    assert len(ids(bob)) == 6
    assert ids(alice, "owner=me") == [a1.pk, a3.pk]
    assert ids(bob, "owner=me") == [Action.objects.get(title="hidden").pk, a4.pk, a5.pk, a2.pk]
    assert ids(alice, f"owner={bob.username}") == [a4.pk, a5.pk, a2.pk]
    assert ids(alice, "status=open") == [a4.pk, a1.pk, a3.pk]
    assert ids(alice, "status=done") == [a2.pk]
    assert ids(alice, "overdue=true") == [a4.pk, a1.pk]
    assert ids(alice, "overdue=true&owner=me") == [a1.pk]
    assert ids(alice, f"engagement={other.pk}") == [a4.pk, a3.pk]
    assert ids(alice, f"engagement={secret.pk}") == []
    for bad in ("status=later", "engagement=1e228", f"engagement={2**64}", "engagement=1.5"):
        assert api_client(alice).get(f"/api/v1/actions/?{bad}").status_code == 400, bad


def test_who_changes_and_deletes_an_action(analyst_nu, manager_ns):
    carol = make_user(Role.ANALYST, Marking.NU, username="carol")
    owned = action(make_engagement(), analyst_nu, TODAY, created_by=analyst_nu)
    url = f"/api/v1/actions/{owned.pk}/"
    # Every analyst can edit the engagement, so may change its actions.
    assert api_client(carol).patch(url, {"title": "Send the notes"}).status_code == 200
    assert api_client(carol).delete(url).status_code == 403  # not hers
    assert api_client(analyst_nu).delete(url).status_code == 204  # she created it
    again = action(make_engagement(), analyst_nu, TODAY, created_by=analyst_nu)
    assert api_client(manager_ns).delete(f"/api/v1/actions/{again.pk}/").status_code == 204
    assert api_client(analyst_nu).put(url, {}).status_code == 405
    assert api_client(analyst_nu).post("/api/v1/actions/", {}).status_code == 405


def test_one_who_may_not_change_an_action_gets_403_before_its_input_is_read(analyst_nu):
    """Permission first, then validation: no 400 about the input, nothing stored."""
    from django.contrib.auth.models import Group, Permission

    owned = action(make_engagement(), analyst_nu, TODAY, created_by=analyst_nu)
    carol = make_user(Role.ANALYST, Marking.NU, username="carol")
    Group.objects.get(name=Role.ANALYST).permissions.remove(
        Permission.objects.get(codename="change_engagement")
    )  # analysts may no longer edit engagements, so not their actions either
    api, url = api_client(carol), f"/api/v1/actions/{owned.pk}/"
    for body in ({"status": "later"}, {"owner": "carol"}, {"title": "Mine now"}):
        response = api.patch(url, body)
        assert response.status_code == 403, (body, response.json())
        assert "change an action" in response.json()["detail"]
    owned.refresh_from_db()
    assert owned.title != "Mine now"
    assert api_client(analyst_nu).patch(url, {"status": "later"}).status_code == 400  # hers


def test_an_action_of_an_engagement_raised_above_the_reader_disappears(analyst_nu):
    engagement = make_engagement()
    owned = action(engagement, analyst_nu, TODAY)
    api = api_client(analyst_nu)
    assert api.get(f"/api/v1/actions/{owned.pk}/").status_code == 200
    type(engagement).objects.filter(pk=engagement.pk).update(marking=Marking.NS)
    assert api.get(f"/api/v1/actions/{owned.pk}/").status_code == 404
    assert api.patch(f"/api/v1/actions/{owned.pk}/", {"status": "done"}).status_code == 404
    assert api.get("/api/v1/actions/").json()["results"] == []


def test_actions_api_query_counts(analyst_nu, django_assert_num_queries):
    engagements = [make_engagement() for _ in range(3)]
    for index in range(12):
        action(engagements[index % 3], analyst_nu, TODAY + index * DAY)
    api = api_client(analyst_nu)
    # the caller's role (its groups), the count, the page of actions with their owners,
    # creators and engagements
    with django_assert_num_queries(3):
        assert len(api.get("/api/v1/actions/").json()["results"]) == 12
    # (the caller's role is known by now) the engagement through the gate, its actions
    # with owners and creators
    with django_assert_num_queries(2):
        assert len(api.get(f"/api/v1/engagements/{engagements[0].pk}/actions/").json()) == 4


# Pages ---------------------------------------------------------------------------------


def test_the_engagement_page_lists_and_adds_actions(client, analyst_nu, analyst_ns):
    engagement = make_engagement()
    client.force_login(analyst_nu)
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert "Follow-up actions" in page and "Add action" in page
    response = client.post(
        f"/engagements/{engagement.pk}/actions/",
        {"title": "Book the room", "owner": analyst_ns.pk, "due": "2030-03-01"},
    )
    assert response.status_code == 302 and response.url == f"/engagements/{engagement.pk}/"
    stored = Action.objects.get()
    assert (stored.title, stored.owner, stored.created_by) == (
        "Book the room",
        analyst_ns,
        analyst_nu,
    )
    assert "Book the room" in client.get(f"/engagements/{engagement.pk}/").content.decode()
    # Bad input: the page again, with the message beside the field, nothing stored.
    bad = client.post(
        f"/engagements/{engagement.pk}/actions/", {"title": "", "owner": "", "due": "soon"}
    )
    assert bad.status_code == 200 and "This field is required." in bad.content.decode()
    assert Action.objects.count() == 1


def test_the_owner_choices_on_the_page_are_people_who_can_see_it(
    client, analyst_nu, analyst_ns, manager_ns
):
    secret = make_engagement(marking=Marking.NC)
    client.force_login(analyst_ns)
    page = client.get(f"/engagements/{secret.pk}/").content.decode()
    assert ">analyst-ns<" in page and ">manager-ns<" in page and ">analyst-nu<" not in page
    refused = client.post(
        f"/engagements/{secret.pk}/actions/",
        {"title": "Brief", "owner": analyst_nu.pk, "due": "2030-03-01"},
    )
    assert refused.status_code == 200 and not Action.objects.exists()
    # Someone in a group that is no role cannot see it, so is not offered either.
    outsider = make_user(Role.ANALYST, Marking.NS, username="outsider")
    outsider.groups.set([Group.objects.create(name="newsletter")])
    assert ">outsider<" not in client.get(f"/engagements/{secret.pk}/").content.decode()


def test_actions_page_shows_mine_first_and_highlights_overdue(client, analyst_ns, analyst_nu):
    engagement = make_engagement(title="Maritime talks")
    action(engagement, analyst_ns, TODAY - 3 * DAY, title="Bob's late one")
    action(engagement, analyst_nu, TODAY + DAY, title="Alice's next one")
    action(engagement, analyst_nu, TODAY - DAY, title="Alice's late one")
    client.force_login(analyst_nu)
    page = client.get("/actions/").content.decode()
    order = [
        page.index(title)
        for title in ("Alice&#x27;s late one", "Alice&#x27;s next one", "Bob&#x27;s late one")
    ]
    assert order == sorted(order)
    assert page.count('class="gap overdue"') == 2
    mine_only = client.get("/actions/?owner=me").content.decode()
    assert "Bob&#x27;s late one" not in mine_only and "Alice&#x27;s late one" in mine_only
    # Mark one done from the page.
    mine = Action.objects.get(title="Alice's next one")
    response = client.post("/actions/", {"action": mine.pk, "status": "done", "next": "/actions/"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.status, mine.done_at) == ("done", TODAY)


def test_actions_page_query_count(client, analyst_nu, django_assert_num_queries):
    engagements = [make_engagement() for _ in range(3)]
    client.force_login(analyst_nu)
    client.get("/actions/")
    for index in range(15):
        action(engagements[index % 3], analyst_nu, TODAY + (index - 5) * DAY)
    # session, user (its role and permissions were read at the first request: User.access);
    # the count; the page of actions with their engagements and owners; which of them the
    # reader may change; the header's count of unread notifications
    with django_assert_num_queries(6):
        assert client.get("/actions/").status_code == 200


def test_dashboard_opens_on_my_actions_overdue_or_due_this_week(client, analyst_nu, analyst_ns):
    engagement = make_engagement(title="Staff talks with Japan")
    action(engagement, analyst_nu, TODAY - DAY, title="Write the report")
    action(engagement, analyst_nu, TODAY + 7 * DAY, title="Book the room")
    action(engagement, analyst_nu, TODAY + 8 * DAY, title="Next month's visit")
    action(engagement, analyst_nu, TODAY, title="Already sent", status="done")
    action(engagement, analyst_ns, TODAY, title="Not mine")
    client.force_login(analyst_nu)
    page = client.get("/").content.decode()
    needs_you = page[page.index('id="needs-you"') : page.index("Engagements per pillar")]
    assert "Write the report" in needs_you and "overdue" in needs_you
    assert "Book the room" in needs_you
    assert "Next month's visit" not in needs_you
    assert "Already sent" not in needs_you and "Not mine" not in needs_you
    assert "All my open actions (3)" in needs_you
    # Before the 15 plans of the month and the rest.
    assert page.index('id="needs-you"') < page.index("Planned in the next 30 days")


def test_my_actions_say_so_when_nothing_is_due(client, analyst_nu):
    engagement = make_engagement()
    action(engagement, analyst_nu, TODAY + 30 * DAY, title="Later")
    client.force_login(analyst_nu)
    page = client.get("/").content.decode()
    assert "Nothing of yours is overdue or due in the next 7 days." in page
    assert "All my open actions (1)" in page
