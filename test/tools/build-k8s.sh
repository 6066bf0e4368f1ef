#!/usr/bin/env bash
# Builds the real control-plane binaries from the Go module proxy, once, into
# a cache outside the clone keyed by version. Prints the binary directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=v1.37.0
dir="${CANOPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canopy}/k8s-${version}"
bins=(kube-apiserver kube-controller-manager kubectl etcd)
missing=()
for b in "${bins[@]}"; do [ -x "$dir/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
  mkdir -p "$dir"
  cd "$here/k8s"
  for b in "${missing[@]}"; do
    case $b in
      etcd) pkg=./etcd ;;
      *) pkg=k8s.io/kubernetes/cmd/$b ;;
    esac
    echo "building $b ($version) into $dir" >&2
    CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$dir/$b.tmp" "$pkg"
    mv "$dir/$b.tmp" "$dir/$b"
  done
fi
echo "$dir"
