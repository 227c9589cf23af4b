import io
import os

import pytest
from django.core.management import call_command

from tests.e2e.browser import browser_plan

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# test itself (fixtures, assertions) are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ACTION, CHROMIUM_OR_REASON = browser_plan()


def pytest_collection_modifyitems(config, items):
    """Without Chromium the browser tests are skipped, with the reason in the summary
    (unless REQUIRE_BROWSER=1: then `chromium_is_there` fails them)."""
    if ACTION == "skip":
        for item in items:
            if item.get_closest_marker("e2e"):
                item.add_marker(pytest.mark.skip(reason=CHROMIUM_OR_REASON))


@pytest.fixture(scope="session", autouse=True)
def chromium_is_there():
    """First of the browser tests' fixtures: fail before Playwright starts at all."""
    if ACTION != "run":
        pytest.fail(CHROMIUM_OR_REASON, pytrace=False)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's Chromium: Playwright's own browser download is not reachable here.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM_OR_REASON,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def live_reference_data(transactional_db):
    call_command("load_reference_data", stdout=io.StringIO())
