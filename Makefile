# Two commands on a fresh machine: `make demo` and `make test`. Only Python 3.11+ is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_PASSWORD ?= demo-haiphong-2026
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install install-dev demo test lint format clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# Installs, migrates SQLite, loads Hải Phòng and the sample 2026 plan, creates demo accounts,
# then runs the site on http://127.0.0.1:8000 with a Celery worker and beat (embedded broker).
demo: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_haiphong --demo-password $(DEMO_PASSWORD)
	$(BIN)/python manage.py load_sample_plan --demo-activity
	@echo "Mật khẩu các tài khoản demo / demo password: $(DEMO_PASSWORD)"
	@echo "Mở / open http://127.0.0.1:8000  —  Ctrl-C để dừng / to stop"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile.demo start

# The whole suite: lint, types (mypy with django-stubs; pyproject.toml), migrations in step with
# models, then pytest.
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks on PostgreSQL at national scale (1,000,000 assignments, generated on first run into
# BENCH_DATABASE_URL, default acc_scale); needs wrk (apt-get install -y wrk). See bench/README.md.
bench: install-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache
