"""The person picker (static/js/person-picker.js): a searchable list on the engagement
form that sends the same `people` field as the native list it replaces."""

import pytest
from playwright.sync_api import expect

from accounts.choices import Marking, Role
from engagements.models import Engagement
from partners.models import Partner
from people.services import save_person
from tests.e2e.sign_in import sign_in
from tests.factories import make_engagement, make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def test_a_person_is_found_by_partner_picked_and_saved(live_server, page):
    analyst = make_user(Role.ANALYST, Marking.NU, username="ana")
    japan = Partner.objects.get(code="JPN")
    haruka = save_person(analyst, {"name": "Haruka Mori", "title": "Director", "partner": japan})
    save_person(analyst, {"name": "Kenji Sato", "title": "Counsellor"})
    engagement = make_engagement(title="Coastguard seminar", partners=["JPN"], created_by=analyst)
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/{engagement.pk}/edit/")
    picker = page.get_by_role("combobox", name="People")
    picker.click()
    page.keyboard.type("JPN")  # by the partner's code in the option's label
    expect(page.locator(".person-picker .ts-dropdown .option.active")).to_contain_text(
        "Haruka Mori"
    )
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("link", name="Haruka Mori")).to_be_visible()
    assert list(Engagement.objects.get(pk=engagement.pk).people.all()) == [haruka]
