"""The list's bulk bar in a browser: the heading's box ticks the page's rows, the bar
counts them, and one change lands on each (static/js/app.js)."""

import pytest
from playwright.sync_api import expect

from accounts.choices import Marking, Role
from engagements.models import Engagement
from tests.e2e.sign_in import sign_in
from tests.factories import make_engagement, make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def test_tick_the_page_and_change_every_row(live_server, page):
    analyst = make_user(Role.ANALYST, Marking.NU, username="ana")
    for number in range(3):
        make_engagement(title=f"Visit {number}", status="planned", created_by=analyst)
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/?status=planned")
    page.get_by_role("checkbox", name="Select every row on this page").first.check()
    bar = page.locator("details.bulk-bar")
    expect(bar.locator("summary")).to_have_text("Change the selected rows (3 ticked)")
    bar.locator("summary").click()
    bar.get_by_label("Status", exact=True).select_option("completed")
    page.get_by_role("button", name="Change the selected rows").click()
    expect(page.get_by_text("3 engagements changed.")).to_be_visible()
    assert set(Engagement.objects.values_list("status", flat=True)) == {"completed"}
