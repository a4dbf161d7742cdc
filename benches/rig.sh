#!/usr/bin/env bash
# Whole-process benchmark: Lambada bootstraps side by side with the peers of
# ../shared/bench-rig (floor-std, raw-runtime, axum-hello; floor-c on request),
# measured by `lambda-rig`, which plays Lambda's Runtime API over loopback and
# times cold start, warm latency, CPU per invocation, RSS and TCP connections.
#
#   benches/rig.sh                        # build everything, 3 interleaved rounds
#   benches/rig.sh main=path/to/bootstrap # another bootstrap beside the builds below
#   BUILDS= benches/rig.sh a=path/a b=path/b  # only those bootstraps, LABEL=PATH each
#   COLD=20 WARM=5000 WARMUP=200 ROUNDS=3 benches/rig.sh
#   SKIP_BUILD=1 ROUNDS=1 benches/rig.sh  # re-measure without building
#   BUILDS=static benches/rig.sh          # only the default bootstrap
#   PEERS="floor-c floor-std raw-runtime axum-hello" benches/rig.sh
#
# Environment:
#   BENCH_RIG_DIR   the rig checkout        [<workspace>/../shared/bench-rig]
#   RIG_TARGET_DIR  where the rig and peers are built (their own Cargo.locks,
#                   built with --locked)    [/tmp/bench-rig-target]
#   CARGO_TARGET_DIR  where lambada-hello is built (workspace [profile.release]:
#                   lto, codegen-units=1, strip; unwinding, not panic=abort)
#                                           [/tmp/bench-target]
#                   Each build is copied to $CARGO_TARGET_DIR/rig/<label> and
#                   measured from there: `cargo bench` also writes a
#                   `release/lambada-hello`, built with the bench profile
#                   (thin LTO), over the release one.
#   BUILDS          which builds of lambada-hello to make and measure, beside
#                   the LABEL=PATH arguments [static dynamic lean]:
#                     static   lambada-hello: as `cargo lambada build` makes it
#                              (release, -C target-feature=+crt-static, --target)
#                     dynamic  lambada-hello-dynamic: `cargo lambada build --dynamic`
#                              (release, the system's shared glibc)
#                     lean     lambada-hello-lean: static, lambada without its
#                              default `http-server` feature (Lambda only)
#   COLD WARM WARMUP ROUNDS   per run: COLD fresh processes (cold start + 1st
#                   invocation), then one process with WARMUP unmeasured and
#                   WARM measured invocations; ROUNDS rounds [20 5000 200 3]
#
# Every configuration runs once per round, both events (REST v1 and HTTP v2
# `GET /hello/42`), interleaved, so a burst of background load hits all of
# them alike. Every response must match events/expect/hello-42.json
# (status 200, body "Hello world: 42"): a fast wrong answer counts as a
# mismatch and the run is reported. Output: one JSON line per (runtime,
# event, round) in benches/results/<UTC stamp>.jsonl (plus a .meta file with
# the commit and load), then `lambda-rig report`: medians over the rounds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
workspace=$(cd "$here/.." && pwd)
RIG_DIR=$(cd "${BENCH_RIG_DIR:-$workspace/../shared/bench-rig}" && pwd)
RIG_TARGET_DIR=${RIG_TARGET_DIR:-/tmp/bench-rig-target}
OUR_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
COLD=${COLD:-20}
WARM=${WARM:-5000}
WARMUP=${WARMUP:-200}
ROUNDS=${ROUNDS:-3}
PEERS=${PEERS:-floor-std raw-runtime axum-hello}
BUILDS=${BUILDS-static dynamic lean}
SPECS=("$@")

label_of() {
  case "$1" in
    static) echo lambada-hello ;;
    *) echo "lambada-hello-$1" ;;
  esac
}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  for crate in lambda-rig peers/floor-std peers/raw-runtime peers/axum-hello; do
    echo "building $crate" >&2
    (cd "$RIG_DIR/$crate" && CARGO_TARGET_DIR="$RIG_TARGET_DIR" cargo build --release --locked --quiet)
  done
  case " $PEERS " in
    *" floor-c "*) CARGO_TARGET_DIR="$RIG_TARGET_DIR" "$RIG_DIR/peers/floor-c/build.sh" >/dev/null ;;
  esac
  if [ -n "$BUILDS" ]; then
    triple="$(uname -m)-unknown-linux-gnu"
    mkdir -p "$OUR_TARGET_DIR/rig"
    for b in $BUILDS; do
      echo "building lambada-hello ($b)" >&2
      build=(cargo build --release --quiet -p lambada-benches --bin lambada-hello)
      case "$b" in
        static | lean) build+=(--target "$triple" --config 'build.rustflags=["-Ctarget-feature=+crt-static"]')
                       out="$OUR_TARGET_DIR/$triple/release/lambada-hello" ;;
        dynamic) out="$OUR_TARGET_DIR/release/lambada-hello" ;;
        *) echo "unknown build \`$b\` in BUILDS" >&2; exit 2 ;;
      esac
      [ "$b" = lean ] && build+=(--no-default-features)
      (cd "$workspace" && CARGO_TARGET_DIR="$OUR_TARGET_DIR" "${build[@]}")
      cp "$out" "$OUR_TARGET_DIR/rig/$(label_of "$b")"
    done
  fi
