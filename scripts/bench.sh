#!/usr/bin/env bash
# Benchmarks (BENCHMARKS.md): builds `atomik` and the `bench` harness in
# release mode, then runs the harness. Arguments go to it:
#   --quick            short runs (under a minute for both databases)
#   --db sqlite|postgres|both   (default both; PostgreSQL on 127.0.0.1:5432, trust auth)
#   --runs N           repetitions per database, the table shows medians (default 3, quick 1)
#   --json FILE        every figure of every run, and the medians
#   --broker tradovate|ib|polymarket|all   (default tradovate; ib: the Interactive
#                      Brokers figures; polymarket: Polymarket's)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p atomik -p atomik-bench
exec "${CARGO_TARGET_DIR:-target}/release/bench" "$@"
