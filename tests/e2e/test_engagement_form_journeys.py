"""Issue 12 in the browser: picking partners with the keyboard only, the form without
JavaScript, the error summary taking focus, the edit conflict screen seen from two pages,
and an import with a bad file then a good one."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from accounts.choices import Marking, Role
from engagements.models import Engagement
from tests.e2e.sign_in import sign_in
from tests.factories import make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def test_partners_are_picked_with_the_keyboard_only(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/new/")

    # A save with errors: the summary is focused and links to the fields.
    page.get_by_role("button", name="Log engagement").click()
    summary = page.get_by_role("alert").filter(has_text="Nothing was saved")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name=re.compile("^Partners:")).click()
    picker = page.get_by_role("combobox", name="Partners")
    expect(picker).to_be_focused()

    # The help text says how, and the lead/observer lists have become the chips' roles.
    expect(page.get_by_text("Enter adds the highlighted partner")).to_be_visible()
    expect(page.get_by_label("Lead partner")).to_be_hidden()

    # "Vietnam" is another name of Viet Nam; Enter adds it.
    page.keyboard.type("Vietnam")
    expect(page.locator(".ts-dropdown .option.active")).to_contain_text("Viet Nam (VNM)")
    page.keyboard.press("Enter")
    chips = page.get_by_role("list", name="Chosen partners")
    expect(chips.get_by_role("listitem")).to_have_count(1)
    # A second one by its code, without touching the mouse.
    page.keyboard.type("jpn")
    expect(page.locator(".ts-dropdown .option.active")).to_contain_text("Japan (JPN)")
    page.keyboard.press("Enter")
    expect(chips.get_by_role("listitem")).to_have_count(2)
    expect(picker).to_be_focused()

    # Tab to the first chip's role and make Viet Nam the lead with the arrow keys.
    page.keyboard.press("Escape")
    expect(picker).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Tab")
    role = page.get_by_role("combobox", name="Role of Viet Nam (VNM)")
    expect(role).to_be_focused()
    page.keyboard.press("ArrowUp")  # participant → lead, on the focused native select
    expect(page.locator("#id_lead_partner")).to_have_value("VNM")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    japan_role = page.get_by_role("combobox", name="Role of Japan (JPN)")
    expect(japan_role).to_be_focused()
    page.keyboard.press("ArrowDown")  # participant → observer
    expect(japan_role).to_have_value("observer")
    # Choosing another lead turns the first back into a participant.
    japan_role.select_option("lead")
    expect(role).to_have_value("participant")
    japan_role.select_option("observer")
    role.select_option("lead")

    # Remove Japan and add it again, keyboard only.
    page.get_by_role("button", name="Remove Japan (JPN)").focus()
    page.keyboard.press("Enter")
    expect(chips.get_by_role("listitem")).to_have_count(1)
    picker.focus()
    page.keyboard.type("Japan")
    expect(page.locator(".ts-dropdown .option.active")).to_contain_text("Japan (JPN)")
    page.keyboard.press("Enter")
    expect(chips.get_by_role("listitem")).to_have_count(2)
    page.get_by_role("combobox", name="Role of Japan (JPN)").select_option("observer")

    page.get_by_label("Title").fill("Mekong flood response coordination with a long title")
    page.get_by_label("Kind").select_option("workshop")
    page.get_by_label("Start date").fill("2025-09-15")
    page.get_by_label("Humanitarian Assistance and Disaster Relief", exact=True).check()
    page.get_by_label("Marking").select_option("NR")
    page.get_by_role("button", name="Log engagement").click()
    expect(page.get_by_role("heading", name=re.compile("Mekong flood response"))).to_be_visible()
    engagement = Engagement.objects.get()
    roles = {link.partner.code: link.role for link in engagement.partner_links.all()}
    assert roles == {"VNM": "lead", "JPN": "observer"}

    # Editing shows the chips with their roles.
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("combobox", name="Role of Viet Nam (VNM)")).to_have_value("lead")
    expect(page.get_by_role("combobox", name="Role of Japan (JPN)")).to_have_value("observer")


def test_the_form_works_without_javascript(live_server, browser):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/new/")
    page.get_by_label("Title").fill("Plain form workshop")
    page.get_by_label("Kind").select_option("workshop")
    page.get_by_label("Start date").fill("2025-09-15")
    page.locator("#id_partners").select_option(["VNM", "JPN"])
    page.get_by_label("Lead partner").select_option("JPN")
    page.get_by_label("Observers").select_option(["VNM"])
    page.get_by_label("Shared Security Concerns", exact=True).check()
    page.get_by_role("button", name="Log engagement").click()
    expect(page.get_by_role("heading", name="Plain form workshop")).to_be_visible()
    roles = {link.partner.code: link.role for link in Engagement.objects.get().partner_links.all()}
    assert roles == {"JPN": "lead", "VNM": "observer"}
    context.close()


def test_two_pages_editing_one_engagement_meet_the_conflict_screen(live_server, browser):
    from engagements.services import save_engagement
    from partners.models import Partner
    from roadmap.models import Pillar

    ana = make_user(Role.ANALYST, Marking.NR, username="ana")
    make_user(Role.MANAGER, Marking.NR, username="ben")
    engagement = save_engagement(
        ana,
        {
            "title": "Coastguard seminar",
            "kind": "workshop",
            "status": "planned",
            "start_date": datetime.date(2026, 3, 2),
            "partners": [Partner.objects.get(code="PHL")],
            "pillars": [Pillar.objects.get(code="security")],
            "marking": "NU",
            "escalation_risk": "low",
        },
    )
    edit_url = f"{live_server.url}/engagements/{engagement.pk}/edit/"
    pages = {}
    for name in ("ana", "ben"):
        pages[name] = browser.new_context().new_page()
        sign_in(pages[name], live_server, name)
        pages[name].goto(edit_url)

    # Ben raises the escalation risk and saves first.
    pages["ben"].get_by_label("Escalation risk").select_option("high")
    pages["ben"].get_by_role("button", name="Save changes").click()
    expect(pages["ben"].get_by_text("Saved “Coastguard seminar”.")).to_be_visible()

    # Ana, on the page she opened before, changes the title and saves.
    page = pages["ana"]
    page.get_by_label("Title").fill("Coastguard seminar, Manila")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name=re.compile("Someone else saved"))).to_be_visible()
    expect(page.get_by_role("alert").first).to_contain_text("ben saved version 2")
    risk = page.locator("#row-escalation_risk")
    expect(risk).to_have_class(re.compile("differs"))
    expect(risk.locator("td.original")).to_have_text("Low")
    expect(risk.locator("td.theirs")).to_contain_text("High")
    expect(risk.get_by_label("Theirs")).to_be_checked()
    expect(page.locator("#row-title").get_by_label("Yours")).to_be_checked()
    expect(page.locator("#row-kind")).to_contain_text("same")
    page.get_by_role("button", name="Save with these choices").click()
    expect(
        page.get_by_role("heading", name=re.compile("Coastguard seminar, Manila"))
    ).to_be_visible()
    engagement.refresh_from_db()
    assert (engagement.title, engagement.escalation_risk, engagement.version) == (
        "Coastguard seminar, Manila",
        "high",
        3,
    )


def test_an_import_in_the_browser(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/engagements/")
    page.get_by_role("link", name="Import CSV or XLSX").click()
    header = "title,kind,status,start_date,partners,pillars,marking,escalation_risk\n"
    good = "Mekong flood drill,exercise,completed,2025-03-01,Vietnam; Lao PDR,hadr,NR,low\n"
    bad = "Who?,exercise,completed,2025-03-05,Atlantis,hadr,NU,low\n"

    def upload(name, text):
        page.get_by_label("CSV or XLSX file").set_input_files(
            files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
        )
        page.get_by_role("button", name="Check the file").click()

    upload("bad.csv", header + good + bad)
    problems = page.locator("#import-problems")
    expect(problems).to_contain_text("Nothing imported yet: 1 problem in bad.csv")
    expect(problems).to_be_focused()
    bad_row = page.locator("tr.bad")
    expect(bad_row).to_contain_text("3")
    expect(bad_row).to_contain_text("partners: No partner with code “Atlantis”.")
    # The valid row may be imported alone; this journey fixes the file instead.
    expect(page.get_by_role("button", name="Import the 1 valid row")).to_be_visible()
    assert not Engagement.objects.exists()

    second = "Port visit,other,planned,2026-01-10,JPN,security,NU,medium\n"
    upload("good.csv", header + good + second)
    expect(page.locator("#import-ready")).to_contain_text("Preview of good.csv: 2 engagements")
    expect(page.locator("tr.good").first).to_contain_text("Viet Nam, Lao People's Democratic")
    assert not Engagement.objects.exists()
    page.get_by_role("button", name="Import 2 engagements").click()
    expect(page.get_by_text("Imported 2 engagements from good.csv")).to_be_visible()
    assert set(Engagement.objects.values_list("title", flat=True)) == {
        "Mekong flood drill",
        "Port visit",
    }
