//! Header guards: the stream parameters a file declares, checked before any decoder reads
//! the stream (pure, no I/O).
//!
//! WAV (RIFF and RF64, incl. `WAVE_FORMAT_EXTENSIBLE`), AIFF/AIFF-C and Sun AU headers are
//! parsed here just far enough to find the sample rate, channels, bits per sample, block
//! align and data length; the compressed formats' parameters (FLAC, MP3, Ogg, MP4, Matroska)
//! are checked as symphonia reports them after probing ([`check_stream`]). A rate of 0 Hz,
//! 0 channels, 0 or more than 64 bits, a block align of 0 or a header cut short is an
//! [`AudioError::InvalidHeader`]; a rate or channel count that is merely outside the limits is
//! [`AudioError::InvalidSampleRate`] or [`AudioError::UnsupportedChannels`]. A data length
//! beyond the end of the file is not an error (the file is truncated; what is present is
//! decoded), but it is reported in [`HeaderFacts`] so no one trusts or allocates for it.

use super::caf_guard::check_caf;
use super::error::AudioError;
use super::matroska_guard::check_matroska;
use super::{DecodeLimits, AU_MAGIC};

/// Most bits a sample can have (64-bit float or integer).
const MAX_BITS: u32 = 64;

/// What a header that passed the guard says about the data that follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HeaderFacts {
    /// The header announces more data than the file holds: a truncated file, whose declared
    /// length must not be trusted (for the duration limit) or allocated for.
    pub(crate) data_beyond_end: bool,
    /// The frame count the header gives, when it gives one (AIFF's `COMM`, a WAV's data
    /// length over its block align): truer than symphonia's for AIFF, which counts the
    /// `SSND` chunk's 8-byte offset and block-size fields as audio.
    pub(crate) declared_frames: Option<u64>,
}

/// The parameters of a stream as a decoder reports them; `None` where it does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StreamParams {
    /// Sample rate in Hz.
    pub(crate) sample_rate: Option<u32>,
    /// Channel count.
    pub(crate) channels: Option<u64>,
    /// Bits per (decoded or coded) sample.
    pub(crate) bits_per_sample: Option<u32>,
}

/// The guard's error: `format`'s header `problem` ("gives a sample rate of 0 Hz").
pub(super) fn invalid(format: &str, problem: impl Into<String>) -> AudioError {
    AudioError::InvalidHeader { format: format.to_string(), problem: problem.into() }
}

/// Checks the rate, channel count and sample size one header (or stream) declares.
pub(crate) fn check_stream(
    format: &str,
    params: &StreamParams,
    limits: &DecodeLimits,
) -> Result<(), AudioError> {
    if let Some(rate) = params.sample_rate {
        if rate == 0 {
            return Err(invalid(format, "gives a sample rate of 0 Hz"));
        }
        limits.check_sample_rate(rate)?;
    }
    if let Some(channels) = params.channels {
        if channels == 0 {
            return Err(invalid(format, "gives 0 channels"));
        }
        if channels > limits.max_channels as u64 {
            return Err(AudioError::UnsupportedChannels {
                detail: format!("{channels} channels (accepted: 1 to {})", limits.max_channels),
            });
        }
    }
    if let Some(bits) = params.bits_per_sample {
        if bits == 0 || bits > MAX_BITS {
            return Err(invalid(
                format,
                format!("gives {bits} bits per sample (a sample has 1 to {MAX_BITS})"),
            ));
        }
    }
    Ok(())
}

/// Checks the header of a WAV, RF64, AIFF/AIFF-C, AU, CAF or Matroska file; other bytes pass
/// unchecked (their decoders' parameters go through [`check_stream`]).
pub(crate) fn check_header(bytes: &[u8], limits: &DecodeLimits) -> Result<HeaderFacts, AudioError> {
    let at = |i: usize, magic: &[u8]| bytes.get(i..i + magic.len()) == Some(magic);
    if at(0, b"RIFF") && (bytes.len() < 12 || at(8, b"WAVE")) {
        check_wav("WAV", bytes, limits)
    } else if at(0, b"RF64") {
        check_wav("RF64", bytes, limits)
    } else if at(0, b"FORM") && (bytes.len() < 12 || at(8, b"AIFF") || at(8, b"AIFC")) {
        check_aiff(bytes, limits)
    } else if at(0, AU_MAGIC) {
        check_au(bytes, limits)
    } else if at(0, b"caff") {
        check_caf(bytes, limits)
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        check_matroska(bytes)?;
        Ok(HeaderFacts::default())
    } else {
        Ok(HeaderFacts::default())
    }
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn be_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The big-endian u32 at `at`.
pub(super) fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A chunk's four-character id for messages (`'fmt '`, or hex when not printable).
fn chunk_name(id: &[u8]) -> String {
    if id.iter().all(|b| (0x20..0x7f).contains(b)) {
        format!("'{}'", String::from_utf8_lossy(id))
    } else {
        let hex: Vec<String> = id.iter().map(|b| format!("{b:02x}")).collect();
        format!("0x{}", hex.join(""))
    }
}

/// One chunk of a RIFF or IFF file: its id, where its body starts, and its declared length.
struct Chunk<'a> {
    id: &'a [u8],
    body: usize,
    len: u64,
}

