//! Structure-aware property tests: WAV (RIFF and RF64), Sun AU, AIFF/AIFF-C and CAF headers whose
//! every field is drawn from edge values (0, 1, max - 1, max, a sane value, anything),
//! followed by a little data, and valid files with one to three header fields set to such
//! values. Decoding never panics (a caught decoder panic,
//! `AudioError::DecoderFailure`, fails the test), never yields more samples than the data
//! could hold, and every error names its cause.

use genrescope::audio::{load_mono, AudioError, DecodeLimits};
use proptest::prelude::*;

/// Cases per format: enough to hit each edge of each field, few enough for CI.
const CASES: u32 = 256;

/// One of the `edges` (each as likely as the others), one of the `sane` values (three times
/// as likely as one edge), or anything (as likely as one edge).
fn edge_or<T>(edges: Vec<T>, sane: &'static [T]) -> BoxedStrategy<T>
where
    T: Arbitrary + Clone + std::fmt::Debug + 'static,
{
    let n = edges.len() as u32;
    prop_oneof![
        n => proptest::sample::select(edges),
        3 => proptest::sample::select(sane),
        1 => any::<T>(),
    ]
    .boxed()
}

/// 0, 1, max - 1, max, a few sane values, or anything.
fn edge_u32(sane: &'static [u32]) -> BoxedStrategy<u32> {
    edge_or(vec![0, 1, u32::MAX - 1, u32::MAX], sane)
}

fn edge_u16(sane: &'static [u16]) -> BoxedStrategy<u16> {
    edge_or(vec![0, 1, u16::MAX - 1, u16::MAX], sane)
}

/// 0, 1, -1, min, max, a few sane values, or anything.
fn edge_i16(sane: &'static [i16]) -> BoxedStrategy<i16> {
    edge_or(vec![0, 1, -1, i16::MIN, i16::MAX], sane)
}

/// A little data after the header (sometimes none).
fn data() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..96)
}

