#!/bin/sh
# The verify of the store sweeps (sweep-bbolt.sh, sweep-redb.sh), run by sysfault in each crash state's directory:
#   verify-acked.sh CHECKER DBFILE
# every key the crashed run printed as "acked KEY" must be listed by `CHECKER check DIR`; with none acked yet, a
# missing DBFILE is fine, one the store refuses to open is not.
checker=$1
db=$2
acked=$(sed -n 's/^acked //p' "$SYSFAULT_SWEEP_STDOUT")
[ -z "$acked" ] && [ ! -e "$SYSFAULT_SWEEP_DIR/$db" ] && exit 0
"$checker" check "$SYSFAULT_SWEEP_DIR" >"$SYSFAULT_SWEEP_DIR/.present" || {
  echo "$(basename "$checker") cannot open the store (acked: $(echo $acked))"
  exit 1
}
for k in $acked; do
  grep -qx "$k" "$SYSFAULT_SWEEP_DIR/.present" || { echo "acked $k lost"; exit 1; }
done
