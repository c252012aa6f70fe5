#!/usr/bin/env bash
# Runs on a GPU machine (.gpu/ from scripts/gpu-bundle.sh) (or locally, to test everything up to the device call),
# from the repository root with .gpu/ built by scripts/gpu-bundle.sh. Writes to $OUT:
#   devices.json, webgpu-b64.json / webgpu-b1.json (neotune result files), webgpu-b64-f16.json
#   (float16 at the first batch: the fused shared tile and the copy, where the adapter has
#   shader-f16), torch-peers.json, and h200-neonext-t.json: the batch-64 WebGPU results with the
#   PyTorch/cuDNN peers merged in, and its summary (h200-neonext-t-summary.txt).
# Usage: OUT=dir bash scripts/gpu-device.sh [--time MS] [--suite NAME] [--batches "64 1"]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to the output folder}
time_ms=200
suite=neonext-t-stages
batches="64 1"
while [ $# -gt 0 ]; do
  case "$1" in
    --time) time_ms=$2; shift 2 ;;
    --suite) suite=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    *) echo "gpu-device: unknown argument $1 (allowed: --time MS, --suite NAME, --batches \"N …\")" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
[ -f .gpu/bundle.tar.xz ] || { echo "gpu-device: .gpu/bundle.tar.xz missing: run bash scripts/gpu-bundle.sh first" >&2; exit 2; }

# The Vulkan loader (the GPU image lacks it) and the NVIDIA ICD when present.
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gpu/deb/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$nvidia_icd" ] && export VK_DRIVER_FILES=$nvidia_icd

b=$(mktemp -d)
tar -xJf .gpu/bundle.tar.xz -C "$b"
neotune() { "$b/node" "$b/neotune.mjs" "$@"; }
neotune devices --json >"$OUT/devices.json"
status=0
for n in $batches; do
  neotune bench --backend webgpu --suite "$suite" --batch "$n" --all-params --time "$time_ms" --out "$OUT/webgpu-b$n.json" >"$OUT/webgpu-b$n.txt" 2>&1 || status=$?
  tail -n 40 "$OUT/webgpu-b$n.txt"
done
first=${batches%% *}
neotune bench --backend webgpu --suite "$suite" --batch "$first" --dtype float16 --kernels fused-wgsl,winograd-wgsl,copy-wgsl --all-params --time "$time_ms" \
  --out "$OUT/webgpu-b$first-f16.json" >"$OUT/webgpu-b$first-f16.txt" 2>&1 || true
tail -n 12 "$OUT/webgpu-b$first-f16.txt"
if command -v python3 >/dev/null && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  python3 scripts/peers/torch_peers.py --suite-from "$OUT/webgpu-b$first.json" --batches "$batches" --out "$OUT/torch-peers.json" \
    --merge-into "$OUT/webgpu-b$first.json" --merged "$OUT/h200-neonext-t.json" || status=$?
  # The target's ratios per stage, in the call's output: time / copy and "vs" every peer.
  [ -f "$OUT/h200-neonext-t.json" ] && { neotune summary "$OUT/h200-neonext-t.json" | tee "$OUT/h200-neonext-t-summary.txt" || status=$?; }
else
  echo "gpu-device: no CUDA PyTorch here: peers not measured" >&2
fi
exit "$status"
