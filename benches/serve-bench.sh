#!/usr/bin/env bash
# Local serving and HTTP mode under load: requests per second and latency
# percentiles measured by `wrk`, every response's status and body checked.
#
# Part `serve`: `cargo lambada serve --release --no-reload` with helloworld
# (GET /helloworld/5, REST v1 events through the embedded Runtime API
# emulator), with the default --concurrency 4 and with --concurrency 1,
# next to `cargo lambda watch --release` (cargo-lambda from PyPI, one
# function instance, its default) serving the lambda_http + axum peer
# ../shared/bench-rig/peers/axum-hello (GET /lambda-url/axum-hello/hello/5,
# function URL events). Expected body: `Hello world: 5`.
#
# Part `http`: the same route answered by a plain HTTP server: helloworld's
# release binary with LAMBADA_MODE=http (`#[lambada::main]`: the multi-thread
# scheduler in HTTP mode, no per-request log line), the same with
# LAMBADA_ACCESS_LOG=1 (`-log`: a JSON line per request), `lambada-http-hello`
# (helloworld's route under `#[lambada::main(flavor = "current_thread")]`,
# `http-lambada-ct`) and `axum-serve-hello` (plain
# `axum::serve`, multi-thread; benches/axum-serve-hello, its own Cargo.lock).
#
# What it installs when missing: `wrk` (apt-get) and `cargo-lambda` (pip;
# the wheel ships a prebuilt binary).
# What it builds (CARGO_TARGET_DIR, default /tmp/bench-target; never the
# workspace's target/): cargo-lambada (release: compiles the AWS SDK, several
# minutes the first time), helloworld and lambada-http-hello (release),
# axum-serve-hello (release, --locked); cargo-lambda builds the peer itself
# in a copy at $PEER_DIR (so nothing is written under shared/).
# Every server listens on 127.0.0.1 only, and is stopped at the end.
#
#   benches/serve-bench.sh                 # both parts, 2 interleaved rounds
#   PARTS=http ROUNDS=3 benches/serve-bench.sh
#   SKIP_BUILD=1 DURATION=20 benches/serve-bench.sh
#   CARGO_LAMBADA=target/debug/cargo-lambada benches/serve-bench.sh   # another build
#
# Environment:
#   PARTS      which parts                         ["serve http"]
#   ROUNDS     rounds; within a round every configuration runs once per
#              connection count, in turn, so load bursts hit all alike [2]
#   CONNS      wrk connection counts               ["8 32"]
#   THREADS    wrk threads                         [2]
#   DURATION   seconds per measured run            [15]
#   MODES      `check` (wrk checks every status and body in Lua) and/or
#              `plain` (wrk counts non-2xx only; cheaper for wrk) ["check plain"]
#   WARMUP     seconds of unmeasured load per server before round 1 [3]
#   CARGO_LAMBADA  the cargo-lambada binary  [$CARGO_TARGET_DIR/release/cargo-lambada]
#   PEER_DIR   where the axum-hello peer is copied [/tmp/axum-hello-peer]
#   SKIP_BUILD=1   use what is already built
#
# Output: one line per run in benches/results/serve-<UTC stamp>.tsv (load
# average before each run, req/s, latency p50/p90/p99, good and bad
# responses, socket errors, the server's CPU time per request: its whole
# process tree, and its root process alone), a .meta file (commit, machine, versions), then
# a table of medians over the rounds. A run with any bad response (status
# not 200 or body not `Hello world: 5`) or socket error is flagged BAD.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
workspace=$(cd "$here/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
PARTS=${PARTS:-serve http}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-8 32}
THREADS=${THREADS:-2}
DURATION=${DURATION:-15}
MODES=${MODES:-check plain}
WARMUP=${WARMUP:-3}
CARGO_LAMBADA=${CARGO_LAMBADA:-$CARGO_TARGET_DIR/release/cargo-lambada}
RIG_DIR=${BENCH_RIG_DIR:-$workspace/../shared/bench-rig}
PEER_DIR=${PEER_DIR:-/tmp/axum-hello-peer}
BIN_DIR=$CARGO_TARGET_DIR/serve-bench
LOG_DIR=$(mktemp -d /tmp/serve-bench.XXXXXX)
EXPECT="Hello world: 5"

want() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---------------------------------------------------------------- installs
if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
if want serve && ! command -v cargo-lambda >/dev/null; then
  echo "installing cargo-lambda" >&2
  pip install -q cargo-lambda
fi

# ---------------------------------------------------------------- builds
mkdir -p "$BIN_DIR"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if want serve && [ "$CARGO_LAMBADA" = "$CARGO_TARGET_DIR/release/cargo-lambada" ]; then
    echo "building cargo-lambada (release)" >&2
    (cd "$workspace" && cargo build --release --locked --quiet -p cargo-lambada)
  fi
  if want http; then
    echo "building helloworld, lambada-http-hello, axum-serve-hello (release)" >&2
    (cd "$workspace" && cargo build --release --locked --quiet -p example-helloworld --bin helloworld \
      && cargo build --release --locked --quiet -p lambada-benches --bin lambada-http-hello)
    (cd "$here/axum-serve-hello" && cargo build --release --locked --quiet)
    # Copies, measured from there: `cargo bench` would rewrite release/ with
    # the bench profile.
    cp "$CARGO_TARGET_DIR/release/helloworld" "$CARGO_TARGET_DIR/release/lambada-http-hello" \
      "$CARGO_TARGET_DIR/release/axum-serve-hello" "$BIN_DIR/"
  fi
fi
if want serve; then
  # The peer's sources only, timestamps kept: an earlier build in
  # $PEER_DIR/target stays fresh.
  mkdir -p "$PEER_DIR"
  cp -rp "$RIG_DIR/peers/axum-hello/Cargo.toml" "$RIG_DIR/peers/axum-hello/Cargo.lock" \
    "$RIG_DIR/peers/axum-hello/src" "$PEER_DIR/"
fi

# ---------------------------------------------------------------- servers
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

# wait_body URL SECONDS: until URL answers 200 with the expected body.
wait_body() {
  local t=0
  while [ "$t" -lt $(( $2 * 10 )) ]; do
    if [ "$(curl -s -m 5 "$1" 2>/dev/null || true)" = "$EXPECT" ]; then return 0; fi
    sleep 0.1; t=$((t + 1))
  done
  echo "no \`$EXPECT\` from $1 within $2 s; logs in $LOG_DIR" >&2
  return 1
}

NAMES=()
declare -A URL SPID
# start NAME URL WAIT_SECONDS CMD...: runs CMD (stdout+stderr to a log) and
# waits until URL gives the expected body.
start() {
  local name=$1 url=$2 wait=$3
  shift 3
  "$@" >"$LOG_DIR/$name.log" 2>&1 &
  PIDS+=($!)
  SPID[$name]=$!
  wait_body "$url" "$wait"
  NAMES+=("$name")
  URL[$name]=$url
  echo "up: $name ($url)" >&2
}

if want serve; then
  start serve-c4 http://127.0.0.1:3000/helloworld/5 900 \
    "$CARGO_LAMBADA" lambada serve --release --no-reload --port 3000 \
    --manifest-path "$workspace/examples/helloworld/Cargo.toml"
  start serve-c1 http://127.0.0.1:3001/helloworld/5 300 \
    "$CARGO_LAMBADA" lambada serve --release --no-reload --port 3001 --concurrency 1 \
    --manifest-path "$workspace/examples/helloworld/Cargo.toml"
  # `cargo lambda watch` builds the function on the first request (cargo run).
  start cargo-lambda-watch http://127.0.0.1:9000/lambda-url/axum-hello/hello/5 900 \
    bash -c "cd '$PEER_DIR' && exec cargo lambda watch --release --ignore-changes -A 127.0.0.1 -P 9000"
fi
if want http; then
  start http-helloworld http://127.0.0.1:8081/helloworld/5 30 \
    env LAMBADA_MODE=http HOST=127.0.0.1 PORT=8081 "$BIN_DIR/helloworld"
  start http-helloworld-log http://127.0.0.1:8084/helloworld/5 30 \
    env LAMBADA_MODE=http HOST=127.0.0.1 PORT=8084 LAMBADA_ACCESS_LOG=1 "$BIN_DIR/helloworld"
  start http-lambada-ct http://127.0.0.1:8083/helloworld/5 30 \
    env LAMBADA_MODE=http HOST=127.0.0.1 PORT=8083 "$BIN_DIR/lambada-http-hello"
  start axum-serve http://127.0.0.1:8082/helloworld/5 30 \
    env HOST=127.0.0.1 PORT=8082 "$BIN_DIR/axum-serve-hello"
