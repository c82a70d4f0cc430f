//! The trainer's sub-commands, one module each. Each `run` returns the process exit code:
//! 0 on success, 1 when some inputs failed but the command completed, errors otherwise.

pub mod backend;
pub mod bench_epoch;
pub mod classify;
pub mod convert;
pub mod describe;
pub mod eval;
pub mod fuse;
pub mod info;
pub mod train;
pub mod train_options;
pub mod train_table;

use std::path::Path;

use crate::dataset::{discover, Dataset};

/// Discovers a labelled folder and tells the user on stderr what was found and ignored.
pub fn discover_labelled(dir: &Path) -> anyhow::Result<Dataset> {
    let dataset = discover(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    for label in &dataset.empty_labels {
        eprintln!("warning: label folder '{label}' holds no audio and is ignored");
    }
    if !dataset.skipped_files.is_empty() {
        eprintln!("note: {} non-audio files skipped", dataset.skipped_files.len());
    }
    let counts: Vec<String> =
        dataset.labels.iter().zip(dataset.counts()).map(|(l, n)| format!("{l} {n}")).collect();
    eprintln!(
        "{} tracks in {} labels: {}",
        dataset.tracks.len(),
        dataset.labels.len(),
        counts.join(", ")
    );
    Ok(dataset)
}
