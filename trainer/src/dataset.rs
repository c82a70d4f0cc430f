//! Discovering a labelled audio collection on disk.
//!
//! Layout: `DIR/<label>/**/<file>` — one sub-folder of `DIR` per label, named after the label
//! (GTZAN's `genres/<genre>/<genre>.000NN.wav` works as is with `DIR = genres`). Files in
//! nested folders under a label folder belong to that label.
//!
//! Rules:
//! - Audio files are recognised by extension, case-insensitively ([`AUDIO_EXTENSIONS`]);
//!   other files are skipped and listed in [`Dataset::skipped_files`] (this includes stray
//!   files directly in `DIR`).
//! - Hidden files and folders (name starting with `.`) are ignored and not listed.
//! - Labels are the names of the label folders that hold at least one audio file, sorted by
//!   their (UTF-8) bytes: this order is the model's output order.
//!   Label folders without audio are left out and listed in [`Dataset::empty_labels`].
//! - Tracks are sorted by path, so the same folder always gives the same dataset.
//! - At least two labels with audio are needed; otherwise discovery fails with a message
//!   that says what was found (and, when `DIR` holds a single folder that itself looks like
//!   a labelled collection, which folder to pass instead).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use genrescope::audio::extension_of;

/// File extensions (lower case, without the dot) treated as audio.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "flac", "mp3", "ogg", "oga", "au", "snd", "aiff", "aif", "m4a", "mp4", "caf", "mkv",
    "webm",
];

/// Deepest folder nesting followed below a label folder (guards against symlink loops).
const MAX_DEPTH: usize = 16;

/// True when `path` has one of the [`AUDIO_EXTENSIONS`] (any letter case).
pub fn is_audio_path(path: &Path) -> bool {
    extension_of(path).is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.as_str()))
}

/// One audio file and the index of its label in [`Dataset::labels`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// Path of the audio file (as found under the dataset folder).
    pub path: PathBuf,
    /// Index into [`Dataset::labels`].
    pub label: usize,
}

/// A labelled collection found by [`discover`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Label names, sorted; the model's output order.
    pub labels: Vec<String>,
    /// Every audio file, sorted by path.
    pub tracks: Vec<Track>,
    /// Non-hidden files that are not audio by extension, sorted (skipped, for reporting).
    pub skipped_files: Vec<PathBuf>,
    /// Label folders that hold no audio file, sorted: left out of `labels`; worth a warning.
    pub empty_labels: Vec<String>,
}

impl Dataset {
    /// Number of tracks per label, indexed like [`Dataset::labels`].
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.labels.len()];
        for t in &self.tracks {
            counts[t.label] += 1;
        }
        counts
    }

    /// The label index of every track, in track order (the input of [`crate::split`]).
    pub fn track_labels(&self) -> Vec<usize> {
        self.tracks.iter().map(|t| t.label).collect()
    }
}

