#!/usr/bin/env bash
# Builds the Helm CLI from the Go module proxy, once, into a cache outside
# the clone keyed by version (the tests render charts/canopy with it).
# Prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=v3.17.3
dir="${CANOPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canopy}/helm-${version}"
if [ ! -x "$dir/helm" ]; then
  mkdir -p "$dir"
  cd "$here/helm"
  echo "building helm ($version) into $dir" >&2
  CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$dir/helm.tmp" helm.sh/helm/v3/cmd/helm
  mv "$dir/helm.tmp" "$dir/helm"
fi
echo "$dir/helm"
