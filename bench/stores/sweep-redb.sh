#!/bin/sh
# Crash states on a store nobody here wrote: redb (the redb crate, from crates.io), swept with sysfault at every
# fdatasync/pwrite64, with crash states, under posix and ext4 (docs/crash-consistency.md, "Real stores"). Not in
# the suite: it downloads and builds a crate. Needs cargo, dist/ and the native build.
#
# Usage: bench/stores/sweep-redb.sh [KEYS] [STATES]    (defaults: 8 keys, 8 states per point)
# The verify (verify-acked.sh) passes when every key the workload printed as acked is in the store after the
# crash.
# redb writes its file with pwrite64 and syncs it with fdatasync only (its size with ftruncate, which sysfault
# does not intercept; the power cut sees it in the file): those two are the crash points.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
keys=${1:-8}
states=${2:-8}
# built in bench/stores/redb/target (ignored by git): a second run does not compile redb again, and the replay
# commands the sweep prints still work after this script has ended
(cd "$here/redb" && cargo build --quiet --release --locked)
bin=$here/redb/target/release/redbkv
for fs in posix ext4; do
  echo "== redb, $keys keys, --fs $fs, --states $states"
  node "$root/dist/cli/main.js" sweep --calls fdatasync,pwrite64 --powercut 'kv.redb' --fs "$fs" --states "$states" \
    --seed 1 --verify "$here/verify-acked.sh $bin kv.redb" -- "$bin" put . "$keys" || true
done
