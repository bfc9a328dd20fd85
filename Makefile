# Set-up on a fresh machine (Debian/Ubuntu, as root or with sudo):
#   make demo   installs what is needed and runs a background job on the local provider
#   make test   installs the test dependencies and runs the whole test suite
#   make test-fast   the tests that need no head, sshd or engine: the tier to run while working
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# What a head node needs (the local provider makes this machine the head).
HEAD_PACKAGES := tmux screen util-linux procps
# What `python3 -m venv` needs on Debian/Ubuntu (ensurepip is packaged apart there).
VENV_PACKAGES := python3 python3-venv
# What the tests add: private sshd servers, a URL to download from, a private Slurm, and
# Maven to fetch Hadoop YARN's daemons.
TEST_PACKAGES := $(HEAD_PACKAGES) openssh-server openssh-client curl slurm-wlm maven
# Where the YARN tests' Hadoop jars go (never into the repository): fetched from Maven Central
# by tests/yarn/pom.xml once, and again only when that pom changes.
JOBWAITER_YARN_HOME ?= $(HOME)/.cache/jobwaiter-tests/yarn
YARN_JARS := $(JOBWAITER_YARN_HOME)/lib

.PHONY: demo test test-fast head-packages test-packages apt-test-packages venv test-deps \
  yarn-jars lint bench clean

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

head-packages:
	$(call apt_install,$(HEAD_PACKAGES))

# Packaged services (munge, slurmctld, slurmd) must not start on install: the tests run
# private ones. A policy-rc.d that exits 101 says so; it is removed afterwards only if it
# was not there before.
test-packages:
	@if [ -e /usr/sbin/policy-rc.d ]; then own=0; else own=1; \
	  printf '#!/bin/sh\nexit 101\n' | $(SUDO) tee /usr/sbin/policy-rc.d >/dev/null && \
	  $(SUDO) chmod 755 /usr/sbin/policy-rc.d; fi; \
	rc=0; $(MAKE) --no-print-directory apt-test-packages || rc=$$?; \
	[ $$own = 0 ] || $(SUDO) rm -f /usr/sbin/policy-rc.d; exit $$rc
	@command -v javac >/dev/null || { echo "installing Java for Spark and YARN (and javac)"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openjdk-17-jdk-headless \
	  >/dev/null; }

apt-test-packages:
	$(call apt_install,$(TEST_PACKAGES))

$(BIN)/jobwaiter: pyproject.toml
	$(call apt_install,$(VENV_PACKAGES))
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	@touch $@

venv: $(BIN)/jobwaiter

demo: head-packages venv
	$(BIN)/jobwaiter exec examples/local.yaml \
	  'for i in 1 2 3; do echo "step $$i on $$(hostname)"; sleep 1; done' \
	  --tmux --job-waiter=tmux
	@echo "--- the job's log:"; cat ~/user/logs/$$(ls -t ~/user/logs | head -1)

# The test extras, installed again only when pyproject.toml has changed.
$(VENV)/.test-deps: $(BIN)/jobwaiter pyproject.toml
	$(BIN)/pip install -q -e '.[test,engines]'
	@touch $@

test-deps: test-packages $(VENV)/.test-deps yarn-jars

yarn-jars: $(YARN_JARS)/.fetched

# Into a fresh directory first, so that an interrupted fetch never looks complete.
$(YARN_JARS)/.fetched: tests/yarn/pom.xml
	@command -v mvn >/dev/null || $(MAKE) --no-print-directory test-packages
	@echo "fetching Hadoop YARN's jars into $(YARN_JARS)"
	rm -rf '$(YARN_JARS).tmp'
	mvn -B -q -f tests/yarn/pom.xml \
	  org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
	  -DincludeScope=runtime -DoutputDirectory='$(YARN_JARS).tmp'
	rm -rf '$(YARN_JARS)' && mv '$(YARN_JARS).tmp' '$(YARN_JARS)' && touch '$@'

# Without a terminal (CI), pytest runs in a session of its own: a process the tests start
# that signals its whole process group on its way out (pyspark's worker daemon sends SIGHUP
# to its group) cannot take make and the shell with it. On a terminal, Ctrl-C reaches it.
test: test-deps
	$$([ -t 0 ] || echo setsid -w) $(BIN)/pytest -q

# The tiers are markers set by tests/conftest.py from what a test uses: head (tmux, screen,
# jobs on the local provider), ssh (the private sshd farm), engine (Spark, Ray, Slurm).
FAST_TIER := not head and not ssh and not engine

# The quick tier needs no engine: no YARN jars are fetched for it.
test-fast: test-packages $(VENV)/.test-deps
	$(BIN)/pytest -q -m "$(FAST_TIER)"

# Code that runs on the head (the head's watch included) must work with python3 3.8
# (tests/test_head_python.py runs it).
HEAD_CODE := $(addprefix src/jobwaiter/,records sessions waiters runtimes transport watch errors.py \
  plugins.py outcome.py durations.py __init__.py $(addprefix jobs/,__init__.py autostop.py events.py nodes.py plan.py \
  notify_target.py result.py run.py site.py stop.py transaction.py watch.py))

lint: test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/vermin -q -t=3.8- --no-tips --violations $(HEAD_CODE)

bench: venv
	$(BIN)/python bench/detect_latency.py

clean:
	rm -rf $(VENV) build *.egg-info
