#!/usr/bin/env bash
# Install arcloop with its dev extras and run the linter, the dead-code and duplicate-code checks and
# the default test suite (not `slow`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
. "$root/scripts/setup.sh" dev
cd "$root"
ruff check arcloop tests benchmarks scripts
python scripts/check_dead_code.py   # code that nothing but tests uses
# duplicated code: pylint's similarity check, on the package (6 lines or more, imports/docstrings aside)
pylint --disable=all --enable=R0801 --min-similarity-lines=6 --score=n arcloop
python -m pytest "$@"
