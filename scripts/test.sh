#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs the whole test suite, then the
# regression smoke (HEAD against its parent in paired rounds, exact operation counts strictly;
# arguments go to it, e.g. --timings report).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/with-display.sh node --test --test-reporter=spec dist/tests/*.test.js
bash scripts/regression-smoke.sh "$@"
