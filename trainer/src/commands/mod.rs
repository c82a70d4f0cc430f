//! The trainer's sub-commands, one module each, and the few helpers they share (here, so
//! that command modules do not import each other). Each `run` returns the process exit
//! code: 0 on success, 1 when some inputs failed but the command completed, errors
//! otherwise.

pub mod backend;
pub mod bench_epoch;
pub mod classify;
pub mod convert;
pub mod describe;
pub mod detect;
pub mod eval;
pub mod fuse;
pub mod info;
pub mod tags;
pub mod train;
pub mod train_options;
pub mod train_own;
pub mod train_table;

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::Context;
use genrescope::classify::Ensemble;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use backend::Backend;

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

/// More items than this get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_ITEMS: usize = 4;

/// Reads and checks a bundle of any kind and loads it on the chosen backend; returns it with
/// the backend's name. Every failure here is a model error (exit code 2).
pub fn load_classifier(path: &Path, backend: Backend) -> anyhow::Result<(Ensemble, String)> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the model bundle {}", path.display()))?;
    let (device, backend_name) = backend.device()?;
    let mut loaded = Ensemble::from_bundle(&bytes, &device)
        .with_context(|| format!("cannot load the model bundle {}", path.display()))?;
    attach_detached(&mut loaded, path)?;
    Ok((loaded, backend_name))
}

/// Attaches each detached member of the fusion loaded from `path` (see
/// [`Ensemble::attach`]) from its file beside `path`.
pub fn attach_detached(ensemble: &mut Ensemble, path: &Path) -> anyhow::Result<()> {
    let awaiting: Vec<(String, String)> =
        ensemble.awaiting().into_iter().map(|(n, f)| (n.to_string(), f.to_string())).collect();
    for (name, file) in awaiting {
        let (beside, bytes) = read_detached(path, &name, &file)?;
        ensemble.attach(&name, &bytes).with_context(|| {
            format!("cannot load {} (member `{name}` of {})", beside.display(), path.display())
        })?;
    }
    Ok(())
}

/// The file `file` beside the fusion bundle at `path`, where it keeps its member `name`: the
/// file's path and bytes (not checked against the fusion here).
pub fn read_detached(path: &Path, name: &str, file: &str) -> anyhow::Result<(PathBuf, Vec<u8>)> {
    let beside = path.parent().unwrap_or(Path::new("")).join(file);
    let bytes = std::fs::read(&beside).with_context(|| {
        format!(
            "the model bundle {} keeps its member `{name}` in {}, which cannot be read",
            path.display(),
            beside.display()
        )
    })?;
    Ok((beside, bytes))
}

/// A progress bar on stderr, drawn only when stderr is a terminal and there are more than a
/// few items; hidden otherwise (so logs and pipes stay clean).
pub fn progress_bar(len: usize, what: &str) -> ProgressBar {
    if len <= PROGRESS_MIN_ITEMS || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!("{what} [{{bar:30}}] {{pos}}/{{len}} (ETA {{eta}})"))
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
