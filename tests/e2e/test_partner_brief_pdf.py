import datetime
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from accounts.choices import Marking, Role
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
        # opening and closing lines on the first and last).
        assert text.count("NATO RESTRICTED") >= 2, number
        assert "NATO UNCLASSIFIED" not in text
    everything = " ".join(" ".join(texts).split())  # a table cell wraps its title
    assert "Sign out" not in everything and "Dashboard" not in everything  # no navigation
    assert "Maritime dialogue round 9" in everything
