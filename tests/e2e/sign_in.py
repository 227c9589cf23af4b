"""Signing in through the sign-in page, as a person does, for the browser journeys."""

from playwright.sync_api import expect

from tests.factories import PASSWORD


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("I have read the notice").check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
