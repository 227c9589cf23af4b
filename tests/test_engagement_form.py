"""The engagement form as a person meets it without JavaScript (issue 12, items 1–3): the
partner lists, every aria-describedby pointing at something, the error summary, the
duplicate warning with its reasons and its confirmation beside it."""

import datetime
import re
from html.parser import HTMLParser

import pytest

from engagements.models import Engagement
from partners.models import Partner
from tests.factories import make_engagement, make_partner
from tests.test_views import form_data, pillar_ids

pytestmark = pytest.mark.usefixtures("reference_data")


class Page(HTMLParser):
    """Every element's attributes, in document order."""

    def __init__(self, markup):
        super().__init__()
        self.elements = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def ids(self):
        return {attrs["id"] for _, attrs in self.elements if attrs.get("id")}

    def find(self, tag=None, **wanted):
        return [
            attrs
            for name, attrs in self.elements
            if (tag is None or name == tag)
            and all(attrs.get(key.replace("_", "-")) == value for key, value in wanted.items())
        ]


@pytest.fixture
def analyst(client, analyst):
    """The conftest cast's analyst (NU), signed in."""
    client.force_login(analyst)
    return analyst


def dangling_descriptions(markup):
    page = Page(markup)
    ids = page.ids()
    return [
        (tag, attrs.get("name"), target)
        for tag, attrs in page.elements
        for target in attrs.get("aria-describedby", "").split()
        if target not in ids
    ]


def test_every_described_by_points_at_an_element(client, analyst):
    """Django names help texts `<id>_helptext`; the page used `<id>_help`, so every field
    with help pointed at nothing. With errors, `<id>_error` must exist too."""
    page = client.get("/engagements/new/").content.decode()
    assert 'aria-describedby="id_partners_helptext"' in page
    assert dangling_descriptions(page) == []
    bad = form_data(title="", end_date="2025-05-01", partners=[], pillars=[])
    page = client.post("/engagements/new/", bad).content.decode()
    assert "id_partners_error" in page
    assert dangling_descriptions(page) == []
    engagement = make_engagement(partners=["JPN"], pillars=["security"])
    page = client.get(f"/engagements/{engagement.pk}/edit/").content.decode()
    assert dangling_descriptions(page) == []


def test_a_failed_save_starts_with_a_summary_linking_each_error(client, analyst):
    bad = form_data(title="", end_date="2025-05-01", partners=[], pillars=[])
    response = client.post("/engagements/new/", bad)
    page = Page(response.content.decode())
    (summary,) = page.find("div", id="error-summary")
    assert summary["role"] == "alert" and summary["tabindex"] == "-1" and "autofocus" in summary
    markup = response.content.decode()
    block = markup[
        markup.index('id="error-summary"') : markup.index(
            "</div>", markup.index('id="error-summary"')
        )
    ]
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', block)
    assert links == [
        ("id_title", "Title: This field is required."),
        ("id_end_date", "End date: The end date cannot be before the start date."),
        ("id_partners", "Partners: This field is required."),
        ("id_pillars_0", "Pillars: This field is required."),
    ]
    # Every link leads to an element on the page.
    assert {target for target, _ in links} <= page.ids()
    assert "4 problems to fix" in block
    # The summary comes before the form.
    assert markup.index('id="error-summary"') < markup.index('class="card engagement-form"')


def test_no_summary_on_a_fresh_form_and_the_title_is_full_width(client, analyst):
    markup = client.get("/engagements/new/").content.decode()
    assert "error-summary" not in markup
    assert re.search(r'<div class="field wide">\s*<label for="id_title">', markup)


def test_partners_offered_are_the_active_ones_with_their_other_names(client, analyst):
    retired = make_partner(code="OLD", name="Retired Partner", active=False)
    page = Page(client.get("/engagements/new/").content.decode())
    options = {}
    in_partners = False
    for tag, attrs in page.elements:
        if tag == "select":
            in_partners = attrs.get("name") == "partners"
        elif tag == "option" and in_partners and attrs.get("value"):
            options[attrs["value"]] = attrs
    assert "OLD" not in options
    assert options["VNM"]["data-aliases"] == "Vietnam"
    assert options["LAO"]["data-aliases"] == "Laos; Lao PDR"
    assert options["VNM"]["data-code"] == "VNM"
    assert len(options) == Partner.objects.filter(active=True).count()
    # The picker's keyboard help rides along for the script to show.
    (select,) = page.find("select", name="partners")
    assert "Enter adds" in select["data-help"] and "Backspace" in select["data-help"]
    # Not offered means not accepted either.
    response = client.post(
        "/engagements/new/",
        form_data(partners=["OLD"], lead_partner="", pillars=pillar_ids("security")),
    )
    assert (
        "Select a valid choice. OLD is not one of the available choices."
        in response.content.decode()
    )
    assert retired.engagements.count() == 0


