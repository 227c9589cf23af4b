"""The keyboard: "/" goes to the search box, "c" logs an engagement, "?" lists the
shortcuts (none of them while typing, nor with a modifier); the engagement form focuses
its title, or after a failed save its error summary (even at an address ending in #main);
ticking a facet ticks its pillar."""

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts.choices import Marking, Role
from tests.e2e.sign_in import sign_in
from tests.factories import make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

ACTIVE = "document.activeElement.id || document.activeElement.tagName"


def test_shortcuts(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    list_url = f"{live_server.url}/engagements/"

    # On the dashboard there is no search box: "/" does nothing.
    page.keyboard.press("/")
    assert page.evaluate(ACTIVE) == "BODY"

    # "/" goes to the list's search box, without typing itself into it.
    page.goto(list_url)
    search = page.locator("#id_search")
    page.keyboard.press("/")
    expect(search).to_be_focused()
    expect(search).to_have_value("")
    # Typing there is typing: "c" and "?" are letters in the box.
    page.keyboard.type("c?")
    expect(search).to_have_value("c?")
    expect(page.get_by_role("dialog")).to_have_count(0)
    search.blur()

    # With a modifier held, nothing: the browser's own shortcuts stay the browser's.
    for chord in ("Control+c", "Alt+c", "Meta+c", "Control+/"):
        page.keyboard.press(chord)
    expect(page).to_have_url(list_url)
    assert page.evaluate(ACTIVE) == "BODY"

    # "?" lists the shortcuts in a dialog, Esc closes it.
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Log an engagement")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # The header's button opens it too.
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # "c" opens "Log engagement", whose title has the focus.
    page.keyboard.press("c")
    expect(page).to_have_url(f"{live_server.url}/engagements/new/")
    expect(page.get_by_label("Title")).to_be_focused()
    # In a select or a text area, "c" and "/" are the field's.
    page.get_by_label("Kind").focus()
    page.keyboard.press("c")
    page.get_by_label("Summary").focus()
    page.keyboard.type("c/")
    expect(page.get_by_label("Summary")).to_have_value("c/")
    expect(page).to_have_url(f"{live_server.url}/engagements/new/")


def test_slash_opens_the_folded_filters_on_a_phone(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/engagements/")
    expect(page.locator("#filter-panel")).not_to_have_attribute("open", "")
    page.keyboard.press("/")
    expect(page.locator("#id_search")).to_be_focused()
    expect(page.locator("#id_search")).to_be_in_viewport()


def test_c_does_nothing_for_someone_who_may_not_log(live_server, page):
    user = make_user(Role.ANALYST, Marking.NR, username="nobody")
    user.groups.clear()  # no role: some pages, no logging
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/saved-views/")
    page.keyboard.press("c")
    expect(page).to_have_url(f"{live_server.url}/saved-views/")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).not_to_contain_text("Log an engagement")


def test_the_form_focuses_its_title_or_after_a_failed_save_its_summary(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/new/")
    expect(page.get_by_label("Title")).to_be_focused()

    page.get_by_role("button", name="Log engagement").click()
    summary = page.get_by_role("alert").filter(has_text="Nothing was saved")
    expect(summary).to_be_focused()

    # After "Skip to content" the address ends in #main, and so does the failed save's:
    # the browser then skips autofocus and, once the page has loaded, takes the focus
    # from where it is. The summary keeps it.
    page.goto(f"{live_server.url}/engagements/")  # not a jump within the failed save's page
    page.goto(f"{live_server.url}/engagements/new/#main")
    expect(page.get_by_label("Title")).to_be_focused()
    page.get_by_label("Title").fill("Port visit")
    page.get_by_role("button", name="Log engagement").click()
    page.wait_for_load_state("load")
    expect(page).to_have_url(re.compile(r"/engagements/new/#main$"))
    expect(summary).to_be_focused()
    expect(page.get_by_label("Title")).to_have_value("Port visit")


def test_ticking_a_facet_ticks_its_pillar(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/new/")
    security = page.get_by_label("Shared Security Concerns", exact=True)
    hadr = page.get_by_label("Humanitarian Assistance and Disaster Relief", exact=True)
    expect(security).not_to_be_checked()
    page.get_by_label("Maritime Security", exact=True).check()
    expect(security).to_be_checked()
    expect(hadr).not_to_be_checked()
    # With the keyboard too: Space on a facet of another pillar.
    page.get_by_label("Emergency Response", exact=True).focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Emergency Response", exact=True)).to_be_checked()
    expect(hadr).to_be_checked()
    # Unticking a facet leaves its pillar as it is.
    page.get_by_label("Maritime Security", exact=True).uncheck()
    expect(security).to_be_checked()
