//! The Matroska/WebM header guard (pure, no I/O): walks the EBML header and the segment's
//! top-level elements up to `Info` and checks its `TimestampScale`, which symphonia turns
//! into a time base with `u32::try_from(scale).unwrap()` (a panic above `u32::MAX`) and
//! `TimeBase::new` (a panic at 0).

use super::error::AudioError;
use super::header_guard::invalid;

/// EBML ids (with their marker bits, as written).
const EBML_HEADER: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const CLUSTER: u32 = 0x1F43_B675;

/// An element's id, where its body starts, and its body length (`None`: unknown size).
struct Element {
    id: u32,
    body: usize,
    len: Option<u64>,
}

/// A variable-length integer at `at`: its value without the marker bit and its length, or
/// `None` when it is invalid or cut short. `keep_marker` keeps the marker (element ids).
fn vint(bytes: &[u8], at: usize, keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let raw = bytes.get(at..at + len)?.iter().fold(0u64, |v, &b| v << 8 | u64::from(b));
    if keep_marker {
        return Some((raw, len));
    }
    let value_bits = 7 * len as u32;
    Some((raw & ((1u64 << value_bits) - 1), len))
}

/// The element starting at `at`, or `None` when its id or size is invalid or cut short.
fn element(bytes: &[u8], at: usize) -> Option<Element> {
    let (id, id_len) = vint(bytes, at, true)?;
    if id_len > 4 {
        return None;
    }
    let (size, size_len) = vint(bytes, at + id_len, false)?;
    let unknown = size == (1u64 << (7 * size_len as u32)) - 1;
    Some(Element { id: id as u32, body: at + id_len + size_len, len: (!unknown).then_some(size) })
}

/// The position after an element of known size, when it fits in `usize`.
fn end_of(e: &Element) -> Option<usize> {
    usize::try_from(e.len?).ok().and_then(|len| e.body.checked_add(len))
}

/// The `TimestampScale` the `Info` element of a Matroska/WebM file gives, if it has one
/// within the bytes present.
fn timestamp_scale(bytes: &[u8]) -> Option<u64> {
    let header = element(bytes, 0).filter(|e| e.id == EBML_HEADER)?;
    let segment = element(bytes, end_of(&header)?).filter(|e| e.id == SEGMENT)?;
    let segment_end = end_of(&segment).map_or(bytes.len(), |end| end.min(bytes.len()));
    let mut at = segment.body;
    while at < segment_end {
        let child = element(bytes, at)?;
        if child.id == CLUSTER {
            return None;
        }
        if child.id == INFO {
            let info_end = end_of(&child).map_or(segment_end, |end| end.min(segment_end));
            let mut at = child.body;
            while at < info_end {
                let field = element(bytes, at)?;
                let end = end_of(&field)?;
                if field.id == TIMESTAMP_SCALE {
                    let value = bytes.get(field.body..end)?;
                    if value.len() > 8 {
                        return None;
                    }
                    return Some(value.iter().fold(0u64, |v, &b| v << 8 | u64::from(b)));
                }
                at = end;
            }
            return None;
        }
        at = end_of(&child)?;
    }
    None
}

/// Checks a Matroska/WebM file's timestamp scale (nanoseconds per timestamp tick): 0 or more
/// than `u32::MAX` is an [`AudioError::InvalidHeader`]. A header this walk cannot follow
/// passes (the demuxer judges the rest).
pub(crate) fn check_matroska(bytes: &[u8]) -> Result<(), AudioError> {
    match timestamp_scale(bytes) {
        Some(0) => Err(invalid("Matroska", "gives a timestamp scale of 0 ns")),
        Some(scale) if scale > u64::from(u32::MAX) => Err(invalid(
            "Matroska",
            format!("gives a timestamp scale of {scale} ns (at most {} ns can be read)", u32::MAX),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An element with a one-byte size.
    fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        v.push(0x80 | body.len() as u8);
        v.extend_from_slice(body);
        v
    }

    fn webm(scale: &[u8]) -> Vec<u8> {
        let ebml = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        let info = el(&[0x15, 0x49, 0xA9, 0x66], &el(&[0x2A, 0xD7, 0xB1], scale));
        let seek_head = el(&[0x11, 0x4D, 0x9B, 0x74], &[0xEC, 0x81, 0x00]);
        let mut segment =
            vec![0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        segment.extend(seek_head);
        segment.extend(info);
        [ebml, segment].concat()
    }

    fn problem(bytes: &[u8]) -> Option<String> {
        check_matroska(bytes).err().map(|e| e.to_string())
    }

    #[test]
    fn the_timestamp_scale_is_found_behind_other_elements_and_checked() {
        assert_eq!(timestamp_scale(&webm(&[0x0F, 0x42, 0x40])), Some(1_000_000));
        assert_eq!(problem(&webm(&[0x0F, 0x42, 0x40])), None);
        assert_eq!(
            problem(&webm(&[0])).as_deref(),
            Some("the Matroska header gives a timestamp scale of 0 ns")
        );
        assert_eq!(
            problem(&webm(&[1, 0, 0, 0, 0])).as_deref(),
            Some(
                "the Matroska header gives a timestamp scale of 4294967296 ns \
                 (at most 4294967295 ns can be read)"
            )
        );
    }

    #[test]
    fn headers_cut_short_or_garbled_pass_to_the_demuxer() {
        let whole = webm(&[0]);
        for cut in 0..whole.len() - 1 {
            assert_eq!(problem(&whole[..cut]), None, "cut at {cut}");
        }
        assert_eq!(problem(&[0x1A, 0x45, 0xDF, 0xA3, 0x00]), None);
        assert_eq!(problem(b"not matroska at all"), None);
    }
}