impl Chunk<'_> {
    /// The body, when it lies wholly within the file.
    fn body_in<'b>(&self, bytes: &'b [u8]) -> Option<&'b [u8]> {
        let end = (self.body as u64).checked_add(self.len)?;
        bytes.get(self.body..usize::try_from(end).ok()?)
    }
}

/// Walks the chunks from `start` until `stop(id)` is true, checking that every chunk before
/// it lies within the file. `big_endian` for IFF (AIFF), little for RIFF. `length_of` may
/// replace a chunk's declared length (RF64's `ds64` sizes).
fn find_chunk<'a>(
    format: &str,
    bytes: &'a [u8],
    start: usize,
    big_endian: bool,
    wanted: &[&[u8]],
    length_of: &dyn Fn(&[u8], u32) -> u64,
) -> Result<Chunk<'a>, AudioError> {
    let mut pos = start;
    loop {
        if pos + 8 > bytes.len() {
            let names: Vec<String> = wanted.iter().map(|id| chunk_name(id)).collect();
            return Err(invalid(
                format,
                format!(
                    "is cut short: the file ends after {} bytes, before its {} chunk",
                    bytes.len(),
                    names.join(" or ")
                ),
            ));
        }
        let id = &bytes[pos..pos + 4];
        let raw = if big_endian { be_u32(bytes, pos + 4) } else { le_u32(bytes, pos + 4) };
        let chunk = Chunk { id, body: pos + 8, len: length_of(id, raw) };
        if wanted.contains(&id) {
            return Ok(chunk);
        }
        let remaining = (bytes.len() - chunk.body) as u64;
        if chunk.len > remaining {
            return Err(invalid(
                format,
                format!(
                    "is cut short: its {} chunk claims {} bytes, but only {remaining} follow",
                    chunk_name(id),
                    chunk.len
                ),
            ));
        }
        // Chunks are padded to an even length.
        pos = chunk.body + chunk.len as usize + (chunk.len as usize & 1);
    }
}

