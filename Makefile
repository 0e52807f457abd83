# Two commands set everything up on a fresh machine with Python 3.11 and pip:
#   make demo   the yearly refresh end to end, on the bundled sample mirror
#   make test   the whole test suite
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV_STAMP := .venv/.installe
UDATA_STAMP := .venv-udata/.installe
PACKAGES_STAMP := samples/.paquets-extraits

export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: install demo site subventions-demo quality test test-fast lint format mirror publish-demo ui stop clean compose-lint-tool browser

install: $(VENV_STAMP) $(PACKAGES_STAMP)

# The COG packages the sample mirror serves (25 MB of JSON) are extracted from the
# committed tgz of samples/reference/, not committed themselves (standard library only).
$(PACKAGES_STAMP): samples/build_mirror.py $(wildcard samples/reference/etalab-decoupage-administratif-*.tgz)
	$(PYTHON) samples/build_mirror.py --paquets
	@touch $@

$(VENV_STAMP): pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

# The bundled mirror holds real files only (samples/README.md): the national reference
# (COG 2026 and 2024), the comparateur RP 2022 of the MEL and Filosofi 2019 and 2021 for
# France. The comparateur RP 2018 of all France is no longer online: the demo imports it
# as a data officer would, then refreshes the sources that have a real file. No real
# extract of the census base-cc files or of the série historique exists offline.
#   make demo                      the MEL (default territory)
#   make demo TERRITOIRE=200041960 another EPCI (SIREN) or a commune (code INSEE)
DEMO_SOURCES := insee_comparateur,insee_filosofi
RP2018 := samples/reference/base_cc_comparateur_RP2018_FRANCE_csv.zip
TERRITOIRE ?=
demo: install
	OPENDATA_MIRROR=$(CURDIR)/samples/mirror $(UV) run --frozen opendata-mel importer \
		--source insee_comparateur --millesime 2018 $(RP2018) --sources $(DEMO_SOURCES) \
		$(if $(TERRITOIRE),--territoire $(TERRITOIRE))
	OPENDATA_MIRROR=$(CURDIR)/samples/mirror $(UV) run --frozen opendata-mel millesimes
	$(if $(TERRITOIRE),,$(UV) run --frozen opendata-mel site --commune 59522 --bandeau "$(DEMO_BANNER)")

# The demo's pages say what they show: real INSEE files from the bundled mirror, and
# FICTITIOUS subsidies once `make subventions-demo` has loaded the sample folder.
DEMO_BANNER := Démonstration : chiffres INSEE réels du miroir local ; les subventions, si elles sont affichées, sont FICTIVES (dossier d'exemple samples/subventions).

# The citizen site of one commune from the current warehouse (after `make demo`):
#   make site COMMUNE=59350        or        make site COMMUNE=--all-mel
COMMUNE ?= 59522
site: install
	$(UV) run --frozen opendata-mel site $(if $(filter --all-mel,$(COMMUNE)),--all-mel,--commune $(COMMUNE))

# The latest quality results of the warehouse, in French (after `make demo`).
quality: install
	$(UV) run --frozen opendata-mel qualite

# The publication tests run a real udata (data.gouv.fr's software), which needs a
# virtualenv of its own (see tests/udata/requirements.txt).
$(UDATA_STAMP): tests/udata/requirements.lock $(VENV_STAMP)
	$(UV) venv -q --allow-existing --python 3.11 .venv-udata
	$(UV) pip install -q --compile-bytecode --python .venv-udata/bin/python -r tests/udata/requirements.lock
	@touch $@

# docker/compose.yaml is linted with `docker compose config` (or Debian's docker-compose
# when the compose plugin is missing); no Docker engine is needed.
compose-lint-tool:
	@docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; } \
		|| { echo "Installez docker-compose (apt install docker-compose) : il vérifie docker/compose.yaml." >&2; exit 1; }

# The citizen site's test opens the pages in Debian's chromium (driven by Playwright,
# never `playwright install`, which downloads a browser): installed only when missing.
browser:
	@command -v chromium >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| { command -v sudo >/dev/null 2>&1 && sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; } \
		|| { echo "Installez chromium (apt install chromium) : le test du site citoyen l'utilise." >&2; exit 1; }

# The whole suite (what CI runs), one test file per worker (a file's module-wide state
# stays on one worker), with its 15 slowest tests at the end. One worker more than
# cores: much of the suite waits on a server or a subprocess (before the session's
# refresh was shared between workers, on 2 cores: 10 min 14 s with 3, 10 min 58 s with 4).
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: install $(UDATA_STAMP) compose-lint-tool browser
	$(UV) run --frozen pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

# The fast layer: pure logic, real files and HTTP on 127.0.0.1, but no Prefect flow, no
# udata and no browser (neither .venv-udata nor chromium is needed).
FAST := not udata and not browser and not stack and not flow
test-fast: install compose-lint-tool
	$(UV) run --frozen pytest -m "$(FAST)" -n $(PYTEST_WORKERS) --dist loadfile --durations=15

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: install
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

mirror: install
	$(UV) run --frozen python samples/build_mirror.py

# The operator stack: Prefect server + UI on http://127.0.0.1:4200, deployments, worker.
# It reads the bundled sample mirror unless OPENDATA_MIRROR is given (empty = internet):
#   make ui OPENDATA_MIRROR=
OPENDATA_MIRROR ?= $(CURDIR)/samples/mirror
ui: install
	OPENDATA_MIRROR=$(OPENDATA_MIRROR) bin/stack.sh start

stop:
	bin/stack.sh stop

# Subsidies of Sailly-lez-Lannoy from its documents, on a FICTITIOUS sample folder
# (samples/subventions/README.md): the identifiers come from the recorded answers of the
# Recherche d'entreprises API (tests/fixtures/recherche-entreprises), and the officer's
# answers to the first report from samples/subventions/59522/reponses/. Needs the
# warehouse of `make demo` (the communes of the MEL).
SUBVENTIONS_OUT := $(CURDIR)/data/outputs/subventions/59522
subventions-demo: install
	@test -f warehouse/opendata.duckdb || $(MAKE) --no-print-directory demo
	mkdir -p $(SUBVENTIONS_OUT)
	cp -n samples/subventions/59522/reponses/*.csv $(SUBVENTIONS_OUT)/
	OPENDATA_MIRROR=$(CURDIR)/tests/fixtures/recherche-entreprises $(UV) run --frozen \
		opendata-mel subventions build --input samples/subventions/59522/documents \
		--commune 59522 --out $(SUBVENTIONS_OUT)
	$(UV) run --frozen opendata-mel site --commune 59522 --bandeau "$(DEMO_BANNER)"

publish-demo: install
	$(UV) run --frozen opendata-mel publish --env demo --no-dry-run

clean:
	rm -rf data warehouse/*.duckdb warehouse/*.duckdb.wal
