#!/usr/bin/env bash
# Instruction counts of the engine's hot paths (testkit/src/bin/hotpaths.rs)
# under valgrind's callgrind: stable on a noisy, shared machine where times
# are not. Each case runs twice, with and without its measured part; the
# difference divided by the operations is the cost per operation, in
# instructions. Fails when a case exceeds its threshold in
# testkit/hotpaths.thresholds (`case max_instructions_per_op`).
#
#   scripts/hotpaths.sh            check against the thresholds
#   scripts/hotpaths.sh --print    only print the figures
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p walden-testkit --features hw-crc --bin hotpaths >/dev/null
bin=target/release/hotpaths
thresholds=testkit/hotpaths.thresholds
print_only=0
[ "${1:-}" = "--print" ] && print_only=1

instructions() {
  # Total instructions (Ir) callgrind collected for one run.
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

status=0
printf '%-12s %14s %10s %12s %10s\n' case instructions ops "per op" threshold
while read -r case limit; do
  case "$case" in ''|\#*) continue ;; esac
  full=$(instructions "$bin" "$case")
  base=$(instructions "$bin" "$case" --setup-only)
  ops=$("$bin" "$case" | sed -n 's/.*: \([0-9]*\) operations/\1/p')
  per=$(( (full - base) / ops ))
  printf '%-12s %14s %10s %12s %10s\n' "$case" "$((full - base))" "$ops" "$per" "$limit"
  if [ "$print_only" = 0 ] && [ "$per" -gt "$limit" ]; then
    echo "hotpaths: $case costs $per instructions per operation, above its threshold $limit" >&2
    status=1
  fi
done < "$thresholds"
exit $status
