# Two commands (see README):
#   make run   - set up .venv and plan the shipped Kuzbass 2022 instance
#   make test  - set up .venv, lint (ruff) and run the test suite (what .ci/run calls)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP) browser

run: $(STAMP)
	$(BIN)/planner solve instances/kuzbass-2022

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The report tests open report.html in a real headless Chromium: Debian's `chromium` package
# (Playwright drives it; its own browser download is not used). Installed when missing:
# as root directly, otherwise through passwordless sudo; non-interactive, so it works under CI.
# PLANNER_CHROMIUM=/path/to/chrome uses another browser instead.
CHROMIUM_PACKAGES := chromium fonts-dejavu-core
browser:
	@if [ -n "$$PLANNER_CHROMIUM" ] || command -v chromium >/dev/null 2>&1 \
	    || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi; \
	echo "Installing $(CHROMIUM_PACKAGES) for the report tests..."; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "Chromium is needed for the tests: apt-get install $(CHROMIUM_PACKAGES) (or set PLANNER_CHROMIUM)" >&2; exit 1; fi; \
	$$SUDO apt-get update -qq </dev/null && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PACKAGES) </dev/null >/dev/null

clean:
	rm -rf $(VENV) outputs/*/
