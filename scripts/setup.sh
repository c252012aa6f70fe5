#!/usr/bin/env bash
# Installs what neotune needs on a fresh Debian 12 machine, and only what is missing, so a second
# run costs seconds: apt packages, node_modules (npm ci), then the TypeScript build.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: headless browser runs (WebGPU/WebGL in Chromium, report rendering) and its SwiftShader
# Vulkan driver, which gives Dawn a WebGPU adapter on machines without a GPU.
# libvulkan1: the Vulkan loader Dawn (npm package webgpu) opens.
# redis-server: the queue of a tuning fleet (neotune worker / fleet tune --redis; its tests start one).
# The rest: gpu.js's native `gl` (headless-gl) builds from source during npm ci (its prebuilt
# download is unreachable), and runs under an X server (xvfb-run, see scripts/with-display.sh).
APT_PACKAGES=(chromium libvulkan1 redis-server build-essential pkg-config libxi-dev libglu1-mesa-dev libglew-dev libx11-dev libxext-dev xvfb xauth)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else echo "setup: need root for: $*" >&2; return 1; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  as_root apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when node_modules does not match the lockfile (puppeteer never downloads a browser:
# .puppeteerrc.cjs; Debian's chromium is used).
want=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.neotune-lock.sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci" >&2
  # onnxruntime-node ships its CPU build; its install script would download a CUDA provider.
  ONNXRUNTIME_NODE_INSTALL=skip PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
# gl is an optional dependency of gpu.js: npm ignores a failed build. Say so loudly.
if ! node -e "require('gl')" 2>/dev/null; then
  echo "setup: WARNING: the native package gl (headless-gl) did not build: the gpu.js backend in Node is unavailable (rm node_modules/.neotune-lock.sha256 and rerun to retry)" >&2
fi

# A clean build: stale outputs of renamed sources must not be run as tests.
rm -rf dist
npx --no-install tsc -p tsconfig.json
