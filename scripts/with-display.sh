#!/usr/bin/env bash
# Runs a command with an X display: headless-gl (the gpu.js backend in Node) needs an X server,
# and without one gpu.js would silently fall back to a CPU kernel. When DISPLAY is unset and
# xvfb-run exists, the command runs under a private Xvfb; otherwise as is (the gpu.js backend then
# reports itself unavailable, with the reason).
set -euo pipefail
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
  exec xvfb-run -a -s "-screen 0 1024x768x24" "$@"
fi
exec "$@"
