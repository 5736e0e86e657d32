# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean screenshots

# Test files run on this many processes (pytest-xdist, a file's tests together on one): the suite
# mostly waits (browsers, private servers), so two share two cores well. Tests marked `alone`
# (outages, message timing judged against deadlines) run afterwards with nothing beside them.
TEST_WORKERS ?= 2

# Debian packages the tests and the demo use: Chromium for browser tests, CJK fonts for PDFs,
# poppler-utils (pdftotext) to read PDFs back. Installed once when missing (needs root or sudo).
SYSTEM_PACKAGES := chromium fonts-noto-cjk poppler-utils
SYSTEM_STAMP := $(VENV)/.system-packages

$(SYSTEM_STAMP):
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml web/package-lock.json $(SYSTEM_STAMP)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	cd web && npm ci --no-audit --no-fund
	touch $(STAMP)

# The modeler's live lint: bpmn-js-bpmnlint with the project's .bpmnlintrc, bundled (a build product).
MODELER_LINT := var/web/modeler-lint.js
$(MODELER_LINT): .bpmnlintrc web/scripts/build-modeler-lint.mjs $(STAMP)
	node web/scripts/build-modeler-lint.mjs $@

install: $(STAMP) $(MODELER_LINT)

demo: $(STAMP) $(MODELER_LINT)
	$(BIN)/liftcase demo

test: $(STAMP) $(MODELER_LINT)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	web/node_modules/.bin/bpmnlint bpmn/*.bpmn
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile -m "not alone" --durations=20
	$(BIN)/python -m pytest -q -p no:cacheprovider -m alone --durations=10

# The README's screenshots: the browser tests write them to docs/screenshots/ instead of var/.
screenshots: $(STAMP) $(MODELER_LINT)
	CI=true LIFTCASE_SCREENSHOTS=docs $(BIN)/python -m pytest -q -p no:cacheprovider tests/web/console

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) var *.egg-info
