#!/usr/bin/env bash
# Instructions (callgrind `Ir`) of whole bootstrap processes under lambda-rig:
# per warm invocation, and for a process that starts, serves one invocation
# and leaves. Counts do not move with the load of a shared machine (they do
# not see the kernel's share or cache misses: read them next to rig.sh's
# CPU times).
#
#   benches/callgrind-process.sh LABEL=path/to/bootstrap...
#   N=1000 EVENT=apigw-http-v2-get-hello.json benches/callgrind-process.sh a=... b=...
#
# lambda-rig ends a runtime with SIGKILL, which callgrind cannot survive to
# write its counts; so each bootstrap runs under valgrind in a session of
# its own, behind a wrapper the rig kills. When the rig is gone the
# bootstrap's connection closes, it exits, and callgrind writes its totals.
# Ir/inv = (Ir(warm = WARMUP + N) - Ir(warm = WARMUP)) / N; "start" is the
# process with one (cold) invocation minus one warm invocation's Ir. A
# bootstrap that does not exit within a minute of its connection closing
# is stopped and reported n/a (main's at 957501c, hyper's client, after a
# cold REST v1 invocation, does this).
# Needs valgrind and the rig built by rig.sh (RIG_TARGET_DIR).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
workspace=$(cd "$here/.." && pwd)
RIG_DIR=$(cd "${BENCH_RIG_DIR:-$workspace/../shared/bench-rig}" && pwd)
RIG=${RIG_TARGET_DIR:-/tmp/bench-rig-target}/release/lambda-rig
N=${N:-1000}
WARMUP=${WARMUP:-20}
EVENT=${EVENT:-apigw-rest-v1-get-hello.json}
[ -x "$RIG" ] || { echo "build the rig first (benches/rig.sh)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ir BOOTSTRAP COLD WARM -> total Ir of the bootstrap process
ir() {
  local out="$tmp/cg.$RANDOM"
  cat >"$tmp/wrap.sh" <<EOF
#!/bin/sh
setsid valgrind --tool=callgrind --callgrind-out-file=$out "$1" >/dev/null 2>&1 &
echo \$! >$out.pid
wait
EOF
  chmod +x "$tmp/wrap.sh"
  local warmup=$WARMUP
  [ "$3" = 0 ] && warmup=0
  "$RIG" --quiet --cold-runs "$2" --warm "$3" --warmup "$warmup" \
    --init-timeout-ms 60000 --invoke-timeout-ms 60000 \
    --event "$RIG_DIR/events/$EVENT" --expect "$RIG_DIR/events/expect/hello-42.json" \
    --cwd "$tmp" "$tmp/wrap.sh" >/dev/null
  for _ in $(seq 1 600); do
    [ -s "$out" ] && grep -q '^totals:' "$out" && break
    sleep 0.1
  done
  if ! grep -q '^totals:' "$out" 2>/dev/null; then
    # Still running a minute after its connection closed: stop it.
    kill "$(cat "$out.pid")" 2>/dev/null || true
    return
  fi
  sed -n 's/^totals: //p' "$out"
}

printf '| bootstrap | event | Ir / warm invocation | Ir of a process serving one invocation, minus one warm invocation |\n|---|---|--:|--:|\n'
for spec in "$@"; do
  label=${spec%%=*} bin=$(cd "$(dirname "${spec#*=}")" && pwd)/$(basename "${spec#*=}")
  base=$(ir "$bin" 0 1)
  full=$(ir "$bin" 0 "$((N + 1))")
  one=$(ir "$bin" 1 0)
  if [ -z "$base" ] || [ -z "$full" ] || [ -z "$one" ]; then
    # callgrind wrote no totals within a minute of the rig's end
    printf '| %s | %s | n/a | n/a |\n' "$label" "${EVENT%.json}"
    continue
  fi
  per=$(( (full - base) / N ))
  printf '| %s | %s | %d | %d |\n' "$label" "${EVENT%.json}" "$per" "$((one - per))"
done
