//! The same real clip in every committed container decodes; lossless ones are sample-exact.

mod common;

use common::{abs_error, fixture_bytes, shared_clip};
use genrescope::audio::{decode, load_mono, DecodeLimits};

const CLIP_FRAMES: usize = 132_300;

fn decode_fixture(name: &str) -> genrescope::audio::DecodedAudio {
    let ext = name.rsplit('.').next();
    decode(fixture_bytes(&format!("audio/{name}")), ext, &DecodeLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn wav_flac_and_au_are_sample_exact() {
    let wav = decode_fixture("gtzan_jazz_6s.wav");
    assert_eq!((wav.sample_rate, wav.channels, wav.samples.len()), (22_050, 1, CLIP_FRAMES));
    assert_eq!(wav.container, "wav");
    assert!(!wav.warnings.truncated);
    for name in ["gtzan_jazz_6s.flac", "gtzan_jazz_6s.au"] {
        let other = decode_fixture(name);
        assert_eq!(other.sample_rate, 22_050, "{name}");
        assert_eq!(other.samples, wav.samples, "{name} differs from the WAV");
    }
}

#[test]
fn lossy_codecs_decode_to_the_same_music() {
    let wav = decode_fixture("gtzan_jazz_6s.wav");
    for (name, codec) in [("gtzan_jazz_6s.mp3", "mp3"), ("gtzan_jazz_6s.ogg", "vorbis")] {
        let lossy = decode_fixture(name);
        assert_eq!(lossy.codec, codec);
        assert_eq!(lossy.sample_rate, 22_050, "{name}");
        // Gapless decoding keeps the length within one codec frame of the original.
        let diff = lossy.samples.len() as i64 - CLIP_FRAMES as i64;
        assert!(diff.abs() <= 1152, "{name}: {} samples", lossy.samples.len());
        // Same music: the waveforms correlate strongly when aligned as decoded.
        let n = CLIP_FRAMES.min(lossy.samples.len());
        let dot: f64 = (0..n).map(|i| wav.samples[i] as f64 * lossy.samples[i] as f64).sum();
        let e1: f64 = (0..n).map(|i| (wav.samples[i] as f64).powi(2)).sum();
        let e2: f64 = (0..n).map(|i| (lossy.samples[i] as f64).powi(2)).sum();
        let corr = dot / (e1 * e2).sqrt();
        assert!(corr > 0.9, "{name}: correlation {corr}");
    }
}

#[test]
fn stereo_44k_and_48k_wavs_resample_to_the_clip_length() {
    for name in ["gtzan_jazz_6s_44100_stereo.wav", "gtzan_jazz_6s_48000.wav"] {
        let loaded = load_mono(
            fixture_bytes(&format!("audio/{name}")),
            Some("wav"),
            22_050,
            &DecodeLimits::default(),
        )
        .unwrap();
        assert_eq!(loaded.samples.len(), CLIP_FRAMES, "{name}");
        assert_eq!(loaded.sample_rate, 22_050);
    }
}

#[test]
fn extension_hint_does_not_decide_the_format() {
    let bytes = fixture_bytes("audio/gtzan_jazz_6s.flac");
    let d = decode(bytes, Some("mp3"), &DecodeLimits::default()).unwrap();
    assert_eq!((d.container.as_str(), d.samples.len()), ("flac", CLIP_FRAMES));
}

#[test]
fn a_whole_shared_gtzan_clip_decodes() {
    let path = shared_clip("rock", 3);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (../shared must be beside the checkout)", path.display())
    });
    let d = decode(bytes, Some("wav"), &DecodeLimits::default()).unwrap();
    assert_eq!(d.sample_rate, 22_050);
    assert!((29.0..31.0).contains(&d.duration_seconds()));
    let (max, _) = abs_error(&d.samples[..10], &d.samples[..10]);
    assert_eq!(max, 0.0);
}
