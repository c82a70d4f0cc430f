//! Files' own tags (feature `tags`, with the lofty crate): what a file's tags say (its genre,
//! its `MSD_TAGS` field and a few basic fields), and writing a genre (optionally the MSD tags
//! too, in their own field) into a file without losing anything.
//!
//! Writing works on bytes ([`with_tags`]), so the page and the CLI share it, and is always
//! checked ([`checked_with_tags`]): the new bytes must read back with what was written, and the
//! audio stream (every packet, as the container reader hands it out) must be unchanged.
//! [`write_tags_to_path`] does it for a file on disk: the checked bytes go to a new file
//! beside it, which is read back and only then renamed over the original.

use std::io::Cursor;

use lofty::config::WriteOptions;
use lofty::prelude::*;
use lofty::probe::Probe;
use lofty::tag::{ItemValue, Tag, TagItem};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::audio::{stream_digest, AudioError, DecodeLimits};

#[cfg(not(target_arch = "wasm32"))]
mod file;
mod msd_field;
#[cfg(not(target_arch = "wasm32"))]
pub use file::{write_tags_to_path, TagChange};
pub use msd_field::{parse_msd_tags, MSD_FIELD};

use msd_field::{no_msd_field, read_msd_tags, MsdField};

/// Why a file's tags could not be read or written. The file is never left changed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TagError {
    /// The tag library does not know the format, or the file is damaged.
    #[error("its tags cannot be read: {0}")]
    Unreadable(String),
    /// The format cannot hold the tag, or writing it failed.
    #[error("a genre tag cannot be written to it: {0}")]
    Unwritable(String),
    /// The file is marked read-only.
    #[error("it is read-only")]
    ReadOnly,
    /// The written copy did not pass the check; the original was kept.
    #[error("the written copy failed its check ({0}); the original is unchanged")]
    Check(String),
    /// The audio stream could not be read for the check.
    #[error("its audio stream cannot be read for the check: {0}")]
    Audio(#[from] AudioError),
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(String),
}

/// What a file's tags say.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileTags {
    /// The file's format as the tag library names it (e.g. `Mpeg`, `Flac`, `Wav`).
    pub format: String,
    /// The kinds of tag in the file (e.g. `Id3v2`, `VorbisComments`, `RiffInfo`).
    pub tag_types: Vec<String>,
    /// The genres of the file's main tag (the format's primary tag, else the first), in order.
    pub genres: Vec<String>,
    /// Title, artist and album of that tag, when it has them.
    pub title: Option<String>,
    /// See `title`.
    pub artist: Option<String>,
    /// See `title`.
    pub album: Option<String>,
    /// The main tag's `MSD_TAGS` field ([`MSD_FIELD`]): Million Song Dataset tags written by
    /// an earlier `--write-msd-tags`; empty when it has none.
    #[serde(default)]
    pub msd_tags: Vec<String>,
}

/// What a write puts into a file's tags.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagWrite {
    /// The genres, replacing the file's (none when empty).
    pub genres: Vec<String>,
    /// The Million Song Dataset tags for the [`MSD_FIELD`] field, replacing it (an empty list
    /// removes it); `None` leaves the field as it is.
    #[serde(default)]
    pub msd_tags: Option<Vec<String>>,
}

impl TagWrite {
    /// A write of `genres` alone.
    pub fn genres(genres: &[String]) -> Self {
        Self { genres: genres.to_vec(), msd_tags: None }
    }
}

fn parse(bytes: &[u8]) -> Result<lofty::file::TaggedFile, TagError> {
    let unreadable = |e: &dyn std::fmt::Display| TagError::Unreadable(e.to_string());
    Probe::new(Cursor::new(bytes))
        .guess_file_type()
        .map_err(|e| unreadable(&e))?
        .read()
        .map_err(|e| unreadable(&e))
}

