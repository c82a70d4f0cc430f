//! Sun/NeXT `.au` files (GTZAN's original format): a big-endian header and raw samples.
//!
//! symphonia has no AU reader, and the format is a 24-byte header, so it is parsed here.

use super::error::AudioError;
use super::mono::MonoMixer;
use super::{DecodeLimits, DecodeWarnings, DecodedAudio};

/// The four bytes every AU file starts with.
pub const AU_MAGIC: &[u8; 4] = b".snd";

const HEADER_LEN: usize = 24;

/// Sample encodings of the AU format that are decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    MuLaw,
    ALaw,
    Linear8,
    Linear16,
    Linear24,
    Linear32,
    Float32,
    Float64,
}

impl Encoding {
    fn from_code(code: u32) -> Result<Self, AudioError> {
        Ok(match code {
            1 => Encoding::MuLaw,
            2 => Encoding::Linear8,
            3 => Encoding::Linear16,
            4 => Encoding::Linear24,
            5 => Encoding::Linear32,
            6 => Encoding::Float32,
            7 => Encoding::Float64,
            27 => Encoding::ALaw,
            other => {
                return Err(AudioError::UnsupportedCodec { codec: format!("AU encoding {other}") })
            }
        })
    }

    fn bytes(self) -> usize {
        match self {
            Encoding::MuLaw | Encoding::ALaw | Encoding::Linear8 => 1,
            Encoding::Linear16 => 2,
            Encoding::Linear24 => 3,
            Encoding::Linear32 | Encoding::Float32 => 4,
            Encoding::Float64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Encoding::MuLaw => "mu-law",
            Encoding::ALaw => "A-law",
            Encoding::Linear8 => "pcm_s8",
            Encoding::Linear16 => "pcm_s16be",
            Encoding::Linear24 => "pcm_s24be",
            Encoding::Linear32 => "pcm_s32be",
            Encoding::Float32 => "pcm_f32be",
            Encoding::Float64 => "pcm_f64be",
        }
    }

    /// Decodes one big-endian sample to [-1, 1).
    fn sample(self, b: &[u8]) -> f32 {
        match self {
            Encoding::MuLaw => mu_law(b[0]) as f32 / 32_768.0,
            Encoding::ALaw => a_law(b[0]) as f32 / 32_768.0,
            Encoding::Linear8 => b[0] as i8 as f32 / 128.0,
            Encoding::Linear16 => i16::from_be_bytes([b[0], b[1]]) as f32 / 32_768.0,
            Encoding::Linear24 => {
                (i32::from_be_bytes([b[0], b[1], b[2], 0]) >> 8) as f32 / 8_388_608.0
            }
            Encoding::Linear32 => {
                (i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64 / 2_147_483_648.0) as f32
            }
            Encoding::Float32 => f32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            Encoding::Float64 => {
                f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }
        }
    }
}

/// G.711 mu-law to 16-bit linear.
fn mu_law(byte: u8) -> i16 {
    let u = !byte;
    let t = (((u & 0x0f) as i16) << 3) + 0x84;
    let t = t << ((u & 0x70) >> 4);
    if u & 0x80 != 0 {
        0x84 - t
    } else {
        t - 0x84
    }
}

/// G.711 A-law to 16-bit linear.
fn a_law(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t = ((a & 0x0f) as i16) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (seg - 1),
    }
    if a & 0x80 != 0 {
        t
    } else {
        -t
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Decodes a whole AU file to mono. A data size larger than the file is reported as
/// truncation (what is present is decoded); the "unknown size" marker reads to the end.
pub fn decode_au(bytes: &[u8], limits: &DecodeLimits) -> Result<DecodedAudio, AudioError> {
    if bytes.len() < HEADER_LEN || &bytes[..4] != AU_MAGIC {
        return Err(AudioError::UnrecognisedFormat {
            detail: "AU header is shorter than 24 bytes".into(),
        });
    }
    let offset = be_u32(bytes, 4) as usize;
    let declared = be_u32(bytes, 8);
    let encoding = Encoding::from_code(be_u32(bytes, 12))?;
    let sample_rate = be_u32(bytes, 16);
    let channels = be_u32(bytes, 20) as usize;
    limits.check_sample_rate(sample_rate)?;
    if channels == 0 || channels > limits.max_channels {
        return Err(AudioError::UnsupportedChannels {
            detail: format!("{channels} channels (accepted: 1 to {})", limits.max_channels),
        });
    }
    if offset < HEADER_LEN || offset > bytes.len() {
        return Err(AudioError::Corrupt {
            detail: format!("AU data offset {offset} lies outside the file"),
        });
    }
    let available = bytes.len() - offset;
    let (data_len, truncated) = match declared {
        u32::MAX => (available, false),
        n if (n as usize) > available => (available, true),
        n => (n as usize, false),
    };
    let frame_bytes = encoding.bytes() * channels;
    let frames = data_len / frame_bytes;
    let seconds = frames as f64 / sample_rate as f64;
    if seconds > limits.max_seconds_at(sample_rate) {
        return Err(limits.too_long(seconds, sample_rate));
    }
    let mut mixer = MonoMixer::new(sample_rate, limits);
    mixer.reserve(frames);
    let mut frame = vec![0.0f32; channels];
    for raw in bytes[offset..offset + frames * frame_bytes].chunks_exact(frame_bytes) {
        for (c, s) in raw.chunks_exact(encoding.bytes()).enumerate() {
            frame[c] = encoding.sample(s);
        }
        mixer.push_interleaved(&frame, channels)?;
    }
    Ok(DecodedAudio {
        samples: mixer.finish()?,
        sample_rate,
        channels,
        container: "au".into(),
        codec: encoding.name().into(),
        warnings: DecodeWarnings { truncated, skipped_packets: 0 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn au(encoding: u32, rate: u32, channels: u32, data: &[u8], declared: Option<u32>) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(AU_MAGIC);
        for x in [24, declared.unwrap_or(data.len() as u32), encoding, rate, channels] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn decodes_16_bit_stereo_to_mono() {
        let data: Vec<u8> = [16384i16, 0, -32768, 0].iter().flat_map(|s| s.to_be_bytes()).collect();
        let d = decode_au(&au(3, 8000, 2, &data, None), &DecodeLimits::default()).unwrap();
        assert_eq!(d.samples, vec![0.25, -0.5]);
        assert_eq!((d.sample_rate, d.channels, d.warnings.truncated), (8000, 2, false));
    }

    #[test]
    fn g711_tables_hit_known_values() {
        assert_eq!(mu_law(0xff), 0);
        assert_eq!(mu_law(0x80), 32124);
        assert_eq!(mu_law(0x00), -32124);
        assert_eq!(a_law(0xd5), 8);
        assert_eq!(a_law(0xaa), 32256);
    }

    #[test]
    fn declared_size_past_the_end_is_truncation() {
        let data: Vec<u8> = [1000i16; 10].iter().flat_map(|s| s.to_be_bytes()).collect();
        let d = decode_au(&au(3, 8000, 1, &data, Some(1000)), &DecodeLimits::default()).unwrap();
        assert!(d.warnings.truncated);
        assert_eq!(d.samples.len(), 10);
    }

    #[test]
    fn unknown_encoding_is_named() {
        let err = decode_au(&au(23, 8000, 1, &[0; 8], None), &DecodeLimits::default()).unwrap_err();
        assert_eq!(err, AudioError::UnsupportedCodec { codec: "AU encoding 23".into() });
    }
}
