# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The embedded default lets webhooks reach the demo license server on loopback.
DEV_ENV := DEBUG=true FULFILLMENT_ALLOWED_PRIVATE_NETWORKS=127.0.0.0/8

.PHONY: install run test lint typecheck graph format clean bench chaos

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

run: install
	mkdir -p var
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py demo_setup
	@echo ""
	@echo "  Open http://127.0.0.1:8000/  (Ctrl-C stops everything)"
	@echo "  Emails (sign-up confirmations, customer emails) are written to var/mail/"
	@echo ""
	$(DEV_ENV) $(BIN)/honcho --procfile Procfile.dev start

test: install
	$(BIN)/pytest

# The benchmark of issue 6 on PostgreSQL + Redis (BENCH_DATABASE_URL, BENCH_BROKER_URL;
# see docs/benchmarks.md). BENCH_ARGS=--quick for a short trial run.
bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The chaos run of issue 11 on PostgreSQL + Redis (CHAOS_DATABASE_URL, CHAOS_REDIS_URL;
# see docs/chaos.md). CHAOS_ARGS="--scenario kills --runs 2" for a subset.
chaos: install
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy with django-stubs over the application's packages (pyproject.toml, [tool.mypy]).
typecheck: install
	$(BIN)/mypy

# Imports between the apps, and their cycles (exit 1 while there is one).
graph: install
	$(BIN)/python -m lib.appgraph

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var $(VENV)
