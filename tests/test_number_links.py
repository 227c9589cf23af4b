"""Every number links to exactly the rows behind it, and the linked list shows that many
(issue 12, item 8). The test follows EVERY link to the engagement list on the dashboard,
coverage (plain and rolled up), trend, tip board, tip page, gaps and roadmap pages, on data
with planned and cancelled rows, a hidden marking, an inactive partner and a membership
that began inside the period, and compares the number shown with the list's count."""

import datetime
import html
import re

import pytest
from django.utils import timezone

from accounts.choices import Marking, Role
from partners.models import Membership, Partner
from tests.factories import make_engagement, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

ROWS = ["ASEAN", "IDN", "JPN", "KOR", "TLS"]  # the active partners (a short heat map)
LINK = re.compile(r'<a [^>]*href="(/engagements/\?[^"]*)"[^>]*>(.*?)</a>', re.S)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture
def data(db):
    today = timezone.localdate()

    def day(offset):
        return today + datetime.timedelta(days=offset)

    Partner.objects.exclude(code__in=ROWS).update(active=False)  # Viet Nam too
    # Timor-Leste joined ASEAN 30 days ago (in the fixtures: 2025-10-26).
    Membership.objects.filter(organization__code="ASEAN", member__code="TLS").update(
        joined=day(-30)
    )
    made = {
        "idn": make_engagement(
            partners=["IDN"], pillars=["dialogue", "security"], tips=[5], start_date=day(-10)
        ),
        "tls_member": make_engagement(
            partners=["TLS"], pillars=["dialogue"], tips=[5], start_date=day(-20)
        ),
        "tls_before": make_engagement(
            partners=["TLS"], pillars=["dialogue"], tips=[5], start_date=day(-60)
        ),
        "asean_jpn": make_engagement(
            partners=["ASEAN", "JPN"], pillars=["economic"], tips=[5, 1], start_date=day(-5)
        ),
        "cancelled": make_engagement(
            partners=["IDN"], pillars=["security"], tips=[5], status="cancelled", start_date=day(-2)
        ),
        "hidden": make_engagement(
            partners=["JPN"], pillars=["hadr"], tips=[5], marking="NS", start_date=day(-3)
        ),
        "inactive_member": make_engagement(
            partners=["VNM"], pillars=["dialogue"], start_date=day(-8)
        ),
        "older": make_engagement(
            partners=["KOR"], pillars=["dialogue"], tips=[5], start_date=day(-200)
        ),
        "too_old": make_engagement(
            partners=["KOR"], pillars=["hadr"], tips=[5], start_date=day(-500)
        ),
        "later": make_engagement(
            partners=["JPN"], pillars=["hadr"], status="planned", start_date=day(60)
        ),
    }
    for offset in range(1, 18):  # 17 planned in the next 30 days: the dashboard shows 15
        made[f"planned{offset}"] = make_engagement(
            partners=["IDN"],
            pillars=["security"],
            tips=[5],
            status="planned",
            start_date=day(offset),
        )
    return made


def links(page):
    """(href, text) of every link to the engagement list on the page."""
    for href, inner in LINK.findall(page):
        yield html.unescape(href), " ".join(re.sub(r"<[^>]+>", " ", inner).split())


def test_every_number_links_to_a_list_of_that_many(client, data):
    reader = make_user(Role.MANAGER, Marking.NC)  # the NS engagement does not exist for it
    client.force_login(reader)
    today = timezone.localdate()
    mid_month = today.replace(day=15) - datetime.timedelta(days=200)
    pages = [
        "/",
        "/reports/coverage/",
        "/reports/coverage/?rollup=members",
        "/reports/coverage/?rollup=members&status=any&kind=regional_org",
        "/reports/coverage/?region=southeast_asia&status=planned",
        "/reports/trend/",
        f"/reports/trend/?interval=quarter&status=any&start={mid_month.isoformat()}",
        "/reports/tips/",
        "/roadmap/tips/5/",
        "/roadmap/",
        "/reports/gaps/",
    ]
    checked, seen = {}, {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        found = list(links(response.content.decode()))
        assert found, url
        for href, text in found:
            if DATE.fullmatch(text):  # a gap's last date: the newest row of its list
                listed = client.get(href).context["page"]
                assert listed.object_list[0].start_date.isoformat() == text, (url, href)
                continue
            number = re.search(r"\d+", text)
            if text == "gap":
                shown = 0
            elif number:
                shown = int(number.group())
            else:
                continue  # a link without a number ("every engagement that advances it")
            if href not in seen:
                listed = client.get(href + "&page_size=500")
                seen[href] = (listed.context["count"], len(listed.context["page"]))
            assert seen[href] == (shown, shown), (url, text, href)
            checked[url] = checked.get(url, 0) + 1
    # Every page had numbers to follow: cells, totals, periods, tips.
    assert set(checked) == set(pages) - {"/reports/gaps/"}
    assert checked["/reports/coverage/"] == len(ROWS) * 5 + 5  # cells and row totals, totals


def test_the_numbers_are_the_ones_worked_out_by_hand(client, data):
    """The oracle, independent of the code: what the links above agreed on."""
    client.force_login(make_user(Role.MANAGER, Marking.NC))
    rolled = client.get("/reports/coverage/?rollup=members").context["data"]
    asean = next(row for row in rolled["rows"] if row["partner"] == "ASEAN")
    # Dialogue: Indonesia's, Timor-Leste's after it joined and Viet Nam's (inactive, still
    # a member); not Timor-Leste's from before it joined.
    assert asean["cells"]["dialogue"]["count"] == 3
    # Economic: its own with Japan. Security: Indonesia's completed one (not the cancelled).
    assert asean["cells"]["economic"]["count"] == 1 and asean["cells"]["security"]["count"] == 1
    assert asean["total"] == 4  # idn, tls_member, asean_jpn, inactive_member
    # The rolled-up dialogue total: every completed dialogue engagement of an active row
    # or of a member of one (Viet Nam's through ASEAN): idn, tls_member, tls_before,
    # inactive_member, older.
    assert rolled["totals"]["dialogue"] == 5
    plain = client.get("/reports/coverage/").context["data"]
    assert plain["totals"]["dialogue"] == 4  # Viet Nam is inactive and not rolled up
    link = client.get(
        "/engagements/?partner_active=true&pillar=dialogue&status=completed"
        f"&start_after={plain['start'].isoformat()}&start_before={plain['end'].isoformat()}"
    )
    assert link.context["count"] == 4
    tips = {tip["number"]: tip for tip in client.get("/reports/tips/").context["tip_board"]}
    # Tip 5, completed in 12 months: idn, tls_member, tls_before, asean_jpn, older (not the
    # cancelled, planned, hidden or 500-day-old ones).
    assert tips[5]["engagements_12_months"] == 5
    tip_page = client.get("/roadmap/tips/5/")
    assert len(tip_page.context["advancing"]) == 5
    assert {row.status for row in tip_page.context["advancing"]} == {"completed"}
    dashboard = client.get("/")
    assert dashboard.context["upcoming_count"] == 17 and len(dashboard.context["upcoming"]) == 15
    assert "15 of 17 shown" in dashboard.content.decode()
