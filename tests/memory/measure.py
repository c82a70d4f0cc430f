#!/usr/bin/env python3
"""Peak memory (max RSS) of the native CLI on files that lie about (or really hold) a huge
amount of audio: each file is classified by its own `trainer classify` process, whose
resource usage is read with wait4. Standard library only.

    python3 tests/fixtures/hostile/make_lying.py /tmp/genrescope-lying [--big]
    cargo build --workspace
    python3 tests/memory/measure.py [--dir /tmp/genrescope-lying] [--trainer target/debug/trainer]
            [--model web/models/default/model.gscope] [--baseline CLIP.wav]

Prints one line per file (size, max RSS, seconds, the CLI's verdict or error) and the same
as JSON at the end. `--baseline` adds an ordinary clip for comparison. Not run in CI; the page
side is tests/browser/memory.mjs.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def measure(trainer, model, path):
    """Runs `trainer classify` on one file; returns its max RSS, wall time and outcome."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        proc = subprocess.Popen([trainer, "classify", "--model", model, path], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        text = (out.read() + err.read()).decode("utf-8", "replace").strip()
    noise = ("backend:", "error: XDG_RUNTIME_DIR", "FILE ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(noise)]
    return {
        "file": os.path.basename(path),
        "bytes": os.path.getsize(path),
        "exit": os.waitstatus_to_exitcode(status),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "seconds": round(seconds, 2),
        "output": lines[-3:],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/genrescope-lying")
    parser.add_argument("--trainer", default=os.path.join(REPO, "target", "debug", "trainer"))
    parser.add_argument("--model", default=os.path.join(REPO, "web", "models", "default", "model.gscope"))
    parser.add_argument("--baseline", action="append", default=[])
    args = parser.parse_args()
    paths = args.baseline + [os.path.join(args.dir, n) for n in sorted(os.listdir(args.dir))]
    results = []
    for path in paths:
        r = measure(args.trainer, args.model, path)
        results.append(r)
        print(f"{r['file']}: {r['bytes']} bytes, max RSS {r['max_rss_mb']} MB, {r['seconds']} s, "
              f"exit {r['exit']}: {' | '.join(r['output'])}", flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
