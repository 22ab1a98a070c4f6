# mlops.platform — developer entry points. `make run` and `make test` work from a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT      := $(CURDIR)
VENV      ?= $(ROOT)/.venv
CACHE     := $(ROOT)/.cache
# Python 3.12 where present (ansible 14 / core 2.21), else 3.11. pyenv shims may exist for
# versions that are not selected, so every candidate is asked to run before it is chosen.
PYTHON_BOOT ?= $(shell for p in $$HOME/.pyenv/versions/3.12*/bin/python3.12 python3.12 python3.11 python3; do \
                 "$$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
PY        := $(VENV)/bin/python
COLL_ROOT := $(CACHE)/collections
COLL_LINK := $(COLL_ROOT)/ansible_collections/mlops/platform
# The MLflow 2.x server the integration tier also runs against (tests/integration/README.md).
MLFLOW2_VENV := $(CACHE)/mlflow2-venv
# The oldest ansible-core the collection supports (meta/runtime.yml), for the compat tier (tests/compat).
CORE216_VENV := $(CACHE)/core216-venv
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT):$(VENV)/lib/ansible-collections
export PATH := $(VENV)/bin:$(PATH)

.PHONY: help venv mlflow2-venv core216-venv collection lint sanity unit compat-test integration examples-test serving-test molecule-local rollout-test cluster-test monitoring-test platform-test jupyterhub-test awx-test canary-test ct-test tekton-test cluster-up cluster-down test test-lane-checks test-lane-platform test-serial bench run stop clean

help:
	@echo "make run    - bring up the local MLOps platform and run one model rollout"
	@echo "make test   - lint, sanity, unit, integration and cluster tests (fresh machine OK)"
	@echo "make bench  - benchmarks (tests/bench), prints ratios"

$(VENV)/.stamp: requirements-test.txt
	@test -n "$(PYTHON_BOOT)" || { echo "no python3.12/3.11 found" >&2; exit 1; }
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

venv: $(VENV)/.stamp

$(MLFLOW2_VENV)/.stamp: tests/support/requirements-mlflow2.txt
	@test -n "$(PYTHON_BOOT)" || { echo "no python3.12/3.11 found" >&2; exit 1; }
	rm -rf $(MLFLOW2_VENV)
	$(PYTHON_BOOT) -m venv $(MLFLOW2_VENV)
	$(MLFLOW2_VENV)/bin/python -m pip install -q --upgrade pip
	$(MLFLOW2_VENV)/bin/python -m pip install -q -r tests/support/requirements-mlflow2.txt
	touch $@

mlflow2-venv: $(MLFLOW2_VENV)/.stamp

$(CORE216_VENV)/.stamp: tests/compat/requirements-core216.txt
	@test -n "$(PYTHON_BOOT)" || { echo "no python3.12/3.11 found" >&2; exit 1; }
	rm -rf $(CORE216_VENV)
	$(PYTHON_BOOT) -m venv $(CORE216_VENV)
	$(CORE216_VENV)/bin/python -m pip install -q --upgrade pip
	$(CORE216_VENV)/bin/python -m pip install -q -r tests/compat/requirements-core216.txt
	touch $@

core216-venv: $(CORE216_VENV)/.stamp

collection: venv
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(ROOT) $(COLL_LINK)

# ---- cluster tier (embedded Kubernetes control plane; see tests/cluster/README.md) ----
# One control plane per checkout (its own state dir and port block). The stand-in controller runs
# on the test venv's Python, hence MLOPS_PYTHON.
.PHONY: cluster-status cluster-cycle cluster-two-checkouts
CLUSTER_ENV := MLOPS_PYTHON=$(PY)
CYCLES ?= 30

cluster-up: venv
	$(CLUSTER_ENV) tests/cluster/controlplane.sh up

cluster-down:
	tests/cluster/controlplane.sh down

cluster-status:
	tests/cluster/controlplane.sh status --all
	tests/cluster/controlplane.sh status

cluster-test: collection
	$(CLUSTER_ENV) tests/cluster/run-tests.sh

cluster-cycle: venv
	$(CLUSTER_ENV) tests/cluster/cycle.sh $(CYCLES)

cluster-two-checkouts: venv
	$(CLUSTER_ENV) tests/cluster/two-checkouts.sh

# ---- test tiers (README: `make test` runs them all, in this order) ----
lint: collection
	ansible-lint --offline

sanity: collection
	tests/sanity/run.sh

unit: collection
	PYTHONPATH=$(COLL_ROOT) $(PY) -m pytest -q -p no:cacheprovider tests/unit

