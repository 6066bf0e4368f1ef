#!/usr/bin/env bash
# Builds HNC v1.1.0's own binaries from its module (Go module proxy), once,
# into a cache outside the clone keyed by version: the HNC manager (used by
# the takeover test), kubectl-hns and HNC's e2e test binary (used by
# `make hnc-e2e`), plus e2e-hrq.test: the same suite with HNC's pending
# HierarchicalResourceQuota specs turned on (HNC left them pending because
# its default manifests did not enable HRQ; Canopy always serves it). HNC is pinned to old libraries, so it is built in a
# writable copy of its module with its own go.mod and vendor directory,
# never as part of Canopy's module. Prints the binary directory.
set -euo pipefail
version=v1.1.0
module=sigs.k8s.io/hierarchical-namespaces
dir="${CANOPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canopy}/hnc-${version}"
bins=(manager kubectl-hns e2e.test e2e-hrq.test)
missing=()
for b in "${bins[@]}"; do [ -x "$dir/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
  mkdir -p "$dir"
  src="$dir/src"
  if [ ! -f "$src/go.mod" ]; then
    modDir=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$modDir" ] || { echo "build-hnc: go mod download $module@$version gave no directory" >&2; exit 1; }
    rm -rf "$src.tmp"
    cp -r "$modDir" "$src.tmp"
    chmod -R u+w "$src.tmp"
    # The module zip keeps only vendor/modules.txt, not the vendored code.
    rm -rf "$src.tmp/vendor"
    mv "$src.tmp" "$src"
  fi
  cd "$src"
  # HNC's own go.mod and go.sum pin its old libraries; -mod=mod lets Go
  # fetch them from the proxy without touching Canopy's module.
  # GOTOOLCHAIN=local keeps the installed Go.
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
  for b in "${missing[@]}"; do
    echo "building HNC $b ($version) into $dir" >&2
    case $b in
      manager) go build -trimpath -ldflags=-s -o "$dir/$b.tmp" ./cmd/manager ;;
      kubectl-hns) go build -trimpath -ldflags=-s -o "$dir/$b.tmp" ./cmd/kubectl ;;
      e2e.test) go test -c -trimpath -o "$dir/$b.tmp" ./test/e2e ;;
      e2e-hrq.test)
        rm -rf test/e2e-hrq
        cp -r test/e2e test/e2e-hrq
        sed -i -e 's/^var _ = PDescribe("Hierarchical Resource Quota"/var _ = Describe("Hierarchical Resource Quota"/' test/e2e-hrq/hrq_test.go
        sed -i -e 's/PIt("Create and use HierarchicalResourceQuota"/It("Create and use HierarchicalResourceQuota"/' test/e2e-hrq/quickstart_test.go
        grep -q 'PDescribe\|PIt(' test/e2e-hrq/*.go && { echo "build-hnc: un-pending the HRQ specs failed" >&2; exit 1; }
        go test -c -trimpath -o "$dir/$b.tmp" ./test/e2e-hrq ;;
    esac
    mv "$dir/$b.tmp" "$dir/$b"
  done
fi
echo "$dir"
