# Satu Peta Kota Tangerang — `make run` serves the platform, `make test` runs the whole suite.
# With DATABASE_URL set, both use that PostGIS and start no cluster of their own.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SATUPETA := $(BIN)/satupeta
PG_MAJOR ?= 15
APT_PACKAGES := postgresql-$(PG_MAJOR) postgresql-$(PG_MAJOR)-postgis-3 postgresql-contrib postgresql-client

.PHONY: run test setup system test-system bench-system venv db lint bench bench-scale clean-db help
WORKERS ?= 0

# $(call apt_missing,COMMAND,PACKAGE): install PACKAGE with apt (as root, or with sudo) when COMMAND is missing
apt_missing = if ! command -v $(1) >/dev/null && [ ! -x /usr/sbin/$(1) ]; then \
	  echo "installing system package: $(2)"; SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(2) >/dev/null; fi

# QGIS Server 3.22 and its Python bindings (no command on PATH to test for): the peer of `bench ows` and the
# headless QGIS client of the /ows tests
qgis_missing = if [ ! -f /usr/lib/python3/dist-packages/qgis/server/__init__.py ] || \
	  [ ! -f /usr/lib/qgis/server/libwms.so ]; then \
	  echo "installing system packages: qgis-server python3-qgis"; SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends qgis-server python3-qgis \
	  >/dev/null; fi

help:
	@echo "make run    - install what is missing, start PostGIS, migrate, load the data, serve on :8000"
	@echo "make test   - the same set-up, then the whole test suite against a real PostGIS"
	@echo "make lint   - ruff"
	@echo "make bench-scale - 1 worker against one per core under the same load (installs wrk)"

run: setup
	@# DEMO=0 skips the demo: SYNTHETIC laporan via Open311 and simulated trucks driving in real time (/peta)
	@# (a background job ignores Ctrl-C in make's shell: the trap ends the simulator with the server)
	@# WORKERS=0 (default): one worker process per usable core, as `satupeta serve --workers 0`; WORKERS=1: one
	@if [ "$(DEMO)" != "0" ]; then $(SATUPETA) maps demo & demo=$$!; trap 'kill $$demo 2>/dev/null' EXIT; fi; \
	$(SATUPETA) serve --workers $(WORKERS)

test: system test-system venv
	@if [ -z "$$DATABASE_URL" ]; then $(SATUPETA) db start; fi
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

setup: system venv db

# PostgreSQL + PostGIS from Debian, only when they are not there yet (and no DATABASE_URL is given); MapServer 8's
# python3-mapscript (for /usr/bin/python3: the WMS/WFS workers at /ows run under it, not in the venv) and its font.
system:
	@missing=""; \
	if [ -z "$$DATABASE_URL" ]; then \
	  [ -x /usr/lib/postgresql/$(PG_MAJOR)/bin/initdb ] || missing="$(APT_PACKAGES)"; \
	  ls /usr/share/postgresql/$(PG_MAJOR)/extension/postgis.control >/dev/null 2>&1 || missing="$(APT_PACKAGES)"; \
	fi; \
	command -v psql >/dev/null || missing="$$missing postgresql-client"; \
	command -v pgbackrest >/dev/null || missing="$$missing pgbackrest"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -f /usr/lib/python3/dist-packages/mapscript/__init__.py ] || missing="$$missing python3-mapscript"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Only the tests need these: PgBouncer (the scale-out tests start one in transaction mode) and wrk (the
# benchmark smoke test runs `bench scale` on a tiny size); GDAL's ogr2ogr, the peer of `bench katalog`.
test-system:
	@$(call apt_missing,pgbouncer,pgbouncer)
	@$(call apt_missing,wrk,wrk)
	@$(call apt_missing,ogr2ogr,gdal-bin)
	@$(qgis_missing)

# Only `bench scale` needs wrk (a compiled load generator that leaves the cores to the server); `bench katalog`
# needs ogr2ogr (gdal-bin) as its peer.
bench-system:
	@$(call apt_missing,wrk,wrk)
	@$(call apt_missing,ogr2ogr,gdal-bin)
	@$(qgis_missing)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	@touch $@

db: venv
	@if [ -z "$$DATABASE_URL" ]; then $(SATUPETA) db start; fi
	$(SATUPETA) db migrate
	$(SATUPETA) load
	@# OPD catalogue, SYNTHETIC demo roads, and a local citizen_app key for Open311 POSTs (printed, in .demo_api_key)
	$(SATUPETA) routing demo

lint: venv
	$(BIN)/ruff check .

bench-scale: setup bench-system
	$(BIN)/python -m bench scale

bench: setup
	$(BIN)/python -m bench load
	$(BIN)/python -m bench ogc

clean-db:
	-$(SATUPETA) db stop
	rm -rf .pgdata