/// Why a folder could not be used as a labelled collection.
#[derive(Debug)]
pub enum DatasetError {
    /// The folder does not exist.
    NotFound(PathBuf),
    /// The path exists but is not a folder.
    NotADirectory(PathBuf),
    /// A folder or file could not be read.
    Io {
        /// What was being read.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// `dir` has no (non-hidden) sub-folder at all.
    NoLabelFolders {
        /// The dataset folder.
        dir: PathBuf,
        /// Audio files found directly in `dir` (they need a label folder).
        loose_audio_files: usize,
    },
    /// Fewer than two label folders hold audio.
    TooFewLabels {
        /// The dataset folder.
        dir: PathBuf,
        /// Labels that hold audio (0 or 1 of them).
        found: Vec<String>,
        /// Label folders without audio.
        empty: Vec<String>,
        /// A sub-folder that looks like the intended dataset folder, when there is one.
        hint: Option<PathBuf>,
    },
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatasetError::NotFound(p) => write!(f, "dataset folder {} does not exist", p.display()),
            DatasetError::NotADirectory(p) => {
                write!(
                    f,
                    "{} is not a folder; pass a folder with one sub-folder per label",
                    p.display()
                )
            }
            DatasetError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            DatasetError::NoLabelFolders { dir, loose_audio_files } => {
                write!(f, "{} has no label sub-folders; put each label's audio files in a sub-folder named after the label", dir.display())?;
                if *loose_audio_files > 0 {
                    write!(f, " ({loose_audio_files} audio files lie directly in it)")?;
                }
                Ok(())
            }
            DatasetError::TooFewLabels { dir, found, empty, hint } => {
                match found.as_slice() {
                    [] => write!(
                        f,
                        "need at least 2 labels, found no label folder with audio in {}",
                        dir.display()
                    )?,
                    [only] => write!(
                        f,
                        "need at least 2 labels, found only '{only}' in {}",
                        dir.display()
                    )?,
                    _ => write!(f, "need at least 2 labels, found {}", found.len())?,
                }
                if !empty.is_empty() {
                    write!(f, "; label folders without audio files: {}", quoted_list(empty))?;
                }
                if let Some(h) = hint {
                    write!(
                        f,
                        "; hint: {} itself holds several label folders with audio, did you mean to pass that folder?",
                        h.display()
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for DatasetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DatasetError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn quoted_list(names: &[String]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io { path: path.to_path_buf(), source }
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Non-hidden entries of `dir`, split into (folders, files), each sorted by path.
/// Symbolic links are followed; broken ones count as files.
fn list_dir(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), DatasetError> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        if is_hidden(&path) {
            continue;
        }
        if fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            dirs.push(path);
        } else {
            files.push(path);
        }
    }
    dirs.sort();
    files.sort();
    Ok((dirs, files))
}

/// Collects audio files (and skipped non-audio files) under `dir`, recursively.
fn collect_files(
    dir: &Path,
    depth: usize,
    audio: &mut Vec<PathBuf>,
    skipped: &mut Vec<PathBuf>,
) -> Result<(), DatasetError> {
    let (dirs, files) = list_dir(dir)?;
    for f in files {
        if is_audio_path(&f) {
            audio.push(f);
        } else {
            skipped.push(f);
        }
    }
    if depth < MAX_DEPTH {
        for d in dirs {
            collect_files(&d, depth + 1, audio, skipped)?;
        }
    }
    Ok(())
}

/// Number of sub-folders of `dir` that hold audio somewhere below them (for the hint).
fn labelled_subfolders(dir: &Path) -> usize {
    let Ok((dirs, _)) = list_dir(dir) else { return 0 };
    dirs.iter()
        .filter(|d| {
            let (mut audio, mut skipped) = (Vec::new(), Vec::new());
            collect_files(d, 1, &mut audio, &mut skipped).is_ok() && !audio.is_empty()
        })
        .count()
}

/// Finds the labels and audio files under `dir` (see the module rules).
pub fn discover(dir: &Path) -> Result<Dataset, DatasetError> {
    let meta = match fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(DatasetError::NotFound(dir.to_path_buf()))
        }
        Err(e) => return Err(io_err(dir)(e)),
    };
    if !meta.is_dir() {
        return Err(DatasetError::NotADirectory(dir.to_path_buf()));
    }
    let (label_dirs, loose_files) = list_dir(dir)?;
    if label_dirs.is_empty() {
        let loose_audio_files = loose_files.iter().filter(|f| is_audio_path(f)).count();
        return Err(DatasetError::NoLabelFolders { dir: dir.to_path_buf(), loose_audio_files });
    }

    let mut skipped_files = loose_files;
    let mut named: Vec<(String, Vec<PathBuf>)> = Vec::new();
    let mut empty_labels = Vec::new();
    for d in &label_dirs {
        let name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut audio = Vec::new();
        collect_files(d, 1, &mut audio, &mut skipped_files)?;
        if audio.is_empty() {
            empty_labels.push(name);
        } else {
            named.push((name, audio));
        }
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    empty_labels.sort();
    skipped_files.sort();

    if named.len() < 2 {
        let hint = if label_dirs.len() == 1 && labelled_subfolders(&label_dirs[0]) >= 2 {
            Some(label_dirs[0].clone())
        } else {
            None
        };
        return Err(DatasetError::TooFewLabels {
            dir: dir.to_path_buf(),
            found: named.into_iter().map(|(n, _)| n).collect(),
            empty: empty_labels,
            hint,
        });
    }

    let mut tracks: Vec<Track> = named
        .iter()
        .enumerate()
        .flat_map(|(label, (_, files))| files.iter().map(move |p| Track { path: p.clone(), label }))
        .collect();
    tracks.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Dataset {
        labels: named.into_iter().map(|(n, _)| n).collect(),
        tracks,
        skipped_files,
        empty_labels,
    })
}

/// How reports name a track of a labelled folder: `<label>/<file name>`.
pub fn track_key(label: &str, path: &Path) -> String {
    format!("{label}/{}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"x").unwrap();
    }

    #[test]
    fn gtzan_layout_is_discovered_sorted() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for rel in [
            "rock/rock.00001.wav",
            "rock/rock.00000.wav",
            "blues/blues.00000.au",
            "blues/blues.00001.WAV",
            "jazz/sub/jazz.00000.mp3",
            "jazz/notes.txt",
            "jazz/.DS_Store",
            ".hidden/x.wav",
            "README.md",
            "empty/cover.jpg",
        ] {
            touch(root, rel);
        }
        let ds = discover(root).unwrap();
        assert_eq!(ds.labels, vec!["blues", "jazz", "rock"]);
        assert_eq!(ds.counts(), vec![2, 1, 2]);
        assert_eq!(ds.track_labels(), vec![0, 0, 1, 2, 2]);
        let names: Vec<_> =
            ds.tracks.iter().map(|t| t.path.strip_prefix(root).unwrap().to_path_buf()).collect();
        assert_eq!(names[0], Path::new("blues/blues.00000.au"));
        assert_eq!(names[3], Path::new("rock/rock.00000.wav"));
        assert_eq!(ds.empty_labels, vec!["empty"]);
        let skipped: Vec<_> =
            ds.skipped_files.iter().map(|p| p.strip_prefix(root).unwrap().to_path_buf()).collect();
        assert_eq!(
            skipped,
            vec![
                PathBuf::from("README.md"),
                PathBuf::from("empty/cover.jpg"),
                PathBuf::from("jazz/notes.txt")
            ]
        );
    }

