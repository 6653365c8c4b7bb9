//go:build tools

// Package gotools pins the Go command-line tools the deploy checks build under var/tools/bin (see
// deploy/render/tools.py): kubeconform validates every rendered object against the Kubernetes and operator JSON
// schemas, helm lints and renders the chart. Nothing here is compiled into the application.
package gotools

import (
	_ "github.com/yannh/kubeconform/cmd/kubeconform"
	_ "helm.sh/helm/v4/cmd/helm"
)
