#!/usr/bin/env bash
# Create .venv (or $ARCLOOP_VENV) and install arcloop into it. Sourced by demo.sh and test.sh.
# CPU torch is installed first and pinned: an unpinned install can pull a multi-GB CUDA build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ARCLOOP_VENV:-$root/.venv}"
extras="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "torch==2.13.0"
python -m pip install --quiet -e "$root${extras:+[$extras]}"
