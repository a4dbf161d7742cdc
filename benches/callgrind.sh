#!/usr/bin/env bash
# Instructions per invocation (callgrind `Ir`) for each variant of the
# in-process comparison: lambada, lambda_http+axum, and the two parse floors,
# on the REST v1 and HTTP v2 hello events. Unlike time, instruction counts
# do not move with the load of a shared machine (they do not see cache
# misses or syscall cost either: read them next to `dispatch`'s times).
#
#   benches/callgrind.sh            # N=2000
#   N=5000 benches/callgrind.sh
#
# Each variant runs twice under valgrind, with 0 and with N measured
# iterations after the same setup and warm-up; Ir/inv = (Ir(N) - Ir(0)) / N.
# Needs valgrind. Builds with CARGO_TARGET_DIR [/tmp/bench-target].
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
N=${N:-2000}
bin=$(cd "$here/.." && cargo bench -p lambada-benches --bench callgrind --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*callgrind[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "cannot build the callgrind bench" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() { # variant iters -> total Ir
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" >/dev/null 2>&1
  sed -n 's/^totals: //p' "$tmp/out"
}
printf '| variant | Ir / invocation |\n|---|--:|\n'
for v in lambada-v1 axum-v1 value-v1 typed-v1 lambada-v2 axum-v2 value-v2 typed-v2; do
  base=$(ir "$v" 0)
  full=$(ir "$v" "$N")
  printf '| %s | %d |\n' "$v" $(( (full - base) / N ))
done
