# Two commands: `make run` and `make test`. Everything else is a helper they use.
PYTHON_BIN ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENDOR := static/vendor
# The system packages each command needs are listed in one place; it installs what is
# missing (as root on Debian/Ubuntu) or stops with the exact install line.
SYSTEM_PACKAGES = PYTHON_BIN=$(PYTHON_BIN) $(PYTHON_BIN) mesoclinic/system_packages.py

.PHONY: run test bench screenshots setup system-packages assets lint format check clean

run:
	$(SYSTEM_PACKAGES) run
	@$(MAKE) --no-print-directory setup
	$(PY) -m mesoclinic.launcher run

test:
	$(SYSTEM_PACKAGES) test
	@$(MAKE) --no-print-directory setup
	$(PY) -m mesoclinic.launcher test $(PYTEST_ARGS)

bench:
	$(SYSTEM_PACKAGES) bench
	@$(MAKE) --no-print-directory setup
	$(PY) -m mesoclinic.launcher bench $(BENCH_ARGS)

# PNGs of home, calendar, today, patient page, chart and quote builder at 1180x820 in var/screenshots/.
screenshots:
	$(SYSTEM_PACKAGES) test
	@$(MAKE) --no-print-directory setup
	$(PY) -m mesoclinic.launcher screenshots $(PYTEST_ARGS)

setup: $(VENV)/.installed $(VENDOR)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '.[test]'
	touch $@

# Front-end libraries come from the npm registry at pinned versions (package-lock.json)
# and are copied into static/vendor, which git ignores. Nothing loads from a CDN.
$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bootstrap $(VENDOR)/bootstrap-icons $(VENDOR)/fullcalendar $(VENDOR)/htmx $(VENDOR)/signature_pad $(VENDOR)/chartjs
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map $(VENDOR)/bootstrap/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map $(VENDOR)/bootstrap/
	cp -r node_modules/bootstrap-icons/font/bootstrap-icons.min.css node_modules/bootstrap-icons/font/fonts $(VENDOR)/bootstrap-icons/
	cp node_modules/fullcalendar/index.global.min.js $(VENDOR)/fullcalendar/
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/signature_pad/dist/signature_pad.umd.min.js node_modules/signature_pad/dist/signature_pad.umd.min.js.map $(VENDOR)/signature_pad/
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map $(VENDOR)/chartjs/
	touch $@

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var/staticfiles
