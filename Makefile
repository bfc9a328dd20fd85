# Set-up on a fresh machine (Debian/Ubuntu, as root or with sudo):
#   make demo   installs what is needed and runs a background job on the local provider
#   make test   installs the test dependencies and runs the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := tmux screen openssh-server util-linux curl procps

.PHONY: demo test system venv test-deps lint bench clean

system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BIN)/jobwaiter: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	@touch $@

venv: system $(BIN)/jobwaiter

demo: venv
	$(BIN)/jobwaiter exec examples/local.yaml \
	  'for i in 1 2 3; do echo "step $$i on $$(hostname)"; sleep 1; done' \
	  --tmux --job-waiter=tmux
	@echo "--- the job's log:"; cat ~/user/logs/$$(ls -t ~/user/logs | head -1)

test-deps: venv
	$(BIN)/pip install -q -e '.[test]'

test: test-deps
	$(BIN)/pytest -q

lint: test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/detect_latency.py

clean:
	rm -rf $(VENV) build *.egg-info
