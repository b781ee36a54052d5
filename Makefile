# Kozmo Secrets: `make run` to try it, `make test` to test it.
# The project runs on Python 3.11: python3.11 when it is on the PATH, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run serve test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
		echo "Kozmo Secrets needs Python 3.11, and $(PYTHON) is $$($(PYTHON) --version 2>&1)." \
			"Install 3.11, or name it: make run PYTHON=/path/to/python3.11" >&2; exit 1; }
	@# A .venv left by another Python (an earlier try) is made again.
	$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
		|| { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

.env: | $(STAMP)
	$(PY) -m kozmo_secrets.dev_env .env
	@echo "Wrote a development .env with fresh random keys."

# make run PORT=8731 serves on another port.
PORT ?= 8000

run: $(STAMP) .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_admin
	@echo "Open http://127.0.0.1:$(PORT)/ and sign in."
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# Production-style: gunicorn with WORKERS processes, static files collected for whitenoise.
# Configure through the environment (DATABASE_URL, REDIS_URL, DJANGO_*, SECRETS_*), see docs/operations.md.
WORKERS ?= 2
BIND ?= 127.0.0.1:$(PORT)
# Refuses DEBUG on, and WORKERS > 1 without a shared cache (kozmo_secrets/gunicorn_conf.py),
# before anything is migrated.
serve: $(STAMP)
	$(PY) -m kozmo_secrets.gunicorn_conf "$(WORKERS)"
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(VENV)/bin/gunicorn kozmo_secrets.wsgi --config python:kozmo_secrets.gunicorn_conf \
		--workers $(WORKERS) --bind $(BIND) \
		--access-logfile - --forwarded-allow-ips "$${SECRETS_TRUSTED_PROXIES:-127.0.0.1}"

# Two processes (pytest-xdist): about twice as fast on two cores. A plain .venv/bin/pytest
# runs serially, for debugging.
test: $(STAMP)
	$(VENV)/bin/pytest -n 2

# Ratios, not timings: see benchmarks/RESULTS.md. Uses PostgreSQL/Redis on 127.0.0.1 if up.
bench: $(STAMP)
	$(PY) -m benchmarks.run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .hypothesis .import_linter_cache .grimp_cache
