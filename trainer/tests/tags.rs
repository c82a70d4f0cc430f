//! Files' own tags (`genrescope::tags`, `trainer classify --write-tags`, `trainer tags`), on
//! copies of the committed fixtures (WAV, FLAC, MP3, Ogg Vorbis; AU, which holds no tags)
//! with tags already in them (title, artist, genre "Rock"):
//! - a genre written into each: it reads back, title and artist stay, and the audio stream is
//!   the same packet for packet;
//! - an AIFF without tags takes one, its audio stream and decoded samples unchanged (the
//!   reader's `SSND` length counts 8 bytes too many, which a chunk after the sound data must
//!   not turn into audio);
//! - fields the generic tag has no name for (an ID3v2 `TXXX` frame, a Vorbis comment of
//!   one's own) survive the write;
//! - the check refuses bytes whose audio changed;
//! - a dry run, a read-only file and a format without tags leave the file byte for byte;
//! - the `MSD_TAGS` field is written, kept by a genre-only write, removed by an empty list,
//!   and compared by the check;
//! - the CLI writes the confident genres (and three MSD tags), logs them, and `tags undo` puts
//!   "Rock" back and removes the field.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use genrescope::audio::{stream_digest, DecodeLimits};
use genrescope::tags::{check, read_tags, with_tags, write_tags_to_path, TagError, TagWrite};
use lofty::config::WriteOptions;
use lofty::prelude::*;
use lofty::tag::Tag;

const FORMATS: [&str; 4] = ["wav", "flac", "mp3", "ogg"];