fi

# tree_ticks PID: "ROOT TREE", the CPU time (user + system, clock ticks) of
# PID alone and of PID with all its descendants (serve's bootstraps, the
# function cargo-lambda runs).
tree_ticks() {
  # `cat` skips a process that ends meanwhile (awk alone would stop there).
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
    { pid = $1; line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
      parent[pid] = f[2]; ticks[pid] = f[12] + f[13] }
    END {
      tree = 0
      for (p in ticks) {
        q = p
        for (i = 0; i < 64 && q != "" && q != 0; i++) {
          if (q == root) { tree += ticks[p]; break }
          q = parent[q]
        }
      }
      print ticks[root] + 0, tree
    }'
}
TICK_US=$(( 1000000 / $(getconf CLK_TCK) ))

# ---------------------------------------------------------------- wrk
# `check`: counts responses that are not 200 + the expected body, per
# thread (a Lua call per response, which costs wrk CPU that the server then
# lacks on a small machine). `plain`: no per-response Lua; only wrk's own
# count of non-2xx/3xx statuses (the bodies are checked by the `check` runs
# and by curl before and after). Both print one machine-readable line.
cat >"$LOG_DIR/check.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) expected = args[1]; good = 0; bad = 0 end
function response(status, headers, body)
  if status == 200 and body == expected then good = good + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do g = g + t:get("good"); b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f good=%d bad=%d sockerr=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    g, b, e.connect + e.read + e.write + e.timeout))
end
LUA
cat >"$LOG_DIR/plain.lua" <<'LUA'
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f good=%d bad=%d sockerr=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests - e.status, e.status, e.connect + e.read + e.write + e.timeout))
end
LUA

mkdir -p "$here/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$here/results/serve-$stamp.tsv"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git -C "$workspace" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$workspace" diff --quiet 2>/dev/null || echo ' (dirty)')"
  echo "machine: $(nproc) cores, $(uname -r)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  if want serve; then
    echo "cargo-lambada: $CARGO_LAMBADA"
    echo "cargo-lambda: $(cargo lambda --version 2>/dev/null || echo '?')"
  fi
  echo "rounds=$ROUNDS modes=\"$MODES\" conns=\"$CONNS\" threads=$THREADS duration=${DURATION}s warmup=${WARMUP}s"
} >"${out%.tsv}.meta"
printf 'round\tmode\tconfig\tconns\tload1\trps\tp50_ms\tp90_ms\tp99_ms\tmax_ms\tgood\tbad\tsockerr\tcpu_us_per_req\troot_cpu_us_per_req\n' >"$out"

echo "warm-up: ${WARMUP}s per server" >&2
for name in "${NAMES[@]}"; do
  wrk -t "$THREADS" -c 32 -d "${WARMUP}s" "${URL[$name]}" >/dev/null
done