/// WAV and RF64: the `fmt ` chunk's fields, then the `data` chunk's length.
fn check_wav(format: &str, bytes: &[u8], limits: &DecodeLimits) -> Result<HeaderFacts, AudioError> {
    if bytes.len() < 12 {
        return Err(invalid(
            format,
            format!("is cut short: the file has {} of the 12 bytes of a RIFF header", bytes.len()),
        ));
    }
    // RF64 keeps the real sizes in its `ds64` chunk (riff, data and sample count, u64 each);
    // a 32-bit size of 0xFFFFFFFF points there.
    let ds64_data = (format == "RF64" && bytes.get(12..16) == Some(b"ds64") && bytes.len() >= 36)
        .then(|| le_u64(bytes, 28));
    let length_of = |id: &[u8], raw: u32| match (id, ds64_data) {
        (b"data", Some(size)) if raw == u32::MAX => size,
        _ => u64::from(raw),
    };
    let fmt = find_chunk(format, bytes, 12, false, &[b"fmt ", b"data"], &length_of)?;
    if fmt.id == b"data" {
        return Err(invalid(format, "has its data chunk before its 'fmt ' chunk"));
    }
    let body = fmt.body_in(bytes).ok_or_else(|| {
        invalid(
            format,
            format!(
                "is cut short: its 'fmt ' chunk claims {} bytes, but only {} follow",
                fmt.len,
                bytes.len() - fmt.body
            ),
        )
    })?;
    if body.len() < 16 {
        return Err(invalid(
            format,
            format!("has a 'fmt ' chunk of {} bytes (at least 16 are needed)", body.len()),
        ));
    }
    let (tag, channels, rate) = (le_u16(body, 0), le_u16(body, 2), le_u32(body, 4));
    let (block_align, bits) = (le_u16(body, 12), le_u16(body, 14));
    check_stream(
        format,
        &StreamParams {
            sample_rate: Some(rate),
            channels: Some(u64::from(channels)),
            bits_per_sample: Some(u32::from(bits)),
        },
        limits,
    )?;
    if block_align == 0 {
        return Err(invalid(format, "gives a block align of 0 bytes (a frame takes at least 1)"));
    }
    const WAVE_FORMAT_EXTENSIBLE: u16 = 0xfffe;
    if tag == WAVE_FORMAT_EXTENSIBLE && body.len() >= 20 {
        let valid_bits = le_u16(body, 18);
        if valid_bits > bits {
            return Err(invalid(
                format,
                format!("gives {valid_bits} valid bits in samples of {bits} bits"),
            ));
        }
    }
    let next = fmt.body + fmt.len as usize + (fmt.len as usize & 1);
    let data = find_chunk(format, bytes, next, false, &[b"data"], &length_of)?;
    // The RIFF size bounds every chunk (RF64 keeps its real size in `ds64`).
    let riff_end = u64::from(le_u32(bytes, 4)) + 8;
    let data_end = (data.body as u64).saturating_add(data.len);
    if format == "WAV" && data_end > riff_end {
        return Err(invalid(
            format,
            format!(
                "gives a data chunk of {} bytes, which runs past the end of the RIFF size it \
                 also gives ({} bytes)",
                data.len,
                riff_end - 8
            ),
        ));
    }
    Ok(HeaderFacts {
        data_beyond_end: data.len > (bytes.len() - data.body) as u64,
        declared_frames: Some(data.len / u64::from(block_align)),
    })
}

/// An 80-bit IEEE 754 extended float (AIFF's sample rate), as f64.
fn extended_to_f64(b: &[u8]) -> f64 {
    let sign = if b[0] & 0x80 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from(be_u16(b, 0) & 0x7fff);
    let mantissa = u64::from_be_bytes(b[2..10].try_into().expect("8 bytes"));
    if exponent == 0x7fff {
        return if mantissa << 1 == 0 { sign * f64::INFINITY } else { f64::NAN };
    }
    sign * mantissa as f64 * 2f64.powi(exponent - 16_383 - 63)
}

/// AIFF and AIFF-C: the `COMM` chunk's fields (the rate an 80-bit float), then the `SSND`
/// chunk's length.
fn check_aiff(bytes: &[u8], limits: &DecodeLimits) -> Result<HeaderFacts, AudioError> {
    let format = if bytes.get(8..12) == Some(b"AIFC") { "AIFF-C" } else { "AIFF" };
    if bytes.len() < 12 {
        return Err(invalid(
            format,
            format!("is cut short: the file has {} of the 12 bytes of a FORM header", bytes.len()),
        ));
    }
    let length_of = |_: &[u8], raw: u32| u64::from(raw);
    let comm = find_chunk(format, bytes, 12, true, &[b"COMM"], &length_of)?;
    let body = comm.body_in(bytes).filter(|b| b.len() >= 18).ok_or_else(|| {
        invalid(
            format,
            format!(
                "is cut short: its COMM chunk claims {} bytes, {} follow (18 are needed)",
                comm.len,
                bytes.len() - comm.body
            ),
        )
    })?;
    let channels = i16::from_be_bytes([body[0], body[1]]);
    let frames = be_u32(body, 2);
    let bits = i16::from_be_bytes([body[6], body[7]]);
    let rate = extended_to_f64(&body[8..18]);
    if !rate.is_finite() {
        return Err(invalid(format, format!("gives a sample rate of {rate} Hz")));
    }
    if rate < 1.0 && rate != 0.0 {
        return Err(invalid(format, format!("gives a sample rate of {rate} Hz")));
    }
    if channels < 0 {
        return Err(invalid(format, format!("gives {channels} channels")));
    }
    if bits < 0 {
        return Err(invalid(format, format!("gives {bits} bits per sample")));
    }
    check_stream(
        format,
        &StreamParams {
            // Saturating: a rate beyond u32 is refused by the limits all the same.
            sample_rate: Some(rate as u32),
            channels: Some(channels as u64),
            bits_per_sample: Some(bits as u32),
        },
        limits,
    )?;
    let next = comm.body + comm.len as usize + (comm.len as usize & 1);
    let Ok(ssnd) = find_chunk(format, bytes, next, true, &[b"SSND"], &length_of) else {
        // The COMM chunk may follow the sound data; symphonia says what is missing then.
        return Ok(HeaderFacts::default());
    };
    let frame_bytes = (bits as u64).div_ceil(8) * channels as u64;
    let present = (bytes.len() - ssnd.body) as u64;
    let claimed = u64::from(frames) * frame_bytes;
    Ok(HeaderFacts {
        data_beyond_end: ssnd.len > present || claimed > present,
        declared_frames: Some(u64::from(frames)),
    })
}

