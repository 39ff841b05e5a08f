# CB Portal — the two commands a new machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-browser screenshots install lock assets migrate seed check lint format typecheck messages compilemessages docs bench-matching bench-dashboard bench-notifications seed-scale bench fuzz-api clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Exactly the versions in requirements/dev.lock, each checked against its hash; then the
# project itself (no dependencies of its own to resolve). `make lock` regenerates the locks.
$(STAMP): $(PY) requirements/dev.lock pyproject.toml
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP) assets

## Regenerate requirements/base.lock (runtime: the image) and requirements/dev.lock (runtime
## + dev extras: make, CI) from pyproject.toml with pip-tools, with every file's hash. Pins
## already in a lock are kept; `make lock LOCK_ARGS=--upgrade` moves everything to the newest
## allowed versions (or --upgrade-package NAME for one). The public index alone is asked:
## this machine's pip configuration (local wheel folders, extra indexes) is set aside so
## that the hashes are those every other machine downloads.
LOCK_ARGS ?=
PIP_COMPILE := env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null \
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --strip-extras \
	--allow-unsafe --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock: $(PY)
	$(PY) -m pip install --quiet "pip-tools>=7.4,<8"
	$(PIP_COMPILE) --output-file requirements/base.lock pyproject.toml
	$(PIP_COMPILE) --extra dev --constraint requirements/base.lock --output-file requirements/dev.lock pyproject.toml

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

assets: node_modules/.package-lock.json

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## Run the app on the embedded default (SQLite, eager Celery, console email) with demo data.
run: seed
	$(PY) manage.py runserver $(HOST):$(PORT)

## Run the whole test suite (browser tests need /usr/bin/chromium; they skip without it).
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

## Fuzz the API with Schemathesis against its OpenAPI schema as every role (a fresh SQLite
## database, or the empty one DATABASE_URL names; results in test-results/schemathesis/).
fuzz-api: install
	$(PY) .ci/fuzz-api

## Only the browser tests (Chromium + axe-core); the accessibility summary ends the output.
test-browser: install
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

## Regenerate docs/screenshots/ (the README's pictures) from the browser tests.
screenshots: install
	CBPORTAL_DOCS_SCREENSHOTS=1 $(BIN)/pytest tests/e2e/test_role_pages.py -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy .

check: lint typecheck
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

messages: install
	$(PY) manage.py makemessages -l fr -l es --ignore=node_modules --ignore=.venv --ignore=staticfiles
	$(PY) manage.py makemessages -d djangojs -l fr -l es --ignore=node_modules --ignore=.venv --ignore=staticfiles

compilemessages: install
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules

docs: install
	$(PY) manage.py workflow_docs --write docs/workflow.md

## Benchmark matching on PostgreSQL over a roster growing from 10,000 to 100,000 experts
## (its own database, created here as .ci/run does; results into docs/performance.md).
BENCH_DATABASE_URL ?= postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_bench
BENCH_ARGS ?= --write docs/performance.md
bench-matching: install
	@pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not running on 127.0.0.1:5432"; exit 1; }
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='cbportal'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -q -c "CREATE ROLE cbportal LOGIN CREATEDB PASSWORD 'cbportal'"
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='cbportal_bench'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE cbportal_bench OWNER cbportal"
	DATABASE_URL="$(BENCH_DATABASE_URL)" $(PY) bench/matching.py $(BENCH_ARGS)

## Benchmark the portfolio dashboard and report API on PostgreSQL with 50,000 requests and
## 20,000 actions (its own database, created here; results into docs/performance.md).
BENCH_DASH_DATABASE_URL ?= postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_bench_dash
BENCH_DASH_ARGS ?= --write docs/performance.md
bench-dashboard: install
	@pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not running on 127.0.0.1:5432"; exit 1; }
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='cbportal'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -q -c "CREATE ROLE cbportal LOGIN CREATEDB PASSWORD 'cbportal'"
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='cbportal_bench_dash'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE cbportal_bench_dash OWNER cbportal"
	DATABASE_URL="$(BENCH_DASH_DATABASE_URL)" $(PY) bench/dashboard.py $(BENCH_DASH_ARGS)

## Benchmark how many notification emails per minute one Celery worker delivers (prefork
## and solo) through PostgreSQL, Redis and a loopback SMTP server: its own database, created
## and dropped by the run; results into docs/performance.md.
BENCH_MAIL_DATABASE_URL ?= postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_bench_mail
BENCH_MAIL_ARGS ?= --write docs/performance.md
bench-notifications: install
	@pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not running on 127.0.0.1:5432"; exit 1; }
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='cbportal'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -q -c "CREATE ROLE cbportal LOGIN CREATEDB PASSWORD 'cbportal'"
	DATABASE_URL="$(BENCH_MAIL_DATABASE_URL)" $(PY) bench/notifications.py $(BENCH_MAIL_ARGS)

## Fill a PostgreSQL database of its own (cbportal_scale, created here) with the scale data
## set: at SCALE=1 100,000 experts, 50,000 requests, 20,000 actions, 200,000 deployments,
## about 1,000,000 transition events, 500,000 notifications, plus the demo accounts. Empties
## it first (--reset). SCALE=0.01 for a quick look.
SCALE ?= 1
SCALE_DATABASE_URL ?= postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_scale
seed-scale: install
	@pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not running on 127.0.0.1:5432"; exit 1; }
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='cbportal'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -q -c "CREATE ROLE cbportal LOGIN CREATEDB PASSWORD 'cbportal'"
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='cbportal_scale'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE cbportal_scale OWNER cbportal"
	DATABASE_URL="$(SCALE_DATABASE_URL)" $(PY) manage.py migrate --noinput -v 0
	DATABASE_URL="$(SCALE_DATABASE_URL)" $(PY) manage.py seed_scale --scale $(SCALE) --reset

## Load the portal over HTTP (gunicorn, production settings, loopback) with wrk against the
## scale data set (run `make seed-scale` first), twice; results into docs/performance.md.
## wrk comes from Debian's packages when it is missing.
WEB_BENCH_ARGS ?= --runs 2 --write docs/performance.md
bench: install
	@pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not running on 127.0.0.1:5432"; exit 1; }
	@command -v wrk >/dev/null || { echo "Installing wrk (apt-get)"; \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq wrk; else sudo apt-get install -y -qq wrk; fi; }
	DATABASE_URL="$(SCALE_DATABASE_URL)" $(PY) bench/web.py $(WEB_BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .mypy_cache .ruff_cache
