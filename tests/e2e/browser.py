"""Where the browser tests find Chromium, and what happens on a machine without one.

`make test` must pass on a fresh machine (README): there the browser tests are skipped
with the reason printed. CI sets REQUIRE_BROWSER=1 (`.ci/run`, which installs Chromium),
so that a missing browser fails them instead of skipping them silently.
"""

import os
import shutil

HOW_TO_GET_IT = "install it with `apt-get install chromium` (Debian's package)"


def browser_plan(environ=None):
    """("run", executable), ("skip", reason) or ("fail", reason) for the browser tests."""
    environ = os.environ if environ is None else environ
    path = environ.get("PATH", os.defpath)
    executable = shutil.which("chromium", path=path) or shutil.which("chromium-browser", path=path)
    if executable:
        return "run", executable
    reason = f"No Chromium on PATH for the browser tests in tests/e2e: {HOW_TO_GET_IT}."
    if environ.get("REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes", "on"}:
        return "fail", f"{reason} REQUIRE_BROWSER=1 makes this an error."
    return "skip", f"{reason} Skipped; REQUIRE_BROWSER=1 makes this an error (CI sets it)."
