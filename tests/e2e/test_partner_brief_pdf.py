"""The partner brief printed to PDF by Chromium (A4, static/css/print.css), read back
with pypdf: its marking at the top and bottom of every page, "page N of M", partners
that do not run together, and a typical partner on at most three pages."""

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from accounts.choices import Marking, Role
from engagements.models import Action
from partners.models import Partner
from roadmap.models import Pillar, Target
from tests.e2e.sign_in import sign_in
from tests.factories import make_engagement, make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def test_the_partner_brief_prints_to_pdf_with_its_marking_on_every_page(live_server, page):
    make_user(Role.ANALYST, Marking.NR, username="ana")
    today = timezone.localdate()
    for n in range(10):
        make_engagement(
            title=f"Maritime dialogue round {n}",
            partners=["IDN"],
            pillars=["security"],
            start_date=today - datetime.timedelta(days=20 * n + 1),
            marking="NR" if n == 3 else "NU",
            outcomes="Agreed next steps on patrols, exercises and information sharing. " * 12,
        )
    make_engagement(
        title="Mekong flood drill",
        partners=["IDN", "VNM", "LAO"],
        pillars=["hadr", "security"],
        status="planned",
        start_date=today + datetime.timedelta(days=20),
    )

    sign_in(page, live_server, "ana")
    page.goto(f"{live_server.url}/partners/IDN/")
    page.get_by_role("link", name="Print brief").click()
    page.wait_for_url("**/partners/IDN/brief/")

    pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    width, height = float(pdf.pages[0].mediabox.width), float(pdf.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert len(pdf.pages) >= 2
    texts = [p.extract_text() for p in pdf.pages]
    assert "Indonesia" in texts[0]
    for number, text in enumerate(texts, start=1):
        # The margin boxes at the top and bottom of every page (and the brief's own
        # opening and closing lines on the first and last), and the page's number.
        assert text.count("NATO RESTRICTED") >= 2, number
        assert "NATO UNCLASSIFIED" not in text
        assert f"page {number} of {len(texts)}" in text, text
    everything = " ".join(" ".join(texts).split())  # a table cell wraps its title
    assert "Sign out" not in everything and "Dashboard" not in everything  # no navigation
    assert "Maritime dialogue round 9" in everything
    # Partners (and pillars) are separated, not run together as on a chip-less page.
    assert "Indonesia; Viet Nam; Lao People's Democratic Republic" in everything
    assert (
        "Humanitarian Assistance and Disaster Relief; Shared Security Concerns" in everything
        or ("Shared Security Concerns; Humanitarian Assistance and Disaster Relief" in everything)
    )


def brief_pages(page, live_server, code):
    page.goto(f"{live_server.url}/partners/{code}/brief/")
    return [
        p.extract_text() for p in PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True))).pages
    ]


def test_a_typical_partner_fits_on_three_pages(live_server, page):
    """The demo database of the README (`seed_demo --engagements 2000 --seed 7`), read by a
    manager cleared for everything: Viet Nam and Japan have some fifteen planned
    engagements ahead and their ten latest with outcomes; with two targets and three open
    actions each."""
    call_command("seed_demo", engagements=2000, seed=7, stdout=io.StringIO())
    manager = make_user(Role.MANAGER, Marking.NS, username="max")
    engagement = make_engagement(title="Staff talks follow-up", partners=["VNM", "JPN"])
    for code in ("VNM", "JPN"):
        for pillar, minimum in (("security", 4), ("hadr", 2)):
            Target.objects.create(
                partner=Partner.objects.get(code=code),
                pillar=Pillar.objects.get(code=pillar),
                minimum=minimum,
                months=6,
                created_by=manager,
            )
    for n in range(3):
        Action.objects.create(
            engagement=engagement,
            title=f"Send the minutes to the partners, part {n}",
            owner=manager,
            due=timezone.localdate() + datetime.timedelta(days=n * 7),
            created_by=manager,
        )
    sign_in(page, live_server, "max")
    for code, name in (("VNM", "Viet Nam"), ("JPN", "Japan")):
        texts = brief_pages(page, live_server, code)
        assert name in texts[0]
        assert len(texts) <= 3, f"{code}: {len(texts)} pages"
        for number, text in enumerate(texts, start=1):
            assert f"page {number} of {len(texts)}" in text
            assert text.count("NATO SECRET") >= 2, (code, number)
        # A full brief: every engagement row has its partners (the label is upper case).
        rows = len(re.findall(r"\bPARTNERS\b", " ".join(texts)))
        assert rows >= 25, code
