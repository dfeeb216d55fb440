#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer, nightly); see docs/ARCHITECTURE.md, "Fuzzing".
#
#   scripts/fuzz.sh --smoke                  CI: build, run every target ~20 s
#   scripts/fuzz.sh --long SECONDS [TARGET…] operators: every (or each named) target SECONDS
#
# A crash (panic, failed invariant, timeout, out of memory) fails the run;
# the crashing input is copied to fuzz/regressions/<target>/, where
# `cargo test -p atomik-fuzzing` replays it on stable from then on.
# Environment: FUZZ_SMOKE_SECS (default 20), CARGO_TARGET_DIR (default
# ~/.cache/atomik/fuzz-target: outside the checkout, so a fresh clone — CI —
# reuses the nightly build of the dependencies instead of a cold one).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '3,5p' "$0" >&2; exit 2; }
case "${1:-}" in
  --smoke) secs=${FUZZ_SMOKE_SECS:-20}; shift ;;
  --long) [[ "${2:-}" =~ ^[0-9]+$ ]] || usage; secs=$2; shift 2 ;;
  *) usage ;;
esac

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/atomik/fuzz-target}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi
work=$CARGO_TARGET_DIR/fuzz-corpus

start=$(date +%s)
cargo +nightly fuzz build
echo "fuzz.sh: built in $(( $(date +%s) - start )) s"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "fuzz/corpus/$t"
  rm -rf "fuzz/artifacts/$t"
  echo "fuzz.sh: $t for ${secs}s"
  # New inputs go to the scratch corpus (first directory); the committed
  # seeds are read only.
  if ! cargo +nightly fuzz run "$t" "$work/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      >"$work/$t.log" 2>&1; then
    failed+=("$t")
    mkdir -p "fuzz/regressions/$t"
    for a in fuzz/artifacts/"$t"/*; do
      [ -f "$a" ] || continue
      cp "$a" "fuzz/regressions/$t/"
      echo "fuzz.sh: $t CRASHED; input saved as fuzz/regressions/$t/$(basename "$a")" >&2
    done
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$work/$t.log" | head -20 >&2 || true
  else
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$work/$t.log" | tr '\n' ' '
    echo
  fi
done

echo "fuzz.sh: ${#targets[@]} targets in $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (commit fuzz/regressions/, fix, re-run)" >&2
  exit 1
fi
