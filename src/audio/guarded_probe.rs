//! Symphonia's probe with the header guard where the format reader starts.
//!
//! The probe looks for a container's marker anywhere in the first mebibyte of a file (after
//! ID3 tags, or after stray bytes), so guarding only a file's first bytes lets a header
//! behind a single junk byte reach its reader unchecked (found by fuzzing: an AIFF with an
//! infinite rate after one stray byte made the AIFF reader panic). This runs the probe's own
//! search ([`Probe::next`]), then [`check_header`] on the bytes from the marker on, and only
//! then instantiates the reader.
//!
//! An AAC (ADTS) stream is handed to its reader from its first frame on: symphonia's ADTS
//! reader subtracts the stream's start twice when it estimates the length, which panics
//! (`step_by(0)`, release builds too) when the stream starts near the middle of the file
//! (docs/upstream/symphonia-adts-frame-count.md). Raw AAC frames hold no file offsets, so
//! nothing is lost.

use std::io::Cursor;
use std::sync::Arc;

use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, ReadBytes};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::{Instantiate, Probe};

use super::error::AudioError;
use super::header_guard::{check_header, HeaderFacts};
use super::symphonia_decode::symphonia_error;
use super::DecodeLimits;

/// A file's bytes from `start` on, shared between the stream symphonia reads and the guard
/// (no copy).
struct SharedBytes {
    bytes: Arc<Vec<u8>>,
    start: usize,
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// A stream over `bytes[start..]`.
fn stream_from(bytes: &Arc<Vec<u8>>, start: usize) -> MediaSourceStream {
    let source = Cursor::new(SharedBytes { bytes: Arc::clone(bytes), start });
    MediaSourceStream::new(Box::new(source), Default::default())
}

/// True when `head` starts with an ADTS (raw AAC) frame's sync word, as symphonia's probe
/// registers it (`FF F1` or `FF F9`).
fn is_adts(head: &[u8]) -> bool {
    matches!(head, [0xFF, 0xF1 | 0xF9, ..])
}

/// A format reader made after its header passed the guard.
pub(crate) struct Guarded {
    /// The container's reader.
    pub(crate) reader: Box<dyn FormatReader>,
    /// What the guard learnt from the header.
    pub(crate) facts: HeaderFacts,
}

/// Finds the container as [`Probe::format`] does (skipping metadata blocks such as ID3v2),
/// checks its header where its reader will start, and makes the reader. A header the guard
/// refuses is its named error; what symphonia refuses is named from the file's first bytes.
pub(crate) fn probe_guarded(
    probe: &Probe,
    bytes: Arc<Vec<u8>>,
    format_opts: &FormatOptions,
    limits: &DecodeLimits,
) -> Result<Guarded, AudioError> {
    let symphonia = |e| symphonia_error(e, &bytes[..bytes.len().min(16)]);
    // The file's own first bytes too: a header symphonia cannot read (RF64) is still named.
    let first = check_header(&bytes, limits)?;
    let mut stream = stream_from(&bytes, 0);
    loop {
        match probe.next(&mut stream).map_err(symphonia)? {
            Instantiate::Format(make_reader) => {
                let at = usize::try_from(stream.pos()).map_or(bytes.len(), |p| p.min(bytes.len()));
                let facts = if at == 0 { first } else { check_header(&bytes[at..], limits)? };
                let stream =
                    if at > 0 && is_adts(&bytes[at..]) { stream_from(&bytes, at) } else { stream };
                let reader = make_reader(stream, format_opts).map_err(symphonia)?;
                return Ok(Guarded { reader, facts });
            }
            Instantiate::Metadata(make_reader) => {
                // Read past it; the tags are not used.
                make_reader(&MetadataOptions::default())
                    .read_all(&mut stream)
                    .map_err(symphonia)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAV header (PCM, 1 channel, 16 bits) with `rate` and two samples.
    fn wav(rate: u32) -> Vec<u8> {
        let mut v = b"RIFF".to_vec();
        v.extend_from_slice(&40u32.to_le_bytes());
        v.extend_from_slice(b"WAVEfmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * 2).to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&4u32.to_le_bytes());
        v.extend_from_slice(&[1, 0, 2, 0]);
        v
    }

    fn outcome(bytes: Vec<u8>) -> Result<(), String> {
        let mut probe = Probe::default();
        probe.register_all::<symphonia::default::formats::WavReader>();
        probe_guarded(&probe, Arc::new(bytes), &FormatOptions::default(), &Default::default())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_header_behind_stray_bytes_is_guarded_too() {
        assert_eq!(outcome(wav(8000)), Ok(()));
        assert_eq!(outcome([&[0xBB, 0x00, 0x17][..], &wav(8000)].concat()), Ok(()));
        for junk in [&[][..], &[0xBB], &[0, 0, 0, 0, 0, 0, 0]] {
            assert_eq!(
                outcome([junk, &wav(0)].concat()),
                Err("the WAV header gives a sample rate of 0 Hz".into()),
                "after {} stray bytes",
                junk.len()
            );
        }
    }

    /// 64 bytes of padding, then one 64-byte ADTS frame (AAC LC, 44.1 kHz, stereo): the
    /// stream starts exactly at half the file.
    #[cfg(feature = "compressed-formats")]
    fn adts_at_half_the_file() -> Vec<u8> {
        let mut frame = vec![0xFF, 0xF1, 0x50, 0x80, 0x08, 0x1F, 0xFC];
        frame.resize(64, 0);
        [vec![0; 64], frame].concat()
    }

    #[cfg(feature = "compressed-formats")]
    #[test]
    fn an_aac_stream_in_the_middle_of_the_file_does_not_reach_the_readers_panic() {
        let limits = DecodeLimits::default();
        let outcome = crate::audio::decode(adts_at_half_the_file(), Some("aac"), &limits);
        assert!(!matches!(outcome, Err(AudioError::DecoderFailure { .. })), "{outcome:?}");
    }
}
