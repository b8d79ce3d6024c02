#!/bin/sh
# Crash states on a store nobody here wrote: bbolt (go.etcd.io/bbolt, from the Go module proxy), swept with
# sysfault at every fdatasync/fsync/pwrite, with crash states, under posix and ext4 (docs/crash-consistency.md,
# "Real stores"). Not in the suite: it downloads and builds a module. Needs Go, dist/ and the native build.
#
# Usage: bench/stores/sweep-bbolt.sh [KEYS] [STATES]    (defaults: 8 keys, 8 states per point)
# The verify (verify-acked.sh) passes when every key the workload printed as acked is in the store after the
# crash.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
keys=${1:-8}
states=${2:-8}
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
(cd "$here/bbolt" && go build -o "$build/bboltkv" .)
for fs in posix ext4; do
  echo "== bbolt, $keys keys, --fs $fs, --states $states"
  node "$root/dist/cli/main.js" sweep --calls fdatasync,fsync,pwrite64,write --powercut 'kv.db' --fs "$fs" \
    --states "$states" --seed 1 --verify "$here/verify-acked.sh $build/bboltkv kv.db" \
    -- "$build/bboltkv" put . "$keys" || true
done
