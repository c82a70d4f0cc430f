//! Every kind of bad input gets its own error (or, for damaged but usable files, a flag),
//! and no input panics.

mod common;

use common::{fixture_bytes, wav_f32, wav_i16};
use genrescope::audio::{
    check_pcm, decode, decode_path, load_mono, AudioError, DecodeLimits, DecodeWarnings,
};

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

#[test]
fn empty_input() {
    assert_eq!(decode(Vec::new(), Some("wav"), &limits()), Err(AudioError::EmptyInput));
}

#[test]
fn text_named_mp3_is_unrecognised_and_says_it_is_text() {
    let err =
        decode(b"This is not music, just a note.\n".to_vec(), Some("mp3"), &limits()).unwrap_err();
    match &err {
        AudioError::UnrecognisedFormat { detail } => assert!(detail.contains("text"), "{detail}"),
        other => panic!("expected UnrecognisedFormat, got {other:?}"),
    }
    assert!(err.to_string().contains("not a recognised audio format"));
}

#[test]
fn an_image_is_named_as_such() {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0u8; 64]);
    let err = decode(png, Some("wav"), &limits()).unwrap_err();
    assert!(err.to_string().contains("PNG image"), "{err}");
}

#[test]
fn wav_with_unsupported_codec() {
    // WAV format tag 0x1234 is no codec anyone knows.
    let mut bytes = wav_i16(1, 8000, &[0.0; 100]);
    bytes[20..22].copy_from_slice(&0x1234u16.to_le_bytes());
    let err = decode(bytes, Some("wav"), &limits()).unwrap_err();
    assert!(matches!(err, AudioError::UnsupportedCodec { .. }), "{err:?}");
    assert!(err.to_string().contains("wav file"), "{err}");
}

#[test]
fn container_without_audio_track_or_samples() {
    let bytes = wav_i16(1, 22_050, &[]);
    assert_eq!(decode(bytes, Some("wav"), &limits()), Err(AudioError::NoSamples));
}

#[test]
fn nan_and_infinity_in_float_wav() {
    let mut samples = vec![0.1f32; 1000];
    samples[10] = f32::NAN;
    samples[20] = f32::INFINITY;
    let err = decode(wav_f32(1, 22_050, &samples), Some("wav"), &limits()).unwrap_err();
    assert_eq!(err, AudioError::NonFiniteSamples { count: 2, first_index: 10 });
    assert_eq!(
        check_pcm(&samples, 22_050, &limits()),
        Err(AudioError::NonFiniteSamples { count: 2, first_index: 10 })
    );
}

#[test]
fn truncated_wav_decodes_what_it_has_and_says_so() {
    let bytes = fixture_bytes("audio/gtzan_jazz_6s.wav");
    let cut = bytes[..bytes.len() / 2].to_vec();
    let d = decode(cut, Some("wav"), &limits()).unwrap();
    assert!(d.warnings.truncated);
    assert!((60_000..70_000).contains(&d.samples.len()), "{}", d.samples.len());
    let whole = decode(bytes, Some("wav"), &limits()).unwrap();
    assert!(!whole.warnings.truncated);
    assert_eq!(&whole.samples[..d.samples.len()], &d.samples[..]);
}

#[test]
fn a_truncated_file_on_disk_decodes_as_its_bytes_with_the_one_warning() {
    let bytes = fixture_bytes("audio/gtzan_jazz_6s.wav");
    let cut = bytes[..bytes.len() / 2].to_vec();
    let path = std::env::temp_dir().join(format!("genrescope-cut-{}.WAV", std::process::id()));
    std::fs::write(&path, &cut).unwrap();
    let from_file = decode_path(&path, &limits());
    let _ = std::fs::remove_file(&path);
    let from_file = from_file.unwrap();
    assert_eq!(from_file, decode(cut, Some("wav"), &limits()).unwrap());
    assert_eq!(
        from_file.warnings.messages(),
        ["the file ends before the length its header announces; the part present was used"]
    );
    assert_eq!(from_file.warnings, DecodeWarnings { truncated: true, skipped_packets: 0 });
}

