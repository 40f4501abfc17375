# The two commands of the README, plus the environment they share.
#   make demo   the main job (see README, "The main job")
#   make test   the test suite
# Both create or refresh the project-local environment .venv first
# (tools/setup_env.sh: only when it is missing or the requirements changed);
# the tests also need a Chromium for the web demo's browser test
# (tools/install_browser.sh: installs Debian's chromium when missing, as root).

VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: env browser demo test

env:
	@bash tools/setup_env.sh

browser:
	@bash tools/install_browser.sh

demo: env
	$(PYTHON) tools/main_job.py

test: env browser
	$(PYTHON) -m pytest $(PYTEST_ARGS)
