"""The list and the reports in a browser, on a phone and a desktop (issue 12, items 5, 9
and 10): the filter panel folds away on a phone, chips remove filters, a saved view is
found in the navigation, the period form switches to custom dates, the heat map keeps its
partner column in sight and the trend chart fits the phone."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.choices import Marking, Role
from tests.e2e.sign_in import sign_in
from tests.factories import make_engagement, make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

PHONE = {"width": 390, "height": 844}


def test_the_list_on_a_phone_and_a_saved_view(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="lee")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    make_engagement(title="Jakarta maritime talks", partners=["IDN"], start_date=yesterday)
    make_engagement(title="Tokyo cyber talks", partners=["JPN"], start_date=yesterday)
    sign_in(page, live_server, "lee")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/engagements/?partner=IDN")
    # The filters are folded away: the count and the rows are on the first screen.
    expect(page.locator("#filter-panel")).not_to_have_attribute("open", "")
    expect(page.locator("#id_search")).to_be_hidden()
    expect(page.locator("#match-count")).to_have_text("1 engagement matches.")
    expect(page.locator("#match-count")).to_be_in_viewport()
    page.get_by_text("Filters (1 active)").click()
    expect(page.locator("#id_search")).to_be_visible()

    # Save the view, find it in the navigation, open it.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_text("Save this view").click()
    page.get_by_label("Name", exact=True).fill("Indonesia")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text("Saved the view “Indonesia”")).to_be_visible()
    page.get_by_role("link", name="Engagements", exact=True).click()
    expect(page.locator("#match-count")).to_have_text("2 engagements match.")
    page.locator("nav .saved-views summary").click()
    page.locator("nav .saved-views").get_by_role("link", name="Indonesia").click()
    expect(page).to_have_url(re.compile(r"/engagements/\?partner=IDN"))
    expect(page.locator("#match-count")).to_have_text("1 engagement matches.")

    # One click on a chip removes that filter.
    page.get_by_role("link", name="Remove filter Partners: Indonesia").click()
    expect(page.locator("#match-count")).to_have_text("2 engagements match.")


def test_reports_on_a_phone(live_server, page):
    make_user(Role.MANAGER, Marking.NS, username="max")
    make_engagement(partners=["JPN"], pillars=["security"], start_date=timezone.localdate())
    sign_in(page, live_server, "max")
    page.set_viewport_size(PHONE)

    # Editing a date switches the period to custom dates; a preset clears the dates.
    page.goto(f"{live_server.url}/reports/coverage/")
    page.locator("#id_start").fill("2025-02-03")
    expect(page.locator("#id_period")).to_have_value("custom")
    page.locator("#id_period").select_option("6m")
    expect(page.locator("#id_start")).to_have_value("")

    # The partner column stays in sight when the heat map scrolls sideways.
    wrap = page.locator(".heatmap-wrap")
    first = page.locator(".heatmap tbody th").first
    before = first.bounding_box()["x"]
    wrap.evaluate("element => { element.scrollLeft = 400; }")
    assert wrap.evaluate("element => element.scrollLeft") > 100
    assert abs(first.bounding_box()["x"] - before) < 1

    # The trend chart takes the phone's width, no more (tests/e2e/test_layout.py).
    page.goto(f"{live_server.url}/reports/trend/")
    chart = page.locator(".chart-scroll")
    assert page.locator(".chart-scroll svg").bounding_box()["width"] <= PHONE["width"]
    assert chart.evaluate("element => element.scrollWidth <= element.clientWidth")
