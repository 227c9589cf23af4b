"""The partner picker (static/js/partner-picker.js) and the list's partner filter box:
partners stay in the order they were entered, through a failed save; Esc closes the
list of matches for good; the filter box finds a partner by another name."""

import re

import pytest
from playwright.sync_api import expect

from accounts.choices import Marking, Role
from tests.e2e.sign_in import sign_in
from tests.factories import make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

# Zero-delay timers set while window.__held is a list wait there until the test runs them:
# a machine too busy to run them before the next key, made to order.
HOLD_ZERO_DELAY_TIMERS = """
window.__held = null;
const setTimeoutAsBefore = window.setTimeout;
window.setTimeout = function (callback, delay, ...args) {
  if (window.__held && !delay) { window.__held.push(() => callback(...args)); return 0; }
  return setTimeoutAsBefore.call(window, callback, delay, ...args);
};
"""
RUN_HELD_TIMERS = """() => {
  const held = window.__held;
  window.__held = null;
  held.forEach((run) => run());
  return held.length;
}"""


def add(page, text, expected):
    """Type into the picker, wait for the match to be highlighted, Enter adds it."""
    page.keyboard.type(text)
    expect(page.locator(".ts-dropdown .option.active")).to_contain_text(expected)
    page.keyboard.press("Enter")
    expect(page.get_by_role("list", name="Chosen partners").get_by_text(expected)).to_be_visible()


def chip_codes(page):
    return page.locator(".partner-chips li[data-code]").evaluate_all(
        "chips => chips.map((chip) => chip.dataset.code)"
    )


def test_esc_closes_the_matches_even_before_the_focus_has_settled(live_server, page):
    """Tom Select's focus() runs its focus handler again a moment later; that handler used
    to open the list, so an Esc pressed in between was undone (the flaky analyst journey:
    the list reopened over the pillar checkboxes)."""
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.add_init_script(HOLD_ZERO_DELAY_TIMERS)
    page.goto(f"{live_server.url}/engagements/new/")
    picker = page.get_by_role("combobox", name="Partners")
    page.evaluate("window.__held = []")
    picker.fill("phil")
    page.keyboard.press("Enter")
    page.keyboard.type("JPN")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    expect(picker).to_have_attribute("aria-expanded", "false")
    assert page.evaluate(RUN_HELD_TIMERS) > 0  # the late focus handler was waiting
    expect(picker).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".partner-picker .ts-dropdown")).to_be_hidden()
    assert chip_codes(page) == ["PHL", "JPN"]
    page.get_by_label("Shared Security Concerns", exact=True).check(timeout=2000)


def test_a_click_opens_the_matches_and_tab_does_not(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/new/")
    picker = page.get_by_role("combobox", name="Partners")
    page.get_by_label("Location").focus()
    page.keyboard.press("Tab")
    expect(picker).to_be_focused()
    expect(picker).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowDown")
    expect(picker).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(picker).to_have_attribute("aria-expanded", "false")
    page.locator(".partner-picker .ts-control").click()
    expect(picker).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".partner-picker .ts-dropdown")).to_be_visible()


def test_partners_stay_in_the_order_they_were_entered(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/new/")
    page.get_by_role("combobox", name="Partners").focus()
    add(page, "Vietnam", "Viet Nam (VNM)")
    add(page, "Japan", "Japan (JPN)")
    add(page, "Indonesia", "Indonesia (IDN)")
    page.keyboard.press("Escape")
    page.get_by_role("combobox", name="Role of Japan (JPN)").select_option("lead")
    assert chip_codes(page) == ["VNM", "JPN", "IDN"]

    # No title: the save fails, and the chips come back as they were entered.
    page.get_by_role("button", name="Log engagement").click()
    expect(page.get_by_role("alert").filter(has_text="Nothing was saved")).to_be_focused()
    assert chip_codes(page) == ["VNM", "JPN", "IDN"]
    expect(page.get_by_role("combobox", name="Role of Japan (JPN)")).to_have_value("lead")

    # Removed and added again, a partner goes last, and stays there through another save.
    page.get_by_role("button", name="Remove Viet Nam (VNM)").click()
    page.get_by_role("combobox", name="Partners").focus()
    add(page, "VNM", "Viet Nam (VNM)")
    assert chip_codes(page) == ["JPN", "IDN", "VNM"]
    page.get_by_role("button", name="Log engagement").click()
    expect(page.get_by_role("alert").filter(has_text="Nothing was saved")).to_be_focused()
    assert chip_codes(page) == ["JPN", "IDN", "VNM"]


def test_the_chosen_options_are_sent_first_in_the_chips_order(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/new/")
    page.get_by_role("combobox", name="Partners").focus()
    add(page, "Viet", "Viet Nam (VNM)")
    add(page, "AUS", "Australia (AUS)")
    page.keyboard.press("Escape")
    # What the form would send, seen after the picker's own submit handler.
    page.evaluate(
        """() => {
          const form = document.querySelector("form.engagement-form");
          form.addEventListener("submit", (event) => {
            event.preventDefault();
            window.__sent = new FormData(form).getAll("partners");
            window.__top = [...form.querySelector("#id_partners").options].slice(0, 3)
              .map((option) => option.value + (option.selected ? " chosen" : ""));
          });
        }"""
    )
    page.get_by_role("button", name="Log engagement").click()
    expect(page).to_have_url(re.compile(r"/engagements/new/$"))
    page.wait_for_function("window.__sent !== undefined")
    assert page.evaluate("window.__sent") == ["VNM", "AUS"]
    assert page.evaluate("window.__top")[:2] == ["VNM chosen", "AUS chosen"]
    assert not page.evaluate("window.__top")[2].endswith("chosen")


def test_the_list_filter_box_finds_a_partner_by_another_name(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/")
    box = page.get_by_role("searchbox", name="Filter the list of Partners")
    shown = "select => [...select.options].filter((option) => !option.hidden).map((o) => o.value)"
    box.fill("Vietnam")
    assert page.locator("#id_partner").evaluate(shown) == ["VNM"]
    box.fill("lao pdr")
    assert page.locator("#id_partner").evaluate(shown) == ["LAO"]
    box.fill("jpn")  # a code
    assert page.locator("#id_partner").evaluate(shown) == ["JPN"]
    box.fill("")
    assert len(page.locator("#id_partner").evaluate(shown)) > 20