fn fixture(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/audio")).join(name)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A write of these genres alone.
fn genres(list: &[&str]) -> TagWrite {
    TagWrite::genres(&strings(list))
}

/// A copy of the 6 s jazz fixture in `format`, in `dir`, tagged title / artist / "Rock".
fn tagged_copy(dir: &Path, format: &str) -> PathBuf {
    let path = dir.join(format!("track.{format}"));
    fs::copy(fixture(&format!("gtzan_jazz_6s.{format}")), &path).unwrap();
    let mut file = lofty::read_from_path(&path).unwrap();
    let kind = file.primary_tag_type();
    if file.tag(kind).is_none() {
        file.insert_tag(Tag::new(kind));
    }
    let tag = file.tag_mut(kind).unwrap();
    tag.set_title("Take Five (excerpt)".into());
    tag.set_artist("A Quartet".into());
    tag.set_genre("Rock".into());
    file.save_to_path(&path, WriteOptions::default()).unwrap();
    path
}

fn digest(path: &Path) -> genrescope::audio::StreamDigest {
    stream_digest(fs::read(path).unwrap(), &DecodeLimits::default()).unwrap()
}

#[test]
fn a_genre_is_written_into_every_format_without_touching_the_audio() {
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        let path = tagged_copy(dir.path(), format);
        let before = read_tags(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(before.genres, ["Rock"], "{format}: {before:?}");
        let audio = digest(&path);
        assert!(audio.packets > 0 && audio.bytes > 1000, "{format}: {audio:?}");

        let change =
            write_tags_to_path(&path, &genres(&["jazz"]), false, &DecodeLimits::default()).unwrap();
        assert!(change.written);
        assert_eq!(change.before, before);
        let after = read_tags(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(after.genres, ["jazz"], "{format}");
        assert_eq!(
            after.title.as_deref(),
            Some("Take Five (excerpt)"),
            "{format}: the title stays"
        );
        assert_eq!(after.artist.as_deref(), Some("A Quartet"), "{format}: the artist stays");
        assert_eq!(digest(&path), audio, "{format}: the audio stream is unchanged");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("genrescope-new"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary file is left");
    }
}

#[test]
fn the_msd_tags_field_is_written_kept_and_removed_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let limits = DecodeLimits::default();
    let msd = strings(&["jazz", "instrumental", "chillout"]);
    for format in FORMATS {
        let path = tagged_copy(dir.path(), format);
        let audio = digest(&path);
        let write = TagWrite { genres: strings(&["jazz"]), msd_tags: Some(msd.clone()) };
        let change = write_tags_to_path(&path, &write, false, &limits).unwrap();
        assert!(change.before.msd_tags.is_empty(), "{format}: no field before");
        let after = read_tags(&fs::read(&path).unwrap()).unwrap();
        assert_eq!((after.genres.as_slice(), &after.msd_tags), (&["jazz".to_string()][..], &msd));
        assert_eq!(digest(&path), audio, "{format}: the audio stream is unchanged");

        // A write of the genre alone leaves the field; an empty list removes it.
        write_tags_to_path(&path, &genres(&["blues"]), false, &limits).unwrap();
        let after = read_tags(&fs::read(&path).unwrap()).unwrap();
        assert_eq!((after.genres, &after.msd_tags), (strings(&["blues"]), &msd), "{format}");
        let clear = TagWrite { genres: strings(&["blues"]), msd_tags: Some(Vec::new()) };
        write_tags_to_path(&path, &clear, false, &limits).unwrap();
        let after = read_tags(&fs::read(&path).unwrap()).unwrap();
        assert!(after.msd_tags.is_empty(), "{format}: {after:?}");
        assert_eq!(after.artist.as_deref(), Some("A Quartet"), "{format}: the artist stays");
        assert_eq!(digest(&path), audio, "{format}: the audio stream is unchanged");
    }

    // The check compares the field: written bytes that gained it fail a check of the genre
    // alone (which expects the original's field, none).
    let original = fs::read(fixture("gtzan_jazz_6s.flac")).unwrap();
    let write = TagWrite { genres: strings(&["jazz"]), msd_tags: Some(msd.clone()) };
    let updated = with_tags(&original, &write).unwrap();
    check(&original, &updated, &write, &limits).unwrap();
    let e = check(&original, &updated, &genres(&["jazz"]), &limits).unwrap_err();
    assert!(e.to_string().contains("MSD_TAGS field reads back as"), "{e}");
}

/// A 16-bit PCM AIFF of the mono 16-bit WAV fixture's samples, without tags.
fn aiff_of_wav_fixture() -> Vec<u8> {
    let wav = fs::read(fixture("gtzan_jazz_6s.wav")).unwrap();
    let data_at = wav.windows(4).position(|w| w == b"data").unwrap() + 8;
    let len = u32::from_le_bytes(wav[data_at - 4..data_at].try_into().unwrap()) as usize;
    let pcm: Vec<u8> = wav[data_at..data_at + len]
        .chunks_exact(2)
        .flat_map(|s| i16::from_le_bytes([s[0], s[1]]).to_be_bytes())
        .collect();
    let mut comm = b"COMM".to_vec();
    comm.extend(18u32.to_be_bytes());
    comm.extend(1u16.to_be_bytes());
    comm.extend(((len / 2) as u32).to_be_bytes());
    comm.extend(16u16.to_be_bytes());
    // 22050 Hz as an 80-bit extended float.
    comm.extend([0x40, 0x0d, 0xac, 0x44, 0, 0, 0, 0, 0, 0]);
    let mut ssnd = b"SSND".to_vec();
    ssnd.extend(((8 + pcm.len()) as u32).to_be_bytes());
    ssnd.extend([0u8; 8]);
    ssnd.extend(pcm);
    let mut out = b"FORM".to_vec();
    out.extend(((4 + comm.len() + ssnd.len()) as u32).to_be_bytes());
    out.extend(b"AIFF");
    out.extend(comm);
    out.extend(ssnd);
    out
}

#[test]
fn an_aiff_takes_a_genre_with_its_audio_and_samples_unchanged() {
    let limits = DecodeLimits::default();
    let original = aiff_of_wav_fixture();
    let tagged = with_tags(&original, &genres(&["jazz"])).unwrap();
    assert!(tagged.len() > original.len(), "a tag chunk follows the sound data");
    check(&original, &tagged, &genres(&["jazz"]), &limits).unwrap();
    let before = genrescope::audio::decode(original, Some("aiff"), &limits).unwrap();
    let after = genrescope::audio::decode(tagged, Some("aiff"), &limits).unwrap();
    assert_eq!(after.samples, before.samples, "the same samples, none from the tag chunk");
    let wav = genrescope::audio::decode(
        fs::read(fixture("gtzan_jazz_6s.wav")).unwrap(),
        Some("wav"),
        &limits,
    )
    .unwrap();
    assert_eq!(after.samples, wav.samples, "the AIFF holds the WAV's samples");
}

#[test]
fn fields_without_a_generic_name_survive_the_write() {
    use lofty::config::ParseOptions;
    use lofty::flac::FlacFile;
    use lofty::mpeg::MpegFile;
    let dir = tempfile::tempdir().unwrap();
    let mp3 = tagged_copy(dir.path(), "mp3");
    let mut file =
        MpegFile::read_from(&mut fs::File::open(&mp3).unwrap(), ParseOptions::new()).unwrap();
    let mut id3 = file.id3v2().cloned().unwrap();
    id3.insert_user_text("GENRESCOPE TEST".into(), "kept".into());
    file.set_id3v2(id3);
    file.save_to_path(&mp3, WriteOptions::default()).unwrap();
    let flac = tagged_copy(dir.path(), "flac");
    let mut file =
        FlacFile::read_from(&mut fs::File::open(&flac).unwrap(), ParseOptions::new()).unwrap();
    let mut comments = file.vorbis_comments().cloned().unwrap();
    comments.push("GENRESCOPE_TEST".into(), "kept".into());
    file.set_vorbis_comments(comments);
    file.save_to_path(&flac, WriteOptions::default()).unwrap();

    let before =
        FlacFile::read_from(&mut fs::File::open(&flac).unwrap(), ParseOptions::new()).unwrap();
    assert_eq!(before.vorbis_comments().unwrap().get("GENRESCOPE_TEST"), Some("kept"));
    for path in [&mp3, &flac] {
        write_tags_to_path(path, &genres(&["jazz"]), false, &DecodeLimits::default()).unwrap();
    }
    let file =
        MpegFile::read_from(&mut fs::File::open(&mp3).unwrap(), ParseOptions::new()).unwrap();
    assert_eq!(file.id3v2().unwrap().get_user_text("GENRESCOPE TEST"), Some("kept"));
    let file =
        FlacFile::read_from(&mut fs::File::open(&flac).unwrap(), ParseOptions::new()).unwrap();
    assert_eq!(file.vorbis_comments().unwrap().get("GENRESCOPE_TEST"), Some("kept"));
    assert_eq!(read_tags(&fs::read(&flac).unwrap()).unwrap().genres, ["jazz"]);
}

#[test]
fn the_check_refuses_a_copy_whose_audio_changed() {
    let original = fs::read(fixture("gtzan_jazz_6s.wav")).unwrap();
    let mut updated = with_tags(&original, &genres(&["jazz"])).unwrap();
    check(&original, &updated, &genres(&["jazz"]), &DecodeLimits::default()).unwrap();
    // One sample of the data chunk (the tag is written after it): the audio differs.
    let at = original.len() - 1000;
    updated[at] ^= 0x55;
    let e = check(&original, &updated, &genres(&["jazz"]), &DecodeLimits::default()).unwrap_err();
    assert!(matches!(&e, TagError::Check(m) if m.contains("audio stream changed")), "{e}");
    let e = check(&original, &updated, &genres(&["rock"]), &DecodeLimits::default()).unwrap_err();
    assert!(e.to_string().contains("reads back as [\"jazz\"]"), "{e}");
}

#[test]
fn dry_runs_read_only_files_and_formats_without_tags_are_left_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let limits = DecodeLimits::default();
    let path = tagged_copy(dir.path(), "flac");
    let bytes = fs::read(&path).unwrap();
    let change = write_tags_to_path(&path, &genres(&["jazz"]), true, &limits).unwrap();
    assert!(!change.written);
    assert_eq!(fs::read(&path).unwrap(), bytes, "a dry run changes nothing");

    let mut permissions = fs::metadata(&path).unwrap().permissions();
    permissions.set_readonly(true);
    fs::set_permissions(&path, permissions).unwrap();
    let e = write_tags_to_path(&path, &genres(&["jazz"]), false, &limits).unwrap_err();
    assert_eq!(e, TagError::ReadOnly);
    assert_eq!(fs::read(&path).unwrap(), bytes, "a read-only file is untouched");

    let au = dir.path().join("track.au");
    fs::copy(fixture("gtzan_jazz_6s.au"), &au).unwrap();
    let au_bytes = fs::read(&au).unwrap();
    let e = write_tags_to_path(&au, &genres(&["jazz"]), false, &limits).unwrap_err();
    assert!(matches!(e, TagError::Unreadable(_) | TagError::Unwritable(_)), "{e}");
    assert_eq!(fs::read(&au).unwrap(), au_bytes, "a format without tags is untouched");
}

#[test]
fn the_cli_writes_confident_genres_and_undo_puts_the_old_ones_back() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = ["wav", "mp3"].iter().map(|f| tagged_copy(dir.path(), f)).collect();
    let audio: Vec<_> = files.iter().map(|f| digest(f)).collect();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/models/default/model.gscope");
    let log = dir.path().join("undo.jsonl");
    let trainer = env!("CARGO_BIN_EXE_trainer");
    let out = Command::new(trainer)
        .args(["classify", "--backend", "cpu", "--model"])
        .arg(&model)
        .args(["--write-tags", "--write-msd-tags", "3", "--undo-log"])
        .arg(&log)
        .args(&files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for (file, audio) in files.iter().zip(&audio) {
        let tags = read_tags(&fs::read(file).unwrap()).unwrap();
        assert_eq!(tags.genres, ["jazz"], "{}: {stderr}", file.display());
        assert_eq!(tags.msd_tags.len(), 3, "{}: {tags:?}", file.display());
        assert!(
            stderr.contains(&format!("MSD_TAGS {} (was none)", tags.msd_tags.join("; "))),
            "{stderr}"
        );
        assert_eq!(&digest(file), audio);
        assert!(
            stderr.contains(&format!("wrote genre jazz: {} (was Rock)", file.display())),
            "{stderr}"
        );
    }
    assert_eq!(fs::read_to_string(&log).unwrap().lines().count(), 2);

    let out = Command::new(trainer).args(["tags", "undo"]).arg(&log).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (file, audio) in files.iter().zip(&audio) {
        let tags = read_tags(&fs::read(file).unwrap()).unwrap();
        assert_eq!(tags.genres, ["Rock"], "{}", file.display());
        assert!(tags.msd_tags.is_empty(), "{}: the field is removed again", file.display());
        assert_eq!(tags.artist.as_deref(), Some("A Quartet"));
        assert_eq!(&digest(file), audio);
    }
    assert!(!log.exists() && log.with_extension("jsonl.undone").exists(), "the log is marked done");
}
