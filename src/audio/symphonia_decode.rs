//! Decoding through symphonia: WAV, AIFF and CAF (PCM, ADPCM) always; MP4/M4A, MKV/WebM,
//! Ogg, FLAC, MP3, Vorbis, AAC and ALAC with the `compressed-formats` feature.

use std::sync::Arc;
use std::sync::OnceLock;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, Packet};
use symphonia::core::probe::Probe;

use super::error::AudioError;
use super::guarded_probe::{probe_guarded, Guarded};
use super::header_guard::{check_stream, StreamParams};
use super::mono::MonoMixer;
use super::{describe_unknown_bytes, sniff_container, DecodeLimits, DecodeWarnings, DecodedAudio};

/// Packets that fail to decode are skipped; more than this share of them means the stream
/// is corrupt rather than damaged in a few places.
const MAX_BAD_PACKET_SHARE: f64 = 0.5;

/// The most audio frames one byte of input can hold, in any codec: FLAC's densest frame
/// (65535 samples in a constant subframe of about a dozen bytes) holds about 5500. A header
/// that claims more frames than this per byte of input is not trusted for the duration
/// limit (the mixer still enforces it on what is decoded).
const MAX_FRAMES_PER_BYTE: u64 = 8192;

/// The format readers of this build. With `compressed-formats` it is symphonia's default
/// probe for the enabled formats; without, only the PCM containers, and not the ID3v2 reader
/// the default probe always adds (for the tags in front of MP3 and AAC streams): it pulls in
/// every legacy text encoding's tables, a large part of the browser's CPU build.
pub(super) fn probe() -> &'static Probe {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    PROBE.get_or_init(|| {
        let mut probe = Probe::default();
        #[cfg(feature = "compressed-formats")]
        symphonia::default::register_enabled_formats(&mut probe);
        #[cfg(not(feature = "compressed-formats"))]
        {
            use symphonia::default::formats::{AiffReader, CafReader, WavReader};
            probe.register_all::<WavReader>();
            probe.register_all::<AiffReader>();
            probe.register_all::<CafReader>();
        }
        probe
    })
}

