"""Escalation review (tip 6): a planned high-risk engagement needs a manager's decision,
which holds until its risk, start date, partners or kind change, whichever door the
change comes through (API, form, admin)."""

import datetime

import pytest
from django.utils import timezone

from accounts.choices import Marking, Role
from engagements.models import Review
from engagements.services import save_engagement
from partners.models import Partner
from tests.factories import api_client, make_engagement, make_user
from tests.test_views import form_data, pillar_ids

pytestmark = pytest.mark.usefixtures("reference_data")

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def risky(**fields):
    fields.setdefault("status", "planned")
    fields.setdefault("escalation_risk", "high")
    fields.setdefault("start_date", TODAY + 10 * DAY)
    fields.setdefault("partners", ["JPN", "KOR"])
    return make_engagement(**fields)


def review_of(user, engagement):
    return api_client(user).get(f"/api/v1/engagements/{engagement.pk}/").json()["review"]


def test_managers_record_reviews_analysts_cannot(analyst_ns, manager_ns, admin_ns):
    engagement = risky()
    url = f"/api/v1/engagements/{engagement.pk}/reviews/"
    assert api_client(analyst_ns).post(url, {"decision": "cleared"}).status_code == 403
    assert review_of(analyst_ns, engagement) is None
    first = api_client(manager_ns).post(url, {"decision": "concerns", "note": "Too close."})
    assert first.status_code == 201
    assert review_of(analyst_ns, engagement) == "concerns"
    second = api_client(admin_ns).post(url, {"decision": "cleared", "note": "Moved out."})
    assert second.status_code == 201
    assert review_of(analyst_ns, engagement) == "cleared"
    listed = api_client(analyst_ns).get(url).json()
    assert [(row["decision"], row["note"], row["by"]) for row in listed] == [
        ("cleared", "Moved out.", "admin-ns"),
        ("concerns", "Too close.", "manager-ns"),
    ]
    assert set(listed[0]) == {"decision", "note", "by", "at", "current"}
    bad = api_client(manager_ns).post(url, {"decision": "maybe"})
    assert bad.status_code == 400 and "decision" in bad.json()


def test_reviews_of_a_hidden_engagement_are_404(manager_ns):
    secret = risky(marking=Marking.NS)
    reader = make_user(Role.MANAGER, Marking.NU)
    Review.objects.create(engagement=secret, decision="cleared", by=manager_ns)
    url = f"/api/v1/engagements/{secret.pk}/reviews/"
    assert api_client(reader).get(url).status_code == 404
    assert api_client(reader).post(url, {"decision": "cleared"}).status_code == 404
    assert Review.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"escalation_risk": "medium"},
        {"start_date": (TODAY + 11 * DAY).isoformat()},
        {"partners": ["JPN"]},
        {"partners": ["JPN", "KOR", "AUS"]},
        {"kind": "exercise"},
    ],
)
def test_a_change_of_plan_through_the_api_clears_the_review(analyst_ns, manager_ns, change):
    engagement = risky()
    Review.objects.create(engagement=engagement, decision="cleared", by=manager_ns)
    api = api_client(analyst_ns)
    response = api.patch(f"/api/v1/engagements/{engagement.pk}/", {**change, "version": 1})
    assert response.status_code == 200
    assert response.json()["review"] is None
    assert review_of(analyst_ns, engagement) is None
    # The review is kept, marked as for an earlier plan; a new one counts again.
    listed = api.get(f"/api/v1/engagements/{engagement.pk}/reviews/").json()
    assert [(row["decision"], row["current"]) for row in listed] == [("cleared", False)]
    api_client(manager_ns).post(
        f"/api/v1/engagements/{engagement.pk}/reviews/", {"decision": "concerns"}
    )
    assert review_of(analyst_ns, engagement) == "concerns"


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Renamed"},
        {"summary": "More detail."},
        {"partners": ["KOR", "JPN"]},  # the same partners in another order
        {"start_date": (TODAY + 10 * DAY).isoformat()},  # the same date again
        {"escalation_risk": "high"},
    ],
)
def test_other_changes_keep_the_review(analyst_ns, manager_ns, change):
    engagement = risky()
    Review.objects.create(engagement=engagement, decision="cleared", by=manager_ns)
    api = api_client(analyst_ns)
    response = api.patch(f"/api/v1/engagements/{engagement.pk}/", {**change, "version": 1})
    assert response.status_code == 200 and response.json()["review"] == "cleared"


