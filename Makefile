# EduSec developer entry points (GNU make). `make run` to try it, `make test` before every commit.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_HINT := sudo apt-get install -y python3.11 python3.11-venv make

.PHONY: install run test lint lock

install: $(STAMP)

# Reinstalled whenever the lock file or pyproject.toml changes.
$(STAMP): requirements.lock pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
		if ! command -v $(PYTHON) >/dev/null 2>&1; then \
			echo "$(PYTHON) was not found. On Debian/Ubuntu install it with:"; \
			echo "    $(APT_HINT)"; \
			exit 1; \
		fi; \
		echo "Creating $(VENV) with $(PYTHON)"; \
		$(PYTHON) -m venv $(VENV) || { echo "venv failed; on Debian/Ubuntu: $(APT_HINT)"; exit 1; }; \
	fi
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

# The demo: EDUSEC_DEMO=1 and EDUSEC_REQUIRE_2FA=0 unless already set in the environment.
run: install
	EDUSEC_DEMO="$${EDUSEC_DEMO-1}" EDUSEC_REQUIRE_2FA="$${EDUSEC_REQUIRE_2FA-0}" $(BIN)/edusec run

# The whole suite, browser and Celery tests included.
test: install
	$(BIN)/pytest -q -n 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Pin exactly what the venv holds after installing pyproject.toml's ranges (runtime and test extras).
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@{ echo "# Exact versions of every package EduSec needs to run and test (transitive too). Regenerate with \`make lock\`."; \
	  $(BIN)/pip freeze --exclude-editable | grep -viE '^(edusec|pip|setuptools|wheel)([=@ ]|$$)'; } > requirements.lock.tmp
	@if cmp -s requirements.lock.tmp requirements.lock; then rm requirements.lock.tmp; else mv requirements.lock.tmp requirements.lock; fi
	@echo "requirements.lock: $$(grep -c '==' requirements.lock) packages pinned"
