#!/usr/bin/env python3
"""MusiCNN forward pass in plain numpy from backbone.safetensors, checked against TensorFlow.

Purpose
    The executable specification of the forward pass src/model/musicnn.rs must reproduce, with
    the Burn parameter names and layouts written by trainer/scripts/import_musicnn.py. It runs
    web/models/backbones/musicnn-msd/backbone.safetensors on tests/fixtures/musicnn/input_w*.f32
    and compares with TensorFlow's outputs in tests/fixtures/musicnn/reference.json (made by
    tests/fixtures/make_musicnn_fixtures.py from musicnn's own graph). Needs numpy only (the
    safetensors file is parsed by hand; no TensorFlow). Exits non-zero if any output differs by
    more than --tol * max(1, |reference|) (default tol 1e-4: absolute for values up to 1,
    relative above). Why not purely absolute: TF's reference is float32 and max_pool reaches
    ~106 on the mid-end channels, where float32 accumulation noise alone is ~1e-4 (this script
    prints that noise floor: the same numpy pass in float32 vs float64). Measured: every output
    but max_pool within 6e-6 absolute; max_pool 1.4e-4 absolute, 6e-6 relative.

How to run (from the repository root; NOT run in CI):

    /work/py/venv/bin/python trainer/scripts/check_musicnn_numpy.py [--dtype float32|float64]

The forward pass (input x: [96 mel bands (f), T=187 frames (t)], one patch; eps = 0.001;
bn(v, p) = (v - p.running_mean) / sqrt(p.running_var + eps) * p.gamma + p.beta per channel;
convolutions are cross-correlations, as in TF and Burn):

    x  = bn(x, input_bn)                                   (one channel)
    timbral k (k = 0: kernel 38x7, k = 1: 67x7 (freq x time)):
        zero-pad x by 3 frames on each side of time (after the BN), valid conv2d
        -> [204, 96-kh+1, T]; relu; bn(timbral.k.bn); max over frequency -> [204, T]
    temporal k (k = 0, 1, 2: kernel 1x128, 1x64, 1x32):
        TF 'same' along time on the BN'ed x: pad_before = (kw-1)//2, pad_after = kw-1-pad_before
        (63/64, 31/32, 15/16); conv -> [51, 96, T]; relu; bn; max over frequency -> [51, T]
    front = concat(timbral0, timbral1, temporal0, temporal1, temporal2)        [561, T]
    m1 = bn(relu(conv1d(pad3(front), midend.0)), midend.0.bn)                  [64, T]
    m2 = bn(relu(conv1d(pad3(m1),    midend.1)), midend.1.bn) + m1
    m3 = bn(relu(conv1d(pad3(m2),    midend.2)), midend.2.bn) + m2
    feats = concat(front, m1, m2, m3)                                          [753, T]
    max_pool = max over t, mean_pool = mean over t                             [753] each
    pool = interleave: pool[2c] = max_pool[c], pool[2c+1] = mean_pool[c]       [1506]
    pool = bn(pool, pool_bn)
    penultimate = bn(relu(pool @ penultimate.weight + penultimate.bias), penultimate_bn)  [200]
    logits = penultimate @ tags.weight + tags.bias                             [50]
    taggram = sigmoid(logits)
(Dropout layers are identity at inference.)
"""

import argparse
import json
import os
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
BACKBONE = os.path.join(REPO_ROOT, "web", "models", "backbones", "musicnn-msd")
FIXTURES = os.path.join(REPO_ROOT, "tests", "fixtures")

SAFETENSORS_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2"}


