//! Audio files on disk (native only): the one place that reads a file to decode it.

use std::path::Path;

use super::{decode, extension_of, AudioError, DecodeLimits, DecodedAudio};

/// An audio file's bytes, read within the size limit, and its extension as a decoding hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFile {
    /// The whole file.
    pub bytes: Vec<u8>,
    /// The lower-case extension of its name, if any (see [`extension_of`]).
    pub extension: Option<String>,
}

impl AudioFile {
    /// Reads the file at `path`. A folder, a missing or unreadable file is
    /// [`AudioError::Read`]; a file over [`DecodeLimits::max_input_bytes`] is
    /// [`AudioError::TooLarge`] and is not read.
    pub fn read(path: &Path, limits: &DecodeLimits) -> Result<AudioFile, AudioError> {
        let read_error = |e: std::io::Error| AudioError::Read { detail: e.to_string() };
        let meta = std::fs::metadata(path).map_err(read_error)?;
        if meta.is_dir() {
            return Err(AudioError::Read { detail: "it is a folder".into() });
        }
        if meta.len() > limits.max_input_bytes as u64 {
            let bytes = usize::try_from(meta.len()).unwrap_or(usize::MAX);
            return Err(AudioError::TooLarge { bytes, limit: limits.max_input_bytes });
        }
        let bytes = std::fs::read(path).map_err(read_error)?;
        Ok(AudioFile { bytes, extension: extension_of(path) })
    }

    /// Decodes the file to mono at its own rate (see [`decode`]).
    pub fn decode(self, limits: &DecodeLimits) -> Result<DecodedAudio, AudioError> {
        decode(self.bytes, self.extension.as_deref(), limits)
    }
}

/// Reads and decodes the audio file at `path` to mono at its own rate: the files' entry
/// point, as [`decode`] is the bytes'. Non-fatal problems are in
/// [`DecodedAudio::warnings`].
pub fn decode_path(path: &Path, limits: &DecodeLimits) -> Result<DecodedAudio, AudioError> {
    AudioFile::read(path, limits)?.decode(limits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::DecodeWarnings;

    #[test]
    fn missing_files_and_folders_are_read_errors() {
        let limits = DecodeLimits::default();
        let missing = decode_path(Path::new("/no/such/file.wav"), &limits).unwrap_err();
        assert!(matches!(missing, AudioError::Read { .. }), "{missing}");
        assert!(missing.to_string().starts_with("cannot read the file: "), "{missing}");
        let folder = decode_path(&std::env::temp_dir(), &limits).unwrap_err();
        assert_eq!(folder.to_string(), "cannot read the file: it is a folder");
    }

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let path = std::env::temp_dir().join(format!("genrescope-big-{}.wav", std::process::id()));
        std::fs::write(&path, [0u8; 200]).unwrap();
        let limits = DecodeLimits { max_input_bytes: 100, ..DecodeLimits::default() };
        let err = decode_path(&path, &limits).unwrap_err();
        let _ = std::fs::remove_file(&path);
        assert_eq!(err, AudioError::TooLarge { bytes: 200, limit: 100 });
    }

    #[test]
    fn extensions_are_lower_case_without_the_dot() {
        assert_eq!(extension_of("song.MP3").as_deref(), Some("mp3"));
        assert_eq!(extension_of(Path::new("a/b.c/track.Flac")).as_deref(), Some("flac"));
        assert_eq!(extension_of("README"), None);
        assert_eq!(extension_of(".hidden"), None);
    }

    #[test]
    fn warnings_have_one_wording_each() {
        assert!(DecodeWarnings::default().messages().is_empty());
        let w = DecodeWarnings { truncated: true, skipped_packets: 3 };
        assert!(!w.is_empty());
        assert_eq!(
            w.messages(),
            [DecodeWarnings::TRUNCATED.to_string(), "3 damaged packet(s) were skipped".into()]
        );
    }
}
