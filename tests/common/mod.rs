//! Helpers shared by the integration tests: fixture paths, raw f32 files, WAV bytes and a
//! tiny model bundle.
#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::Device;
use genrescope::bundle::{
    Normalisation, Provenance, SpectrogramBundle, SpectrogramHeader, WeightStorage,
};
use genrescope::model::{ArchitectureConfig, GenreNet};
use genrescope::FeatureConfig;

/// Path of a file under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// Bytes of a fixture file.
pub fn fixture_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("reading fixture {rel}: {e}"))
}

/// A raw little-endian f32 fixture.
pub fn fixture_f32(rel: &str) -> Vec<f32> {
    fixture_bytes(rel)
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The fixture manifest written by `tests/fixtures/make_fixtures.py`.
pub fn manifest() -> serde_json::Value {
    serde_json::from_slice(&fixture_bytes("manifest.json")).expect("manifest.json parses")
}

/// A clip of the shared GTZAN subset (`../shared/data/gtzan-mini`), which CI has beside the checkout.
pub fn shared_clip(genre: &str, index: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/gtzan-mini/genres")
        .join(genre)
        .join(format!("{genre}.{index:05}.wav"))
}

/// Maximum and mean absolute difference of two equally long slices.
pub fn abs_error(ours: &[f32], reference: &[f32]) -> (f32, f32) {
    assert_eq!(ours.len(), reference.len(), "lengths differ");
    let mut max = 0.0f32;
    let mut sum = 0.0f64;
    for (a, b) in ours.iter().zip(reference) {
        let d = (a - b).abs();
        max = max.max(d);
        sum += d as f64;
    }
    (max, (sum / ours.len() as f64) as f32)
}

/// A canonical 16-bit PCM (format 1) or 32-bit float (format 3) WAV file.
pub fn wav_bytes(format: u16, channels: u16, rate: u32, data: &[u8]) -> Vec<u8> {
    let bits: u16 = if format == 3 { 32 } else { 16 };
    let block = channels * bits / 8;
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&format.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * block as u32).to_le_bytes());
    v.extend_from_slice(&block.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

/// 16-bit PCM WAV of interleaved samples in [-1, 1].
pub fn wav_i16(channels: u16, rate: u32, interleaved: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = interleaved
        .iter()
        .flat_map(|&x| ((x.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes())
        .collect();
    wav_bytes(1, channels, rate, &data)
}

/// 32-bit float WAV of interleaved samples (NaN and infinities allowed).
pub fn wav_f32(channels: u16, rate: u32, interleaved: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = interleaved.iter().flat_map(|x| x.to_le_bytes()).collect();
    wav_bytes(3, channels, rate, &data)
}

/// A tiny untrained spectrogram CNN bundle (one 4-filter block) with `labels` (3 of them).
pub fn tiny_cnn_bundle(labels: Vec<String>) -> Vec<u8> {
    let feature_config = FeatureConfig::gtzan_default();
    let header = SpectrogramHeader {
        labels,
        normalisation: Normalisation::identity(feature_config.n_mels),
        architecture: ArchitectureConfig::Cnn { filters: vec![4], dense: vec![], dropout: 0.0 },
        weight_storage: WeightStorage::F32,
        weight_levels: Default::default(),
        provenance: Provenance { data: "integration test".into(), ..Provenance::default() },
        feature_config,
        calibration: None,
        music_detector: None,
        tags: Vec::new(),
    };
    let net =
        GenreNet::new(&header.architecture, header.n_mels(), header.n_frames(), 3, &Device::flex())
            .unwrap();
    SpectrogramBundle::to_bytes(&header, &net).unwrap()
}
