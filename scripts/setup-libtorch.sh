#!/usr/bin/env bash
# Creates a project-local Python virtual environment with torch 2.13.0 from PyPI (its wheel carries the
# libtorch 2.13.0 that tch 0.26 links against), then prints the environment to build and run with:
#
#     eval "$(scripts/setup-libtorch.sh)"
#     cargo test -p curvewatch-tch
#
# Idempotent: when the environment already holds torch 2.13.0, pip is not run again. Progress goes to
# stderr; stdout carries only `export` lines. Override the location with CURVEWATCH_TORCH_VENV.
set -euo pipefail
TORCH_VERSION="2.13.0"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${CURVEWATCH_TORCH_VENV:-$ROOT/.venv-torch}"
PY="$VENV/bin/python"

installed_version() {
    "$PY" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true
}

if [ ! -x "$PY" ]; then
    echo "setup-libtorch: creating $VENV" >&2
    python3 -m venv "$VENV" >&2
fi
have="$(installed_version)"
if [ "${have%%+*}" != "$TORCH_VERSION" ]; then
    echo "setup-libtorch: installing torch==$TORCH_VERSION (about 5 GB, a minute or so)" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "torch==$TORCH_VERSION" >&2
else
    echo "setup-libtorch: torch $have already in $VENV" >&2
fi
# numpy only silences torch's "Failed to initialize NumPy" warning; skip quietly if it is unavailable.
"$PY" -c 'import numpy' 2>/dev/null \
    || "$VENV/bin/pip" install --quiet --disable-pip-version-check numpy >&2 2>/dev/null || true

LIB="$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)"
if [ ! -f "$LIB/libtorch_cpu.so" ]; then
    echo "setup-libtorch: libtorch_cpu.so not found in '$LIB'" >&2
    exit 1
fi
printf 'export LIBTORCH_USE_PYTORCH=1\n'
printf 'export PATH=%q:"$PATH"\n' "$VENV/bin"
printf 'export LD_LIBRARY_PATH=%q"${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"\n' "$LIB"
