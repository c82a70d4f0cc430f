//! The `MSD_TAGS` field: a file's Million Song Dataset tags (as a model's backbone names them),
//! kept in a field of its own so that the genre field holds only the genre. Each tag kind that
//! can hold a named field of one's own has it under the same name: an ID3v2 `TXXX` frame, a
//! Vorbis comment, an MP4 freeform atom (`----:com.apple.iTunes:MSD_TAGS`, as taggers write
//! their own fields) and an APE item. The value is one text, the tags joined by `"; "`.

use std::borrow::Cow;
use std::io::Cursor;

use lofty::ape::{ApeItem, ApeTag};
use lofty::file::{AudioFile, FileType};
use lofty::id3::v2::Id3v2Tag;
use lofty::mp4::{Atom, AtomData, AtomIdent, Ilst};
use lofty::ogg::tag::VorbisComments;
use lofty::tag::ItemValue;

use super::TagError;

/// The field's name in every tag kind.
pub const MSD_FIELD: &str = "MSD_TAGS";

/// The text a list of tags is stored as.
fn joined(tags: &[String]) -> String {
    tags.join("; ")
}

/// The tags a text holds, as the field stores them (split at `;`, blanks dropped).
pub fn parse_msd_tags(text: &str) -> Vec<String> {
    text.split(';').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect()
}

/// A tag kind that can hold the `MSD_TAGS` field.
pub(super) trait MsdField {
    /// The tags in the field (empty when it is missing).
    fn msd_tags(&self) -> Vec<String>;
    /// Sets the field to `tags`; an empty list removes it.
    fn set_msd_tags(&mut self, tags: &[String]);
}

impl MsdField for Id3v2Tag {
    fn msd_tags(&self) -> Vec<String> {
        self.get_user_text(MSD_FIELD).map(parse_msd_tags).unwrap_or_default()
    }
    fn set_msd_tags(&mut self, tags: &[String]) {
        self.remove_user_text(MSD_FIELD);
        if !tags.is_empty() {
            self.insert_user_text(MSD_FIELD.into(), joined(tags));
        }
    }
}

impl MsdField for VorbisComments {
    fn msd_tags(&self) -> Vec<String> {
        self.get_all(MSD_FIELD).flat_map(parse_msd_tags).collect()
    }
    fn set_msd_tags(&mut self, tags: &[String]) {
        let _ = self.remove(MSD_FIELD).count();
        if !tags.is_empty() {
            self.push(MSD_FIELD.into(), joined(tags));
        }
    }
}

/// The MP4 freeform atom's identifier.
fn mp4_ident() -> AtomIdent<'static> {
    AtomIdent::Freeform { mean: Cow::Borrowed("com.apple.iTunes"), name: Cow::Borrowed(MSD_FIELD) }
}

impl MsdField for Ilst {
    fn msd_tags(&self) -> Vec<String> {
        let Some(atom) = self.get(&mp4_ident()) else { return Vec::new() };
        atom.data()
            .filter_map(|d| match d {
                AtomData::UTF8(s) | AtomData::UTF16(s) => Some(parse_msd_tags(s)),
                _ => None,
            })
            .flatten()
            .collect()
    }
    fn set_msd_tags(&mut self, tags: &[String]) {
        let _ = self.remove(&mp4_ident()).count();
        if !tags.is_empty() {
            self.insert(Atom::new(mp4_ident(), AtomData::UTF8(joined(tags))));
        }
    }
}

impl MsdField for ApeTag {
    fn msd_tags(&self) -> Vec<String> {
        match self.get(MSD_FIELD).map(ApeItem::value) {
            Some(ItemValue::Text(text)) => parse_msd_tags(text),
            _ => Vec::new(),
        }
    }
    fn set_msd_tags(&mut self, tags: &[String]) {
        self.remove(MSD_FIELD);
        if !tags.is_empty() {
            // The key is plain ASCII of a valid length: this cannot fail.
            if let Ok(item) = ApeItem::new(MSD_FIELD.into(), ItemValue::Text(joined(tags))) {
                self.insert(item);
            }
        }
    }
}

/// Reads the file's tags as its own kind `F` (not its audio properties, which the generic
/// read has already taken) and gives what `get` finds in them.
fn read_as<F: AudioFile>(bytes: &[u8], get: impl FnOnce(&F) -> Vec<String>) -> Vec<String> {
    F::read_from(&mut Cursor::new(bytes), lofty::config::ParseOptions::new().read_properties(false))
        .map(|f| get(&f))
        .unwrap_or_default()
}

/// The `MSD_TAGS` field of the file's main tag (the one its genres are read from); empty
/// when it has none or its format has no such field.
pub(super) fn read_msd_tags(bytes: &[u8], file_type: FileType) -> Vec<String> {
    use lofty::file::FileType as T;
    match file_type {
        T::Mpeg => read_as(bytes, |f: &lofty::mpeg::MpegFile| {
            f.id3v2().map(MsdField::msd_tags).unwrap_or_default()
        }),
        T::Wav => read_as(bytes, |f: &lofty::iff::wav::WavFile| {
            f.id3v2().map(MsdField::msd_tags).unwrap_or_default()
        }),
        T::Aiff => read_as(bytes, |f: &lofty::iff::aiff::AiffFile| {
            f.id3v2().map(MsdField::msd_tags).unwrap_or_default()
        }),
        T::Flac => read_as(bytes, |f: &lofty::flac::FlacFile| {
            f.vorbis_comments().map(MsdField::msd_tags).unwrap_or_default()
        }),
        T::Mp4 => read_as(bytes, |f: &lofty::mp4::Mp4File| {
            f.ilst().map(MsdField::msd_tags).unwrap_or_default()
        }),
        T::Vorbis => read_as(bytes, |f: &lofty::ogg::VorbisFile| f.vorbis_comments().msd_tags()),
        T::Opus => read_as(bytes, |f: &lofty::ogg::OpusFile| f.vorbis_comments().msd_tags()),
        _ => Vec::new(),
    }
}

/// The refusal of a write of the `MSD_TAGS` field into files of a kind that has no tag edited
/// in its own kind (see `with_tags`).
pub(super) fn no_msd_field(file_type: Option<FileType>) -> TagError {
    TagError::Unwritable(format!(
        "the {MSD_FIELD} field cannot be written into {} files",
        file_type.map(|t| format!("{t:?}")).unwrap_or_else(|| "these".into())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_tag_kind_sets_reads_and_removes_the_field() {
        let tags = list(&["rock", "indie", "80s"]);
        let mut id3 = Id3v2Tag::default();
        let mut vorbis = VorbisComments::default();
        let mut ilst = Ilst::default();
        let mut ape = ApeTag::default();
        let kinds: [&mut dyn MsdField; 4] = [&mut id3, &mut vorbis, &mut ilst, &mut ape];
        for kind in kinds {
            assert!(kind.msd_tags().is_empty());
            kind.set_msd_tags(&list(&["old"]));
            kind.set_msd_tags(&tags);
            assert_eq!(kind.msd_tags(), tags, "set twice, the field holds the last");
            kind.set_msd_tags(&[]);
            assert!(kind.msd_tags().is_empty(), "an empty list removes the field");
        }
        assert_eq!(parse_msd_tags(" a ;; b; "), list(&["a", "b"]));
    }
}
