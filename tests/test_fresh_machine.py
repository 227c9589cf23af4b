"""The README's two commands on a fresh machine: `make test` passes without Chromium (the
browser tests skip, saying why) unless REQUIRE_BROWSER=1 (CI), `make run` takes a PORT, and
a second `make run` says how to get into the demo accounts again."""

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.e2e.browser import browser_plan
from tests.factories import make_user

ROOT = Path(__file__).resolve().parent.parent


def fake_chromium(directory):
    executable = directory / "chromium"
    executable.write_text("#!/bin/sh\nexit 0\n")
    executable.chmod(0o755)
    return executable


def test_the_browser_tests_run_when_chromium_is_on_the_path(tmp_path):
    executable = fake_chromium(tmp_path)
    assert browser_plan({"PATH": str(tmp_path)}) == ("run", str(executable))
    assert browser_plan({"PATH": str(tmp_path), "REQUIRE_BROWSER": "1"})[0] == "run"


def test_without_chromium_they_skip_and_say_how_to_get_it(tmp_path):
    action, reason = browser_plan({"PATH": str(tmp_path)})
    assert action == "skip"
    assert "apt-get install chromium" in reason and "REQUIRE_BROWSER=1" in reason


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_without_chromium_they_fail_when_a_browser_is_required(tmp_path, value):
    action, reason = browser_plan({"PATH": str(tmp_path), "REQUIRE_BROWSER": value})
    assert action == "fail"
    assert "apt-get install chromium" in reason


def run_browser_tests(tmp_path, **environ):
    """pytest over tests/e2e in a child process whose PATH holds no Chromium."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {
        "PATH": str(empty),
        "HOME": str(tmp_path),
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",  # never the caller's
        **environ,
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/e2e", "-p", "no:cacheprovider", "-q", "-rsfE"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_make_test_without_chromium_skips_the_browser_tests_and_passes(tmp_path):
    result = run_browser_tests(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped" in result.stdout
    assert "apt-get install chromium" in result.stdout


def test_with_require_browser_a_missing_chromium_fails_loudly(tmp_path):
    result = run_browser_tests(tmp_path, REQUIRE_BROWSER="1")
    assert result.returncode != 0
    assert "skipped" not in result.stdout
    assert "apt-get install chromium" in result.stdout


def readme_test_command():
    """The command the README gives for running the whole test suite ("Two commands")."""
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```(?:sh|bash|shell)?\n(.*?)```", readme, re.DOTALL):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            if command.strip() and "test suite" in comment:
                return command.strip()
    raise AssertionError("The README names no command that runs the test suite.")


# What .ci/run may call besides the tools it is checked with, which are recorded, not run.
CI_UTILITIES = ["sh", "dirname", "basename", "xargs", "ls", "sort", "tail", "seq", "sleep"]
CI_TOOLS = ["make", "dpkg", "apt-get", "psql", "pg_isready", "pg_ctlcluster", "redis-cli"]
CI_TOOLS += ["redis-server"]
CI_SERVICES = ["replica", "pgbouncer"]


def test_ci_runs_the_readmes_test_command_with_the_browser_required(tmp_path):
    """.ci/run, run in a copy of .ci with every tool recorded instead of run: it installs
    Chromium when it is missing, and runs the README's test command on SQLite and on
    PostgreSQL, each time with REQUIRE_BROWSER=1 (a missing browser fails, never skips)."""
    shutil.copytree(ROOT / ".ci", tmp_path / ".ci")
    calls = tmp_path / "calls"
    bin_dir, venv_bin = tmp_path / "bin", tmp_path / ".venv" / "bin"
    bin_dir.mkdir()
    venv_bin.mkdir(parents=True)
    for name in CI_UTILITIES:
        (bin_dir / name).symlink_to(shutil.which(name))
    record = (
        "#!/bin/sh\n"
        'echo "$(basename "$0") $* | REQUIRE_BROWSER=${REQUIRE_BROWSER:-}'
        f' DATABASE_URL=${{DATABASE_URL:-}}" >> {calls}\n'
    )
    # The standby and PgBouncer that CI starts are recorded too (.ci/replica, .ci/pgbouncer).
    helpers = [tmp_path / ".ci" / name for name in CI_SERVICES]
    for stub in [*(bin_dir / name for name in CI_TOOLS), venv_bin / "ruff", *helpers]:
        stub.write_text(record + ("exit 1\n" if stub.name == "dpkg" else ""))  # not installed
        stub.chmod(0o755)
    (venv_bin / "lint-imports").symlink_to(venv_bin / "ruff")

    result = subprocess.run(
        [shutil.which("bash"), str(tmp_path / ".ci" / "run")],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    made = [line.split(" | ") for line in calls.read_text().splitlines()]
    installs = [call for call, _ in made if call.startswith("apt-get install")]
    assert len(installs) == 1 and "chromium" in installs[0].split()
    runs = [env for call, env in made if call == readme_test_command()]
    assert runs, (readme_test_command(), made)
    assert all("REQUIRE_BROWSER=1 " in env for env in runs), runs
    databases = [env.split("DATABASE_URL=")[1] for env in runs]
    assert "" in databases  # SQLite, the default
    assert any(url.startswith("postgres://") for url in databases), databases
    # Then through PgBouncer, and behind a real standby (each started first).
    calls_made = [call for call, _ in made]
    assert calls_made.index("pgbouncer start") < calls_made.index("replica start")
    later = [call for call in calls_made if call.startswith("make test PYTEST_ARGS=")]
    assert any("--reuse-db" in call for call in later) and any(
        "real_replica" in call for call in later
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_takes_a_port():
    def dry_run(*args):
        result = subprocess.run(
            ["make", "-n", "run", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "MAKEFLAGS": ""},
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "runserver 127.0.0.1:8000" in dry_run()
    assert "runserver 127.0.0.1:8001" in dry_run("PORT=8001")


def test_bootstrap_demo_on_a_database_in_use_says_how_to_reset_a_password(reference_data):
    make_user(username="someone")
    out = io.StringIO()
    call_command("bootstrap_demo", stdout=out)
    assert "make password NAME=analyst" in out.getvalue()
    assert "make demo-reset" in out.getvalue()


def test_the_make_targets_the_readme_names_exist():
    """`make password` and `make demo-reset` (README, "Start here"), dry-run."""
    for target in ("password NAME=analyst", "demo-reset"):
        result = subprocess.run(
            ["make", "-n", *target.split()],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            env={**os.environ, "MAKEFLAGS": "", "DATABASE_URL": ""},
        )
        assert result.returncode == 0, result.stderr
    assert (
        "changepassword analyst"
        in subprocess.run(
            ["make", "-n", "password", "NAME=analyst"],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
        ).stdout
    )
