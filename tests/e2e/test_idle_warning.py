"""The idle warning: a minute before the session's idle end the page says so, and "Stay
signed in" (a request: use) puts it away. The page's clock is Playwright's, moved on by
the test: nothing waits for real time."""

import pytest
from playwright.sync_api import expect

from tests.e2e.sign_in import sign_in
from tests.factories import make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def test_the_idle_warning_comes_a_minute_before_the_end_and_stay_signed_in_keeps_on(
    live_server, page, settings
):
    settings.SESSION_IDLE_MINUTES = 5
    make_user(username="ana")
    page.clock.install()
    sign_in(page, live_server, "ana")
    warning = page.get_by_role("alert").filter(has_text="You will be signed out in a minute")
    expect(warning).to_be_hidden()

    page.clock.run_for("03:59")
    expect(warning).to_be_hidden()
    page.clock.run_for("00:02")  # four minutes: one to go
    expect(warning).to_be_visible()

    with page.expect_response("**/accounts/sessions/ping/") as ping:
        page.get_by_role("button", name="Stay signed in").click()
    assert ping.value.ok
    expect(warning).to_be_hidden()
    page.clock.run_for("03:59")
    expect(warning).to_be_hidden()  # counted again from the ping
