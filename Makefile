# The two commands: `make run` and `make test`. Each builds what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first Python 3.10 that really runs (a pyenv shim may exist without a 3.10 selected).
PYTHON310 ?= $(shell for p in $$(command -v python3.10) $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10*/bin/python3.10 /usr/bin/python3.10; do \
  "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/cosp.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml') $(wildcard safety/*.py safety/corpus/*.tsv) bot/nlu_safety_net.py bot/question_focus.py

export RASA_TELEMETRY_ENABLED := false
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL := 3
export ACTION_SERVER_URL ?= http://127.0.0.1:5055/webhook

.PHONY: help run run-prod migrate test test-prod bench bench-speed profile soak shell train validate unit stories nlu-eval blind clean purge

help:
	@echo "make run    - train if needed and start the assistant (Rasa :5005, actions :5055, delivery worker,"
	@echo "             and the Telegram bridge when TELEGRAM_BOT_TOKEN is set)"
	@echo "make test   - every test: unit, Rasa data validation, stories, NLU accuracy, end to end, test-prod"
	@echo "make shell  - chat with the assistant in this terminal"
	@echo "make run-prod  - the production shape on this machine: 2 Rasa servers and 2 action servers behind"
	@echo "             nginx on :5005, PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"
	@echo "make test-prod - the production fault tests (PostgreSQL, Redis, nginx; this machine's servers)"
	@echo "make bench  - the benchmark: latency, throughput, memory, start-up, training, NLU accuracy"
	@echo "make soak   - 20 minutes of parents on the production shape while it kills processes; checks no referral is lost or doubled"

$(VENV)/.installed: requirements.lock
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is needed (Rasa 3.6 runs on 3.8-3.10 only): install python3.10"; exit 1; }
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	@touch $@

WEBCHAT_DEPS := bot/webchat/node_modules/.installed

$(WEBCHAT_DEPS): bot/webchat/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the web chat widget's browser libraries: install Node.js"; exit 1; }
	cd bot/webchat && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The widget's browser tests use Debian's chromium (Playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "The widget tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi

# nginx from Debian balances several Rasa servers in make run-prod and the production tests.
NGINX := /usr/sbin/nginx

$(NGINX):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light; \
	else echo "make run-prod needs Debian's nginx: sudo apt-get install nginx-light"; exit 1; fi

$(MODEL): $(VENV)/.installed $(TRAINING_INPUTS)
	@mkdir -p var models
	$(RASA) train --fixed-model-name cosp --out models --quiet
	@touch $@

train: $(MODEL)

run: $(MODEL) $(WEBCHAT_DEPS)
	@mkdir -p var
	@processes="$$($(PY) -m bot.processes)" && $(VENV)/bin/honcho start -f Procfile $$processes

run-prod: $(MODEL) $(WEBCHAT_DEPS) $(NGINX)
	@mkdir -p var
	$(PY) -m deploy.cluster

migrate: $(VENV)/.installed
	$(PY) -m actions.delivery.migrate

shell: $(MODEL)
	@mkdir -p var
	$(VENV)/bin/honcho start -f Procfile actions worker & trap 'kill %1' EXIT; \
	  sleep 8; $(RASA) shell -m $(MODEL) --endpoints endpoints.yml

validate: $(VENV)/.installed
	$(RASA) data validate --fail-on-warnings --max-history 5

unit: $(VENV)/.installed
	$(PY) -m pytest -q -m "not needs_model" tests

stories: $(MODEL)
	$(PY) -m tests.tools.replay_stories

nlu-eval: $(MODEL)
	$(PY) -m tests.tools.nlu_accuracy

# The blind sets (tests/blind/), with floors at the figures first measured (issue 11)
blind: $(MODEL)
	$(PY) -m tests.tools.blind_eval

test: $(VENV)/.installed $(WEBCHAT_DEPS) $(CHROMIUM) $(NGINX)
	$(MAKE) validate
	$(MAKE) train
	$(PY) -m pytest -q -m "not prod" tests
	$(MAKE) stories
	$(MAKE) nlu-eval
	$(MAKE) blind
	$(MAKE) test-prod

test-prod: $(MODEL) $(NGINX)
	$(PY) -m pytest -q -m prod tests

bench: $(MODEL) $(NGINX)
	$(PY) -m bench

# 20 minutes of simulated parents on the production shape while processes are killed and PostgreSQL
# and Redis fail (not in CI); writes bench/soak.json. SOAK_SECONDS shortens it.
soak: $(MODEL) $(NGINX)
	$(PY) -m bench.soak

# The speed section alone (make run shape beside the peer build, and the ablation): about 15 minutes.
bench-speed: $(MODEL)
	$(PY) -m bench.speed

# Where a make-run turn spends its time (py-spy, installed into the venv the first time); bench/profile.json
profile: $(MODEL)
	$(PY) -m bench.profile

clean:
	rm -rf models results .stamp-*

purge: $(VENV)/.installed
	$(PY) -m actions.privacy.retention