def test_a_change_of_plan_through_the_form_clears_the_review(client, analyst_ns, manager_ns):
    engagement = risky(pillars=["dialogue"])
    Review.objects.create(engagement=engagement, decision="cleared", by=manager_ns)
    client.force_login(analyst_ns)
    data = form_data(
        title=engagement.title,
        status="planned",
        escalation_risk="high",
        start_date=engagement.start_date.isoformat(),
        end_date="",
        pillars=pillar_ids("dialogue"),
        version=1,
    )
    # The same plan saved again (title aside): the review stands.
    response = client.post(f"/engagements/{engagement.pk}/edit/", {**data, "title": "New"})
    assert response.status_code == 302
    assert review_of(analyst_ns, engagement) == "cleared"
    later = (engagement.start_date + 7 * DAY).isoformat()
    response = client.post(
        f"/engagements/{engagement.pk}/edit/", {**data, "version": 2, "start_date": later}
    )
    assert response.status_code == 302
    assert review_of(analyst_ns, engagement) is None
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert "Needs review" in page and "for an earlier plan" in page


def test_a_change_of_plan_through_the_admin_clears_the_review(
    client, admin_ns, manager_ns, analyst_ns
):
    engagement = risky(pillars=["dialogue"])
    Review.objects.create(engagement=engagement, decision="cleared", by=manager_ns)
    client.force_login(admin_ns)
    data = form_data(
        title=engagement.title,
        status="planned",
        kind="exercise",
        escalation_risk="high",
        start_date=engagement.start_date.isoformat(),
        end_date="",
        pillars=pillar_ids("dialogue"),
        version=1,
    )
    response = client.post(f"/admin/engagements/engagement/{engagement.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    engagement.refresh_from_db()
    assert engagement.kind == "exercise"
    assert review_of(analyst_ns, engagement) is None


def test_the_write_service_clears_reviews_when_partners_change(analyst_ns, manager_ns):
    engagement = risky()
    Review.objects.create(engagement=engagement, decision="cleared", by=manager_ns)
    save_engagement(analyst_ns, {"partners": [Partner.objects.get(code="AUS")]}, engagement.pk, 1)
    assert not Review.objects.current().exists()


# The report, its page and the dashboard ------------------------------------------------


def test_risks_report_lists_visible_planned_high_risk_soonest_first(manager_ns, analyst_ns):
    later = risky(title="Later", start_date=TODAY + 20 * DAY, partners=["KOR", "JPN"])
    sooner = risky(title="Sooner", start_date=TODAY + 2 * DAY)
    past = risky(title="Still planned", start_date=TODAY - 3 * DAY)
    risky(title="Secret", start_date=TODAY, marking=Marking.NS)
    risky(title="Done", status="completed")
    risky(title="Medium", escalation_risk="medium")
    Review.objects.create(engagement=later, decision="concerns", by=manager_ns)
    reader = make_user(Role.ANALYST, Marking.NC)
    response = api_client(reader).get("/api/v1/reports/risks/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "engagement": past.pk,
            "title": "Still planned",
            "start_date": (TODAY - 3 * DAY).isoformat(),
            "partners": ["JPN", "KOR"],
            "partner_names": ["Japan", "Republic of Korea"],
            "review": None,
            "marking": "NU",
        },
        {
            "engagement": sooner.pk,
            "title": "Sooner",
            "start_date": (TODAY + 2 * DAY).isoformat(),
            "partners": ["JPN", "KOR"],
            "partner_names": ["Japan", "Republic of Korea"],
            "review": None,
            "marking": "NU",
        },
        {
            "engagement": later.pk,
            "title": "Later",
            "start_date": (TODAY + 20 * DAY).isoformat(),
            "partners": ["KOR", "JPN"],
            "partner_names": ["Republic of Korea", "Japan"],
            "review": "concerns",
            "marking": "NU",
        },
    ]
    ns_titles = [
        row["title"] for row in api_client(analyst_ns).get("/api/v1/reports/risks/").json()
    ]
    assert ns_titles == ["Still planned", "Secret", "Sooner", "Later"]


def test_risks_query_counts(analyst_ns, manager_ns, django_assert_num_queries):
    for days in range(8):
        Review.objects.create(
            engagement=risky(start_date=TODAY + days * DAY), decision="cleared", by=manager_ns
        )
    api = api_client(analyst_ns)
    assert analyst_ns.role == Role.ANALYST
    # the engagements with their newest current review, their partners
    with django_assert_num_queries(2):
        assert len(api.get("/api/v1/reports/risks/").json()) == 8


