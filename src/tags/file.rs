//! A checked genre written into a file on disk (native only): the checked bytes go to a new
//! file beside the original, are read back, and only then replace it by a rename, so a crash
//! at any point leaves either the old file or the new one, never half of one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{checked_with_tags, read_tags, FileTags, TagError, TagWrite};
use crate::audio::DecodeLimits;

/// What [`write_tags_to_path`] did (or, dry, would do) to one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagChange {
    /// The file.
    pub path: PathBuf,
    /// Its tags before.
    pub before: FileTags,
    /// What was (or would be) written.
    pub write: TagWrite,
    /// Whether the file was rewritten (false for a dry run).
    pub written: bool,
}

fn io(e: std::io::Error) -> TagError {
    TagError::Io(e.to_string())
}

/// Writes `write` into the tags of the file at `path` (see [`super::with_tags`]) after the
/// check of [`checked_with_tags`]; with `dry_run`, checks everything on a copy in memory
/// and leaves the file alone. A read-only file is refused, untouched.
pub fn write_tags_to_path(
    path: &Path,
    write: &TagWrite,
    dry_run: bool,
    limits: &DecodeLimits,
) -> Result<TagChange, TagError> {
    let meta = fs::metadata(path).map_err(io)?;
    if meta.permissions().readonly() {
        return Err(TagError::ReadOnly);
    }
    let original = fs::read(path).map_err(io)?;
    let before = read_tags(&original)?;
    let updated = checked_with_tags(&original, write, limits)?;
    let change =
        TagChange { path: path.to_path_buf(), before, write: write.clone(), written: false };
    if dry_run {
        return Ok(change);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.genrescope-new"));
    let result = (|| {
        let mut file =
            fs::OpenOptions::new().write(true).create_new(true).open(&temp).map_err(io)?;
        file.write_all(&updated).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        if fs::read(&temp).map_err(io)? != updated {
            return Err(TagError::Check("the new file does not read back as written".into()));
        }
        fs::set_permissions(&temp, meta.permissions()).map_err(io)?;
        fs::rename(&temp, path).map_err(io)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    Ok(TagChange { written: true, ..change })
}
