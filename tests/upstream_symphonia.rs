//! Minimal reproducers of the upstream bugs in docs/upstream/: symphonia 0.5.5's WAV reader
//! panics on a header that gives a sample rate of 0 Hz (symphonia-zero-rate.md), and its
//! Matroska reader on a timestamp scale above `u32::MAX` (symphonia-mkv-timestamp-scale.md)
//! and, with overflow checks, on an EBML integer starting with a zero byte
//! (symphonia-mkv-vint-overflow.md), and its ADTS reader on an AAC stream that starts at half
//! the file (symphonia-adts-frame-count.md), and its CAF reader on a NaN, negative or sub-1 Hz
//! rate or 0 bytes per packet (symphonia-caf-desc.md), instead of returning an error. Genrescope's header guards refuse such files before
//! symphonia sees them; these tests call symphonia directly. When one fails, upstream returns
//! an error now: update the bug report (and keep the guard, which also names the cause).

use std::io::Cursor;

use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::io::ReadBytes;
use symphonia::default::formats::{AdtsReader, CafReader, MkvReader, WavReader};

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

/// An EBML element with a one-byte size.
fn element(id: &[u8], body: &[u8]) -> Vec<u8> {
    [id, &[0x80 | body.len() as u8], body].concat()
}

/// A 58-byte WebM: EBML header, then a segment whose `Info` gives a `TimestampScale` of
/// 2^32 ns and whose `Tracks` hold one Vorbis audio track.
fn huge_timestamp_scale_webm() -> Vec<u8> {
    let header = element(&[0x1A, 0x45, 0xDF, 0xA3], &element(&[0x42, 0x82], b"webm"));
    let info = element(&[0x15, 0x49, 0xA9, 0x66], &element(&[0x2A, 0xD7, 0xB1], &[1, 0, 0, 0, 0]));
    let track = [
        element(&[0xD7], &[1]),        // TrackNumber
        element(&[0x73, 0xC5], &[1]),  // TrackUID
        element(&[0x83], &[2]),        // TrackType: audio
        element(&[0x86], b"A_VORBIS"), // CodecID
    ]
    .concat();
    let tracks = element(&[0x16, 0x54, 0xAE, 0x6B], &element(&[0xAE], &track));
    [header, element(&[0x18, 0x53, 0x80, 0x67], &[info, tracks].concat())].concat()
}

/// The first line of the panic reader `R` raises (it must panic) when it opens `bytes` after
/// skipping the first `skip` of them (where the probe would leave the stream).
fn panic_opening<R: FormatReader>(bytes: Vec<u8>, skip: u64) -> String {
    // Keep the expected panic's message and backtrace out of the test output.
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(move || {
        let mut stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
        stream.ignore_bytes(skip).unwrap();
        let _ = R::try_new(stream, &FormatOptions::default());
    });
    let _ = std::panic::take_hook();
    let payload = outcome.expect_err("symphonia no longer panics: update the upstream report");
    genrescope::audio::panic_message(payload.as_ref())
}

#[test]
fn symphonia_wav_reader_panics_on_a_0_hz_header() {
    let bytes = zero_rate_wav();
    assert_eq!(bytes.len(), 46);
    let message = panic_opening::<WavReader>(bytes, 0);
    assert_eq!(message, "TimeBase cannot have 0 numerator or denominator");
}

#[test]
fn symphonia_mkv_reader_panics_on_a_timestamp_scale_above_u32() {
    let bytes = huge_timestamp_scale_webm();
    assert_eq!(bytes.len(), 58);
    let message = panic_opening::<MkvReader>(bytes, 0);
    assert!(message.contains("called `Result::unwrap()` on an `Err` value"), "{message}");
}

/// Builds with overflow checks only (this test profile; the release builds wrap instead).
#[cfg(debug_assertions)]
#[test]
fn symphonia_mkv_reader_overflows_on_an_ebml_integer_starting_with_a_zero_byte() {
    // The EBML header's id, then a size whose first byte is 0: `7 - leading_zeros(0)`.
    let bytes = vec![0x1A, 0x45, 0xDF, 0xA3, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
    let message = panic_opening::<MkvReader>(bytes, 0);
    assert_eq!(message, "attempt to subtract with overflow");
}

/// 64 bytes of padding, then one 64-byte ADTS frame (AAC LC, 44.1 kHz, stereo).
fn adts_at_half_the_file() -> Vec<u8> {
    let mut frame = vec![0xFF, 0xF1, 0x50, 0x80, 0x08, 0x1F, 0xFC];
    frame.resize(64, 0);
    [vec![0; 64], frame].concat()
}

#[test]
fn symphonia_adts_reader_panics_on_a_stream_starting_at_half_the_file() {
    // `approximate_frame_count` subtracts the start twice: (len - start) - start = 0, so
    // `step_by(0)`, which panics in release builds too.
    let bytes = adts_at_half_the_file();
    // 64 bytes: where the probe leaves the stream, at the first frame.
    let message = panic_opening::<AdtsReader>(bytes, 64);
    assert_eq!(message, "assertion failed: step != 0");
}

/// A CAF file header, a PCM `desc` chunk with `rate` and `bytes_per_packet`, and a `data`
/// chunk of 64 samples.
fn caf(rate: f64, bytes_per_packet: u32) -> Vec<u8> {
    let mut v = b"caff\x00\x01\x00\x00desc".to_vec();
    v.extend_from_slice(&32i64.to_be_bytes());
    v.extend_from_slice(&rate.to_be_bytes());
    v.extend_from_slice(b"lpcm");
    for x in [2u32, bytes_per_packet, 1, 1, 16] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend_from_slice(b"data");
    v.extend_from_slice(&132i64.to_be_bytes());
    v.extend_from_slice(&[0; 132]);
    v
}

#[test]
fn symphonia_caf_reader_panics_on_a_nan_rate_and_on_0_bytes_per_packet() {
    // `sample_rate as u32` is 0 for NaN, negative and sub-1 Hz rates.
    for rate in [f64::NAN, -8000.0, 0.5] {
        let message = panic_opening::<CafReader>(caf(rate, 2), 0);
        assert_eq!(message, "TimeBase cannot have 0 numerator or denominator", "{rate}");
    }
    // `data_len / bytes_per_frame`: a division by zero, in release builds too.
    assert_eq!(panic_opening::<CafReader>(caf(8000.0, 0), 0), "attempt to divide by zero");
}
