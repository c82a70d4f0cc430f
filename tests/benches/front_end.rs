//! Front-end benchmarks: log-Mel of every window of a 30 s clip, the 57 table descriptors of
//! a 30 s clip (with their two costliest stages alone), and decode + resample of a 30 s
//! 44.1 kHz stereo MP3. Compare with `tests/benches/librosa_mel_bench.py` (same inputs).
//!
//! Run: `cargo bench -p genrescope --bench front_end`

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use genrescope::audio::{decode, load_mono, resample, DecodeLimits};
use genrescope::descriptors::{describe, hpss, stft};
use genrescope::mel::MelExtractor;
use genrescope::segment::window_features;
use genrescope::FeatureConfig;

fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn thirty_second_clip() -> Vec<f32> {
    let path = repo_path("../shared/data/gtzan-mini/genres/rock/rock.00003.wav");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    decode(bytes, Some("wav"), &DecodeLimits::default()).expect("GTZAN clip decodes").samples
}

fn log_mel(c: &mut Criterion) {
    let cfg = FeatureConfig::gtzan_default();
    let extractor = MelExtractor::new(&cfg).unwrap();
    let clip = thirty_second_clip();
    assert_eq!(window_features(&cfg, &extractor, &clip).len(), 19);
    c.bench_function("log_mel_30s_clip_19_windows", |b| {
        b.iter(|| window_features(&cfg, &extractor, &clip))
    });
    c.bench_function("mel_extractor_new", |b| b.iter(|| MelExtractor::new(&cfg).unwrap()));
}

fn descriptors(c: &mut Criterion) {
    let clip = thirty_second_clip();
    let spectrogram = stft(&clip);
    let magnitudes = spectrogram.magnitudes();
    let mut group = c.benchmark_group("descriptors_30s_clip");
    group.sample_size(10);
    group.bench_function("all_57", |b| b.iter(|| describe(&clip, 22_050).unwrap()));
    group.bench_function("stft", |b| b.iter(|| stft(&clip)));
    group.bench_function("hpss_median_filters", |b| b.iter(|| hpss(&spectrogram, &magnitudes)));
    group.finish();
}

fn decode_and_resample(c: &mut Criterion) {
    let bytes =
        std::fs::read(repo_path("tests/fixtures/audio/bench_30s_44100_stereo.mp3")).unwrap();
    let limits = DecodeLimits::default();
    let decoded = decode(bytes.clone(), Some("mp3"), &limits).unwrap();
    let mut group = c.benchmark_group("mp3_30s_44100_stereo");
    group.sample_size(20);
    group.bench_function("decode", |b| {
        b.iter(|| decode(bytes.clone(), Some("mp3"), &limits).unwrap())
    });
    group.bench_function("resample_to_22050", |b| {
        b.iter(|| resample(&decoded.samples, 44_100, 22_050).unwrap())
    });
    group.bench_function("decode_and_resample", |b| {
        b.iter(|| load_mono(bytes.clone(), Some("mp3"), 22_050, &limits).unwrap())
    });
    group.finish();
}

criterion_group!(benches, log_mel, descriptors, decode_and_resample);
criterion_main!(benches);
