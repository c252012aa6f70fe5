#!/usr/bin/env python3
"""PyTorch/cuDNN peers for the WebGPU backend, measured on the same GPU in the same call
(scripts/gpu-device.sh): per problem of a neotune WebGPU result file,

  torch-dense-neocell   the official NeoCell code path: block-diagonal A (C×H×H) and B (C×W×W)
                        materialised, Y = (A @ X) @ B
  cudnn-dwconv7-nchw    depthwise 7×7 conv, F.conv2d(groups=C), NCHW
  cudnn-dwconv7-nhwc    the same in channels_last (cuDNN's fast depthwise path)
  torch-copy            out.copy_(x): the bandwidth ceiling

Every peer is verified against a float64 computation of the same operation before it is timed
(no unverified number). fp32 throughout: TF32 is disabled for matmul and cuDNN. Timing is
triton.testing.do_bench (CUDA-synchronised, cache flushed between runs) when Triton is present,
else CUDA events around each call. The records use neotune's result format (role "peer") so that
`--merge-into` yields one combined result file.
"""
import argparse
import json
import os
import re
import sys
import tempfile

TOLERANCE = 1e-4  # harness/verify.ts, float32


def parse_cell(spec):
    """'48c:k4s1+48c:k7s1' -> [(channels, k, shift)]; None for cells that are not square blocks."""
    groups = []
    for part in spec.split('+'):
        m = re.fullmatch(r'(\d+)c:k(\d+)s(\d+)', part)
        if not m:
            return None
        groups.append(tuple(int(v) for v in m.groups()))
    return groups


def block_diagonal(torch, groups, n, gen):
    """Per channel an n×n block-diagonal matrix with k×k random blocks starting at the group's
    shift (the corner block before it clipped), as the official code materialises them."""
    mats = []
    for channels, k, shift in groups:
        m = torch.zeros(channels, n, n, dtype=torch.float64)
        starts = range(shift - k if shift else 0, n, k)
        for s in starts:
            lo, hi = max(s, 0), min(s + k, n)
            if hi > lo:
                m[:, lo:hi, lo:hi] = torch.rand(channels, hi - lo, hi - lo, generator=gen, dtype=torch.float64) * 2 - 1
        mats.append(m)
    return torch.cat(mats, 0)


def max_rel_err(out, ref):
    scale = ref.abs().max().item() or 1.0
    return (out.double() - ref).abs().max().item() / scale


def timer(torch):
    try:
        from triton.testing import do_bench

        def bench(fn):
            return list(do_bench(fn, warmup=25, rep=200, return_mode='all')), 'triton.testing.do_bench (CUDA-synchronised, L2 flushed)'

        return bench
    except Exception:  # Triton missing: CUDA events per call
        def bench(fn):
            for _ in range(10):
                fn()
            samples = []
            for _ in range(100):
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                fn()
                e.record()
                e.synchronize()
                samples.append(s.elapsed_time(e))
            return samples, 'CUDA events per call'

        return bench


def quantile(xs, q):
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def measure_peers(torch, problem, bench, device_name):
    """Peer records for one neocell problem (N, C, H, W, spec), verified then timed."""
    import torch.nn.functional as F

    N, C, H, W = problem['N'], problem['C'], problem['H'], problem['W']
    groups = parse_cell(problem['spec'])
    gen = torch.Generator().manual_seed(1)
    x64 = torch.rand(N, C, H, W, generator=gen, dtype=torch.float64) * 2 - 1
    x = x64.float().cuda()
    out = []

    def record(kernel, op, params, fn, ref, extra_problem):
        y = fn()
        torch.cuda.synchronize()
        err = max_rel_err(y.cpu(), ref)
        rec = {
            'backend': 'webgpu', 'kernel': kernel, 'role': 'peer', 'params': params,
            'problem': {**{k: problem[k] for k in ('N', 'C', 'H', 'W', 'dtype')}, 'op': op, **extra_problem},
            'device': device_name, 'max_rel_err': err,
        }
        if not err <= TOLERANCE:
            out.append({**rec, 'state': 'mismatch', 'error': f'max relative error {err:.2e} > {TOLERANCE}'})
            return
        samples, method = bench(fn)
        out.append({**rec, 'state': 'verified', 'median_ms': quantile(samples, 0.5), 'p10_ms': quantile(samples, 0.1),
                    'p90_ms': quantile(samples, 0.9), 'samples_ms': samples[:200], 'timing_method': f'{method}, torch {torch.__version__}, TF32 off'})

    if groups is not None:
        A64 = block_diagonal(torch, groups, H, gen)
        B64 = block_diagonal(torch, groups, W, gen)
        A, B = A64.float().cuda(), B64.float().cuda()
        ref = torch.matmul(torch.matmul(A64, x64), B64)
        record('torch-dense-neocell', 'neocell', {}, lambda: torch.matmul(torch.matmul(A, x), B), ref, {'spec': problem['spec']})
    else:
        print(f"torch_peers: cell {problem['spec']} is not square blocks: no dense peer", file=sys.stderr)
    w64 = torch.rand(C, 1, 7, 7, generator=gen, dtype=torch.float64) * 2 - 1
    ref = F.conv2d(x64, w64, padding=3, groups=C)
    w = w64.float().cuda()
    record('cudnn-dwconv7-nchw', 'dwconv', {'layout': 'nchw'}, lambda: F.conv2d(x, w, padding=3, groups=C), ref, {'K': 7})
    x_cl, w_cl = x.to(memory_format=torch.channels_last), w.to(memory_format=torch.channels_last)
    record('cudnn-dwconv7-nhwc', 'dwconv', {'layout': 'nhwc'}, lambda: F.conv2d(x_cl, w_cl, padding=3, groups=C), ref, {'K': 7})
    y = torch.empty_like(x)
    record('torch-copy', 'copy', {}, lambda: y.copy_(x), x64, {})
    return out


