"""The icon: linked from every page (an SVG, and an ICO for the rest), and served at
/favicon.ico too, signed in or not (browsers ask for it on pages without a link: the
admin, the API's JSON)."""

import pytest

from accounts.choices import Marking, Role
from tests.e2e.sign_in import sign_in
from tests.factories import make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

ICO_HEADER = b"\x00\x00\x01\x00"  # reserved, type 1 (icon)


def test_the_icon_is_linked_and_served(live_server, page):
    response = page.goto(f"{live_server.url}/favicon.ico")  # signed out
    assert response.status == 200, response.url
    assert response.body().startswith(ICO_HEADER)

    make_user(Role.ANALYST, Marking.NR, username="ana")
    sign_in(page, live_server, "ana")
    links = page.locator("head link[rel=icon]").evaluate_all(
        "links => links.map((link) => [link.href, link.type])"
    )
    assert [type_ for _, type_ in links] == ["image/svg+xml", ""]
    svg, ico = (page.request.get(href) for href, _ in links)
    assert svg.status == 200 and svg.text().lstrip().startswith("<svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert ico.status == 200 and ico.body().startswith(ICO_HEADER)
