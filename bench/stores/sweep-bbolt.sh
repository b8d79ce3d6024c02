#!/bin/sh
# Crash states on a store nobody here wrote: bbolt (go.etcd.io/bbolt, from the Go module proxy), swept with
# sysfault at every fdatasync/fsync/pwrite, with crash states, under posix and ext4 (docs/crash-consistency.md,
# "Real stores"). Not in the suite: it downloads and builds a module. Needs Go, dist/ and the native build.
#
# Usage: bench/stores/sweep-bbolt.sh [KEYS] [STATES]    (defaults: 8 keys, 8 states per point)
# The verify passes when every key the workload printed as acked is in the store after the crash.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
keys=${1:-8}
states=${2:-8}
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
(cd "$here/bbolt" && go build -o "$build/bboltkv" .)
cat >"$build/verify.sh" <<VERIFY
#!/bin/sh
# every acked key must be in the store; with none acked yet, a missing store is fine, one bbolt refuses is not
acked=\$(sed -n 's/^acked //p' "\$SYSFAULT_SWEEP_STDOUT")
[ -z "\$acked" ] && [ ! -e "\$SYSFAULT_SWEEP_DIR/kv.db" ] && exit 0
"$build/bboltkv" check "\$SYSFAULT_SWEEP_DIR" >"\$SYSFAULT_SWEEP_DIR/.present" || { echo "bbolt cannot open the store (acked: \$(echo \$acked))"; exit 1; }
for k in \$acked; do
  grep -qx "\$k" "\$SYSFAULT_SWEEP_DIR/.present" || { echo "acked \$k lost"; exit 1; }
done
VERIFY
chmod +x "$build/verify.sh"
for fs in posix ext4; do
  echo "== bbolt, $keys keys, --fs $fs, --states $states"
  node "$root/dist/cli/main.js" sweep --calls fdatasync,fsync,pwrite64,write --powercut 'kv.db' --fs "$fs" \
    --states "$states" --seed 1 --verify "$build/verify.sh" -- "$build/bboltkv" put . "$keys" || true
done