# The unit tests, then modules run by ansible-playbook against a real MLflow, on ansible-core 2.16 (tests/compat).
compat-test: collection core216-venv
	PYTHONPATH=$(COLL_ROOT) $(CORE216_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/unit
	MLOPS_CORE216_VENV=$(CORE216_VENV) $(PY) -m pytest -q -p no:cacheprovider tests/compat

integration: collection mlflow2-venv
	$(PY) -m pytest -q -p no:cacheprovider tests/integration

examples-test: collection
	cd examples/breast_cancer_classifier && $(PY) -m pytest -q -p no:cacheprovider tests
	cd examples/wine_classifier && $(PY) -m pytest -q -p no:cacheprovider tests

serving-test: collection
	$(PY) -m pytest -q -p no:cacheprovider tests/serving

molecule-local: collection
	molecule test -s local

rollout-test: collection
	$(PY) -m pytest -q -p no:cacheprovider tests/rollout

# JupyterHub on the local target: notebook -> champion, and a real browser (Debian chromium) logging in. Installs
# chromium and chromium-driver when missing. See tests/jupyterhub/README.md.
jupyterhub-test: collection
	VENV=$(VENV) tests/jupyterhub/run.sh

# The execution environment (ansible-builder create) and AWX as code, run as AWX would with ansible-runner:
# train -> test -> deploy as three jobs passing the version through set_stats. See awx/README.md.
awx-test: collection
	VENV=$(VENV) tests/awx/run.sh

# The rollout's canary on the local target: two MLServers behind HAProxy, real traffic, a real Prometheus.
canary-test: collection
	VENV=$(VENV) tests/canary/run.sh

# Continuous training on the local target: drift -> monitor -> Prometheus -> Alertmanager -> rulebook -> rollout.
ct-test: collection
	VENV=$(VENV) tests/ct/run.sh

# The Tekton CD4ML pipeline: Tekton's own validation code (a Go helper built from the module proxy, cached under
# ~/.cache), the role's objects on the embedded control plane, and the pipeline's steps run in order on the local
# target. Before cluster-test in the same lane: both use this checkout's control plane. See roles/tekton/README.md.
tekton-test: collection
	$(CLUSTER_ENV) tests/tekton/run.sh

# Alert rules (promtool) and dashboards (PromQL on a real Prometheus with backfilled series); installs Debian's
# prometheus when missing. See tests/monitoring/README.md.
monitoring-test: collection
	VENV=$(VENV) tests/monitoring/run.sh

# MLflow as the cluster backend renders it, on a real PostgreSQL and a real S3 (SeaweedFS): migrations, artifacts
# through the proxy, backups and restores. Installs Debian's postgresql and builds SeaweedFS when missing.
# See tests/platform/README.md.
platform-test: collection
	VENV=$(VENV) tests/platform/run.sh

# Two lanes run side by side, each tier after the other within its lane (2 cores; most tiers wait on servers more
# than they compute): the static checks, the server tiers and the cluster (checks), and the tiers that run the local
# platform (platform; they share its venvs in .cache/mlops-local-venvs, which molecule-local builds first). Every
# server a tier starts listens on ports of its own; the tekton and cluster tiers share this checkout's control plane
# and run one after the other; the Debian packages are installed once, before the lanes. Each line says its lane.
test: venv collection mlflow2-venv core216-venv
	tests/support/debian-packages.sh
	$(MAKE) --no-print-directory -j2 test-lane-checks test-lane-platform
	@echo "make test: all tiers passed"

test-lane-checks:
	$(MAKE) --no-print-directory -j1 lint sanity unit compat-test integration examples-test monitoring-test platform-test tekton-test cluster-test ct-test 2>&1 | sed -u 's/^/[checks] /'

test-lane-platform:
	$(MAKE) --no-print-directory -j1 molecule-local jupyterhub-test rollout-test serving-test awx-test canary-test 2>&1 | sed -u 's/^/[platform] /'

test-serial: lint sanity unit compat-test integration examples-test monitoring-test platform-test serving-test awx-test canary-test ct-test molecule-local jupyterhub-test rollout-test tekton-test cluster-test
	@echo "make test-serial: all tiers passed"

# ---- the main job on the local target ----
run: collection
	ansible-playbook -i inventories/local playbooks/site.yml
	ansible-playbook -i inventories/local playbooks/continuous_training.yml
	examples/breast_cancer_classifier/canary_demo.sh $(PY) http://127.0.0.1:8090

stop: collection
	ansible-playbook -i inventories/local playbooks/continuous_training.yml -e continuous_training_state=stopped -e model_monitor_state=stopped
	ansible-playbook -i inventories/local playbooks/platform_stop.yml

bench: collection
	$(PY) tests/bench/bench_run_info.py
	$(PY) tests/bench/bench_rollout.py
	MLOPS_PYTHON=$(PY) $(PY) tests/bench/bench_platform_apply.py
	MLOPS_PYTHON=$(PY) $(PY) tests/bench/bench_platform_apply.py --model-namespaces 60

clean:
	rm -rf $(CACHE) tests/output
