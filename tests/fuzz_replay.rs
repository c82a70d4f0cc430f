//! Replays the fuzz targets' committed corpora (tests/fuzz/seeds/<target>/: the seeds from
//! tests/fuzz/make_seeds.py, the corpus kept from fuzz runs and every crash found, as
//! `crash-*`) through the same target bodies cargo-fuzz runs (tests/fuzz/src/lib.rs), on
//! stable and without fuzzing: a fixed crash stays fixed. `./build.sh fuzz` does the fuzzing.

use std::path::PathBuf;

#[path = "fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

/// Every input of one target's corpus, sorted by name.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty: run tests/fuzz/make_seeds.py", dir.display());
    files
}

/// Runs `body` on every input of `target`'s corpus and names every input that fails.
fn replay(target: &str, body: fn(&[u8])) {
    // A decoder panic the guard catches (the one the targets accept) is not news here.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !genrescope::audio::decoding_under_guard() {
            default_hook(info);
        }
    }));
    let failed: Vec<String> = corpus(target)
        .into_iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| body(&data)).is_err()
        })
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(failed.is_empty(), "{target}: {failed:?} fail (see the panics above)");
}

#[test]
fn decode_corpus() {
    replay("decode", targets::decode);
}

#[test]
fn bundle_corpus() {
    replay("bundle", targets::bundle);
}

#[test]
fn classify_corpus() {
    replay("classify", targets::classify);
}

#[test]
fn descriptors_corpus() {
    replay("descriptors", targets::descriptors);
}
