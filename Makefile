# Akrida: thin targets over scripts/setup.sh, the akrida CLI and pytest.
# Settings such as USERS, SPAWN_RATE, RUN_TIME, SCENARIO and UI given on the make command line
# reach the CLI through the environment (see .env.example for all of them).

VENV   := .venv
AKRIDA := $(VENV)/bin/akrida
PYTEST := $(VENV)/bin/pytest
RUFF   := $(VENV)/bin/ruff

.PHONY: help setup setup-ledger setup-legacy-acapy setup-test-packages run provision teardown test lint protocol-types clean

help:
	@echo "make setup   install everything (idempotent; fast the second time)"
	@echo "make setup-ledger  also install the local Indy ledger (needs Python 3.8; for AnonCreds)"
	@echo "make setup-legacy-acapy  also install ACA-Py 1.0.1 (the 1.0 protocols; for the ISSUER_TYPE=acapy tests)"
	@echo "make setup-test-packages  as root, install the Debian packages the tests need (chromium, sshd, Prometheus and exporters …)"
	@echo "make run     run a load test, e.g. make run USERS=100 SPAWN_RATE=5 RUN_TIME=3m SCENARIO=mediator_ping"
	@echo "make provision  make load hosts and prepare them: CLOUD=lab|aws WORKERS=N (then make run uses them)"
	@echo "make teardown   destroy what provision made (safe to run twice)"
	@echo "make test    run the test suite (unit, then integration with real ACA-Py and Credo)"
	@echo "make lint    ruff (check, format), mypy, shellcheck, eslint and prettier (agent), terraform fmt and validate, ansible-lint"
	@echo "make protocol-types  regenerate agent/src/protocol.generated.ts after changing agent/protocol.schema.json"
	@echo "make clean   remove the environments, the build and local state (keeps results/)"

setup:
	@scripts/setup.sh

setup-ledger: setup
	@scripts/install-indy-pool.sh .akrida/indy

run: setup
	@$(AKRIDA) run

provision: setup
	@$(AKRIDA) cluster provision

teardown: setup
	@$(AKRIDA) cluster teardown

setup-legacy-acapy: setup
	@scripts/install-legacy-acapy.sh .akrida/acapy-legacy-venv

setup-test-packages:
	@scripts/install-test-packages.sh

# The self-contained tests (unit, infra) run on two workers; the integration and cluster tests share one
# embedded target, fixed test ports and the lab's fixed names, so they run one at a time after them.
test: setup-test-packages setup setup-ledger setup-legacy-acapy
	$(PYTEST) -n 2 --dist loadfile tests/unit tests/infra $(PYTEST_ARGS)
	$(PYTEST) tests/integration tests/cluster $(PYTEST_ARGS)

lint: setup
	$(RUFF) check .
	$(RUFF) format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/shellcheck scripts/*.sh .ci/run
	npm --prefix agent run -s lint
	CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null $(VENV)/bin/akrida-terraform fmt -check -recursive infra
	scripts/terraform-validate.sh .akrida/terraform-mirror $(VENV)/bin/akrida-terraform infra/lab infra/aws
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH ANSIBLE_LINT_SKIP_SCHEMA_UPDATE=1 $(VENV)/bin/ansible-lint --offline --nocolor -q playbooks

# The agent's TypeScript types of the protocol, from its schema; the output is committed (see agent/PROTOCOL.md).
protocol-types:
	python3 scripts/protocol_types.py

clean:
	@if [ -d .akrida/cluster/lab ] || [ -d .akrida/cluster/aws ]; then \
	  echo "make clean: a cluster is provisioned (.akrida/cluster holds its Terraform state): make teardown first" >&2; \
	  exit 1; fi
	-@[ -x $(AKRIDA) ] && $(AKRIDA) local down
	rm -rf $(VENV) .akrida agent/node_modules agent/dist .pytest_cache .ruff_cache
