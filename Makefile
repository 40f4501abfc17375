# The two commands of the README, plus the environment they share.
#   make demo   the main job (see README, "The main job")
#   make test   the test suite
# Both create or refresh the project-local environment .venv first
# (tools/setup_env.sh: only when it is missing or the requirements changed).

VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: env demo test

env:
	@bash tools/setup_env.sh

demo: env
	$(PYTHON) tools/main_job.py

test: env
	$(PYTHON) -m pytest $(PYTEST_ARGS)
