#!/usr/bin/env python3
"""Time librosa's reference front end, as a baseline for Genrescope's Rust one.

Measures, on one full 30 s GTZAN clip (22050 Hz mono):
  * mel:  the reference log-Mel (see tests/fixtures/make_fixtures.py / docs/ARCHITECTURE.md "Mel
          semantics") of all 3 s windows every 1.5 s (19 windows for a 30 s clip), with the
          audio already loaded as float32 -- only the log-Mel is timed;
  * load: librosa.load(bench_mp3, sr=22050) of tests/fixtures/audio/bench_30s_44100_stereo.mp3
          (MP3 decode + stereo->mono + soxr_hq resample 44.1k -> 22.05k).
Each is run once as a warm-up, then --reps times (>= 10); best and median seconds are printed
as one JSON object, with the OpenBLAS/OpenMP environment and the 1-minute load average (the
timings are only meaningful on an otherwise idle machine).

Usage (from anywhere; default paths are relative to the repository root):
    python3 tests/benches/librosa_mel_bench.py [clip.wav] [--mp3 PATH] [--reps N]
Default clip: ../shared/data/gtzan-mini/genres/rock/rock.00003.wav. Not run in CI.
"""

import argparse
import json
import os
import platform
import statistics
import time

import librosa
import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CLIP = "../shared/data/gtzan-mini/genres/rock/rock.00003.wav"
DEFAULT_MP3 = "tests/fixtures/audio/bench_30s_44100_stereo.mp3"

SR = 22050
WIN_LEN = 66150
WIN_HOP = 33075


def log_mel(y):
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=2048, hop_length=512, n_mels=128)
    return librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0)


def resolve(p):
    return p if os.path.isabs(p) else os.path.normpath(os.path.join(REPO_ROOT, p))


def timeit(fn, reps):
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return {"best_s": min(ts), "median_s": statistics.median(ts), "reps": reps}


def main():
    ap = argparse.ArgumentParser(description="librosa front-end timing baseline")
    ap.add_argument("clip", nargs="?", default=DEFAULT_CLIP,
                    help="30 s 22050 Hz clip (relative paths are relative to the repo root)")
    ap.add_argument("--mp3", default=DEFAULT_MP3, help="MP3 to time librosa.load(sr=22050) on")
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    reps = max(10, args.reps)

    load_before = os.getloadavg()
    clip, mp3 = resolve(args.clip), resolve(args.mp3)
    y, sr = librosa.load(clip, sr=None)
    assert sr == SR, f"{clip}: expected {SR} Hz, got {sr}"
    starts = list(range(0, len(y) - WIN_LEN + 1, WIN_HOP))
    wins = [y[s:s + WIN_LEN] for s in starts]

    def all_windows():
        return [log_mel(w) for w in wins]

    mel = timeit(all_windows, reps)
    mel["n_windows"] = len(wins)
    mel["per_window_best_ms"] = 1000 * mel["best_s"] / len(wins)

    load = timeit(lambda: librosa.load(mp3, sr=SR), reps)
    load["decoded_len"] = int(len(librosa.load(mp3, sr=SR)[0]))

    print(json.dumps({
        "clip": os.path.relpath(clip, REPO_ROOT),
        "mp3": os.path.relpath(mp3, REPO_ROOT),
        "mel_all_windows": mel,
        "load_mp3_sr22050": load,
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                               "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
        "versions": {"python": platform.python_version(), "librosa": librosa.__version__,
                     "numpy": np.__version__},
        "cpus": os.cpu_count(),
        # other work on the machine skews timings; compare best_s, and rerun if these are high
        "loadavg_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }, indent=2))


if __name__ == "__main__":
    main()
