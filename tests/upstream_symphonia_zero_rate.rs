//! Minimal reproducer of the upstream bug in docs/upstream/symphonia-zero-rate.md: symphonia
//! 0.5.5's WAV reader panics on a header that gives a sample rate of 0 Hz, instead of
//! returning an error. Genrescope's header guard refuses such files before symphonia sees
//! them; this test calls symphonia directly. When it fails, upstream returns an error now:
//! update the bug report (and keep the guard, which also names the cause for people).

use std::io::Cursor;

use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::default::formats::WavReader;

/// A 46-byte PCM WAV (1 channel, 16 bits, one sample) whose `fmt ` chunk says 0 Hz.
fn zero_rate_wav() -> Vec<u8> {
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&38u32.to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes()); // PCM
    v.extend_from_slice(&1u16.to_le_bytes()); // channels
    v.extend_from_slice(&0u32.to_le_bytes()); // sample rate: 0 Hz
    v.extend_from_slice(&0u32.to_le_bytes()); // byte rate
    v.extend_from_slice(&2u16.to_le_bytes()); // block align
    v.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    v.extend_from_slice(b"data");
    v.extend_from_slice(&2u32.to_le_bytes());
    v.extend_from_slice(&[0, 0]);
    v
}

#[test]
fn symphonia_wav_reader_panics_on_a_0_hz_header() {
    let bytes = zero_rate_wav();
    assert_eq!(bytes.len(), 46);
    // Keep the expected panic's message and backtrace out of the test output.
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| {
        let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
        WavReader::try_new(stream, &FormatOptions::default()).map(|_| ())
    });
    let _ = std::panic::take_hook();
    let payload = outcome.expect_err("symphonia no longer panics: update the upstream report");
    assert_eq!(
        genrescope::audio::panic_message(payload.as_ref()),
        "TimeBase cannot have 0 numerator or denominator"
    );
}
