//! The log-Mel front end against librosa fixtures (tests/fixtures/make_fixtures.py):
//! max abs error <= 0.05 dB and mean abs error <= 0.005 dB on every fixture computed from
//! the same samples; resampled inputs (our decoder + rubato against librosa.load + soxr)
//! within 0.01 dB mean (the target was 0.5 dB).

mod common;

use common::{abs_error, fixture_bytes, fixture_f32, manifest};
use genrescope::audio::{decode, load_mono, DecodeLimits};
use genrescope::mel::MelExtractor;
use genrescope::segment::window_features;
use genrescope::FeatureConfig;

const MAX_DB: f32 = 0.05;
const MEAN_DB: f32 = 0.005;
// The issue asks for <= 0.5 dB; rubato against soxr measures about 0.0005 dB, so hold it to 0.01.
const RESAMPLED_MEAN_DB: f32 = 0.01;

fn extension(path: &str) -> Option<&str> {
    path.rsplit('.').next()
}

#[test]
fn every_same_sample_fixture_matches_librosa() {
    let cfg = FeatureConfig::gtzan_default();
    let extractor = MelExtractor::new(&cfg).unwrap();
    let manifest = manifest();
    let mut checked = 0;
    for entry in manifest["mel"].as_array().unwrap() {
        let source = &entry["source"];
        let kind = source["kind"].as_str().unwrap();
        let start = source["start"].as_u64().unwrap() as usize;
        let length = source["length"].as_u64().unwrap() as usize;
        let signal = match kind {
            "signal" => fixture_f32(source["signal"].as_str().unwrap()),
            "audio_window" => {
                let path = source["audio"].as_str().unwrap();
                decode(fixture_bytes(path), extension(path), &DecodeLimits::default())
                    .unwrap()
                    .samples
            }
            _ => continue,
        };
        let ours = extractor.log_mel(&signal[start..start + length]);
        let reference = fixture_f32(entry["file"].as_str().unwrap());
        let name = entry["name"].as_str().unwrap();
        assert_eq!(ours.n_frames, entry["n_frames"].as_u64().unwrap() as usize, "{name}: frames");
        assert_eq!(ours.n_mels, 128, "{name}: bands");
        let (max, mean) = abs_error(&ours.data, &reference);
        eprintln!("{name:>20}: max {max:.6} dB, mean {mean:.7} dB");
        assert!(max <= MAX_DB && mean <= MEAN_DB, "{name}: max {max} dB, mean {mean} dB");
        checked += 1;
    }
    assert_eq!(checked, 8, "5 synthetic signals and 3 windows of the real clip");
}

#[test]
fn segmenting_the_real_clip_reproduces_librosa_windows() {
    let cfg = FeatureConfig::gtzan_default();
    let extractor = MelExtractor::new(&cfg).unwrap();
    let audio = load_mono(
        fixture_bytes("audio/gtzan_jazz_6s.wav"),
        Some("wav"),
        22_050,
        &DecodeLimits::default(),
    )
    .unwrap();
    let feats = window_features(&cfg, &extractor, &audio.samples);
    assert_eq!(feats.len(), 3);
    for w in 0..3 {
        let reference = fixture_f32(&format!("mel/gtzan_jazz_6s_w{w}.f32"));
        let (max, mean) = abs_error(feats.window(w), &reference);
        assert!(max <= MAX_DB && mean <= MEAN_DB, "window {w}: max {max}, mean {mean}");
    }
}

