//! The Core Audio Format header guard (pure, no I/O): the `desc` chunk's sample rate
//! (a 64-bit float), channels, bits and packet sizes, checked before symphonia's CAF reader
//! sees them. That reader converts the rate with `as u32` (NaN, negative and sub-1 Hz rates
//! become 0 and `TimeBase::new` panics), divides by the bytes per packet of PCM (0 panics
//! with a division by zero, release builds too), multiplies it by 8 in a `u32` and shifts by
//! the channel count.

use super::error::AudioError;
use super::header_guard::{be_u32, check_stream, invalid, HeaderFacts, StreamParams};
use super::DecodeLimits;

/// Bytes of the file header (`caff`, version, flags) and of a chunk header (type, size).
const FILE_HEADER: usize = 8;
const CHUNK_HEADER: usize = 12;
/// Bytes of the `desc` chunk's body.
const DESC_LEN: usize = 32;

/// Checks a CAF file's `desc` chunk (the first chunk, as the format requires).
pub(crate) fn check_caf(bytes: &[u8], limits: &DecodeLimits) -> Result<HeaderFacts, AudioError> {
    let needed = FILE_HEADER + CHUNK_HEADER + DESC_LEN;
    if bytes.len() < needed {
        return Err(invalid(
            "CAF",
            format!(
            "is cut short: the file has {} of the {needed} bytes up to the end of its 'desc' chunk",
            bytes.len()
        ),
        ));
    }
    let chunk = &bytes[FILE_HEADER..];
    if &chunk[..4] != b"desc" {
        return Err(invalid("CAF", "does not start with a 'desc' chunk"));
    }
    let desc = &chunk[CHUNK_HEADER..CHUNK_HEADER + DESC_LEN];
    let rate = f64::from_be_bytes(desc[..8].try_into().expect("8 bytes"));
    let format_id = &desc[8..12];
    let bytes_per_packet = be_u32(desc, 16);
    let channels = be_u32(desc, 24);
    let bits = be_u32(desc, 28);
    if !rate.is_finite() || rate < 1.0 {
        return Err(invalid("CAF", format!("gives a sample rate of {rate} Hz")));
    }
    let pcm = format_id == b"lpcm";
    check_stream(
        "CAF",
        &StreamParams {
            sample_rate: Some(rate.min(f64::from(u32::MAX)) as u32),
            channels: Some(u64::from(channels)),
            bits_per_sample: pcm.then_some(bits),
        },
        limits,
    )?;
    if pcm && bytes_per_packet == 0 {
        return Err(invalid("CAF", "gives 0 bytes per packet for PCM audio"));
    }
    // The reader computes the bits of a packet as `bytes_per_packet * 8` in a u32.
    if bytes_per_packet > u32::MAX / 8 {
        return Err(invalid(
            "CAF",
            format!(
                "gives {bytes_per_packet} bytes per packet (at most {} can be read)",
                u32::MAX / 8
            ),
        ));
    }
    Ok(HeaderFacts::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CAF file header and `desc` chunk (PCM unless `format` says otherwise).
    fn caf(
        rate: f64,
        channels: u32,
        bits: u32,
        bytes_per_packet: u32,
        format: &[u8; 4],
    ) -> Vec<u8> {
        let mut v = b"caff\x00\x01\x00\x00desc".to_vec();
        v.extend_from_slice(&32i64.to_be_bytes());
        v.extend_from_slice(&rate.to_be_bytes());
        v.extend_from_slice(format);
        for x in [2u32, bytes_per_packet, 1, channels, bits] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v
    }

    fn problem(bytes: &[u8]) -> String {
        check_caf(bytes, &DecodeLimits::default()).unwrap_err().to_string()
    }

    #[test]
    fn each_bad_desc_field_is_named() {
        let limits = DecodeLimits::default();
        assert!(check_caf(&caf(8000.0, 1, 16, 2, b"lpcm"), &limits).is_ok());
        assert!(check_caf(&caf(44_100.0, 2, 0, 0, b"aac "), &limits).is_ok());
        for rate in [0.0, -8000.0, 0.5, f64::NAN] {
            assert_eq!(
                problem(&caf(rate, 1, 16, 2, b"lpcm")),
                format!("the CAF header gives a sample rate of {rate} Hz")
            );
        }
        assert!(problem(&caf(f64::INFINITY, 1, 16, 2, b"lpcm")).contains("inf Hz"));
        assert!(problem(&caf(1e300, 1, 16, 2, b"lpcm")).starts_with("unsupported sample rate"));
        assert_eq!(problem(&caf(8000.0, 0, 16, 2, b"lpcm")), "the CAF header gives 0 channels");
        assert!(problem(&caf(8000.0, u32::MAX, 16, 2, b"lpcm")).contains("4294967295 channels"));
        assert!(problem(&caf(8000.0, 1, 65, 2, b"lpcm")).contains("65 bits per sample"));
        assert_eq!(
            problem(&caf(8000.0, 1, 16, 0, b"lpcm")),
            "the CAF header gives 0 bytes per packet for PCM audio"
        );
        assert_eq!(
            problem(&caf(8000.0, 1, 16, u32::MAX, b"aac ")),
            "the CAF header gives 4294967295 bytes per packet (at most 536870911 can be read)"
        );
    }

    #[test]
    fn a_cut_header_says_so() {
        let whole = caf(8000.0, 1, 16, 2, b"lpcm");
        assert_eq!(
            problem(&whole[..12]),
            "the CAF header is cut short: the file has 12 of the 52 bytes up to the end of its \
             'desc' chunk"
        );
        let mut other = whole.clone();
        other[8..12].copy_from_slice(b"data");
        assert_eq!(problem(&other), "the CAF header does not start with a 'desc' chunk");
    }
}
