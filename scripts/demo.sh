#!/usr/bin/env bash
# Install arcloop and run a short demo campaign on the embedded defaults:
# Prefect in local (ephemeral) mode, MLflow in ./mlruns.db, state in ./arcloop-state.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
. "$root/scripts/setup.sh"
cd "$root"
arcloop data info
arcloop campaign --config "$root/examples/demo.yaml" --state-dir "arcloop-state/demo-$(date +%Y%m%d-%H%M%S)" "$@"
echo
echo "Open the MLflow UI on this run:  $(dirname "$(command -v arcloop)")/arcloop ui --experiment arcloop-demo"
