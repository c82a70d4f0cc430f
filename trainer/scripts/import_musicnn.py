#!/usr/bin/env python3
"""Convert musicnn's pretrained MSD_musicnn TensorFlow checkpoint to a Burn safetensors file.

Purpose
    Genrescope's MusiCNN backbone (src/model/musicnn.rs) is a Burn port of musicnn 0.1.0
    (Pons & Serra, https://github.com/jordipons/musicnn, ISC licence), model 'MSD_musicnn'
    (front end '7774timbraltemporal', 64 mid-end filters, 200 back-end units, 50 MSD tags).
    This script reads the TF1 checkpoint shipped in the musicnn wheel and writes

        web/models/backbones/musicnn-msd/backbone.safetensors   float32, Burn names/layouts
        web/models/backbones/musicnn-msd/backbone.json          source, BN epsilon, parameter
                                                                count, the 50 tags, sha256
        web/models/backbones/musicnn-msd/LICENSE                musicnn's ISC licence
        web/models/backbones/musicnn-msd/README.md              what it is, how it was made

Layouts (Genrescope's input is NCHW [batch, 1, 96 mel bands (H), frames (W)], the transpose
of musicnn's [batch, time, freq]):
    TF conv2d kernels are HWIO over musicnn's (time, freq) plane: [kt, kf, in, out].
    Burn Conv2d weights are [out, in, kh=freq, kw=time]:   w[o, i, f, t] = tf[t, f, i, o]
    Burn Conv1d weights (mid end) are [out, in, k]:        w[o, i, k]    = tf[k, i, 0, o]
        (musicnn's mid-end "conv2d" kernels span the whole channel axis, so they are 1-d
        convolutions over time with in = 561 or 64 channels)
    Burn Linear weights are [d_in, d_out], the same as TF's dense kernels.
    Batch norms: gamma, beta, running_mean (TF moving_mean), running_var (TF moving_variance);
    TF epsilon 0.001 (tf.compat.v1.layers.batch_normalization default), recorded in the JSON.

Which TF variable is which follows creation order in musicnn/models.py (build_musicnn):
    batch_normalization                  input BN                 -> input_bn
    conv2d, batch_normalization_1        timbral 7x38 (f74)       -> timbral.0
    conv2d_1, batch_normalization_2      timbral 7x67 (f77)       -> timbral.1
    conv2d_2, batch_normalization_3      temporal 128x1 (s1)      -> temporal.0
    conv2d_3, batch_normalization_4      temporal 64x1 (s2)       -> temporal.1
    conv2d_4, batch_normalization_5      temporal 32x1 (s3)       -> temporal.2
    conv2d_5, batch_normalization_6      mid-end conv1            -> midend.0
    conv2d_6, batch_normalization_7      mid-end conv2            -> midend.1
    conv2d_7, batch_normalization_8      mid-end conv3            -> midend.2
    batch_normalization_9                BN on the [max, mean] pool (1506, interleaved:
                                         2c = max of channel c, 2c+1 = mean)  -> pool_bn
    dense                                penultimate dense 1506->200          -> penultimate
    batch_normalization_10               BN after it                          -> penultimate_bn
    dense_1                              output dense 200->50                 -> tags
Parameter count (backbone.json "parameters"): 787,159 learned values (weights, biases, gamma,
beta); with the 4,920 batch-norm running statistics the file holds 792,079 floats (the figure
the issue quotes, i.e. every non-optimizer variable of the checkpoint).

Every shape is checked; tests/fixtures/make_musicnn_fixtures.py also checks this order against
the variables of the rebuilt TF graph.

How to run (outside CI; needs the musicnn wheel unpacked and TensorFlow >= 2.16):

    python3 -m venv /work/py/venv
    /work/py/venv/bin/pip install 'tensorflow-cpu>=2.16' tf-keras librosa==0.11.0 soundfile numpy safetensors
    /work/py/venv/bin/pip download musicnn==0.1.0 --no-deps -d /work/py && \
        unzip /work/py/musicnn-0.1.0-*.whl -d /work/py/whl
    /work/py/venv/bin/python trainer/scripts/import_musicnn.py --musicnn /work/py/whl/musicnn

It only reads the checkpoint (tf.compat.v1.train.NewCheckpointReader; no graph is built) and
is deterministic. It is NOT run in CI; its outputs are committed.
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(REPO_ROOT, "web", "models", "backbones", "musicnn-msd")
SOURCE = "musicnn==0.1.0 MSD_musicnn"
EPSILON = 0.001

# (burn prefix, TF conv/dense scope or None, TF batch-norm scope or None, kind, TF kernel shape,
#  number of BN channels). Order = creation order in musicnn/models.py.
MAPPING = [
    ("input_bn", None, "batch_normalization", None, None, 1),
    ("timbral.0", "conv2d", "batch_normalization_1", "conv2d", (7, 38, 1, 204), 204),
    ("timbral.1", "conv2d_1", "batch_normalization_2", "conv2d", (7, 67, 1, 204), 204),
    ("temporal.0", "conv2d_2", "batch_normalization_3", "conv2d", (128, 1, 1, 51), 51),
    ("temporal.1", "conv2d_3", "batch_normalization_4", "conv2d", (64, 1, 1, 51), 51),
    ("temporal.2", "conv2d_4", "batch_normalization_5", "conv2d", (32, 1, 1, 51), 51),
    ("midend.0", "conv2d_5", "batch_normalization_6", "conv1d", (7, 561, 1, 64), 64),
    ("midend.1", "conv2d_6", "batch_normalization_7", "conv1d", (7, 64, 1, 64), 64),
    ("midend.2", "conv2d_7", "batch_normalization_8", "conv1d", (7, 64, 1, 64), 64),
    ("pool_bn", None, "batch_normalization_9", None, None, 1506),
    ("penultimate", "dense", None, "dense", (1506, 200), None),
    ("penultimate_bn", None, "batch_normalization_10", None, None, 200),
    ("tags", "dense_1", None, "dense", (200, 50), None),
]

# TF creation order of the trainable + moving variables (what tf.compat.v1.global_variables()
# lists for the rebuilt graph); used by make_musicnn_fixtures.py as a cross-check.
def tf_variable_order():
    names = []
    for _, layer, bn, kind, _, _ in MAPPING:
        # in build_musicnn each conv/dense is created before the batch norm that follows it
        if layer:
            names += [f"{layer}/kernel", f"{layer}/bias"]
        if bn:
            names += [f"{bn}/gamma", f"{bn}/beta", f"{bn}/moving_mean", f"{bn}/moving_variance"]
    return names


BN_FIELDS = [("gamma", "gamma"), ("beta", "beta"), ("running_mean", "moving_mean"),
             ("running_var", "moving_variance")]


def convert(reader):
    """Return ({burn name: float32 array}, [(burn name, tf name, tf shape, burn shape)])."""
    tensors = {}
    rows = []
    shapes = reader.get_variable_to_shape_map()

    def get(name, expected):
        assert name in shapes, f"missing TF variable {name}"
        assert tuple(shapes[name]) == tuple(expected), f"{name}: {shapes[name]} != {expected}"
        v = reader.get_tensor(name)
        assert v.dtype == np.float32, (name, v.dtype)
        return v

    def put(burn, tf_name, tf_val, val):
        val = np.ascontiguousarray(val, dtype=np.float32)
        assert burn not in tensors
        tensors[burn] = val
        rows.append((burn, tf_name, tuple(tf_val.shape), tuple(val.shape)))

    for prefix, layer, bn, kind, kshape, nbn in MAPPING:
        if layer:
            base = prefix if kind == "dense" else prefix + ".conv"
            k = get(f"{layer}/kernel", kshape)
            b = get(f"{layer}/bias", (kshape[-1],))
            if kind == "conv2d":
                w = k.transpose(3, 2, 1, 0)  # [t, f, i, o] -> [o, i, f, t]
            elif kind == "conv1d":
                w = k[:, :, 0, :].transpose(2, 1, 0)  # [k, i, 1, o] -> [o, i, k]
            else:
                w = k  # dense: [d_in, d_out] in both
            put(f"{base}.weight", f"{layer}/kernel", k, w)
            put(f"{base}.bias", f"{layer}/bias", b, b)
        if bn:
            base = prefix if layer is None else prefix + ".bn"
            for burn_field, tf_field in BN_FIELDS:
                v = get(f"{bn}/{tf_field}", (nbn,))
                put(f"{base}.{burn_field}", f"{bn}/{tf_field}", v, v)
    return tensors, rows


def count_parameters(tensors):
    """Learned parameters: weights, biases, gamma, beta (not the BN running statistics)."""
    return int(sum(v.size for k, v in tensors.items()
                   if not (k.endswith(".running_mean") or k.endswith(".running_var"))))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def load_musicnn_config(musicnn_dir):
    sys.path.insert(0, os.path.dirname(os.path.abspath(musicnn_dir)))
    from musicnn import configuration  # plain constants, no TensorFlow import
    return configuration


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--musicnn", required=True,
                    help="the unpacked musicnn package directory (holds configuration.py and MSD_musicnn/)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory")
    args = ap.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    from safetensors.numpy import save_file

    ckpt = os.path.join(os.path.abspath(args.musicnn), "MSD_musicnn") + os.sep
    reader = tf.compat.v1.train.NewCheckpointReader(ckpt)
    tensors, rows = convert(reader)

    # every non-optimizer variable of the checkpoint is used exactly once
    used = {r[1] for r in rows}
    model_vars = {n for n in reader.get_variable_to_shape_map()
                  if "/Adam" not in n and n not in ("beta1_power", "beta2_power")}
    assert used == model_vars, (sorted(model_vars - used), sorted(used - model_vars))

    print(f"{'burn name':34s} {'TF variable':40s} {'TF shape':18s} burn shape")
    for burn, tfn, ts, bs in rows:
        print(f"{burn:34s} {tfn:40s} {str(list(ts)):18s} {list(bs)}")

    cfg = load_musicnn_config(args.musicnn)
    tags = list(cfg.MSD_LABELS)
    assert len(tags) == 50

    os.makedirs(args.out, exist_ok=True)
    st_path = os.path.join(args.out, "backbone.safetensors")
    save_file(tensors, st_path, metadata={"source": SOURCE})
    os.chmod(st_path, 0o644)  # safetensors writes through a 0600 temporary file
    n_params = count_parameters(tensors)
    n_stats = int(sum(v.size for v in tensors.values())) - n_params
    digest = sha256(st_path)
    meta = {
        "source": SOURCE,
        "epsilon": EPSILON,
        "parameters": n_params,
        "tags": tags,
        "sha256": digest,
    }
    with open(os.path.join(args.out, "backbone.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")

    lic_src = os.path.join(os.path.dirname(os.path.abspath(args.musicnn)), "musicnn-0.1.0.dist-info",
                           "LICENSE.md")
    with open(lic_src) as f:
        lic = f.read()
    with open(os.path.join(args.out, "LICENSE"), "w") as f:
        f.write("The weights in backbone.safetensors are converted from the MSD_musicnn checkpoint of\n"
                "musicnn 0.1.0 (https://github.com/jordipons/musicnn, PyPI musicnn==0.1.0), whose\n"
                "licence (musicnn-0.1.0.dist-info/LICENSE.md, ISC) follows verbatim.\n\n")
        f.write(lic.rstrip("\n") + "\n")

    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(README.format(n_params=n_params, n_stats=n_stats, n_total=n_params + n_stats, sha=digest,
                              size=os.path.getsize(st_path)))

    print(f"\nwrote {st_path} ({os.path.getsize(st_path)} bytes, sha256 {digest})")
    print(f"learned parameters (weights, biases, gamma, beta): {n_params}; "
          f"BN running statistics: {n_stats}")
    return 0


README = """# MusiCNN backbone (MSD)

