import re

import pytest
from playwright.sync_api import expect

from accounts.choices import Marking, Role
from engagements.models import Engagement
from tests.factories import PASSWORD, make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    # The live server's reads go to the replica (a mirror of the test database).
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def test_analyst_logs_finds_edits_and_sees_it_on_the_partner(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")

    # Sign in.
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("I have read the notice").check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # Log an engagement with two partners and two pillars.
    page.get_by_role("link", name="Log engagement").first.click()
    page.get_by_label("Title").fill("Coastguard interoperability seminar")
    page.get_by_label("Kind").select_option("workshop")
    page.get_by_label("Status").select_option("completed")
    page.get_by_label("Start date").fill("2025-09-15")
    page.get_by_label("Location").fill("Manila")
    # The partner picker: type to narrow the list, Enter adds; a role on each chip. Each
    # step waits for the widget's state (the match highlighted, the chip there, the list
    # closed), never for time.
    picker = page.get_by_role("combobox", name="Partners")
    chips = page.get_by_role("list", name="Chosen partners").get_by_role("listitem")
    picker.fill("phil")
    expect(page.locator(".ts-dropdown .option.active")).to_contain_text("Philippines (PHL)")
    page.keyboard.press("Enter")
    expect(chips).to_have_count(1)
    page.keyboard.type("JPN")
    expect(page.locator(".ts-dropdown .option.active")).to_contain_text("Japan (JPN)")
    page.keyboard.press("Enter")
    expect(chips).to_have_count(2)
    page.keyboard.press("Escape")  # closes the list of matches, for good
    expect(picker).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".partner-picker .ts-dropdown")).to_be_hidden()
    page.get_by_role("combobox", name="Role of Philippines (PHL)").select_option("lead")
    page.get_by_label("Shared Security Concerns", exact=True).check()
    page.get_by_label("Maritime Security", exact=True).check()
    page.get_by_label("Humanitarian Assistance and Disaster Relief", exact=True).check()
    page.get_by_label("Marking").select_option("NR")
    page.get_by_role("button", name="Log engagement").click()
    expect(page.get_by_role("heading", name="Coastguard interoperability seminar")).to_be_visible()
    engagement = Engagement.objects.get(title="Coastguard interoperability seminar")
    assert set(engagement.pillars.values_list("code", flat=True)) == {"security", "hadr"}

    # Find it through the filters.
    page.get_by_role("link", name="Engagements", exact=True).click()
    page.locator("#id_partner").select_option(["PHL"])
    page.locator("#id_pillar").select_option("hadr")
    page.get_by_role("button", name="Filter").click()
    row_link = page.get_by_role("link", name="Coastguard interoperability seminar")
    expect(row_link).to_have_count(1)

    # Edit it.
    row_link.click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Title").fill("Coastguard interoperability seminar, second round")
    page.get_by_role("button", name="Save changes").click()
    expect(
        page.get_by_text("Saved “Coastguard interoperability seminar, second round”.")
    ).to_be_visible()

    # See the change on the partner's profile.
    page.get_by_role("link", name="Philippines").first.click()
    expect(page.get_by_role("heading", name=re.compile("Philippines"))).to_be_visible()
    # In the timeline and in the table of engagements.
    expect(
        page.locator("#timeline").get_by_role(
            "link", name="Coastguard interoperability seminar, second round"
        )
    ).to_be_visible()
