#!/usr/bin/env bash
# The whole test suite: the core and the Burn adapter (`cargo test`, no libtorch needed), then the tch
# adapter against libtorch 2.13.0 from a project-local virtual environment (scripts/test-tch.sh: sets
# it up on first use, ~1.5 min and 5 GB; then clippy, tests and both tch examples).
#
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tests: core and Burn adapter (cargo test)"
cargo test

echo "== tests: tch adapter (scripts/test-tch.sh)"
scripts/test-tch.sh