fi
BUILT=()
for b in $BUILDS; do BUILT+=("$(label_of "$b")=$OUR_TARGET_DIR/rig/$(label_of "$b")"); done
SPECS=(${BUILT[@]+"${BUILT[@]}"} ${SPECS[@]+"${SPECS[@]}"})
LABELS=()
BINS=()
for spec in "${SPECS[@]}"; do
  case "$spec" in
    *=*) label=${spec%%=*} bin=${spec#*=} ;;
    *) label=$(basename "$spec") bin=$spec ;;
  esac
  [ -x "$bin" ] || { echo "no executable bootstrap at $bin" >&2; exit 2; }
  LABELS+=("$label")
  BINS+=("$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")")
done

R="$RIG_TARGET_DIR/release"
mkdir -p "$here/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$here/results/$stamp.jsonl"
{
  echo "date: $stamp"
  echo "workspace commit: $(git -C "$workspace" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$workspace" diff --quiet HEAD -- lambada-runtime lambada-macros lambada-path benches 2>/dev/null || echo ' (+ uncommitted changes)')"
  for i in "${!BINS[@]}"; do
    echo "bootstrap ${LABELS[$i]}: ${BINS[$i]} ($(stat -c %s "${BINS[$i]}") bytes)"
  done
  echo "config: COLD=$COLD WARM=$WARM WARMUP=$WARMUP ROUNDS=$ROUNDS PEERS=$PEERS"
  echo "host: $(nproc) cpus, $(uname -r), loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$here/results/$stamp.meta" >&2
echo "binary sizes (bytes, stripped):" >&2
for b in $PEERS; do printf '  %-14s %10s\n' "$b" "$(stat -c %s "$R/$b")" >&2; done
for i in "${!BINS[@]}"; do
  printf '  %-14s %10s\n' "${LABELS[$i]}" "$(stat -c %s "${BINS[$i]}")" >&2
done

V1="$RIG_DIR/events/apigw-rest-v1-get-hello.json"
V2="$RIG_DIR/events/apigw-http-v2-get-hello.json"
X="$RIG_DIR/events/expect/hello-42.json"
problems=0
rig() {
  "$R/lambda-rig" --quiet --cold-runs "$COLD" --warm "$WARM" --warmup "$WARMUP" \
    --expect "$X" --json-out "$out" "$@" >/dev/null \
    || { echo "  run reported problems: $*" >&2; problems=$((problems + 1)); }
}
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS (loadavg $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  for ev in "$V1" "$V2"; do
    if [ "$ev" = "$V2" ]; then shape=v2; else shape=v1; fi
    for peer in $PEERS; do
      case "$peer" in
        # raw-runtime deserialises one concrete type; it is told which one.
        raw-runtime) rig --label raw-runtime --env RAW_RUNTIME_EVENT=$shape --event "$ev" "$R/raw-runtime" ;;
        # lambda_http would route "/prod/hello/42" for a REST event with stage "prod".
        axum-hello) rig --label axum-hello --env AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true --event "$ev" "$R/axum-hello" ;;
        *) rig --label "$peer" --event "$ev" "$R/$peer" ;;
      esac
    done
    # Lambada needs no variable: it routes REST events by their `resource`.
    for i in "${!BINS[@]}"; do
      rig --label "${LABELS[$i]}" --event "$ev" "${BINS[$i]}"
    done
  done
done
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$here/results/$stamp.meta" >&2
echo
"$R/lambda-rig" report "$out"
echo
echo "results: ${out#"$workspace"/}"
if [ "$problems" != 0 ]; then
  echo "$problems run(s) reported problems" >&2
  exit 1
fi