def test_an_inactive_partner_stays_on_the_engagement_it_is_part_of(client, analyst):
    retired = make_partner(code="OLD", name="Retired Partner", active=False)
    engagement = make_engagement(partners=[retired, "JPN"], pillars=["security"])
    response = client.get(f"/engagements/{engagement.pk}/edit/")
    assert "Retired Partner (OLD) – inactive" in response.content.decode()
    data = form_data(
        partners=["OLD", "JPN"], lead_partner="OLD", pillars=pillar_ids("security"), version="1"
    )
    response = client.post(f"/engagements/{engagement.pk}/edit/", data)
    assert response.status_code == 302
    links = {link.partner.code: link.role for link in engagement.partner_links.all()}
    assert links == {"OLD": "lead", "JPN": "participant"}


def test_roles_without_javascript_are_the_lead_and_observer_lists(client, analyst):
    data = form_data(
        partners=["VNM", "JPN", "KOR"],
        lead_partner="VNM",
        observers=["KOR"],
        pillars=pillar_ids("security"),
    )
    assert client.post("/engagements/new/", data).status_code == 302
    engagement = Engagement.objects.get()
    links = {link.partner.code: link.role for link in engagement.partner_links.all()}
    assert links == {"VNM": "lead", "JPN": "participant", "KOR": "observer"}


def test_a_duplicate_says_why_and_the_confirmation_sits_in_the_warning(client, analyst):
    make_engagement(
        title="Maritime domain awareness staff talks",
        partners=["KOR"],
        start_date=datetime.date(2025, 5, 13),
        kind="staff_talks",
    )
    response = client.post("/engagements/new/", form_data(pillars=pillar_ids("security")))
    markup = response.content.decode()
    warning = markup[
        markup.index('id="duplicates"') : markup.index("</div>", markup.index('id="duplicates"'))
    ]
    assert "same partner: Republic of Korea" in warning
    # The new one runs 10–11 May; the other starts on the 13th.
    assert "dates 2 days apart" in warning
    assert "similar title: both say “awareness”, “domain”, “maritime”, “talks”" in warning
    assert "same kind (staff talks)" in warning
    assert 'name="confirm_duplicate"' in warning
    assert markup.count('name="confirm_duplicate"') == 1
    assert Engagement.objects.count() == 1


@pytest.mark.parametrize(
    "existing, start, duplicate",
    [
        # The false positive: only the partner's name is shared.
        ("Humanitarian assistance after the floods to Timor-Leste", "2025-05-10", False),
        ("No-JS training course in Timor-Leste", "2025-05-10", True),
        ("Training course for Timor Leste officers", "2025-05-12", True),
        # Same title, but a month away.
        ("No-JS training course for Timor-Leste", "2025-06-10", False),
    ],
)
def test_titles_sharing_only_a_partner_name_are_not_duplicates(
    client, analyst, existing, start, duplicate
):
    make_engagement(
        title=existing,
        partners=["TLS"],
        start_date=datetime.date.fromisoformat(start),
        kind="assistance",
    )
    data = form_data(
        title="No-JS training course for Timor-Leste",
        kind="training",
        partners=["TLS"],
        lead_partner="TLS",
        start_date="2025-05-10",
        end_date="",
        pillars=pillar_ids("hadr"),
    )
    response = client.post("/engagements/new/", data)
    assert bool(response.status_code == 200 and response.context["duplicates"]) is duplicate


def test_a_failed_save_gives_the_partners_back_in_the_order_they_were_entered(client, analyst):
    """A multiple select sends its values in the order of its options: the form renders
    the chosen partners first, in the order given, so the picker's chips come back as
    entered (the picker sends them in that order)."""
    data = form_data(partners=["KOR", "VNM", "AUS"], lead_partner="", pillars=[])
    page = client.post("/engagements/new/", data).content.decode()
    select = page[
        page.index('name="partners"') : page.index("</select>", page.index('name="partners"'))
    ]
    chosen = re.findall(r'<option value="(\w+)"[^>]*selected', select)
    assert chosen == ["KOR", "VNM", "AUS"]
    assert select.index('value="AUS"') < select.index('value="BRN"')  # then the rest
