"""The layout in a browser: tables of actions that are tables, and pages that work on a
phone (390 × 844): a header of one line whose navigation folds into "Menu" (without
JavaScript too), lists whose rows become cards with every cell named, a trend chart that
takes the width there is, captions that wrap in sight. (That no page at all is wider
than a phone, for every role, is tests/e2e/test_accessibility.py's.)"""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.choices import Marking, Role
from engagements.models import Action
from notifications.services import notify
from tests.e2e.sign_in import sign_in
from tests.factories import make_engagement, make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

# Where a table's header row and first body cell lie against the table itself.
TABLE_BOXES = """table => {
  const box = (element) => element.getBoundingClientRect();
  const head = table.querySelector("thead tr"), cell = table.querySelector("tbody td");
  return {display: getComputedStyle(table).display, table: box(table).toJSON(),
          head: box(head).toJSON(), lastHead: box(head.lastElementChild).toJSON(),
          cell: box(cell).toJSON()};
}"""


def assert_a_proper_table(table):
    boxes = table.evaluate(TABLE_BOXES)
    assert boxes["display"] == "table", boxes
    # The header cells spread over the table's width, not bunched at its left...
    assert abs(boxes["lastHead"]["right"] - boxes["table"]["right"]) < 2, boxes
    # ... and the first row (or "No actions.") lies below the header, inside the table.
    assert boxes["cell"]["top"] >= boxes["head"]["bottom"] - 1, boxes
    assert boxes["table"]["left"] - 1 <= boxes["cell"]["left"], boxes
    assert boxes["cell"]["right"] <= boxes["table"]["right"] + 1, boxes


def test_tables_of_actions_are_tables_empty_or_not(live_server, page):
    ana = make_user(Role.ANALYST, Marking.NR, username="ana")
    engagement = make_engagement(title="Port visit", partners=["IDN"], created_by=ana)
    sign_in(page, live_server, "ana")
    page.set_viewport_size(DESKTOP)

    page.goto(f"{live_server.url}/actions/")  # none yet
    table = page.locator("table.actions")
    expect(table.get_by_text("No actions.")).to_be_visible()
    assert_a_proper_table(table)
    page.goto(f"{live_server.url}/partners/IDN/brief/")
    assert_a_proper_table(page.locator("#brief-actions table.actions"))

    Action.objects.create(
        engagement=engagement,
        title="Send the minutes",
        owner=ana,
        due=timezone.localdate() + datetime.timedelta(days=3),
        created_by=ana,
    )
    for url in ("/actions/", f"/engagements/{engagement.pk}/", "/partners/IDN/brief/"):
        page.goto(live_server.url + url)
        table = page.locator("table.actions")
        expect(table.get_by_text("Send the minutes")).to_be_visible()
        assert_a_proper_table(table)


