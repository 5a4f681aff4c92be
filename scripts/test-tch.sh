#!/usr/bin/env bash
# Builds and tests the tch adapter (crate curvewatch-tch) against libtorch 2.13.0 from a project-local
# virtual environment, then runs both of its examples. Called by CI; safe to run by hand.
#
#   scripts/test-tch.sh            # set-up (skipped when done), clippy, tests, both examples
#
# The examples run in the debug profile that the tests already built (about 2 s and 7 s on a 2-core
# VM), so CI compiles libtorch's C++ shim once. Charts go to curvewatch-out/tch-overfit and
# curvewatch-out/tch-charlm.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== libtorch (torch 2.13.0 in .venv-torch)"
eval "$(scripts/setup-libtorch.sh)"

echo "== clippy (curvewatch-tch)"
cargo clippy -p curvewatch-tch --all-targets -- -D warnings

echo "== tests (curvewatch-tch)"
cargo test -p curvewatch-tch

echo "== example: overfit (stops early on overfitting)"
cargo run -p curvewatch-tch --example overfit

echo "== example: charlm (char-level LSTM, warmup + cosine, step-level curves)"
cargo run -p curvewatch-tch --example charlm
