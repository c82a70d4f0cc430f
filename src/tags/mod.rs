//! Files' own tags (feature `tags`, with the lofty crate): what a file's tags say (its genre
//! and a few basic fields), and writing a genre into a file without losing anything.
//!
//! Writing works on bytes ([`with_genres`]), so the page and the CLI share it, and is always
//! checked ([`checked_with_genres`]): the new bytes must read back with the genre, and the
//! audio stream (every packet, as the container reader hands it out) must be unchanged.
//! [`write_genres_to_path`] does it for a file on disk: the checked bytes go to a new file
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
#[cfg(not(target_arch = "wasm32"))]
pub use file::{write_genres_to_path, TagChange};

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
    })
}

/// The file's bytes with `genres` as the genre of every tag it has (replacing what was
/// there; no genre when empty), a main tag of the format's kind being added when it has none.
/// Everything else in the file is left as the tag library writes it. Not checked: see
/// [`checked_with_genres`].
pub fn with_genres(bytes: &[u8], genres: &[String]) -> Result<Vec<u8>, TagError> {
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

/// [`with_genres`], then the check every write passes: the new bytes read back with exactly
/// `genres` in the main tag, and their audio stream is the original's, packet for packet.
pub fn checked_with_genres(
    bytes: &[u8],
    genres: &[String],
    limits: &DecodeLimits,
) -> Result<Vec<u8>, TagError> {
    let updated = with_genres(bytes, genres)?;
    check(bytes, &updated, genres, limits)?;
    Ok(updated)
}

/// Whether `updated` reads back with `genres` and carries `original`'s audio stream.
pub fn check(
    original: &[u8],
    updated: &[u8],
    genres: &[String],
    limits: &DecodeLimits,
) -> Result<(), TagError> {
    let read = read_tags(updated).map_err(|e| TagError::Check(format!("reading it back: {e}")))?;
    if read.genres != genres {
        return Err(TagError::Check(format!(
            "its genre reads back as {:?}, not {:?}",
            read.genres, genres
        )));
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
