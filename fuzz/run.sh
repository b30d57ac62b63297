#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and fails if any of them crashes.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 30 s, every target)
#
# libFuzzer needs unstable compiler flags (-Zsanitizer, sancov passes). On a stable
# toolchain they are unlocked with RUSTC_BOOTSTRAP=1, which is what this script does
# unless FUZZ_TOOLCHAIN names another (FUZZ_TOOLCHAIN=nightly uses `cargo +nightly`).
# The sanitizer is `none` by default: the core forbids unsafe code, so AddressSanitizer
# would mostly slow the search; FUZZ_SANITIZER=address turns it on. Debug assertions
# (overflow checks included) are always on: an overflow is a crash to find.
#
# Each target starts from its seeds (fuzz/seeds/TARGET, committed) and keeps what it
# learns in fuzz/corpus/TARGET (not committed). A crash leaves its input in
# fuzz/artifacts/TARGET/; reproduce it with `cargo fuzz run TARGET FILE`.
# Per-target logs and a summary table go to fuzz/logs/.
set -euo pipefail

cd "$(dirname "$0")"
seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^ispeed-fuzz$')
fi

sanitizer=${FUZZ_SANITIZER:-none}
cargo=(cargo)
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    cargo=(cargo "+$FUZZ_TOOLCHAIN")
else
    export RUSTC_BOOTSTRAP=1
fi
# A shared 2-core machine: build with one job unless told otherwise.
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
flags=(-s "$sanitizer" -a)

command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
    exit 2
}

"${cargo[@]}" fuzz build "${flags[@]}"

mkdir -p logs
summary=logs/summary.txt
printf '%-24s %8s %12s %10s %8s %8s %8s  %s\n' target seconds executions exec/s cov ft corpus outcome >"$summary"
failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t" "artifacts/$t"
    log="logs/$t.log"
    echo "==> $t for $seconds s"
    status=0
    "${cargo[@]}" fuzz run "${flags[@]}" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    if [ "$status" -eq 0 ]; then
        outcome=ok
    else
        outcome="CRASH (exit $status, see $log and artifacts/$t/)"
        failed+=("$t")
        grep -m 5 -E 'panicked|ERROR|SUMMARY' "$log" || true
    fi
    printf '%-24s %8s %12s %10s %8s %8s %8s  %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$outcome" | tee -a "$summary"
done

echo
cat "$summary"
if [ ${#failed[@]} -ne 0 ]; then
    echo "crashed: ${failed[*]}" >&2
    exit 1
fi
echo "no crash in ${#targets[@]} targets"
