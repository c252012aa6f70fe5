#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds, and runs the main job (`neotune run`):
# the default suite on every backend this machine has. Extra arguments go to `neotune run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec bash scripts/with-display.sh bin/neotune run "$@"