/// Decodes the first audio track of `bytes` to mono; the content decides the format (the
/// probe finds a container's marker, after ID3 tags or stray bytes too). The header guard
/// checks the header where the reader starts ([`probe_guarded`]), and every stream's
/// parameters before its decoder is made.
pub fn decode_with_symphonia(
    bytes: Vec<u8>,
    limits: &DecodeLimits,
) -> Result<DecodedAudio, AudioError> {
    let input_len = bytes.len();
    let head = bytes[..bytes.len().min(16)].to_vec();
    let format_opts = FormatOptions { enable_gapless: true, ..Default::default() };
    let Guarded { reader: mut format, facts } =
        probe_guarded(probe(), Arc::new(bytes), &format_opts, limits)?;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or(AudioError::NoAudioTrack)?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let container = sniff_container(&head).unwrap_or("audio").to_string();
    let stream_params = StreamParams {
        sample_rate: params.sample_rate,
        channels: params.channels.map(|c| c.count() as u64),
        bits_per_sample: params.bits_per_sample.or(params.bits_per_coded_sample),
    };
    // "the FLAC header gives ..."; a container not sniffed is "the audio header".
    let named = if container == "audio" { container.clone() } else { container.to_uppercase() };
    check_stream(&named, &stream_params, limits)?;
    let codec_name = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map_or_else(|| format!("{:?}", params.codec), |d| d.short_name.to_string());
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|_| AudioError::UnsupportedCodec { codec: codec_name.clone() })?;

    let mut sample_rate = params.sample_rate;
    if let Some(rate) = sample_rate {
        limits.check_sample_rate(rate)?;
        // A length the header announces beyond the end of the file is truncation, not
        // duration: the mixer enforces the limit on what is really there.
        let plausible = |frames: &u64| *frames <= input_len as u64 * MAX_FRAMES_PER_BYTE;
        if let Some(frames) = params.n_frames.filter(plausible).filter(|_| !facts.data_beyond_end) {
            let seconds = frames as f64 / rate as f64;
            if seconds > limits.max_seconds_at(rate) {
                return Err(limits.too_long(seconds, rate));
            }
        }
    }
    let mut mixer: Option<MonoMixer> = None;
    let mut channels = 0usize;
    let mut interleaved: Option<SampleBuffer<f32>> = None;
    let (mut good, mut bad) = (0usize, 0usize);
    let mut ended_early = false;
    let mut last_error = String::new();
    loop {
        let packet = match next_track_packet(format.as_mut(), track_id) {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                // A broken container after some audio: keep what was decoded.
                ended_early = true;
                last_error = e.to_string();
                break;
            }
        };
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymphoniaError::DecodeError(msg)) => {
                bad += 1;
                last_error = msg.to_string();
                continue;
            }
            Err(SymphoniaError::IoError(_)) => {
                ended_early = true;
                break;
            }
            Err(e) => return Err(AudioError::Corrupt { detail: e.to_string() }),
        };
        good += 1;
        let spec = *decoded.spec();
        let n_channels = spec.channels.count();
        if n_channels == 0 || n_channels > limits.max_channels {
            return Err(AudioError::UnsupportedChannels {
                detail: format!("{n_channels} channels (accepted: 1 to {})", limits.max_channels),
            });
        }
        let mixer = match &mut mixer {
            Some(m) => {
                if Some(spec.rate) != sample_rate || n_channels != channels {
                    return Err(AudioError::UnsupportedChannels {
                        detail: format!(
                            "the stream changes from {channels} ch at {} Hz to {n_channels} ch at {} Hz",
                            sample_rate.unwrap_or(0),
                            spec.rate
                        ),
                    });
                }
                m
            }
            None => {
                limits.check_sample_rate(spec.rate)?;
                sample_rate = Some(spec.rate);
                channels = n_channels;
                let mut m = MonoMixer::new(spec.rate, limits);
                // A hint only, never more frames than the input has bytes: a hostile header
                // must not make us allocate for the length it claims.
                if let Some(frames) = params.n_frames {
                    m.reserve(frames.min(input_len as u64) as usize);
                }
                mixer.insert(m)
            }
        };
        if decoded.frames() == 0 {
            continue;
        }
        let needed = decoded.capacity() as u64;
        let buf = match &mut interleaved {
            Some(b) if b.capacity() as u64 >= needed * n_channels as u64 => b,
            _ => interleaved.insert(SampleBuffer::<f32>::new(needed, spec)),
        };
        buf.copy_interleaved_ref(decoded);
        mixer.push_interleaved(buf.samples(), n_channels)?;
    }
    let total = good + bad;
    if total > 0 && (bad as f64 / total as f64) > MAX_BAD_PACKET_SHARE {
        return Err(AudioError::Corrupt {
            detail: format!("{bad} of {total} packets could not be decoded (last: {last_error})"),
        });
    }
    let Some(mixer) = mixer else {
        return Err(if bad > 0 || ended_early {
            AudioError::Corrupt { detail: format!("no packet could be decoded ({last_error})") }
        } else {
            AudioError::NoSamples
        });
    };
    let decoded_frames = mixer.len() as u64;
    let truncated = ended_early
        || facts.data_beyond_end
        || facts
            .declared_frames
            .or(params.n_frames)
            .is_some_and(|n| decoded_frames + 1 < n && !is_estimate(&container));
    let mut samples = mixer.finish()?;
    // symphonia's AIFF reader reads the `SSND` chunk's 8-byte offset and block-size fields as
    // audio: with a chunk after the sound data (an ID3 tag), the last frames are that chunk's
    // header. The header's own frame count is the truth.
    if container == "aiff" {
        if let Some(n) = facts.declared_frames.filter(|&n| n > 0 && (n as usize) < samples.len()) {
            samples.truncate(n as usize);
        }
    }
    Ok(DecodedAudio {
        samples,
        sample_rate: sample_rate.unwrap_or(0),
        channels,
        container,
        codec: codec_name,
        warnings: DecodeWarnings { truncated, skipped_packets: bad },
    })
}

/// Containers whose frame count is only an estimate (so a shortfall is not truncation).
fn is_estimate(container: &str) -> bool {
    container == "mp3"
}

/// The next packet of `track`, or `None` at the end of the stream (the end of the file, or a
/// reset the reader asks for, which this reader does not follow); other errors as they come.
pub(super) fn next_track_packet(
    format: &mut dyn FormatReader,
    track: u32,
) -> Result<Option<Packet>, SymphoniaError> {
    loop {
        match format.next_packet() {
            Ok(p) if p.track_id() == track => return Ok(Some(p)),
            Ok(_) => {}
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(None)
            }
            Err(SymphoniaError::ResetRequired) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

/// The error for a file symphonia's probe or reader refused, named from its first bytes.
pub(super) fn symphonia_error(error: SymphoniaError, head: &[u8]) -> AudioError {
    match error {
        _ if head.starts_with(b"RF64") => AudioError::UnrecognisedFormat {
            detail: "the file is an RF64 WAV (the WAV for files over 4 GB), which this \
                     build does not read"
                .into(),
        },
        SymphoniaError::Unsupported(what) => match sniff_container(head) {
            // A known container refusing its content means the codec inside is unsupported.
            Some(container) => AudioError::UnsupportedCodec { codec: format!("{what} (in a {container} file)") },
            None => AudioError::UnrecognisedFormat { detail: describe_unknown_bytes(head) },
        },
        SymphoniaError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => AudioError::Corrupt {
            detail: format!(
                "the {} file ends before any audio data (it is truncated, or holds no audio stream)",
                sniff_container(head).unwrap_or("audio")
            ),
        },
        other => AudioError::Corrupt { detail: format!("cannot read the container: {other}") },
    }
}
