"""Bulk edit from the API and the list: each item its own versioned write through the one
write service, with an outcome per item (ok, conflict, not_found, invalid)."""

import pytest

from accounts.choices import Marking, Role
from engagements.models import Engagement
from jobs.models import Job
from tests.factories import api_client, make_engagement, make_engagements_in_bulk, make_user

pytestmark = pytest.mark.usefixtures("reference_data")
URL = "/api/v1/engagements/bulk/"


def item(engagement):
    engagement.refresh_from_db()
    return {"id": engagement.pk, "version": engagement.version}


def test_each_item_lands_or_is_reported_and_skipped(analyst_nu):
    writer = make_user(Role.MANAGER, Marking.NR)
    fine, stale, lowered, hidden = (
        make_engagement(title="Fine", status="planned", created_by=writer),
        make_engagement(title="Stale", status="planned", created_by=writer),
        make_engagement(title="Marked NR", status="planned", marking="NR", created_by=writer),
        make_engagement(title="Hidden", marking="NS"),
    )
    stale_item = item(stale)
    api_client(analyst_nu).patch(
        f"/api/v1/engagements/{stale.pk}/", {"summary": "Meanwhile", **stale_item}, format="json"
    )
    response = api_client(writer).post(
        URL,
        {
            "items": [
                item(fine),
                stale_item,
                item(lowered),
                {"id": hidden.pk, "version": 1},
                {"id": 999999, "version": 1},
            ],
            "set": {"status": "completed", "marking": "NU"},
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    results = {r["id"]: r for r in response.json()["results"]}
    assert results[fine.pk] == {"id": fine.pk, "outcome": "ok", "version": 2, "errors": {}}
    assert results[stale.pk]["outcome"] == "conflict" and results[stale.pk]["version"] == 2
    assert results[lowered.pk]["outcome"] == "invalid"
    assert results[lowered.pk]["errors"] == {
        "marking": ["A marking may only be raised here; this one is NR."]
    }
    assert results[hidden.pk] == {
        "id": hidden.pk,
        "outcome": "not_found",
        "version": None,
        "errors": {},
    }
    assert results[999999]["outcome"] == "not_found"
    assert [r["id"] for r in response.json()["results"]] == [
        fine.pk, stale.pk, lowered.pk, hidden.pk, 999999
    ]  # fmt: skip
    assert Engagement.objects.get(pk=fine.pk).status == "completed"
    assert Engagement.objects.get(pk=stale.pk).status == "planned"
    assert Engagement.objects.get(pk=lowered.pk).status == "planned"
    # One history row by the writer, as for a single edit.
    newest = Engagement.history.filter(id=fine.pk).order_by("-history_id").first()
    assert newest.history_user == writer and newest.status == "completed"


def test_relations_are_added_and_removed_and_rules_still_hold(analyst_nu):
    one = make_engagement(partners=["JPN", "IDN"], pillars=["dialogue"], created_by=analyst_nu)
    two = make_engagement(partners=["IDN"], pillars=["dialogue", "hadr"], created_by=analyst_nu)
    api = api_client(analyst_nu)
    response = api.post(
        URL,
        {
            "items": [item(one), item(two)],
            "add": {"partners": ["VNM"], "pillars": ["security"], "tips": [3]},
            "remove": {"partners": ["IDN"], "pillars": ["hadr"]},
        },
        format="json",
    )
    assert [r["outcome"] for r in response.json()["results"]] == ["ok", "ok"]
    for engagement, partners in ((one, ["JPN", "VNM"]), (two, ["VNM"])):
        body = api.get(f"/api/v1/engagements/{engagement.pk}/").json()
        assert body["partners"] == partners
        assert sorted(body["pillars"]) == ["dialogue", "security"]
        assert body["tips"] == [3]
    # Removing the only pillar breaks a rule: reported for that item, by field.
    three = make_engagement(pillars=["hadr"], created_by=analyst_nu)
    refused = api.post(
        URL, {"items": [item(three)], "remove": {"pillars": ["hadr"]}}, format="json"
    )
    (result,) = refused.json()["results"]
    assert result["outcome"] == "invalid" and "pillars" in result["errors"]
    # Above the writer's clearance: invalid too.
    raised = api.post(URL, {"items": [item(three)], "set": {"marking": "NS"}}, format="json")
    assert raised.json()["results"][0]["outcome"] == "invalid"


@pytest.mark.parametrize(
    "body",
    [
        {"items": [], "set": {"status": "completed"}},
        {"items": [{"id": 1, "version": 1}]},
        {"items": [{"id": 1, "version": 1}], "add": {"partners": ["NOPE"]}},
        {"items": [{"id": 1, "version": 1}], "set": {"status": "lost"}},
        {"items": [{"id": 1, "version": 1}, {"id": 1, "version": 1}], "set": {"kind": "visit"}},
        {"items": [{"id": "x"}], "set": {"status": "completed"}},
    ],
)
def test_a_request_that_cannot_be_read_is_400(analyst_nu, body):
    response = api_client(analyst_nu).post(URL, body, format="json")
    assert response.status_code == 400, response.json()


def test_no_role_no_bulk_edit(no_role):
    engagement = make_engagement()
    response = api_client(no_role).post(
        URL, {"items": [item(engagement)], "set": {"status": "completed"}}, format="json"
    )
    assert response.status_code == 403


def test_more_than_200_run_as_a_job_with_the_same_outcomes(analyst_nu):
    made = make_engagements_in_bulk([{"status": "planned"} for _ in range(201)])
    items = [{"id": e.pk, "version": 1} for e in made]
    items[0]["version"] = 7
    response = api_client(analyst_nu).post(
        URL, {"items": items, "set": {"status": "completed"}}, format="json"
    )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"])
    assert job.status == "done" and job.started_by == analyst_nu
    outcomes = [r["outcome"] for r in job.result["results"]]
    assert outcomes == ["conflict"] + ["ok"] * 200
    assert Engagement.objects.filter(status="completed").count() == 200
    shown = api_client(analyst_nu).get(f"/api/v1/jobs/{job.pk}/").json()
    assert shown["status"] == "done"


def test_the_list_ticks_rows_and_changes_them_from_its_bar(client, analyst_nu):
    writer = make_user(Role.MANAGER, Marking.NS)
    one = make_engagement(title="One", status="planned", created_by=writer)
    two = make_engagement(title="Two", status="planned", created_by=writer)
    hidden = make_engagement(title="Three", status="planned", marking="NS", created_by=writer)
    client.force_login(analyst_nu)
    page = client.get("/engagements/?status=planned").content.decode()
    assert f'name="item" value="{one.pk}:1" form="bulk-form"' in page
    assert 'id="bulk-form"' in page
    items = [f"{one.pk}:1", f"{two.pk}:1", f"{hidden.pk}:1"]
    response = client.post(
        "/engagements/bulk/",
        {"item": items, "status": "completed", "add_partners": ["VNM"], "next": "/engagements/"},
        follow=True,
    )
    said = [str(message) for message in response.context["messages"]]
    assert said == ["2 engagements changed.", "1 engagement no longer there to change."]
    assert response.redirect_chain[-1][0] == "/engagements/"
    for engagement in (one, two):
        body = api_client(analyst_nu).get(f"/api/v1/engagements/{engagement.pk}/").json()
        assert body["status"] == "completed" and "VNM" in body["partners"]
    # Again from the same page: both changed since, so neither is changed again.
    again = client.post(
        "/engagements/bulk/", {"item": items[:2], "kind": "staff_talks"}, follow=True
    )
    assert [str(m) for m in again.context["messages"]] == [
        "2 engagements changed by someone else since the list was shown, so not changed "
        "(“One”, “Two”): open them to see why."
    ]
    # A rule broken: named, with the reason.
    refused = client.post(
        "/engagements/bulk/", {"item": [f"{one.pk}:2"], "remove_pillars": ["dialogue"]}, follow=True
    )
    assert [str(m) for m in refused.context["messages"]] == [
        "1 engagement not changed (“One”): Choose at least one pillar."
    ]
    nothing = client.post("/engagements/bulk/", {"item": items[:2]}, follow=True)
    assert "Choose what to change" in str(list(nothing.context["messages"])[0])
    none_ticked = client.post("/engagements/bulk/", {"status": "completed"}, follow=True)
    assert "Tick the rows to change first." in str(list(none_ticked.context["messages"])[0])


def test_a_change_that_changes_nothing_writes_nothing(analyst_nu):
    engagement = make_engagement(partners=["JPN"], status="planned", created_by=analyst_nu)
    response = api_client(analyst_nu).post(
        URL,
        {"items": [item(engagement)], "set": {"status": "planned"}, "add": {"partners": ["JPN"]}},
        format="json",
    )
    assert response.json()["results"][0] == {
        "id": engagement.pk, "outcome": "ok", "version": 1, "errors": {}
    }  # fmt: skip
    assert Engagement.history.filter(id=engagement.pk).count() == 1
    empty = api_client(analyst_nu).post(
        URL, {"items": [item(engagement)], "add": {"partners": []}}, format="json"
    )
    assert empty.status_code == 400


@pytest.mark.parametrize("value", ["²:1", "1:²", "abc", "99999999999999999999:1"])
def test_odd_row_values_are_left_out_not_a_500(client, analyst_nu, value):
    client.force_login(analyst_nu)
    response = client.post("/engagements/bulk/", {"item": [value], "status": "completed"})
    assert response.status_code == 302