/// Sun AU: a 24-byte big-endian header (offset, size, encoding, rate, channels).
fn check_au(bytes: &[u8], limits: &DecodeLimits) -> Result<HeaderFacts, AudioError> {
    if bytes.len() < 24 {
        return Err(invalid(
            "AU",
            format!("is cut short: the file has {} of its 24 bytes", bytes.len()),
        ));
    }
    let channels = be_u32(bytes, 20);
    check_stream(
        "AU",
        &StreamParams {
            sample_rate: Some(be_u32(bytes, 16)),
            channels: Some(u64::from(channels)),
            bits_per_sample: None,
        },
        limits,
    )?;
    let (offset, size) = (be_u32(bytes, 4) as u64, be_u32(bytes, 8));
    let present = (bytes.len() as u64).saturating_sub(offset);
    Ok(HeaderFacts {
        data_beyond_end: size != u32::MAX && u64::from(size) > present,
        declared_frames: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(tag: u16, channels: u16, rate: u32, align: u16, bits: u16, data: u32) -> Vec<u8> {
        let mut v = b"RIFF\xff\xff\xff\xffWAVEfmt ".to_vec();
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        v.extend_from_slice(&align.to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&data.to_le_bytes());
        v.extend_from_slice(&[0; 16]);
        v
    }

    fn problem(bytes: &[u8]) -> String {
        check_header(bytes, &DecodeLimits::default()).unwrap_err().to_string()
    }

    #[test]
    fn a_sane_wav_passes_and_a_long_data_chunk_is_truncation() {
        let limits = DecodeLimits::default();
        let facts = check_header(&wav(1, 2, 44_100, 4, 16, 16), &limits).unwrap();
        assert_eq!(facts, HeaderFacts { data_beyond_end: false, declared_frames: Some(4) });
        let mut beyond = wav(1, 2, 44_100, 4, 16, u32::MAX - 36);
        beyond[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(check_header(&beyond, &limits).unwrap().data_beyond_end);
        assert_eq!(
            problem(&wav(1, 2, 44_100, 4, 16, u32::MAX)),
            "the WAV header gives a data chunk of 4294967295 bytes, which runs past the end of \
             the RIFF size it also gives (4294967295 bytes)"
        );
    }

    #[test]
    fn each_bad_wav_field_is_named() {
        assert_eq!(problem(&wav(1, 1, 0, 2, 16, 16)), "the WAV header gives a sample rate of 0 Hz");
        assert_eq!(problem(&wav(1, 0, 8000, 2, 16, 16)), "the WAV header gives 0 channels");
        assert_eq!(
            problem(&wav(1, 1, 8000, 2, 0, 16)),
            "the WAV header gives 0 bits per sample (a sample has 1 to 64)"
        );
        assert!(problem(&wav(1, 1, 8000, 2, 65, 16)).contains("65 bits per sample"));
        assert_eq!(
            problem(&wav(1, 1, 8000, 0, 16, 16)),
            "the WAV header gives a block align of 0 bytes (a frame takes at least 1)"
        );
        assert_eq!(
            problem(&wav(1, 1, 800_000, 2, 16, 16)),
            "unsupported sample rate 800000 Hz (accepted: 1000 to 768000 Hz)"
        );
        assert_eq!(
            problem(&wav(1, 33, 8000, 66, 16, 16)),
            "unsupported channel layout: 33 channels (accepted: 1 to 32)"
        );
    }

    #[test]
    fn headers_cut_short_say_where() {
        let whole = wav(1, 1, 8000, 2, 16, 16);
        assert_eq!(
            problem(&whole[..8]),
            "the WAV header is cut short: the file has 8 of the 12 bytes of a RIFF header"
        );
        assert_eq!(
            problem(&whole[..30]),
            "the WAV header is cut short: its 'fmt ' chunk claims 16 bytes, but only 10 follow"
        );
        assert_eq!(
            problem(&whole[..36]),
            "the WAV header is cut short: the file ends after 36 bytes, before its 'data' chunk"
        );
        let mut huge_list = b"RIFF\0\0\0\0WAVELIST".to_vec();
        huge_list.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            problem(&huge_list),
            "the WAV header is cut short: its 'LIST' chunk claims 4294967295 bytes, but only 0 \
             follow"
        );
    }

    #[test]
    fn extensible_valid_bits_cannot_exceed_the_sample() {
        let mut v = wav(0xfffe, 1, 8000, 2, 16, 16);
        v[16..20].copy_from_slice(&40u32.to_le_bytes());
        let mut ext = 22u16.to_le_bytes().to_vec();
        ext.extend_from_slice(&24u16.to_le_bytes());
        ext.extend_from_slice(&[0; 20]);
        v.splice(36..36, ext);
        assert_eq!(problem(&v), "the WAV header gives 24 valid bits in samples of 16 bits");
    }

    fn aiff(channels: i16, bits: i16, rate: [u8; 10], frames: u32) -> Vec<u8> {
        let mut v = b"FORM\0\0\0\0AIFFCOMM".to_vec();
        v.extend_from_slice(&18u32.to_be_bytes());
        v.extend_from_slice(&channels.to_be_bytes());
        v.extend_from_slice(&frames.to_be_bytes());
        v.extend_from_slice(&bits.to_be_bytes());
        v.extend_from_slice(&rate);
        v.extend_from_slice(b"SSND");
        v.extend_from_slice(&24u32.to_be_bytes());
        v.extend_from_slice(&[0; 24]);
        v
    }

    /// 44100 Hz as an 80-bit extended float.
    const RATE_44100: [u8; 10] = [0x40, 0x0e, 0xac, 0x44, 0, 0, 0, 0, 0, 0];

    #[test]
    fn aiff_rates_are_read_as_80_bit_floats() {
        assert_eq!(extended_to_f64(&RATE_44100), 44_100.0);
        assert_eq!(extended_to_f64(&[0; 10]), 0.0);
        assert!(extended_to_f64(&[0x7f, 0xff, 0xc0, 0, 0, 0, 0, 0, 0, 0]).is_nan());
        let limits = DecodeLimits::default();
        let facts = check_header(&aiff(1, 16, RATE_44100, 8), &limits).unwrap();
        assert_eq!(facts, HeaderFacts { data_beyond_end: false, declared_frames: Some(8) });
        assert!(check_header(&aiff(1, 16, RATE_44100, 1000), &limits).unwrap().data_beyond_end);
        assert_eq!(
            problem(&aiff(1, 16, [0; 10], 8)),
            "the AIFF header gives a sample rate of 0 Hz"
        );
        assert_eq!(
            problem(&aiff(1, 16, [0x7f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0], 8)),
            "the AIFF header gives a sample rate of inf Hz"
        );
        assert_eq!(problem(&aiff(-2, 16, RATE_44100, 8)), "the AIFF header gives -2 channels");
        assert!(problem(&aiff(1, 0, RATE_44100, 8)).contains("0 bits per sample"));
    }

    #[test]
    fn au_headers_are_checked_too() {
        let au = |rate: u32, channels: u32| {
            let mut v = AU_MAGIC.to_vec();
            for x in [24u32, 8, 3, rate, channels] {
                v.extend_from_slice(&x.to_be_bytes());
            }
            v
        };
        assert_eq!(problem(&au(0, 1)), "the AU header gives a sample rate of 0 Hz");
        assert_eq!(problem(&au(8000, 0)), "the AU header gives 0 channels");
        assert_eq!(
            problem(&au(8000, 1)[..10]),
            "the AU header is cut short: the file has 10 of its 24 bytes"
        );
        assert!(check_header(&au(8000, 1), &DecodeLimits::default()).unwrap().data_beyond_end);
    }

    #[test]
    fn stream_parameters_of_compressed_formats() {
        let limits = DecodeLimits::default();
        let ok = StreamParams {
            sample_rate: Some(44_100),
            channels: Some(2),
            bits_per_sample: Some(16),
        };
        assert_eq!(check_stream("FLAC", &ok, &limits), Ok(()));
        assert_eq!(check_stream("MP3", &StreamParams::default(), &limits), Ok(()));
        let zero = StreamParams { sample_rate: Some(0), ..ok };
        assert_eq!(
            check_stream("FLAC", &zero, &limits).unwrap_err().to_string(),
            "the FLAC header gives a sample rate of 0 Hz"
        );
    }
}
