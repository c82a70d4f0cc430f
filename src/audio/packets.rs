//! A fingerprint of a file's audio stream as stored: every packet of its first audio track,
//! as the container reader hands it out (compressed frames, or PCM blocks), before decoding.
//! Rewriting a file's tags must leave it unchanged; that is how tag writing checks it.

use std::hash::{DefaultHasher, Hasher};
use std::sync::Arc;

use symphonia::core::codecs::CODEC_TYPE_NULL;
use symphonia::core::formats::FormatOptions;

use super::error::AudioError;
use super::guarded_probe::{probe_guarded, Guarded};
use super::symphonia_decode::{next_track_packet, probe, symphonia_error};
use super::DecodeLimits;

/// The audio stream of a file: how many packets and bytes, and a hash of their bytes and
/// timestamps in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamDigest {
    /// Packets of the first audio track.
    pub packets: u64,
    /// Their bytes in all.
    pub bytes: u64,
    /// A 64-bit hash (SipHash with fixed keys) of every packet's timestamp, duration and
    /// bytes, in order.
    pub hash: u64,
}

/// The [`StreamDigest`] of a file (any container the decoder reads: WAV, AIFF, CAF, FLAC,
/// MP3, Ogg, MP4/M4A, Matroska). The header guard runs first, as for decoding.
pub fn stream_digest(bytes: Vec<u8>, limits: &DecodeLimits) -> Result<StreamDigest, AudioError> {
    let head = bytes[..bytes.len().min(16)].to_vec();
    let options = FormatOptions { enable_gapless: false, ..Default::default() };
    let Guarded { reader: mut format, facts } =
        probe_guarded(probe(), Arc::new(bytes), &options, limits)?;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or(AudioError::NoAudioTrack)?
        .id;
    let mut hasher = DefaultHasher::new();
    let mut digest = StreamDigest { packets: 0, bytes: 0, hash: 0 };
    while let Some(packet) =
        next_track_packet(format.as_mut(), track).map_err(|e| symphonia_error(e, &head))?
    {
        let data =
            within_declared_frames(packet.buf(), packet.ts(), packet.dur(), facts.declared_frames);
        if data.is_empty() && !packet.buf().is_empty() {
            continue;
        }
        hasher.write_u64(packet.ts());
        hasher.write(data);
        digest.packets += 1;
        digest.bytes += data.len() as u64;
    }
    digest.hash = hasher.finish();
    Ok(digest)
}

/// The part of a PCM packet (`dur` frames from `ts`, whole frames in `data`) within the
/// frame count the header declares. symphonia's AIFF reader counts the `SSND` chunk's 8-byte
/// offset and block-size fields as audio, so when a chunk follows the sound data (an ID3 tag,
/// say) its last packet runs 8 bytes into that chunk: those bytes are not audio. (The
/// packet's duration is left out of the hash for the same reason.)
fn within_declared_frames(data: &[u8], ts: u64, dur: u64, declared: Option<u64>) -> &[u8] {
    match declared {
        Some(total)
            if total > 0
                && dur > 0
                && ts + dur > total
                && (data.len() as u64).is_multiple_of(dur) =>
        {
            let per_frame = data.len() as u64 / dur;
            &data[..(per_frame * total.saturating_sub(ts)) as usize]
        }
        _ => data,
    }
}
