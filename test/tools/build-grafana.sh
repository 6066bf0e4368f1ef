#!/usr/bin/env bash
# Builds a real Grafana 10.0 server from the Go module proxy, once, into a
# cache outside the clone. Prints the cache directory, which holds the binary
# ($dir/grafana) and the home path ($dir/home, the writable copy of the module
# with conf/ and public/) to pass as --homepath.
#
# Recipe: the module zip lacks pkg/server/wire_gen.go, so it is generated with
# google/wire v0.6.0 built against golang.org/x/tools v0.40.0 (older x/tools
# does not compile on current Go). The build runs inside the copied module so
# its own replace lines and go.sum apply. Cold: ~6 min on 2 cores, ~2 GB of
# memory, ~2.8 GB of module downloads.
set -euo pipefail
module=github.com/grafana/grafana
version=v1.9.2-0.20230609164553-81d85ce8028d # Grafana 10.0
wire_version=v0.6.0
xtools_version=v0.40.0
dir="${CANOPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canopy}/grafana-10.0"

if [ -x "$dir/grafana" ] && [ -f "$dir/home/conf/defaults.ini" ]; then
  echo "$dir"
  exit 0
fi

export GOWORK=off GOFLAGS=-buildvcs=false
mkdir -p "$dir"
echo "building Grafana 10.0 ($version) into $dir" >&2

# 1. The module, copied somewhere writable.
src=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "go mod download $module@$version gave no directory" >&2; exit 1; }
rm -rf "$dir/home.tmp"
cp -r "$src" "$dir/home.tmp"
chmod -R u+w "$dir/home.tmp"

# 2. wire v0.6.0 against x/tools v0.40.0, in a throwaway module.
tools="$dir/wire-build"
rm -rf "$tools"
mkdir -p "$tools"
(
  cd "$tools"
  go mod init canopy.local/wirebuild >/dev/null 2>&1
  go get "github.com/google/wire/cmd/wire@$wire_version" "golang.org/x/tools@$xtools_version" >&2
  go build -o "$dir/wire" github.com/google/wire/cmd/wire
)
rm -rf "$tools"

# 3. wire_gen.go, then the server.
(
  cd "$dir/home.tmp"
  "$dir/wire" gen -tags oss ./pkg/server >&2
  CGO_ENABLED=1 go build -trimpath -o "$dir/grafana.tmp" ./pkg/cmd/grafana
)
rm -rf "$dir/home"
mv "$dir/home.tmp" "$dir/home"
mv "$dir/grafana.tmp" "$dir/grafana"
echo "$dir"
