#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a set time, one after another, and prints a
# table of executions, crashes and corpus size per target (docs/fuzzing.md).
# Not part of CI: it needs a nightly toolchain and takes minutes.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Defaults: 60 s, every target (`cargo fuzz list`). Installs the nightly toolchain
# and cargo-fuzz when missing. New corpus entries land in fuzz/corpus/<target>/
# (minimised by edge coverage with `cargo fuzz cmin` after the run; commit them);
# crashing inputs in fuzz/artifacts/<target>/ (not committed: turn each into a
# regression test).
# Fuzzing goes on after a crash (libFuzzer's fork mode), so one run counts them all.
set -euo pipefail

secs="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# No sanitizer: the code under test is safe Rust (the domain forbids unsafe), and
# ASan would halve the executions. Debug assertions on: integer overflow panics.
flags=(--sanitizer none --debug-assertions)

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build "${flags[@]}"

logs="fuzz/target/logs"
mkdir -p "$logs"
results="$logs/results.md"
{
    echo "| target | seconds | executions | crashes | corpus (files) | corpus (KiB) |"
    echo "|---|---:|---:|---:|---:|---:|"
} >"$results"

for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/seeds/$t"
    before=$(find "fuzz/artifacts/$t" -type f | wc -l)
    log="$logs/$t.log"
    echo "== $t: ${secs}s (log: $log)" >&2
    # -fork=1 with -ignore_*: a crash, timeout or OOM is saved and fuzzing goes on.
    cargo +nightly fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || true
    # Executions: the last progress line of the fork-mode parent (`#<runs>: cov: …`).
    execs=$(grep -aoE '^#[0-9]+' "$log" | tail -n1 | tr -d '#')
    after=$(find "fuzz/artifacts/$t" -type f | wc -l)
    crashes=$((after - before))
    # Keep the smallest set that covers every edge the corpus reaches (hit counts
    # ignored: they would keep hundreds of near-copies in git).
    cargo +nightly fuzz cmin "${flags[@]}" "$t" "fuzz/corpus/$t" -- -use_counters=0 \
        >"$logs/$t.cmin.log" 2>&1 || true
    files=$(find "fuzz/corpus/$t" -type f | wc -l)
    kib=$(du -sk --apparent-size "fuzz/corpus/$t" | cut -f1)
    echo "| $t | $secs | ${execs:-0} | $crashes | $files | $kib |" >>"$results"
done

cat "$results"
echo "(table also in $results; crashing inputs in fuzz/artifacts/<target>/)" >&2
