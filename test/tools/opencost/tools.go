//go:build tools

// Package tools pins OpenCost's cost model, which the cost e2e test runs
// against a real Prometheus. test/tools/build-opencost.sh builds it.
package tools

import (
	_ "github.com/opencost/opencost/cmd/costmodel"
)
