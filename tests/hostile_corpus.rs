//! The hostile corpus (`tests/fixtures/hostile/`, written by its `make_hostile.py`): every
//! file goes through the engine's path, `decode_path`, then `load_mono` and a tiny model's
//! `classify_mono`, and gets a finite result or an error that names its cause. A panic
//! fails the test, a caught decoder panic too: the header guards name every problem first.

use std::path::PathBuf;

mod common;

use burn::tensor::Device;
use genrescope::audio::{decode_path, extension_of, load_mono, AudioError, DecodeLimits};
use genrescope::classify::Ensemble;

/// Files whose header announces more data than they hold: the part present is classified,
/// with the truncation warning (no allocation for, or duration from, the claimed length).
const TRUNCATED: [&str; 5] = [
    "wav_data_beyond_file.wav",
    "wav_claims_4gb.wav",
    "au_size_4gb.au",
    "aiff_frames_u32_max.aiff",
    "flac_claims_2pow36_samples.flac",
];

/// Files that are fine apart from their samples' range (and the controls).
const CLASSIFIED: [&str; 5] = [
    "wav_valid_tiny.wav",
    "aiff_valid_tiny.aiff",
    "flac_valid_tiny.flac",
    "caf_valid_tiny.caf",
    "wav_float_1e30.wav",
];

fn corpus() -> Vec<PathBuf> {
    let dir = common::fixture("hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "py"))
        .collect();
    files.sort();
    files
}

/// A tiny untrained spectrogram CNN.
fn tiny_model() -> Ensemble {
    let labels = ["jazz", "metal", "pop"].iter().map(|s| s.to_string()).collect();
    Ensemble::from_bundle(&common::tiny_cnn_bundle(labels), &Device::flex()).unwrap()
}

/// What happened to one file: `Ok(whether it was truncated)` or the error's message.
fn outcome(model: &Ensemble, path: &PathBuf) -> Result<bool, String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let limits = DecodeLimits::default();
    let decoded = decode_path(path, &limits);
    let bytes = std::fs::read(path).unwrap();
    let loaded = load_mono(bytes, extension_of(path).as_deref(), 22_050, &limits);
    // The path and the bytes agree.
    assert_eq!(decoded.as_ref().err(), loaded.as_ref().err(), "{name}");
    let audio = match loaded {
        Ok(audio) => audio,
        Err(err) => {
            assert!(!matches!(err, AudioError::DecoderFailure { .. }), "{name}: {err}");
            return Err(err.to_string());
        }
    };
    match model.classify_mono(&audio.samples, audio.sample_rate) {
        Ok(result) => {
            assert!(result.probabilities.iter().all(|p| p.is_finite()), "{name}: {result:?}");
            let sum: f32 = result.probabilities.iter().sum();
            assert!((sum - 1.0).abs() < 1e-3, "{name}: probabilities sum to {sum}");
            Ok(audio.warnings.truncated)
        }
        Err(err) => Err(err.to_string()),
    }
}

#[test]
fn every_hostile_file_gets_a_finite_result_or_a_named_error() {
    let model = tiny_model();
    let files = corpus();
    assert!(files.len() >= 40, "only {} files: run make_hostile.py", files.len());
    let mut report = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let result = outcome(&model, path);
        if let Err(message) = &result {
            assert!(!message.contains('\n'), "{name}: {message}");
            assert!(message.len() >= 20, "{name}: {message}");
            for vague in ["panicked", "unreachable", "RuntimeError"] {
                assert!(!message.contains(vague), "{name}: {message}");
            }
        }
        match &result {
            Ok(truncated) => {
                assert!(
                    TRUNCATED.contains(&name.as_str()) || CLASSIFIED.contains(&name.as_str()),
                    "{name} was classified"
                );
                assert_eq!(*truncated, TRUNCATED.contains(&name.as_str()), "{name}: truncated");
            }
            Err(message) => {
                assert!(!TRUNCATED.contains(&name.as_str()), "{name}: {message}");
                assert!(!CLASSIFIED.contains(&name.as_str()), "{name}: {message}");
                // The header guard's wording (symphonia's FLAC reader refuses 0 Hz itself:
                // "stream sample rate out of bounds").
                if name.contains("rate_0.") && !name.starts_with("flac") {
                    assert!(message.ends_with("header gives a sample rate of 0 Hz"), "{message}");
                }
                // Symphonia's Matroska demuxer unwraps this one (docs/upstream/).
                if name == "mkv_timestamp_scale_above_u32.webm" {
                    assert!(message.contains("gives a timestamp scale of"), "{message}");
                }
            }
        }
        report.push(format!("{name}: {result:?}"));
    }
    println!("{}", report.join("\n"));
}