def attach_accounting(peers, bench_records):
    """Case, occurrences, FLOPs and bytes from the WebGPU records of the same case and op."""
    by_case_op = {}
    for r in bench_records:
        by_case_op.setdefault((r.get('case'), r['problem']['op'], r['problem']['N']), r)
    for p in peers:
        src = by_case_op.get((p.get('case'), p['problem']['op'], p['problem']['N']))
        if src:
            p.setdefault('flops', src['flops'])
            p.setdefault('bytes', src['bytes'])
            if p['problem']['op'] == 'neocell':
                n, c, h, w = (p['problem'][k] for k in 'NCHW')
                p['flops'] = {**src['flops'], 'executed': 2 * n * c * (h * h * w + h * w * w)}
        else:
            p.setdefault('flops', {'useful': 0, 'executed': None, 'dwconv7_equivalent': 0})
            p.setdefault('bytes', 0)


def write_atomic(path, data):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix='.tmp-')
    with os.fdopen(fd, 'w') as f:
        json.dump(data, f, indent=1)
        f.write('\n')
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--suite-from', required=True, help='a neotune result file: its neocell problems are measured')
    ap.add_argument('--batches', default='64 1', help='batch sizes, space-separated (default "64 1")')
    ap.add_argument('--out', required=True, help='peer records (JSON list)')
    ap.add_argument('--merge-into', help='a neotune result file to merge the peers of its batch into')
    ap.add_argument('--merged', help='where the merged result file goes (default: overwrite --merge-into)')
    a = ap.parse_args()
    try:
        batches = [int(b) for b in a.batches.split()]
        assert batches and all(b > 0 for b in batches)
    except (ValueError, AssertionError):
        ap.error(f'--batches: {a.batches!r}; allowed: positive integers separated by spaces')
    with open(a.suite_from) as f:
        suite = json.load(f)
    if not isinstance(suite, dict) or suite.get('schema') != 'neotune-results':
        ap.error(f'--suite-from: {a.suite_from} is not a neotune result file (field schema must be "neotune-results")')

    import torch

    if not torch.cuda.is_available():
        print('torch_peers: CUDA is not available', file=sys.stderr)
        return 4
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    device_name = f'cuda: {torch.cuda.get_device_name()} (torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()})'
    bench = timer(torch)
    problems = {}
    for r in suite['records']:
        if r['problem']['op'] == 'neocell':
            problems.setdefault((r.get('case'), r['problem']['spec'], r['problem']['C'], r['problem']['H'], r['problem']['W']), r)
    peers = []
    for n in batches:
        for r in problems.values():
            for p in measure_peers(torch, {**r['problem'], 'N': n}, bench, device_name):
                peers.append({**p, 'case': r.get('case'), 'occurrences': r.get('occurrences')})
                print(f"{p['kernel']:22s} {n}x{r['problem']['C']}x{r['problem']['H']}x{r['problem']['W']}  "
                      f"{p['state']:9s} {p.get('median_ms', float('nan')) * 1000:9.1f} us")
    attach_accounting(peers, suite['records'])
    write_atomic(a.out, peers)
    if a.merge_into:
        with open(a.merge_into) as f:
            merged = json.load(f)
        batch = {r['problem']['N'] for r in merged['records']}
        merged['records'] += [p for p in peers if p['problem']['N'] in batch]
        merged['command'] += f" + scripts/peers/torch_peers.py ({device_name})"
        write_atomic(a.merged or a.merge_into, merged)
    return 0 if all(p['state'] == 'verified' for p in peers) else 3


if __name__ == '__main__':
    sys.exit(main())
