"""Kubernetes manifests for Ketalink, generated from the code's own facts (service names and Kafka topics from
``shared.events.topics``), plus the tools and checks that render and validate them. ``python -m deploy.render``
regenerates deploy/k8s/base, deploy/k8s/components and deploy/compose/postgres-init.sql; the overlays under
deploy/k8s/overlays are written by hand."""