#[test]
fn truncated_flac_mp3_ogg_and_au_keep_their_audio() {
    for name in ["gtzan_jazz_6s.flac", "gtzan_jazz_6s.mp3", "gtzan_jazz_6s.ogg", "gtzan_jazz_6s.au"]
    {
        let bytes = fixture_bytes(&format!("audio/{name}"));
        let cut = bytes[..bytes.len() * 6 / 10].to_vec();
        let d = decode(cut, name.rsplit('.').next(), &limits())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(d.samples.len() > 40_000, "{name}: only {} samples", d.samples.len());
        assert!(d.samples.len() < 132_300, "{name}: {} samples", d.samples.len());
        if name.ends_with("flac") || name.ends_with("au") {
            assert!(d.warnings.truncated, "{name} should report truncation");
        }
    }
}

#[test]
fn header_only_files_are_errors_not_panics() {
    for name in [
        "gtzan_jazz_6s.wav",
        "gtzan_jazz_6s.flac",
        "gtzan_jazz_6s.mp3",
        "gtzan_jazz_6s.ogg",
        "gtzan_jazz_6s.au",
    ] {
        let bytes = fixture_bytes(&format!("audio/{name}"));
        for cut in [1, 4, 12, 24, 44, 100] {
            let r = decode(bytes[..cut].to_vec(), name.rsplit('.').next(), &limits());
            assert!(r.is_err() || r.as_ref().unwrap().samples.len() < 100, "{name} cut at {cut}");
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // Flip bytes all over each real file with a fixed pseudo-random sequence.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in [
        "gtzan_jazz_6s.wav",
        "gtzan_jazz_6s.flac",
        "gtzan_jazz_6s.mp3",
        "gtzan_jazz_6s.ogg",
        "gtzan_jazz_6s.au",
    ] {
        let original = fixture_bytes(&format!("audio/{name}"));
        for _ in 0..12 {
            let mut bytes = original.clone();
            for _ in 0..64 {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = next() as u8;
            }
            // Any result is fine as long as it is a value, not a panic.
            let _ = load_mono(bytes, name.rsplit('.').next(), 22_050, &limits());
        }
    }
}

#[test]
fn garbage_mp3_is_corrupt() {
    // An MPEG sync word followed by noise.
    let mut bytes = vec![0xff, 0xfb, 0x90, 0x00];
    let mut x = 7u32;
    bytes.extend((0..20_000).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (x >> 16) as u8
    }));
    let err = decode(bytes, Some("mp3"), &limits()).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::Corrupt { .. }
                | AudioError::UnrecognisedFormat { .. }
                | AudioError::NoSamples
        ),
        "{err:?}"
    );
}

#[test]
fn size_and_duration_limits() {
    let small = DecodeLimits { max_input_bytes: 100, ..limits() };
    let bytes = wav_i16(1, 8000, &[0.0; 1000]);
    assert_eq!(
        decode(bytes.clone(), None, &small),
        Err(AudioError::TooLarge { bytes: bytes.len(), limit: 100 })
    );
    let short = DecodeLimits { max_duration_seconds: 0.1, ..limits() };
    let err = decode(bytes, None, &short).unwrap_err();
    assert!(matches!(err, AudioError::TooLong { .. }), "{err:?}");
    assert!(err.to_string().contains("the limit is 0.1 s"), "{err}");
    let hour_and_more = AudioError::TooLong { seconds: 3725.0, limit_seconds: 3600.0 };
    assert_eq!(
        hour_and_more.to_string(),
        "the audio is at least 1 h 02 min 05 s long; the limit is 1 h 00 min 00 s"
    );
}

