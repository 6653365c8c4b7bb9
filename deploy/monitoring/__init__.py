"""Ketalink's monitoring: Prometheus alert rules and the Grafana dashboard, and the pinned promtool that checks them."""