def test_the_header_folds_into_a_menu_on_a_phone(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/engagements/")
    header = page.locator("header.topbar")
    # One line: the brand, "Log engagement" and "Menu"; the navigation folded away.
    assert header.bounding_box()["height"] < 70
    expect(header.get_by_role("link", name="Log engagement")).to_be_in_viewport()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()

    page.locator(".menu-toggle > summary").click()
    expect(nav.get_by_role("link", name="Partners")).to_be_visible()
    expect(header).to_contain_text("ana · analyst · cleared NR")
    for name in ("Calendar feed", "Password"):
        expect(header.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    nav.get_by_text("Saved views", exact=True).click()
    expect(nav.get_by_role("link", name="Manage saved views")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    nav.get_by_role("link", name="Partners").click()
    expect(page.get_by_role("heading", name="Partners", exact=True)).to_be_visible()

    # On a desktop the navigation is one row, and there is no "Menu".
    page.set_viewport_size(DESKTOP)
    expect(nav.get_by_role("link", name="Trend")).to_be_visible()
    expect(page.locator(".menu-toggle > summary")).to_be_hidden()
    assert header.bounding_box()["height"] < 100  # two rows: the brand and who; the links


def test_the_menu_works_without_javascript(live_server, browser):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    sign_in(page, live_server, "ana")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    nav.get_by_role("link", name="Actions").click()
    expect(page.get_by_role("heading", name="Follow-up actions")).to_be_visible()
    page.set_viewport_size(DESKTOP)
    expect(nav.get_by_role("link", name="Roadmap")).to_be_visible()
    context.close()


def test_list_rows_are_cards_on_a_phone_with_marking_and_status_in_sight(live_server, page):
    make_user(Role.MANAGER, Marking.NS, username="max")
    today = timezone.localdate()
    make_engagement(
        title="Coastguard interoperability seminar with a long title",
        partners=["VNM", "LAO", "PHL"],
        pillars=["security", "hadr", "dialogue"],
        status="planned",
        marking="NC",
        start_date=today + datetime.timedelta(days=3),
    )
    sign_in(page, live_server, "max")
    page.set_viewport_size(PHONE)
    for url in ("/engagements/?start_before=", "/"):
        page.goto(live_server.url + url)
        row = page.locator("table.list tbody tr").filter(has_text="Coastguard").first
        row.scroll_into_view_if_needed()
        for label, value in (("Status", "Planned"), ("Marking", "NC"), ("Start", "")):
            cell = row.locator(f'td[data-label="{label}"]')
            expect(cell).to_be_in_viewport(ratio=1)
            expect(cell).to_contain_text(value)
            # The cell is named: its label is drawn before it.
            assert cell.evaluate("td => getComputedStyle(td, '::before').content") == f'"{label}"'
        box = row.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_the_trend_chart_and_captions_fit_a_phone(live_server, page):
    make_user(Role.MANAGER, Marking.NS, username="max")
    make_engagement(partners=["JPN"], pillars=["security"], start_date=timezone.localdate())
    sign_in(page, live_server, "max")
    page.set_viewport_size(PHONE)

    page.goto(f"{live_server.url}/reports/trend/")
    chart = page.locator(".chart-scroll")
    svg = page.locator(".chart-scroll svg").bounding_box()
    assert svg["x"] >= 0 and svg["x"] + svg["width"] <= PHONE["width"], svg
    assert svg["width"] > 300, svg  # it takes the width there is
    assert chart.evaluate("element => element.scrollWidth <= element.clientWidth")

    # A caption wraps within what shows of its table, and stays there when the table
    # scrolls sideways.
    page.goto(f"{live_server.url}/reports/coverage/")
    wrap = page.locator(".heatmap-wrap")
    caption = wrap.locator("caption")
    caption.scroll_into_view_if_needed()
    expect(caption).to_be_in_viewport(ratio=1)
    wrap.evaluate("element => { element.scrollLeft = 300; }")
    assert wrap.evaluate("element => element.scrollLeft") > 100
    expect(caption).to_be_in_viewport(ratio=1)
    caption_box, wrap_box = caption.bounding_box(), wrap.bounding_box()
    assert caption_box["x"] >= wrap_box["x"] - 1
    assert caption_box["x"] + caption_box["width"] <= wrap_box["x"] + wrap_box["width"] + 1


# A control's box and its text colour against white.
TARGET = """element => {
  const box = element.getBoundingClientRect();
  return {height: box.height, width: box.width, color: getComputedStyle(element).color};
}"""


def test_link_sized_controls_are_a_fingers_target_on_a_phone(live_server, page):
    """ "Mark read" (a button drawn as a link) and the filter's "Clear": at least 24 px each
    way on a phone (WCAG 2.5.8), and the button in the page's link colour, not the
    header's white."""
    ana = make_user(Role.ANALYST, Marking.NR, username="ana")
    engagement = make_engagement(title="Port visit", partners=["IDN"], created_by=ana)
    notify([ana], "watched_changed", "Port visit was changed", engagement=engagement)
    sign_in(page, live_server, "ana")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/notifications/")
    for control in (
        page.get_by_role("button", name="Mark read"),
        page.locator(".filters").get_by_role("link", name="Clear"),
    ):
        expect(control).to_be_visible()
        target = control.evaluate(TARGET)
        assert target["height"] >= 24 and target["width"] >= 24, target
    assert page.get_by_role("button", name="Mark read").evaluate(TARGET)["color"] != (
        "rgb(255, 255, 255)"
    )
    page.get_by_role("button", name="Mark read").click()
    expect(page.get_by_role("button", name="Mark read")).to_have_count(0)