/// Decodes and resamples `bytes` and checks the outcome: a value with at most as many
/// samples as the data could hold (two per byte: 4-bit ADPCM), or an error that names its
/// cause. A panic anywhere (caught as `DecoderFailure`, or not) fails the test.
fn check(bytes: Vec<u8>, extension: &str) -> Result<(), TestCaseError> {
    let len = bytes.len();
    let limits = DecodeLimits::default();
    match load_mono(bytes, Some(extension), 22_050, &limits) {
        Ok(audio) => {
            let source_samples =
                audio.samples.len() as f64 * audio.source_sample_rate as f64 / 22_050.0;
            prop_assert!(source_samples <= 2.0 * len as f64 + 1.0, "{source_samples} from {len} B");
            prop_assert!(audio.samples.iter().all(|x| x.is_finite()));
        }
        Err(err) => {
            prop_assert!(!matches!(err, AudioError::DecoderFailure { .. }), "panic: {err}");
            let text = err.to_string();
            prop_assert!(!text.contains('\n'), "{text}");
            let detail = match &err {
                AudioError::UnrecognisedFormat { detail }
                | AudioError::Corrupt { detail }
                | AudioError::UnsupportedChannels { detail }
                | AudioError::Resample { detail } => detail.clone(),
                AudioError::UnsupportedCodec { codec } => codec.clone(),
                AudioError::InvalidHeader { format, problem } => format!("{format}{problem}"),
                other => other.to_string(),
            };
            // A cause in words: more than a word or two, never a placeholder.
            prop_assert!(detail.trim().len() >= 6, "{err:?}");
            prop_assert!(text.len() >= 20, "{text}");
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct WavHeader {
    rf64: bool,
    riff_size: u32,
    fmt_len: u32,
    tag: u16,
    channels: u16,
    rate: u32,
    byte_rate: u32,
    block_align: u16,
    bits: u16,
    cb_size: u16,
    valid_bits: u16,
    sub_tag: u16,
    data_len: u32,
    ds64_data: u64,
}

fn wav_header() -> impl Strategy<Value = WavHeader> {
    (
        (any::<bool>(), edge_u32(&[36, 100]), edge_u32(&[16, 18, 40])),
        (edge_u16(&[1, 3, 0xfffe, 2, 0x11, 6, 7]), edge_u16(&[1, 2, 6]), edge_u32(&[8000, 44_100])),
        (edge_u32(&[16_000, 176_400]), edge_u16(&[1, 2, 4, 8]), edge_u16(&[8, 16, 24, 32, 64])),
        (edge_u16(&[22]), edge_u16(&[16, 24]), edge_u16(&[1, 3])),
        (edge_u32(&[16, 64]), prop_oneof![Just(0u64), Just(u64::MAX), Just(64), any::<u64>()]),
    )
        .prop_map(|(a, b, c, d, e)| WavHeader {
            rf64: a.0 && a.1 % 4 == 0,
            riff_size: a.1,
            fmt_len: a.2,
            tag: b.0,
            channels: b.1,
            rate: b.2,
            byte_rate: c.0,
            block_align: c.1,
            bits: c.2,
            cb_size: d.0,
            valid_bits: d.1,
            sub_tag: d.2,
            data_len: e.0,
            ds64_data: e.1,
        })
}

fn wav_bytes(h: &WavHeader, data: &[u8]) -> Vec<u8> {
    let mut v = if h.rf64 { b"RF64".to_vec() } else { b"RIFF".to_vec() };
    v.extend_from_slice(&h.riff_size.to_le_bytes());
    v.extend_from_slice(b"WAVE");
    if h.rf64 {
        v.extend_from_slice(b"ds64");
        v.extend_from_slice(&28u32.to_le_bytes());
        v.extend_from_slice(&u64::from(h.riff_size).to_le_bytes());
        v.extend_from_slice(&h.ds64_data.to_le_bytes());
        v.extend_from_slice(&0u64.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
    }
    v.extend_from_slice(b"fmt ");
    v.extend_from_slice(&h.fmt_len.to_le_bytes());
    v.extend_from_slice(&h.tag.to_le_bytes());
    v.extend_from_slice(&h.channels.to_le_bytes());
    v.extend_from_slice(&h.rate.to_le_bytes());
    v.extend_from_slice(&h.byte_rate.to_le_bytes());
    v.extend_from_slice(&h.block_align.to_le_bytes());
    v.extend_from_slice(&h.bits.to_le_bytes());
    if h.fmt_len >= 18 && h.fmt_len <= 40 {
        // cbSize, then (extensible) valid bits, channel mask and the sub-format GUID.
        let mut extra = h.cb_size.to_le_bytes().to_vec();
        extra.extend_from_slice(&h.valid_bits.to_le_bytes());
        extra.extend_from_slice(&3u32.to_le_bytes());
        extra.extend_from_slice(&h.sub_tag.to_le_bytes());
        extra.extend_from_slice(&[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]);
        extra.truncate(h.fmt_len as usize - 16);
        v.extend_from_slice(&extra);
    }
    v.extend_from_slice(b"data");
    v.extend_from_slice(&h.data_len.to_le_bytes());
    v.extend_from_slice(data);
    v
}

#[derive(Debug, Clone)]
struct AuHeader {
    offset: u32,
    size: u32,
    encoding: u32,
    rate: u32,
    channels: u32,
}

fn au_header() -> impl Strategy<Value = AuHeader> {
    (
        edge_u32(&[24, 32]),
        edge_u32(&[16, 64]),
        edge_u32(&[1, 2, 3, 4, 5, 6, 7, 27]),
        edge_u32(&[8000, 22_050]),
        edge_u32(&[1, 2]),
    )
        .prop_map(|(offset, size, encoding, rate, channels)| AuHeader {
            offset,
            size,
            encoding,
            rate,
            channels,
        })
}

fn au_bytes(h: &AuHeader, data: &[u8]) -> Vec<u8> {
    let mut v = b".snd".to_vec();
    for x in [h.offset, h.size, h.encoding, h.rate, h.channels] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

#[derive(Debug, Clone)]
struct AiffHeader {
    aifc: bool,
    form_len: u32,
    comm_len: u32,
    channels: i16,
    frames: u32,
    bits: i16,
    rate_exponent: u16,
    rate_mantissa: u64,
    compression: [u8; 4],
    ssnd_len: u32,
    ssnd_offset: u32,
}

fn aiff_header() -> impl Strategy<Value = AiffHeader> {
    (
        (any::<bool>(), edge_u32(&[46, 200]), edge_u32(&[18, 22, 24])),
        (edge_i16(&[1, 2]), edge_u32(&[8, 1000]), edge_i16(&[8, 16, 24, 32])),
        (
            // 0x400e is 2^15: with the mantissa below, 44100 Hz.
            edge_u16(&[0x400e, 0x400b, 0x3fff, 0x7fff]),
            prop_oneof![
                Just(0u64),
                Just(1),
                Just(u64::MAX),
                Just(0xac44_u64 << 48),
                Just(1 << 63),
                any::<u64>()
            ],
        ),
        (
            proptest::sample::select(vec![*b"NONE", *b"sowt", *b"fl32", *b"ima4", *b"????"]),
            edge_u32(&[8, 72]),
            edge_u32(&[0, 4]),
        ),
    )
        .prop_map(|(a, b, c, d)| AiffHeader {
            aifc: a.0,
            form_len: a.1,
            comm_len: a.2,
            channels: b.0,
            frames: b.1,
            bits: b.2,
            rate_exponent: c.0,
            rate_mantissa: c.1,
            compression: d.0,
            ssnd_len: d.1,
            ssnd_offset: d.2,
        })
}

fn aiff_bytes(h: &AiffHeader, data: &[u8]) -> Vec<u8> {
    let mut v = b"FORM".to_vec();
    v.extend_from_slice(&h.form_len.to_be_bytes());
    v.extend_from_slice(if h.aifc { b"AIFC" } else { b"AIFF" });
    v.extend_from_slice(b"COMM");
    v.extend_from_slice(&h.comm_len.to_be_bytes());
    v.extend_from_slice(&h.channels.to_be_bytes());
    v.extend_from_slice(&h.frames.to_be_bytes());
    v.extend_from_slice(&h.bits.to_be_bytes());
    v.extend_from_slice(&h.rate_exponent.to_be_bytes());
    v.extend_from_slice(&h.rate_mantissa.to_be_bytes());
    if h.aifc {
        v.extend_from_slice(&h.compression);
        v.extend_from_slice(&[0, 0]); // an empty Pascal string
    }
    v.extend_from_slice(b"SSND");
    v.extend_from_slice(&h.ssnd_len.to_be_bytes());
    v.extend_from_slice(&h.ssnd_offset.to_be_bytes());
    v.extend_from_slice(&0u32.to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// One header field of a valid template: byte offset, width in bytes, big-endian or not.
type Field = (usize, usize, bool);

/// A valid file and its header fields: edits of one to three fields to edge values reach
/// each check behind the others (a wholly random header mostly fails at the first field).
fn template(kind: usize, data: &[u8]) -> (Vec<u8>, &'static [Field], &'static str) {
    const WAV: &[Field] = &[
        (4, 4, false),
        (16, 4, false),
        (20, 2, false),
        (22, 2, false),
        (24, 4, false),
        (28, 4, false),
        (32, 2, false),
        (34, 2, false),
        (40, 4, false),
    ];
    const WAV_EXTENSIBLE: &[Field] = &[
        (4, 4, false),
        (16, 4, false),
        (22, 2, false),
        (24, 4, false),
        (32, 2, false),
        (34, 2, false),
        (36, 2, false),
        (38, 2, false),
        (40, 4, false),
        (44, 2, false),
        (64, 4, false),
    ];
    const AU: &[Field] = &[(4, 4, true), (8, 4, true), (12, 4, true), (16, 4, true), (20, 4, true)];
    const AIFF: &[Field] = &[
        (4, 4, true),
        (16, 4, true),
        (20, 2, true),
        (22, 4, true),
        (26, 2, true),
        (28, 2, true),
        (30, 8, true),
        (42, 4, true),
        (46, 4, true),
    ];
    let even = &data[..data.len() & !3];
    match kind {
        0 => {
            let h = WavHeader {
                rf64: false,
                riff_size: 36 + even.len() as u32,
                fmt_len: 16,
                tag: 1,
                channels: 2,
                rate: 8000,
                byte_rate: 32_000,
                block_align: 4,
                bits: 16,
                cb_size: 0,
                valid_bits: 0,
                sub_tag: 0,
                data_len: even.len() as u32,
                ds64_data: 0,
            };
            (wav_bytes(&h, even), WAV, "wav")
        }
        1 => {
            let h = WavHeader {
                rf64: false,
                riff_size: 60 + even.len() as u32,
                fmt_len: 40,
                tag: 0xfffe,
                channels: 1,
                rate: 22_050,
                byte_rate: 88_200,
                block_align: 4,
                bits: 32,
                cb_size: 22,
                valid_bits: 32,
                sub_tag: 3,
                data_len: even.len() as u32,
                ds64_data: 0,
            };
            (wav_bytes(&h, even), WAV_EXTENSIBLE, "wav")
        }
        2 => {
            let h = AuHeader {
                offset: 24,
                size: even.len() as u32,
                encoding: 3,
                rate: 8000,
                channels: 2,
            };
            (au_bytes(&h, even), AU, "au")
        }
        3 => {
            let h = AiffHeader {
                aifc: false,
                form_len: 46 + even.len() as u32,
                comm_len: 18,
                channels: 2,
                frames: even.len() as u32 / 4,
                bits: 16,
                rate_exponent: 0x400e,
                rate_mantissa: 0xac44_u64 << 48,
                compression: *b"NONE",
                ssnd_len: 8 + even.len() as u32,
                ssnd_offset: 0,
            };
            (aiff_bytes(&h, even), AIFF, "aiff")
        }
        _ => {
            const CAF: &[Field] = &[
                (12, 8, true),
                (20, 8, true),
                (32, 4, true),
                (36, 4, true),
                (40, 4, true),
                (44, 4, true),
                (48, 4, true),
                (56, 8, true),
            ];
            (caf_bytes(even), CAF, "caf")
        }
    }
}

/// A valid CAF file: 16-bit big-endian PCM, stereo, 8000 Hz, `data` after the `desc` chunk.
fn caf_bytes(data: &[u8]) -> Vec<u8> {
    let mut v = b"caff\x00\x01\x00\x00desc".to_vec();
    v.extend_from_slice(&32i64.to_be_bytes());
    v.extend_from_slice(&8000f64.to_be_bytes());
    v.extend_from_slice(b"lpcm");
    for x in [2u32, 4, 1, 2, 16] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(4 + data.len() as i64).to_be_bytes());
    v.extend_from_slice(&0u32.to_be_bytes());
    v.extend_from_slice(data);
    v
}

/// An edge value for a field `width` bytes wide: 0, 1, max - 1, max, small, or anything.
fn edge_value(kind: u8, random: u64, width: usize) -> u64 {
    let max = if width == 8 { u64::MAX } else { (1u64 << (8 * width)) - 1 };
    match kind % 6 {
        0 => 0,
        1 => 1,
        2 => max - 1,
        3 => max,
        4 => random % 9,
        _ => random & max,
    }
}

fn mutated(
    kind: usize,
    data: &[u8],
    edits: &[(prop::sample::Index, u8, u64)],
) -> (Vec<u8>, &'static str) {
    let (mut bytes, fields, extension) = template(kind, data);
    for (field, edge, random) in edits {
        let (at, width, big) = fields[field.index(fields.len())];
        let value = edge_value(*edge, *random, width);
        let all = if big { value.to_be_bytes() } else { value.to_le_bytes() };
        let used = if big { &all[8 - width..] } else { &all[..width] };
        bytes[at..at + width].copy_from_slice(used);
    }
    (bytes, extension)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn wav_headers_never_panic(h in wav_header(), data in data()) {
        check(wav_bytes(&h, &data), "wav")?;
    }

    #[test]
    fn au_headers_never_panic(h in au_header(), data in data()) {
        check(au_bytes(&h, &data), "au")?;
    }

    #[test]
    fn aiff_headers_never_panic(h in aiff_header(), data in data()) {
        check(aiff_bytes(&h, &data), "aiff")?;
    }

    #[test]
    fn headers_cut_anywhere_never_panic(
        h in wav_header(),
        a in au_header(),
        f in aiff_header(),
        data in data(),
        cut in any::<prop::sample::Index>(),
    ) {
        for (bytes, ext) in
            [(wav_bytes(&h, &data), "wav"), (au_bytes(&a, &data), "au"), (aiff_bytes(&f, &data), "aiff")]
        {
            let at = cut.index(bytes.len() + 1);
            check(bytes[..at].to_vec(), ext)?;
        }
    }
}

proptest! {
    // CASES for each of the five templates.
    #![proptest_config(ProptestConfig { cases: 5 * CASES, ..ProptestConfig::default() })]

    #[test]
    fn templates_with_edge_fields_never_panic(
        kind in 0usize..5,
        data in data(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u64>()), 1..4),
    ) {
        let (bytes, extension) = mutated(kind, &data, &edits);
        check(bytes, extension)?;
    }
}