def load_safetensors(path):
    """Minimal safetensors reader: u64 LE header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=SAFETENSORS_DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


class Musicnn:
    def __init__(self, params, eps, dtype):
        self.p = {k: v.astype(dtype) for k, v in params.items()}
        self.eps = dtype(eps)
        self.dtype = dtype

    def bn(self, v, name, axis=0):
        """Batch norm over channel axis `axis` (inference: running statistics)."""
        p = self.p
        shape = [1] * v.ndim
        shape[axis] = -1
        g, b, m, var = (p[f"{name}.{f}"].reshape(shape)
                        for f in ("gamma", "beta", "running_mean", "running_var"))
        return (v - m) / np.sqrt(var + self.eps) * g + b

    def conv2d(self, x, name, pad_t):
        """x [F, T] single channel; weight [out, 1, kh (freq), kw (time)]; valid along freq,
        zero padding pad_t = (before, after) along time. Returns [out, F-kh+1, T']."""
        w = self.p[f"{name}.weight"][:, 0]  # [o, kh, kw]
        b = self.p[f"{name}.bias"]
        xp = np.pad(x, ((0, 0), pad_t))
        win = sliding_window_view(xp, w.shape[1:])  # [F-kh+1, T', kh, kw]
        y = np.tensordot(w, win, axes=([1, 2], [2, 3]))  # [o, F-kh+1, T']
        return y + b[:, None, None]

    def conv1d(self, x, name, pad):
        """x [C, T]; weight [out, C, k]; zero padding `pad` on both sides of time."""
        w = self.p[f"{name}.weight"]
        b = self.p[f"{name}.bias"]
        xp = np.pad(x, ((0, 0), (pad, pad)))
        win = sliding_window_view(xp, w.shape[2], axis=1)  # [C, T, k]
        return np.tensordot(w, win, axes=([1, 2], [0, 2])) + b[:, None]  # [o, T]

    def forward(self, x):
        """x: [96, T] (mel bands x frames). Returns a dict of the reference's outputs."""
        relu = lambda v: np.maximum(v, 0)  # noqa: E731
        x = self.bn(x.astype(self.dtype)[None], "input_bn")[0]  # [96, T]
        front = []
        for k in range(2):
            y = self.conv2d(x, f"timbral.{k}.conv", (3, 3))
            front.append(self.bn(relu(y), f"timbral.{k}.bn").max(axis=1))
        for k in range(3):
            kw = self.p[f"temporal.{k}.conv.weight"].shape[3]
            before = (kw - 1) // 2
            y = self.conv2d(x, f"temporal.{k}.conv", (before, kw - 1 - before))
            front.append(self.bn(relu(y), f"temporal.{k}.bn").max(axis=1))
        front = np.concatenate(front, axis=0)  # [561, T]
        m1 = self.bn(relu(self.conv1d(front, "midend.0.conv", 3)), "midend.0.bn")
        m2 = self.bn(relu(self.conv1d(m1, "midend.1.conv", 3)), "midend.1.bn") + m1
        m3 = self.bn(relu(self.conv1d(m2, "midend.2.conv", 3)), "midend.2.bn") + m2
        feats = np.concatenate([front, m1, m2, m3], axis=0)  # [753, T]
        max_pool = feats.max(axis=1)
        mean_pool = feats.mean(axis=1)
        pool = np.stack([max_pool, mean_pool], axis=1).reshape(-1)  # [1506] interleaved
        pool = self.bn(pool, "pool_bn")
        h = relu(pool @ self.p["penultimate.weight"] + self.p["penultimate.bias"])
        penultimate = self.bn(h, "penultimate_bn")
        logits = penultimate @ self.p["tags.weight"] + self.p["tags.bias"]
        taggram = 1 / (1 + np.exp(-logits))
        return {"taggram": taggram, "logits": logits, "penultimate": penultimate,
                "mean_pool": mean_pool, "max_pool": max_pool}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbone", default=BACKBONE)
    ap.add_argument("--fixtures", default=FIXTURES)
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()

    with open(os.path.join(args.backbone, "backbone.json")) as f:
        meta = json.load(f)
    params = load_safetensors(os.path.join(args.backbone, "backbone.safetensors"))
    model = Musicnn(params, meta["epsilon"], getattr(np, args.dtype))
    with open(os.path.join(args.fixtures, "musicnn", "reference.json")) as f:
        ref = json.load(f)

    other = Musicnn(params, meta["epsilon"], np.float32 if args.dtype == "float64" else np.float64)
    keys = ("taggram", "logits", "penultimate", "mean_pool", "max_pool")
    worst = 0.0
    for k, w in enumerate(ref["windows"]):
        x = np.fromfile(os.path.join(args.fixtures, w["input"]), dtype="<f4").reshape(96, 187)
        out = model.forward(x)
        alt = other.forward(x)
        absd, scaled, floor = [], [], []
        for key in keys:
            r = np.asarray(w[key], dtype=np.float64)
            assert out[key].shape == r.shape, (key, out[key].shape, r.shape)
            d = np.abs(out[key].astype(np.float64) - r)
            absd.append(f"{key} {float(d.max()):.3g}")
            s = float(np.max(d / np.maximum(1.0, np.abs(r))))
            scaled.append(f"{key} {s:.3g}")
            worst = max(worst, s)
            floor.append(f"{key} {float(np.max(np.abs(out[key].astype(np.float64) - alt[key]))):.3g}")
        print(f"w{k} ({args.dtype}) max |numpy - TF|:             " + ", ".join(absd))
        print(f"w{k} ({args.dtype}) max |numpy - TF| / max(1,|TF|): " + ", ".join(scaled))
        print(f"w{k} float32 noise floor, numpy f32 vs f64:   " + ", ".join(floor))
    ok = worst <= args.tol
    print(f"worst scaled difference {worst:.3g} {'<=' if ok else '>'} tol {args.tol:g}: "
          f"{'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