#[test]
fn sample_rates_outside_the_limits() {
    let err = decode(wav_i16(1, 500, &[0.0; 100]), None, &limits()).unwrap_err();
    assert_eq!(err, AudioError::InvalidSampleRate { rate: 500, min: 1_000, max: 768_000 });
    assert!(matches!(check_pcm(&[0.0], 0, &limits()), Err(AudioError::InvalidSampleRate { .. })));
}

#[test]
fn silence_and_single_samples_are_accepted() {
    let silent =
        load_mono(wav_i16(1, 44_100, &vec![0.0; 44_100]), None, 22_050, &limits()).unwrap();
    assert_eq!(silent.samples.len(), 22_050);
    assert!(silent.samples.iter().all(|&x| x == 0.0));
    let one = load_mono(wav_i16(1, 22_050, &[0.5]), None, 22_050, &limits()).unwrap();
    assert_eq!(one.samples.len(), 1);
}

#[test]
fn many_channels_and_rates_downmix_and_resample() {
    for (channels, rate) in [(1u16, 8_000u32), (2, 44_100), (6, 48_000), (8, 96_000), (2, 192_000)]
    {
        let frames = rate as usize / 2;
        // Channel c carries a sine of its own phase; the mean is deterministic.
        let interleaved: Vec<f32> = (0..frames * channels as usize)
            .map(|i| {
                let (n, c) = (i / channels as usize, i % channels as usize);
                0.3 * (2.0 * std::f32::consts::PI * 440.0 * n as f32 / rate as f32 + c as f32).sin()
            })
            .collect();
        let loaded =
            load_mono(wav_i16(channels, rate, &interleaved), None, 22_050, &limits()).unwrap();
        assert_eq!(loaded.source_channels, channels as usize);
        assert_eq!(loaded.samples.len(), 11_025, "{channels} ch at {rate} Hz");
    }
}

/// CRC-32 of Ogg pages (polynomial 0x04c11db7, not reflected, initial value 0).
fn ogg_crc(bytes: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in bytes {
        crc ^= (b as u32) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04c1_1db7 } else { crc << 1 };
        }
    }
    crc
}

