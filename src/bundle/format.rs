//! The container: magic, version, length-prefixed JSON header and weights, CRC-32.
//!
//! ```text
//! offset      size  content
//! 0           8     magic  89 47 53 43 4F 50 45 0A  ("\x89GSCOPE\n")
//! 8           4     format version, u32 little-endian (1 to 4; this build writes 4)
//! 12          4     H = header length in bytes, u32 little-endian
//! 16          H     header, UTF-8 JSON (SpectrogramHeader)
//! 16+H        8     W = weights length in bytes, u64 little-endian
//! 24+H        W     weights: a Burn 0.22 burnpack record (see `weights`)
//! 24+H+W      4     CRC-32 (IEEE, as zlib) of bytes 0 .. 24+H+W, u32 little-endian
//! 28+H+W            end of file (nothing may follow)
//! ```
//!
//! Versions: v1 holds f32 weights and no `weight_storage` header field. v2 adds the header
//! field `weight_storage` (`f32`, `f16` or `int8`, see `storage`); its weight matrices may
//! be stored compactly. v3 adds the header field `kind` (see [`ModelKind`](super::ModelKind)):
//! `spectrogram` (the default when absent), `table` (a network on clip descriptors, see
//! `table`) or `fusion` (several member bundles, see `fusion`; its "weights" section is the
//! members' bundles one after the other). v4 adds detached fusion members (a member's
//! bundle in a file beside the fusion, see `fusion`); a v3 reader would take such a
//! member's header-only stand-in for the model, so the version says it needs a v4 reader.
//! The byte layout is the same, so this build reads all four.
//!
//! The high first byte marks the file as binary and the trailing newline catches text-mode
//! transfers, as in PNG. All offsets are computed in `u64`, so a hostile length cannot
//! overflow on wasm32.

use super::crc32::crc32;
use super::error::BundleError;

/// The 8 bytes every bundle starts with.
pub const MAGIC: [u8; 8] = *b"\x89GSCOPE\n";

/// The format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 4;

/// Bytes before the header: magic, version, header length.
pub const PREAMBLE_LEN: usize = 16;

/// The framed parts of a bundle, borrowed from its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Sections<'a> {
    /// The format version (1 ..= [`FORMAT_VERSION`]).
    pub version: u32,
    /// The JSON header bytes.
    pub header: &'a [u8],
    /// The burnpack weight bytes.
    pub weights: &'a [u8],
}

/// Frames `header` and `weights` into a complete bundle.
pub fn write(header: &[u8], weights: &[u8]) -> Result<Vec<u8>, BundleError> {
    let header_len = u32::try_from(header.len()).map_err(|_| {
        BundleError::Serialise(format!("header of {} bytes is too long", header.len()))
    })?;
    let mut out = Vec::with_capacity(PREAMBLE_LEN + header.len() + 8 + weights.len() + 4);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&(weights.len() as u64).to_le_bytes());
    out.extend_from_slice(weights);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Checks magic and version and returns the version and the header bytes. Needs only the
/// bytes up to the end of the header; the weights and checksum are not looked at.
pub fn read_header_section(bytes: &[u8]) -> Result<(u32, &[u8]), BundleError> {
    let (version, header_len) = check_preamble(bytes)?;
    let end = PREAMBLE_LEN as u64 + header_len as u64;
    Ok((version, slice(bytes, PREAMBLE_LEN as u64, end, "the JSON header")?))
}

/// Checks the whole container (magic, version, every length, no trailing bytes, checksum)
/// and returns its sections.
pub fn read(bytes: &[u8]) -> Result<Sections<'_>, BundleError> {
    let (version, header_len) = check_preamble(bytes)?;
    let header_end = PREAMBLE_LEN as u64 + header_len as u64;
    let header = slice(bytes, PREAMBLE_LEN as u64, header_end, "the JSON header")?;
    let weights_len_bytes = slice(bytes, header_end, header_end + 8, "the weights length")?;
    let weights_len = u64::from_le_bytes(weights_len_bytes.try_into().expect("8 bytes"));
    let weights_start = header_end + 8;
    let weights_end = weights_start.saturating_add(weights_len);
    let weights = slice(bytes, weights_start, weights_end, "the weights")?;
    let total = weights_end.saturating_add(4);
    let crc_bytes = slice(bytes, weights_end, total, "the checksum")?;
    if bytes.len() as u64 > total {
        return Err(BundleError::TrailingBytes { expected: total, actual: bytes.len() as u64 });
    }
    let stored = u32::from_le_bytes(crc_bytes.try_into().expect("4 bytes"));
    // weights_end <= bytes.len(), so it fits in usize.
    let computed = crc32(&bytes[..weights_end as usize]);
    if stored != computed {
        return Err(BundleError::ChecksumMismatch { stored, computed });
    }
    Ok(Sections { version, header, weights })
}

/// Validates magic and version; returns the version and the header length.
fn check_preamble(bytes: &[u8]) -> Result<(u32, u32), BundleError> {
    if bytes.is_empty() {
        return Err(BundleError::Empty);
    }
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] != MAGIC[..n] {
        return Err(BundleError::NotABundle { found: describe_start(bytes) });
    }
    let magic_and_version = slice(bytes, 0, 12, "the format version")?;
    let version = u32::from_le_bytes(magic_and_version[8..12].try_into().expect("4 bytes"));
    if version == 0 {
        return Err(BundleError::InvalidVersion { found: version, supported: FORMAT_VERSION });
    }
    if version > FORMAT_VERSION {
        return Err(BundleError::NewerVersion { found: version, supported: FORMAT_VERSION });
    }
    let len = slice(bytes, 12, 16, "the header length")?;
    Ok((version, u32::from_le_bytes(len.try_into().expect("4 bytes"))))
}

/// `bytes[start..end]`, or a [`BundleError::Truncated`] naming `part`.
fn slice<'a>(
    bytes: &'a [u8],
    start: u64,
    end: u64,
    part: &'static str,
) -> Result<&'a [u8], BundleError> {
    let actual = bytes.len() as u64;
    if end > actual {
        return Err(BundleError::Truncated { part, expected: end, actual });
    }
    // start <= end <= len, so both fit in usize.
    Ok(&bytes[start as usize..end as usize])
}

/// The first bytes of a non-bundle input, escaped, with a guess at the format.
fn describe_start(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    let escaped: String =
        head.iter().flat_map(|b| std::ascii::escape_default(*b)).map(char::from).collect();
    let guess = if head.starts_with(b"NRUB") || head.starts_with(b"BURN") {
        Some("a bare Burn record, not a bundle: it lacks the header with labels and features")
    } else if head.starts_with(b"{") || head.starts_with(b"[") {
        Some("JSON text")
    } else if head.starts_with(b"PK\x03\x04") {
        Some("a zip archive")
    } else if head.starts_with(b"\x1f\x8b") {
        Some("gzip data: decompress it first")
    } else if head.starts_with(b"<") {
        Some("HTML or XML, perhaps an error page instead of the file")
    } else {
        None
    };
    match guess {
        Some(g) => format!("\"{escaped}\", which looks like {g}"),
        None => format!("\"{escaped}\""),
    }
}
