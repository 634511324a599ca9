#!/usr/bin/env bash
# Install arcloop with its dev extras and run the linter and the default test suite (not `slow`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
. "$root/scripts/setup.sh" dev
cd "$root"
ruff check arcloop tests benchmarks
python -m pytest "$@"