def test_risks_page_and_engagement_page(client, analyst_ns, manager_ns):
    engagement = risky(title="Strait transit exercise")
    client.force_login(analyst_ns)
    page = client.get("/reports/risks/").content.decode()
    assert "Strait transit exercise" in page and "needs review" in page
    detail = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert "Needs review" in detail and "Record review" not in detail  # analysts do not
    client.force_login(manager_ns)
    assert "Record review" in client.get(f"/engagements/{engagement.pk}/").content.decode()
    response = client.post(
        f"/engagements/{engagement.pk}/reviews/", {"decision": "cleared", "note": "Fine."}
    )
    assert response.status_code == 302
    detail = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert (
        "Needs review" not in detail
        and "Reviewed: <strong>Cleared</strong> by manager-ns" in detail
    )
    assert "needs review" not in client.get("/reports/risks/").content.decode()
    bad = client.post(f"/engagements/{engagement.pk}/reviews/", {"decision": "maybe"})
    assert bad.status_code == 200 and Review.objects.count() == 1


def test_manager_dashboard_shows_unreviewed_ones_of_the_next_30_days(
    client, manager_ns, analyst_ns
):
    risky(title="In thirty days", start_date=TODAY + 30 * DAY)
    risky(title="In thirty-one days", start_date=TODAY + 31 * DAY)
    reviewed = risky(title="Reviewed one", start_date=TODAY + DAY)
    Review.objects.create(engagement=reviewed, decision="cleared", by=manager_ns)
    client.force_login(manager_ns)
    page = client.get("/").content.decode()
    panel = page[page.index("High-risk plans to review") : page.index("All high-risk plans")]
    assert "In thirty days" in panel
    assert "In thirty-one days" not in panel and "Reviewed one" not in panel
    client.force_login(analyst_ns)
    assert "High-risk plans to review" not in client.get("/").content.decode()


def test_the_dashboard_says_when_no_plan_waits_for_a_review(client, manager_ns):
    client.force_login(manager_ns)
    page = client.get("/").content.decode()
    assert "No high-risk plan of the next 30 days waits for a review." in page


def test_a_manager_reviews_from_the_risks_page_and_comes_back_to_it(client, manager_ns, analyst_ns):
    plan = risky(title="Strait transit", partners=["VNM", "JPN"])
    client.force_login(manager_ns)
    page = client.get("/reports/risks/").content.decode()
    assert "Viet Nam; Japan" in page  # names, as on every other page
    assert f'action="/engagements/{plan.pk}/reviews/"' in page
    response = client.post(
        f"/engagements/{plan.pk}/reviews/",
        {"decision": "concerns", "note": "Too close.", "next": "/reports/risks/"},
    )
    assert response.status_code == 302 and response.url == "/reports/risks/"
    review = Review.objects.get(engagement=plan)
    assert (review.decision, review.note, review.by) == ("concerns", "Too close.", manager_ns)
    assert (
        "Review of “Strait transit” recorded: concerns."
        in client.get(response.url).content.decode()
    )
    # Elsewhere than this site: back to the engagement.
    response = client.post(
        f"/engagements/{plan.pk}/reviews/", {"decision": "cleared", "next": "https://evil.example/"}
    )
    assert response.url == f"/engagements/{plan.pk}/"
    # Analysts see the risks, without the form.
    client.force_login(analyst_ns)
    page = client.get("/reports/risks/").content.decode()
    assert "Strait transit" in page and "/reviews/" not in page


def test_page_query_counts_do_not_grow(client, manager_ns, analyst_ns, django_assert_num_queries):
    from engagements.models import Action
    from roadmap.models import Pillar, Target
    from tests.test_views import count_queries

    def follow_ups(engagement, count):
        for number in range(count):
            Action.objects.create(
                engagement=engagement, title=f"Do {number}", owner=analyst_ns, due=TODAY
            )
            Review.objects.create(engagement=engagement, decision="cleared", by=manager_ns)

    few, many = risky(), risky()
    follow_ups(few, 1)
    follow_ups(many, 8)
    client.force_login(manager_ns)
    client.get("/")  # the user's role and permissions are read once (User.access)
    assert count_queries(client, f"/engagements/{few.pk}/") == count_queries(
        client, f"/engagements/{many.pk}/"
    )
    # One of each first: with none, a panel's query is skipped.
    risky(start_date=TODAY + DAY)
    Target.objects.create(
        partner=Partner.objects.get(code="JPN"),
        pillar=Pillar.objects.get(code="hadr"),
        minimum=1,
        months=12,
    )
    dashboard = count_queries(client, "/")
    for number in range(6):
        risky(start_date=TODAY + number * DAY)
        follow_ups(risky(), 1)
        Target.objects.create(
            partner=Partner.objects.filter(targets=None).first(),
            pillar=Pillar.objects.get(code="hadr"),
            minimum=1,
            months=number + 1,
        )
    assert count_queries(client, "/") == dashboard
    # session, user (its role and permissions read before: User.access); the engagements
    # with their reviews; their partners; the header's count of unread notifications
    with django_assert_num_queries(5):
        assert client.get("/reports/risks/").status_code == 200