for round in $(seq "$ROUNDS"); do
  for mode in $MODES; do
    for c in $CONNS; do
      for name in "${NAMES[@]}"; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        read -r root0 tree0 < <(tree_ticks "${SPID[$name]}") || true
        res=$(wrk -t "$THREADS" -c "$c" -d "${DURATION}s" --latency -s "$LOG_DIR/$mode.lua" \
          "${URL[$name]}" -- "$EXPECT" | tee -a "$LOG_DIR/wrk.log" | grep '^RESULT' || true)
        if [ -z "$res" ]; then
          echo "wrk gave no result for $name; see $LOG_DIR/wrk.log" >&2
          exit 1
        fi
        read -r root1 tree1 < <(tree_ticks "${SPID[$name]}") || true
        v() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" ${res#RESULT }"; }
        n=$(( $(v good) + $(v bad) ))
        # Server CPU per request, µs: the whole process tree, and its root
        # process alone (serve / cargo-lambda itself, without the function).
        cpu=$(awk -v t=$(( (tree1 - tree0) * TICK_US )) -v n="$n" 'BEGIN { printf "%.1f", n ? t / n : 0 }')
        cpu_root=$(awk -v t=$(( (root1 - root0) * TICK_US )) -v n="$n" 'BEGIN { printf "%.1f", n ? t / n : 0 }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$mode" "$name" "$c" "$load" \
          "$(v rps)" "$(v p50_ms)" "$(v p90_ms)" "$(v p99_ms)" "$(v max_ms)" "$(v good)" "$(v bad)" "$(v sockerr)" \
          "$cpu" "$cpu_root" | tee -a "$out" >&2
      done
    done
  done
done

# The same check after the load.
for name in "${NAMES[@]}"; do
  got=$(curl -s -m 5 "${URL[$name]}" || true)
  [ "$got" = "$EXPECT" ] || echo "AFTER THE RUNS: $name answered \`$got\`" >&2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"${out%.tsv}.meta"

# ---------------------------------------------------------------- report
python3 - "$out" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
groups = {}
for r in rows:
    groups.setdefault((r["mode"], r["config"], int(r["conns"])), []).append(r)
med = lambda rs, k: statistics.median(float(r.get(k) or 0) for r in rs)
print(f"\n{sys.argv[1]}: medians over rounds\n")
print("| wrk mode | config | conns | rounds | req/s median (min–max) | p50 ms | p99 ms median (min–max) | server CPU µs/req (root) | bad | load1 (min–max) |")
print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
res = {}
for (mode, name, c), rs in groups.items():
    rps = [float(r["rps"]) for r in rs]
    p99 = [float(r["p99_ms"]) for r in rs]
    loads = [float(r["load1"]) for r in rs]
    bad = sum(int(r["bad"]) + int(r["sockerr"]) for r in rs)
    res[(mode, name, c)] = statistics.median(rps)
    print(f"| {mode} | {name} | {c} | {len(rs)} | {statistics.median(rps):.0f} ({min(rps):.0f}–{max(rps):.0f}) "
          f"| {med(rs, 'p50_ms'):.2f} | {statistics.median(p99):.2f} ({min(p99):.2f}–{max(p99):.2f}) "
          f"| {med(rs, 'cpu_us_per_req'):.1f} ({med(rs, 'root_cpu_us_per_req'):.1f}) "
          f"| {bad}{' BAD' if bad else ''} | {min(loads):.2f}–{max(loads):.2f} |")
print()
# Ratios per round: each pair ran back to back in the same round, mode and
# connection count, so a burst of background load hits both; the median of
# those is steadier than the ratio of medians.
idx = {(r["round"], r["mode"], r["config"], int(r["conns"])): r for r in rows}
pairs = [("serve-c4", "cargo-lambda-watch", 4.0), ("serve-c1", "cargo-lambda-watch", 4.0),
         ("http-helloworld", "axum-serve", 0.9), ("http-helloworld-log", "axum-serve", 0.9),
         ("http-lambada-ct", "axum-serve", 0.9)]
print("| ours / peer | conns | runs | req/s ratio, median of runs (min–max) | target | peer CPU/req ÷ ours |")
print("|---|--:|--:|--:|--:|--:|")
for ours, peer, target in pairs:
    for c in sorted({int(r["conns"]) for r in rows}):
        rr, cr = [], []
        for (rd, mode, name, cc), r in idx.items():
            o = idx.get((rd, mode, peer, c))
            if name != ours or cc != c or o is None:
                continue
            rr.append(float(r["rps"]) / float(o["rps"]))
            if float(r.get("cpu_us_per_req") or 0) > 0:
                cr.append(float(o["cpu_us_per_req"]) / float(r["cpu_us_per_req"]))
        if not rr:
            continue
        m = statistics.median(rr)
        cpu = f"{statistics.median(cr):.2f} ({min(cr):.2f}–{max(cr):.2f})" if cr else "–"
        print(f"| {ours} / {peer} | {c} | {len(rr)} | **{m:.2f}×** ({min(rr):.2f}–{max(rr):.2f}) "
              f"| ≥ {target}× {'met' if m >= target else 'NOT met'} | {cpu} |")
PY
