"""The README's screenshots, taken from the running app by the browser tests.

`make screenshots` runs this file with SCREENSHOTS_DIR=docs/screenshots, so the pictures
at the top of the README are of the app as it is. In the ordinary test run the same
pages are photographed into a temporary directory, which proves they still render with
their content (the checks below) without touching the committed pictures.
"""

import datetime
import os
import pathlib

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from accounts.choices import Marking, Role
from engagements.choices import EngagementKind
from tests.factories import make_engagements_in_bulk, make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

PARTNERS = ["JPN", "IDN", "VNM", "PHL", "ASEAN", "AUS", "KOR", "MYS"]
PILLARS = ["dialogue", "security", "economic", "hadr"]
SHOTS = {
    "dashboard.png": ("/", "Dashboard"),
    "engagement-form.png": ("/engagements/new/", "Log an engagement"),
    "coverage.png": ("/reports/coverage/", "Coverage"),
    "trend.png": ("/reports/trend/", "Trend"),
}


@pytest.fixture
def a_years_work():
    """About two hundred engagements spread over the last year, for pictures with life."""
    author = make_user(Role.ANALYST, Marking.NS, username="author")
    today = timezone.localdate()
    kinds = list(EngagementKind.values)
    rows = []
    for n in range(200):
        partner = PARTNERS[(n * 7) % len(PARTNERS)]
        pillars = [PILLARS[n % 4]] + ([PILLARS[(n + 1) % 4]] if n % 3 == 0 else [])
        days = -((n * 37) % 360) if n % 6 else (n * 11) % 60
        rows.append(
            dict(
                title=f"{kinds[n % len(kinds)].replace('_', ' ').capitalize()} with {partner}",
                partners=[partner],
                pillars=pillars,
                status="completed" if days < 0 else "planned",
                kind=kinds[n % len(kinds)],
                start_date=today + datetime.timedelta(days=days),
                created_by=author,
            )
        )
    # Many rows for the pictures, nothing proved about writing them: the bulk path.
    make_engagements_in_bulk(rows)


def test_screenshots_of_the_main_pages(live_server, browser, a_years_work, tmp_path):
    target = pathlib.Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    manager = make_user(Role.MANAGER, Marking.NS, username="manager")
    client = Client()
    client.force_login(manager)
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    for name, (url, heading) in SHOTS.items():
        page.goto(live_server.url + url)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        page.screenshot(path=target / name, full_page=False)
        picture = (target / name).read_bytes()
        assert picture.startswith(b"\x89PNG") and len(picture) > 20_000, name
    context.close()
