//! The typed provenance fields every trained bundle carries: which data set (by name, with
//! its size and where the trainer read it) and the headline accuracy.

use std::path::Path;

use genrescope::bundle::{Dataset, Evaluation as BundleEvaluation};

use crate::metrics::{CvSummary, Evaluation};

/// Folder names that say how a data set is laid out rather than what it is: the data set
/// is then named after the parent folder (`gtzan-mini/genres` is `gtzan-mini`).
const LAYOUT_FOLDERS: [&str; 4] = ["genres", "audio", "data", "wav"];

/// The data set read from `source` (a labelled folder or a descriptor table), `tracks` of it
/// used: named after the folder (or the table file's stem).
pub fn dataset(source: &Path, tracks: usize) -> Dataset {
    let absolute = source.canonicalize().unwrap_or_else(|_| source.to_path_buf());
    let name_of = |p: &Path| {
        let name = if p.is_file() { p.file_stem() } else { p.file_name() };
        name.map(|n| n.to_string_lossy().into_owned())
    };
    let mut name = name_of(&absolute);
    if name.as_deref().is_some_and(|n| LAYOUT_FOLDERS.contains(&n)) {
        name = absolute.parent().and_then(name_of).or(name);
    }
    Dataset {
        name: name.unwrap_or_else(|| "unnamed data".into()),
        tracks: tracks as u64,
        source: source.display().to_string(),
    }
}

/// The cross-validated track accuracy of `cv` as the bundle's headline figure; `nested`
/// when an inner loop chose something on the training folds.
pub fn cross_validated(cv: &CvSummary, nested: bool) -> BundleEvaluation {
    let folds = cv.folds.len();
    BundleEvaluation {
        method: format!("{}{folds}-fold cross-validation", if nested { "nested " } else { "" }),
        folds: folds as u32,
        accuracy: cv.track_accuracy.mean,
        accuracy_std: Some(cv.track_accuracy.std),
    }
}

/// The headline figure from cross-validation when there was one (`cv`), else from the
/// held-out test tracks.
pub fn headline(cv: Option<&CvSummary>, test: &Evaluation) -> BundleEvaluation {
    match cv {
        Some(cv) => cross_validated(cv, false),
        None => BundleEvaluation {
            method: format!("{} held-out tracks", test.n_tracks),
            folds: 0,
            accuracy: test.track_accuracy,
            accuracy_std: None,
        },
    }
}

/// The command line that is running, as the provenance and reports record it (arguments
/// with spaces quoted).
pub fn command_line() -> String {
    let mut parts = vec!["trainer".to_string()];
    parts.extend(
        std::env::args().skip(1).map(|a| if a.contains(' ') { format!("'{a}'") } else { a }),
    );
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_sets_are_named_after_their_folder_not_its_layout() {
        let dir = tempfile::tempdir().unwrap();
        let genres = dir.path().join("my-collection").join("genres");
        std::fs::create_dir_all(&genres).unwrap();
        let d = dataset(&genres, 12);
        assert_eq!((d.name.as_str(), d.tracks), ("my-collection", 12));
        assert_eq!(d.source, genres.display().to_string());
        let table = dir.path().join("features-30s.csv");
        std::fs::write(&table, "x").unwrap();
        assert_eq!(dataset(&table, 3).name, "features-30s");
    }
}