/// One Ogg page holding one packet.
fn ogg_page(header_type: u8, serial: u32, sequence: u32, packet: &[u8]) -> Vec<u8> {
    let mut page = b"OggS\0".to_vec();
    page.push(header_type);
    page.extend_from_slice(&0u64.to_le_bytes());
    page.extend_from_slice(&serial.to_le_bytes());
    page.extend_from_slice(&sequence.to_le_bytes());
    page.extend_from_slice(&[0; 4]);
    page.push(1);
    page.push(packet.len() as u8);
    page.extend_from_slice(packet);
    let crc = ogg_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

#[test]
fn ogg_with_only_a_video_stream_says_it_holds_no_audio() {
    // A Theora identification header: a valid Ogg stream, but not audio. symphonia's Ogg
    // reader runs out of pages looking for an audio stream, so this is reported as a file
    // that ends before any audio data.
    let mut theora = b"\x80theora\x03\x02\x01".to_vec();
    theora.resize(42, 0);
    let mut bytes = ogg_page(0x02, 7, 0, &theora);
    bytes.extend(ogg_page(0x04, 7, 1, &[0u8; 16]));
    let err = decode(bytes, Some("ogg"), &limits()).unwrap_err();
    assert!(matches!(err, AudioError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("holds no audio stream"), "{err}");
}

#[test]
fn a_stream_without_channels_is_refused() {
    // AU header announcing 0 channels.
    let mut au = b".snd".to_vec();
    for x in [24u32, 8, 3, 8000, 0] {
        au.extend_from_slice(&x.to_be_bytes());
    }
    au.extend_from_slice(&[0; 8]);
    let err = decode(au, None, &limits()).unwrap_err();
    assert!(matches!(err, AudioError::InvalidHeader { .. }), "{err:?}");
    assert_eq!(err.to_string(), "the AU header gives 0 channels");
}

/// An EBML element: id bytes, a one-byte size, then the payload (payloads < 127 bytes).
fn ebml(id: &[u8], payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 127);
    let mut v = id.to_vec();
    v.push(0x80 | payload.len() as u8);
    v.extend_from_slice(payload);
    v
}

#[test]
fn webm_with_only_a_video_track_has_no_audio_track() {
    let header = ebml(&[0x1a, 0x45, 0xdf, 0xa3], &ebml(&[0x42, 0x82], b"webm"));
    let info = ebml(&[0x15, 0x49, 0xa9, 0x66], &ebml(&[0x2a, 0xd7, 0xb1], &[0x0f, 0x42, 0x40]));
    let entry = [
        ebml(&[0xd7], &[1]),
        ebml(&[0x73, 0xc5], &[1]),
        ebml(&[0x83], &[1]),
        ebml(&[0x86], b"V_VP8"),
    ]
    .concat();
    let tracks = ebml(&[0x16, 0x54, 0xae, 0x6b], &ebml(&[0xae], &entry));
    let segment = ebml(&[0x18, 0x53, 0x80, 0x67], &[info, tracks].concat());
    let err = decode([header, segment].concat(), Some("webm"), &limits()).unwrap_err();
    assert_eq!(err, AudioError::NoAudioTrack);
    assert_eq!(err.to_string(), "the file contains no audio track");
}

#[test]
fn a_webm_that_makes_the_demuxer_panic_is_refused_by_the_header_guard() {
    // A timestamp scale above u32::MAX hits an `unwrap` inside symphonia's Matroska reader
    // (docs/upstream/symphonia-mkv-timestamp-scale.md); the guard stops it first.
    let header = ebml(&[0x1a, 0x45, 0xdf, 0xa3], &ebml(&[0x42, 0x82], b"webm"));
    let info = ebml(&[0x15, 0x49, 0xa9, 0x66], &ebml(&[0x2a, 0xd7, 0xb1], &[0x01, 0, 0, 0, 0]));
    let entry = [
        ebml(&[0xd7], &[1]),
        ebml(&[0x73, 0xc5], &[1]),
        ebml(&[0x83], &[2]),
        ebml(&[0x86], b"A_VORBIS"),
    ]
    .concat();
    let tracks = ebml(&[0x16, 0x54, 0xae, 0x6b], &ebml(&[0xae], &entry));
    let segment = ebml(&[0x18, 0x53, 0x80, 0x67], &[info, tracks].concat());
    let err = decode([header, segment].concat(), Some("webm"), &limits()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the Matroska header gives a timestamp scale of 4294967296 ns (at most 4294967295 ns \
         can be read)"
    );
}

#[test]
fn a_wav_at_0_hz_is_refused_by_the_header_guard() {
    // symphonia 0.5.5 panics on this header ("TimeBase cannot have 0 numerator or
    // denominator", docs/upstream/symphonia-zero-rate.md); the guard stops it first.
    let mut bytes = wav_i16(1, 8000, &[0.0; 100]);
    bytes[24..28].copy_from_slice(&0u32.to_le_bytes());
    let err = decode(bytes, Some("wav"), &limits()).unwrap_err();
    assert_eq!(err.to_string(), "the WAV header gives a sample rate of 0 Hz");
}

#[test]
fn a_data_length_beyond_the_file_is_truncation_not_a_duration() {
    // RIFF and data sizes claim ~4 GB (hours at 8 kHz); the file holds 100 samples.
    let mut bytes = wav_i16(1, 8000, &[0.25; 100]);
    bytes[4..8].copy_from_slice(&(u32::MAX - 8).to_le_bytes());
    bytes[40..44].copy_from_slice(&(u32::MAX - 64).to_le_bytes());
    let d = decode(bytes, Some("wav"), &limits()).unwrap();
    assert_eq!(d.samples.len(), 100);
    assert!(d.warnings.truncated);
}