The pretrained MusiCNN model `MSD_musicnn` of [musicnn](https://github.com/jordipons/musicnn)
0.1.0 (J. Pons and X. Serra, *musicnn: pre-trained convolutional neural networks for music
audio tagging*, ISMIR 2019 LBD), trained on the Million Song Dataset's 50 most frequent
tags, converted from its TensorFlow 1 checkpoint to Burn's parameter names and layouts for
Genrescope's MusiCNN backbone (`src/model/musicnn.rs`).

- `backbone.safetensors`: float32, {size} bytes; {n_params} learned parameters (weights,
  biases, batch-norm gamma and beta) plus {n_stats} batch-norm running statistics
  ({n_total} floats in all).
- `backbone.json`: source, batch-norm epsilon (0.001), parameter count, the 50 MSD tags in
  output order, and the safetensors file's sha256 (`{sha}`).
- `LICENSE`: musicnn's ISC licence.

Input: `[batch, 1, 96, 187]` (96 mel bands, 187 frames of 16 kHz audio, n_fft 512, hop 256),
features `log10(1 + 10000 * mel_power)`; see the docstring of
`trainer/scripts/import_musicnn.py` for the exact name and layout mapping and
`trainer/scripts/check_musicnn_numpy.py` for the forward pass, checked against TensorFlow on
`tests/fixtures/musicnn/`.

Made with (from the repository root, musicnn 0.1.0's wheel unpacked in /work/py/whl):

    /work/py/venv/bin/python trainer/scripts/import_musicnn.py --musicnn /work/py/whl/musicnn
"""


if __name__ == "__main__":
    sys.exit(main())
