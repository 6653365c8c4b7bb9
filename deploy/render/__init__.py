"""Kubernetes manifests for Ketalink, generated from the code's own facts (service names and Kafka topics from
``shared.events.topics``), plus the tools and checks that render and validate them. ``python -m deploy.render``
regenerates deploy/k8s/base and deploy/k8s/components; the overlays under deploy/k8s/overlays are written by hand."""
