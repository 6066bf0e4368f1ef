#!/usr/bin/env bash
# Builds golangci-lint at an exact version from the Go module proxy, once,
# into a cache outside the clone keyed by version (make lint uses it).
# Prints the binary's path.
set -euo pipefail
version=v2.15.0
dir="${CANOPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canopy}/golangci-lint-${version}"
if [ ! -x "$dir/golangci-lint" ]; then
  mkdir -p "$dir"
  echo "building golangci-lint ($version) into $dir" >&2
  GOBIN="$dir" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@${version}"
fi
echo "$dir/golangci-lint"
