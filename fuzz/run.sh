#!/usr/bin/env bash
# Runs Walden's cargo-fuzz targets, each for a bounded time.
#
#   fuzz/run.sh [seconds-per-target] [target...]
#
# Default: 60 seconds for each of open_image, wal_beside_db, op_sequence.
# Needs the nightly toolchain (cargo-fuzz builds with coverage flags) and
# installs cargo-fuzz if missing. Built with optimisations, debug assertions
# and overflow checks, without AddressSanitizer: the engine and the harness
# are `#![forbid(unsafe_code)]`, so ASan would find nothing Rust does not
# already check, and it slows the runs several times over (calloc'd RAM
# files are poisoned and quarantined on every execution). The committed seed corpus
# (fuzz/corpus/<target>/) is read, never written: new inputs go to
# fuzz/target/corpus/<target>/, crashes to fuzz/artifacts/<target>/
# (both ignored by git). Exit status 1 if any target found a crash; keep a
# minimal reproducer under fuzz/regressions/<target>/ (tests/corrupt.rs
# replays it in `cargo test`).
set -euo pipefail

secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(open_image wal_beside_db op_sequence)
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz/run.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 2
fi

# Largest input per target, in bytes: the seed images are up to ~24 KiB.
max_len() {
    case "$1" in
        open_image) echo 40000 ;;
        wal_beside_db) echo 24000 ;;
        *) echo 4096 ;;
    esac
}

status=0
for t in "${targets[@]}"; do
    work="$here/target/corpus/$t"
    mkdir -p "$work" "$here/artifacts/$t"
    echo "== fuzz target $t: $secs s"
    if ! cargo +nightly fuzz run --sanitizer none "$t" "$work" "$here/corpus/$t" -- \
        -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=20 -print_final_stats=1; then
        echo "== fuzz target $t: FAILED (crash, leak or timeout): see fuzz/artifacts/$t/" >&2
        status=1
    fi
done
exit $status