    #[test]
    fn extensions_are_case_insensitive() {
        assert!(is_audio_path(Path::new("a/B.FLAC")));
        assert!(is_audio_path(Path::new("x.webm")));
        assert!(!is_audio_path(Path::new("x.txt")));
        assert!(!is_audio_path(Path::new("wav")));
    }

    #[test]
    fn missing_and_file_paths_fail_clearly() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let err = discover(&missing).unwrap_err();
        assert!(matches!(err, DatasetError::NotFound(_)));
        assert!(err.to_string().contains("does not exist"));
        touch(tmp.path(), "file.wav");
        let err = discover(&tmp.path().join("file.wav")).unwrap_err();
        assert!(err.to_string().contains("is not a folder"), "{err}");
    }

    #[test]
    fn no_label_folders() {
        let tmp = tempfile::tempdir().unwrap();
        touch(tmp.path(), "a.wav");
        touch(tmp.path(), "b.wav");
        let err = discover(tmp.path()).unwrap_err();
        assert!(matches!(err, DatasetError::NoLabelFolders { loose_audio_files: 2, .. }));
        assert!(err.to_string().contains("no label sub-folders"), "{err}");
    }

    #[test]
    fn single_label_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        touch(tmp.path(), "blues/a.wav");
        touch(tmp.path(), "empty/readme.txt");
        let err = discover(tmp.path()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("need at least 2 labels, found only 'blues'"), "{msg}");
        assert!(msg.contains("'empty'"), "{msg}");
    }

    #[test]
    fn parent_of_label_folders_gets_a_hint() {
        let tmp = tempfile::tempdir().unwrap();
        touch(tmp.path(), "genres/blues/a.wav");
        touch(tmp.path(), "genres/rock/b.wav");
        let err = discover(tmp.path()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("found only 'genres'"), "{msg}");
        assert!(msg.contains("hint") && msg.contains("genres"), "{msg}");
        let ds = discover(&tmp.path().join("genres")).unwrap();
        assert_eq!(ds.labels, vec!["blues", "rock"]);
    }

    #[test]
    fn all_label_folders_empty() {
        let tmp = tempfile::tempdir().unwrap();
        touch(tmp.path(), "a/x.txt");
        fs::create_dir_all(tmp.path().join("b")).unwrap();
        let msg = discover(tmp.path()).unwrap_err().to_string();
        assert!(msg.contains("found no label folder with audio"), "{msg}");
        assert!(msg.contains("'a', 'b'"), "{msg}");
    }
}
