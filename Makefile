# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DJANGO_DEBUG ?= 1

.PHONY: run test lint fmt serve clean venv screenshots password demo-reset worker
BIND ?= 127.0.0.1:8000
WORKERS ?= 3
# `make run PORT=8001` when 8000 is taken.
PORT ?= 8000
# Seconds a worker may spend on one request before gunicorn restarts it (its default, 30,
# would cut off a large streamed download; see docs/operations.md, "Running on several machines").
TIMEOUT ?= 300

# Reinstall only when the project's dependencies change, so a second run is quick.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The local demo signs in with a password alone (the default elsewhere is `all`), and says
# so; `DJANGO_MFA_REQUIRED=all make run` tries the second factor. Passkeys need a host name:
# open http://localhost:$(PORT)/ for them.
run: export DJANGO_MFA_REQUIRED ?= none
run: export DJANGO_WEBAUTHN_ORIGINS ?= http://localhost:$(PORT)
run: $(STAMP)
	@$(BIN)/python -c "import socket; s = socket.socket(); \
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $(PORT)))" \
	2>/dev/null || { echo "Port $(PORT) is in use: try make run PORT=$$(($(PORT) + 1))"; exit 1; }
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_reference_data
	$(BIN)/python manage.py bootstrap_demo
	@echo "Second factor: DJANGO_MFA_REQUIRED=$$DJANGO_MFA_REQUIRED for this local demo" \
	"(default: all). Passkeys work at http://localhost:$(PORT)/."
	@# The background jobs' worker runs beside the server and stops with it.
	$(BIN)/python manage.py worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Runs the background jobs (partner changes applied to the reports, the digest) of the
# configured backend until stopped: the database's, or RQ's with DJANGO_TASKS_URL.
worker: $(STAMP)
	$(BIN)/python manage.py worker

# Production-style: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL come from the
# environment (docs/operations.md, "Production start"); static files are collected and served by WhiteNoise.
serve: $(STAMP)
	DJANGO_DEBUG=0 $(BIN)/python manage.py check --deploy --fail-level WARNING
	DJANGO_DEBUG=0 $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	DJANGO_DEBUG=0 $(BIN)/python manage.py migrate --no-input
	DJANGO_DEBUG=0 $(BIN)/python manage.py load_reference_data
	DJANGO_DEBUG=0 $(BIN)/gunicorn config.wsgi --bind $(BIND) --workers $(WORKERS) \
		--timeout $(TIMEOUT) --access-logfile - \
		--forwarded-allow-ips "$${FORWARDED_ALLOW_IPS:-127.0.0.1}"

test: $(STAMP)
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# The README's pictures, taken by the browser tests from the running app (needs Chromium).
screenshots: $(STAMP)
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q tests/e2e/test_screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A new password for a local account: `make password NAME=analyst`.
password: $(STAMP)
	$(BIN)/python manage.py changepassword $(NAME)

# Start the local demo again: a new SQLite database, new demo accounts and passwords.
demo-reset: $(STAMP)
	@test -z "$$DATABASE_URL" || { echo "demo-reset is for the local SQLite database only."; exit 1; }
	rm -f var/db.sqlite3
	$(MAKE) run

clean:
	rm -rf $(VENV) var/db.sqlite3
