#!/usr/bin/env python3
"""Adds the typed provenance fields (`dataset`, `evaluation`) to bundles written before the
trainer recorded them, from their free-text `data` field and their `metrics`.

One-off migration of the committed bundles (web/models/**/model.gscope); not run in CI.
Only the header JSON changes: the weights section is copied byte for byte and the CRC-32
recomputed (format in docs/ARCHITECTURE.md). A fusion's members are upgraded too.

    python3 trainer/scripts/upgrade_provenance.py web/models/default/model.gscope ...
"""
import json
import re
import struct
import sys
import zlib
from pathlib import Path

MAGIC = b"\x89GSCOPE\n"
LAYOUT_FOLDERS = {"genres", "audio", "data", "wav"}


def split(bundle: bytes):
    assert bundle[:8] == MAGIC, "not a Genrescope bundle"
    version, header_len = struct.unpack_from("<II", bundle, 8)
    header = json.loads(bundle[16 : 16 + header_len])
    (weights_len,) = struct.unpack_from("<Q", bundle, 16 + header_len)
    start = 24 + header_len
    weights = bundle[start : start + weights_len]
    (crc,) = struct.unpack_from("<I", bundle, start + weights_len)
    assert zlib.crc32(bundle[: start + weights_len]) == crc, "checksum mismatch"
    return version, header, weights


def join(version: int, header: dict, weights: bytes) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode()
    body = MAGIC + struct.pack("<II", version, len(text)) + text
    body += struct.pack("<Q", len(weights)) + weights
    return body + struct.pack("<I", zlib.crc32(body))


def dataset(data: str):
    """`SOURCE: N tracks, ...` (or `fusion weights fitted on SOURCE: ...`, `... N rows`)."""
    match = re.match(r"^(?:fusion weights fitted on )?(.+?): (\d+) (?:tracks|rows)", data)
    if not match:
        return None
    source, tracks = match.group(1), int(match.group(2))
    path = Path(source)
    name = path.stem if path.suffix else path.name
    if name in LAYOUT_FOLDERS:
        name = path.parent.name
    return {"name": name, "tracks": tracks, "source": source}


def evaluation(metrics: dict):
    cv = metrics.get("cross_validation")
    if cv and cv.get("track_accuracy"):
        nested = "nested " if cv.get("nested") else ""
        return {
            "method": f"{nested}{cv['folds']}-fold cross-validation",
            "folds": cv["folds"],
            "accuracy": cv["track_accuracy"]["mean"],
            "accuracy_std": cv["track_accuracy"]["std"],
        }
    test = metrics.get("test")
    if test and test.get("track_accuracy") is not None:
        return {
            "method": f"{test['tracks']} held-out tracks",
            "folds": 0,
            "accuracy": test["track_accuracy"],
            "accuracy_std": None,
        }
    return None


def upgrade(bundle: bytes) -> bytes:
    version, header, weights = split(bundle)
    provenance = header["provenance"]
    if "dataset" not in provenance and dataset(provenance.get("data", "")):
        provenance["dataset"] = dataset(provenance["data"])
    if "evaluation" not in provenance and evaluation(provenance.get("metrics") or {}):
        provenance["evaluation"] = evaluation(provenance["metrics"])
    if header.get("kind") == "fusion":
        parts, offset = [], 0
        for member in header["members"]:
            part = upgrade(weights[offset : offset + member["bytes"]])
            offset += member["bytes"]
            member["bytes"] = len(part)
            parts.append(part)
        weights = b"".join(parts)
    return join(version, header, weights)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        path.write_bytes(upgrade(path.read_bytes()))
        _, header, _ = split(path.read_bytes())
        print(name, json.dumps({k: header["provenance"].get(k) for k in ("dataset", "evaluation")}))
