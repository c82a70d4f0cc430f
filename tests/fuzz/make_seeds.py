#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/seeds/<target>/) from the repository's
fixtures. Run from anywhere: `python3 tests/fuzz/make_seeds.py`. Plain Python, no packages.

Each seed is laid out as its target reads it (tests/fuzz/src/lib.rs): `decode` and
`classify` take an extension-hint byte, then the file; `bundle` a mode byte (0: as is,
1: re-framed with a valid checksum), then the bundle; `descriptors` a mode byte (bit 0:
16-bit integers or 32-bit floats; the rest picks the sample rate), then the PCM.
Files are cut to MAX_LEN bytes, the length `./build.sh fuzz` passes to libFuzzer.
Crash and regression inputs found by fuzzing are committed beside the seeds by hand
(named `crash-*`), and so is a small part of the corpus fuzzing grew (`corpus-*`: after a
libFuzzer merge, the smallest inputs, so `cargo test` replays them in well under a second);
this script leaves both in place.
"""

import math
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
SEEDS = os.path.join(HERE, "seeds")

# Must match HINTS in src/lib.rs.
HINTS = [None, "wav", "mp3", "flac", "ogg", "m4a", "webm", "aiff", "au", "caf", "opus", "mka"]
MAX_LEN = {"decode": 32768, "classify": 32768, "bundle": 70000, "descriptors": 32768}


def hint_byte(name):
    ext = os.path.splitext(name)[1].lstrip(".").lower()
    return HINTS.index(ext) if ext in HINTS else 0


def audio_files():
    """The hostile corpus whole and the audio fixtures' first bytes."""
    files = []
    hostile = os.path.join(FIXTURES, "hostile")
    for name in sorted(os.listdir(hostile)):
        if not name.endswith(".py"):
            files.append((name, open(os.path.join(hostile, name), "rb").read()))
    audio = os.path.join(FIXTURES, "audio")
    for name in sorted(os.listdir(audio)):
        files.append(("head_" + name, open(os.path.join(audio, name), "rb").read()))
    return files


def write(target, name, data):
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data[: MAX_LEN[target]])


def main():
    for target in MAX_LEN:
        folder = os.path.join(SEEDS, target)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if not name.startswith(("crash-", "corpus-")):
                    os.remove(os.path.join(folder, name))
    for name, data in audio_files():
        seed = bytes([hint_byte(name)]) + data
        write("decode", name, seed)
        write("classify", name, seed)
    bundles = [
        os.path.join(FIXTURES, "bundle", "v1-small-cnn.gscope"),
        os.path.join(REPO, "web", "models", "fused", "members", "table", "model.gscope"),
    ]
    for path in bundles:
        data = open(path, "rb").read()
        stem = os.path.basename(os.path.dirname(path)) + "_" + os.path.basename(path)
        write("bundle", "as_is_" + stem, b"\x00" + data)
        write("bundle", "reframed_" + stem, b"\x01" + data)
    # PCM: a GTZAN clip's first samples (16-bit), a sine as floats, floats out of range.
    wav = open(os.path.join(FIXTURES, "audio", "gtzan_jazz_6s.wav"), "rb").read()
    write("descriptors", "gtzan_i16_22050", b"\x00" + wav[44:])
    write("descriptors", "gtzan_i16_44100", b"\x02" + wav[44:])
    sine = b"".join(struct.pack("<f", 0.5 * math.sin(0.06 * n)) for n in range(8000))
    write("descriptors", "sine_f32_22050", b"\x01" + sine)
    loud = b"".join(struct.pack("<f", 1e30 * math.sin(0.06 * n)) for n in range(4000))
    write("descriptors", "loud_f32_48000", b"\x05" + loud)
    for target in MAX_LEN:
        count = len(os.listdir(os.path.join(SEEDS, target)))
        print(f"{target}: {count} seeds")


if __name__ == "__main__":
    main()
