#!/usr/bin/env bash
# README command (b): installs what is missing, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --test --test-reporter=spec dist/tests/*.test.js
