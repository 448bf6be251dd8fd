# dbshift: `make demo` (the main job, on the emulated estate) and `make test` (the whole suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(CURDIR)/$(VENV)/bin
TOOLS  ?= $(CURDIR)/.tools
STAMP  := $(VENV)/.dbshift-installed

# Terraform providers come from a filesystem mirror when the machine has one (this image ships the
# AWS provider under /opt/tf-plugins); with no mirror, Terraform installs from the registry as usual.
TF_PLUGIN_MIRROR ?= $(firstword $(wildcard /opt/tf-plugins $(HOME)/.terraform.d/plugins /usr/local/share/terraform/plugins /usr/share/terraform/plugins))
# Our own CLI config: the environment may point TF_CLI_CONFIG_FILE at a file that does not exist.
export TF_CLI_CONFIG_FILE := $(CURDIR)/.terraformrc.local
export TF_PLUGIN_MIRROR
# checkov pins an old boto3, so it lives in its own tool environment, never in .venv.
export CHECKOV := $(TOOLS)/checkov/bin/checkov
export PATH := $(BIN):$(PATH)

.PHONY: help venv demo test lint tfrc tools estate-up estate-down clean

help:
	@echo "make demo    estate up -> terraform apply -> smoke playbook -> summary -> estate down"
	@echo "make test    the whole test suite (what .ci/run runs)"
	@echo "make lint    ruff, terraform fmt, ansible-lint"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

venv: $(STAMP)

tfrc:
	@if [ -n "$(TF_PLUGIN_MIRROR)" ] && [ -d "$(TF_PLUGIN_MIRROR)" ]; then \
	  printf 'provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/*/*"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n' "$(TF_PLUGIN_MIRROR)" > $(TF_CLI_CONFIG_FILE); \
	else : > $(TF_CLI_CONFIG_FILE); fi

$(CHECKOV):
	$(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install --quiet --disable-pip-version-check checkov

tools: $(CHECKOV)

demo: venv tfrc
	$(BIN)/dbshift demo

test: venv tfrc tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DBSHIFT_REQUIRE_TOOLS=1 $(BIN)/pytest

lint: venv tfrc
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	terraform fmt -check -recursive terraform
	$(BIN)/ansible-lint

estate-up: venv
	$(BIN)/dbshift estate up

estate-down: venv
	$(BIN)/dbshift estate down

clean:
	-$(BIN)/dbshift estate down
	rm -rf .estate $(TF_CLI_CONFIG_FILE) .pytest_cache .ruff_cache