#[test]
fn resampled_inputs_match_librosa_load() {
    let cfg = FeatureConfig::gtzan_default();
    let extractor = MelExtractor::new(&cfg).unwrap();
    let manifest = manifest();
    let mut checked = 0;
    for entry in manifest["mel"].as_array().unwrap() {
        let source = &entry["source"];
        if source["kind"] != "resampled_audio_window" {
            continue;
        }
        let path = source["audio"].as_str().unwrap();
        let audio =
            load_mono(fixture_bytes(path), extension(path), 22_050, &DecodeLimits::default())
                .unwrap();
        assert_eq!(
            audio.samples.len() as u64,
            source["resampled_len"].as_u64().unwrap(),
            "{path}: length"
        );
        let start = source["start"].as_u64().unwrap() as usize;
        let ours = extractor.log_mel(&audio.samples[start..start + 66_150]);
        let reference = fixture_f32(entry["file"].as_str().unwrap());
        let (max, mean) = abs_error(&ours.data, &reference);
        let name = entry["name"].as_str().unwrap();
        eprintln!("{name:>26}: max {max:.4} dB, mean {mean:.5} dB");
        assert!(mean <= RESAMPLED_MEAN_DB, "{name}: mean {mean} dB");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

/// The musicnn front end (`FeatureConfig::musicnn`: 16 kHz, n_fft 512, hop 256, 96 Slaney
/// bands, `log10(1 + 10000 S)`) against librosa on the same samples
/// (tests/fixtures/make_musicnn_fixtures.py): a synthetic chirp and the real jazz clip
/// resampled by librosa. Values are in `[0, ~5]`, not dB.
#[test]
fn musicnn_front_end_matches_librosa() {
    let cfg = FeatureConfig::musicnn();
    let extractor = MelExtractor::new(&cfg).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&fixture_bytes("musicnn/manifest.json")).unwrap();
    let mut checked = 0;
    for entry in manifest["mel"].as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        let signal = fixture_f32(entry["signal"].as_str().unwrap());
        let ours = extractor.log_mel(&signal);
        assert_eq!(ours.n_mels, 96, "{name}: bands");
        assert_eq!(ours.n_frames, entry["n_frames"].as_u64().unwrap() as usize, "{name}: frames");
        let (max, mean) = abs_error(&ours.data, &fixture_f32(entry["file"].as_str().unwrap()));
        eprintln!("{name:>20}: max {max:.2e}, mean {mean:.2e}");
        assert!(max <= MUSICNN_MAX && mean <= MUSICNN_MEAN, "{name}: max {max}, mean {mean}");
        checked += 1;
    }
    assert_eq!(checked, 2, "the chirp and the jazz clip");
}

/// Largest and mean absolute differences allowed for `log10(1 + 10000 S)` against librosa.
const MUSICNN_MAX: f32 = 1e-3;
const MUSICNN_MEAN: f32 = 1e-5;

/// The musicnn model inputs (187-frame patches of the whole-track spectrogram) that our
/// segmenting cuts from librosa's 16 kHz samples equal the patches the TensorFlow reference
/// was run on.
#[test]
fn musicnn_patches_match_the_reference_inputs() {
    let cfg = FeatureConfig::musicnn();
    let extractor = MelExtractor::new(&cfg).unwrap();
    let feats = window_features(&cfg, &extractor, &fixture_f32("musicnn/jazz_16k.f32"));
    assert_eq!((feats.n_mels, feats.n_frames), (96, 187));
    assert_eq!(feats.len(), 2, "376 frames give two 187-frame patches");
    for w in 0..2 {
        let (max, mean) =
            abs_error(feats.window(w), &fixture_f32(&format!("musicnn/input_w{w}.f32")));
        assert!(max <= MUSICNN_MAX && mean <= MUSICNN_MEAN, "patch {w}: max {max}, mean {mean}");
    }
}

/// Our decoder and resampler (22050 -> 16000 Hz, rubato) against `librosa.load(sr=16000)`
/// (soxr), through the musicnn front end.
#[test]
fn musicnn_resampled_input_matches_librosa_load() {
    let cfg = FeatureConfig::musicnn();
    let extractor = MelExtractor::new(&cfg).unwrap();
    let audio = load_mono(
        fixture_bytes("audio/gtzan_jazz_6s.wav"),
        Some("wav"),
        16_000,
        &DecodeLimits::default(),
    )
    .unwrap();
    let reference = fixture_f32("musicnn/jazz_16k.f32");
    assert_eq!(
        audio.samples.len(),
        reference.len(),
        "ceil(len * 16000 / 22050) samples, as librosa"
    );
    let ours = extractor.log_mel(&audio.samples);
    let (max, mean) = abs_error(&ours.data, &fixture_f32("musicnn/jazz_16k_mel.f32"));
    eprintln!("resampled jazz (musicnn front end): max {max:.2e}, mean {mean:.2e}");
    // 0.005 in log10 units is 0.05 dB (the 22050 Hz front end holds its resampled inputs to
    // 0.01 dB mean); rubato and soxr differ most near the new Nyquist frequency.
    assert!(mean <= 5e-3, "mean {mean} (max {max})");
}