/// What the tags of a file (its bytes) say.
pub fn read_tags(bytes: &[u8]) -> Result<FileTags, TagError> {
    let tagged = parse(bytes)?;
    let main = tagged.primary_tag().or_else(|| tagged.first_tag());
    let text = |get: fn(&Tag) -> Option<std::borrow::Cow<'_, str>>| {
        main.and_then(get).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    };
    Ok(FileTags {
        format: format!("{:?}", tagged.file_type()),
        tag_types: tagged.tags().iter().map(|t| format!("{:?}", t.tag_type())).collect(),
        genres: main
            .map(|t| {
                t.get_strings(ItemKey::Genre)
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        title: text(|t| t.title()),
        artist: text(|t| t.artist()),
        album: text(|t| t.album()),
        msd_tags: read_msd_tags(bytes, tagged.file_type()),
    })
}

/// The file's bytes with `write.genres` as the genre of every tag it has (replacing what was
/// there; no genre when empty), a main tag of the format's kind being added when it has none,
/// and, when `write.msd_tags` is given, its tags in the [`MSD_FIELD`] field of every tag that
/// can hold one (a format none of whose tags can is refused). Every other field is kept, also
/// those the tag library has no generic name for (an ID3v2 `TXXX` frame, a Vorbis comment of
/// one's own): each tag of the common formats is edited in its own kind. Not checked: see
/// [`checked_with_tags`].
pub fn with_tags(bytes: &[u8], write: &TagWrite) -> Result<Vec<u8>, TagError> {
    use lofty::file::FileType;
    use lofty::id3::v2::Id3v2Tag;
    use lofty::mp4::Ilst;
    use lofty::ogg::tag::VorbisComments;

    let file_type = Probe::new(Cursor::new(bytes))
        .guess_file_type()
        .map_err(|e| TagError::Unreadable(e.to_string()))?
        .file_type();
    let genres = &write.genres;
    // The tag kinds that hold the MSD field take it with the genres.
    let msd = |t: &mut dyn MsdField| {
        if let Some(tags) = &write.msd_tags {
            t.set_msd_tags(tags);
        }
    };
    match file_type {
        Some(FileType::Mpeg) => edit(bytes, |f: &mut lofty::mpeg::MpegFile| {
            if f.id3v2().is_none() {
                f.set_id3v2(Id3v2Tag::default());
            }
            if let Some(t) = f.id3v2_mut() {
                set_genres(t, genres);
                msd(t);
            }
            if let Some(t) = f.id3v1_mut() {
                set_genres(t, genres);
            }
            if let Some(t) = f.ape_mut() {
                set_genres(t, genres);
                msd(t);
            }
        }),
        Some(FileType::Flac) => edit(bytes, |f: &mut lofty::flac::FlacFile| {
            if f.vorbis_comments().is_none() {
                f.set_vorbis_comments(VorbisComments::default());
            }
            if let Some(t) = f.vorbis_comments_mut() {
                set_genres(t, genres);
                msd(t);
            }
            if let Some(t) = f.id3v2_mut() {
                set_genres(t, genres);
                msd(t);
            }
        }),
        Some(FileType::Wav) => edit(bytes, |f: &mut lofty::iff::wav::WavFile| {
            if f.id3v2().is_none() {
                f.set_id3v2(Id3v2Tag::default());
            }
            if let Some(t) = f.id3v2_mut() {
                set_genres(t, genres);
                msd(t);
            }
            if let Some(t) = f.riff_info_mut() {
                set_genres(t, genres);
            }
        }),
        Some(FileType::Aiff) => edit(bytes, |f: &mut lofty::iff::aiff::AiffFile| {
            if f.id3v2().is_none() {
                f.set_id3v2(Id3v2Tag::default());
            }
            if let Some(t) = f.id3v2_mut() {
                set_genres(t, genres);
                msd(t);
            }
        }),
        Some(FileType::Mp4) => edit(bytes, |f: &mut lofty::mp4::Mp4File| {
            if f.ilst().is_none() {
                f.set_ilst(Ilst::default());
            }
            if let Some(t) = f.ilst_mut() {
                set_genres(t, genres);
                msd(t);
            }
        }),
        Some(FileType::Vorbis) => edit(bytes, |f: &mut lofty::ogg::VorbisFile| {
            set_genres(f.vorbis_comments_mut(), genres);
            msd(f.vorbis_comments_mut());
        }),
        Some(FileType::Opus) => edit(bytes, |f: &mut lofty::ogg::OpusFile| {
            set_genres(f.vorbis_comments_mut(), genres);
            msd(f.vorbis_comments_mut());
        }),
        // The generic tags have no field of one's own: there, only the genres.
        _ if write.msd_tags.as_ref().is_some_and(|t| !t.is_empty()) => Err(no_msd_field(file_type)),
        _ => with_genres_generic(bytes, genres),
    }
}

/// Reads the file as its own kind `F`, edits it, and writes it back over a copy of `bytes`.
fn edit<F: lofty::file::AudioFile>(
    bytes: &[u8],
    change: impl FnOnce(&mut F),
) -> Result<Vec<u8>, TagError> {
    let mut file = F::read_from(&mut Cursor::new(bytes), lofty::config::ParseOptions::new())
        .map_err(|e| TagError::Unreadable(e.to_string()))?;
    change(&mut file);
    let mut out = Cursor::new(bytes.to_vec());
    file.save_to(&mut out, WriteOptions::default())
        .map_err(|e| TagError::Unwritable(e.to_string()))?;
    Ok(out.into_inner())
}

/// Replaces one tag's genres, keeping everything else in it: the tag is split into the items
/// with a generic name and the rest, the genres replaced, and the two merged back.
fn set_genres<T>(tag: &mut T, genres: &[String])
where
    T: SplitTag + Clone,
    T::Remainder: MergeTag<Merged = T>,
{
    let (rest, mut generic) = tag.clone().split_tag();
    generic.remove_key(ItemKey::Genre);
    for genre in genres {
        generic.push(TagItem::new(ItemKey::Genre, ItemValue::Text(genre.clone())));
    }
    *tag = rest.merge_tag(generic);
}

/// [`with_tags`] for the other formats (genres only), through the tag library's generic tags.
fn with_genres_generic(bytes: &[u8], genres: &[String]) -> Result<Vec<u8>, TagError> {
    let mut tagged = parse(bytes)?;
    let primary = tagged.primary_tag_type();
    if tagged.tag(primary).is_none() {
        tagged.insert_tag(Tag::new(primary));
    }
    let kinds: Vec<_> = tagged.tags().iter().map(Tag::tag_type).collect();
    for kind in kinds {
        if let Some(tag) = tagged.tag_mut(kind) {
            tag.remove_key(ItemKey::Genre);
            for genre in genres {
                tag.push(TagItem::new(ItemKey::Genre, ItemValue::Text(genre.clone())));
            }
        }
    }
    let mut out = Cursor::new(bytes.to_vec());
    tagged
        .save_to(&mut out, WriteOptions::default())
        .map_err(|e| TagError::Unwritable(e.to_string()))?;
    Ok(out.into_inner())
}

/// [`with_tags`], then the check every write passes: the new bytes read back with exactly
/// what was written in the main tag, and their audio stream is the original's, packet for
/// packet.
pub fn checked_with_tags(
    bytes: &[u8],
    write: &TagWrite,
    limits: &DecodeLimits,
) -> Result<Vec<u8>, TagError> {
    let updated = with_tags(bytes, write)?;
    check(bytes, &updated, write, limits)?;
    Ok(updated)
}

/// Whether `updated` reads back with `write`'s genres and MSD tags (or, when it writes none,
/// `original`'s), the same title, artist and album as `original`, and carries `original`'s
/// audio stream.
pub fn check(
    original: &[u8],
    updated: &[u8],
    write: &TagWrite,
    limits: &DecodeLimits,
) -> Result<(), TagError> {
    let read = read_tags(updated).map_err(|e| TagError::Check(format!("reading it back: {e}")))?;
    if read.genres != write.genres {
        return Err(TagError::Check(format!(
            "its genre reads back as {:?}, not {:?}",
            read.genres, write.genres
        )));
    }
    let before = read_tags(original).ok();
    let msd_expected = match (&write.msd_tags, &before) {
        (Some(tags), _) => Some(tags.clone()),
        (None, Some(before)) => Some(before.msd_tags.clone()),
        (None, None) => None,
    };
    if let Some(expected) = msd_expected.filter(|e| *e != read.msd_tags) {
        return Err(TagError::Check(format!(
            "its {MSD_FIELD} field reads back as {:?}, not {:?}",
            read.msd_tags, expected
        )));
    }
    if let Some(before) = before {
        let fields = |t: &FileTags| (t.title.clone(), t.artist.clone(), t.album.clone());
        if fields(&before) != fields(&read) {
            return Err(TagError::Check(format!(
                "its title, artist or album changed ({:?} before, {:?} after)",
                fields(&before),
                fields(&read)
            )));
        }
    }
    let before = stream_digest(original.to_vec(), limits)?;
    let after = stream_digest(updated.to_vec(), limits)
        .map_err(|e| TagError::Check(format!("its audio cannot be read: {e}")))?;
    if before != after {
        return Err(TagError::Check(format!(
            "its audio stream changed ({} packets, {} bytes before; {} packets, {} bytes after)",
            before.packets, before.bytes, after.packets, after.bytes
        )));
    }
    Ok(())
}
