//! `trainer train own`: a user's own categories learnt on a model's MusiCNN backbone, from a
//! folder with one sub-folder per category. The same code as the page's "Your own genres"
//! (`genrescope::training::own_genres`), with the same defaults, so the same tracks and seed
//! give the same cross-validation and model.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use burn::tensor::Device;
use clap::Args;
use genrescope::audio::{self, DecodeLimits};
use genrescope::classify::Ensemble;
use genrescope::training::own_genres::{
    train_own_genres, OwnOrigin, OwnReport, OwnSettings, OwnTrack,
};
use rayon::prelude::*;

use super::{discover_labelled, progress_bar};
use crate::provenance::command_line;

/// `trainer train own` options; every default is the page's (`OwnSettings::default()`).
#[derive(Debug, Args)]
pub struct OwnArgs {
    /// Folder with one sub-folder of audio files per category (the category's name).
    #[arg(long)]
    pub data: PathBuf,
    /// The model whose MusiCNN backbone embeds the examples; the new model keeps its front
    /// end, music detector and MSD tags.
    #[arg(long, default_value = "web/models/default/model.gscope")]
    pub base: PathBuf,
    /// Output folder for `model.gscope`, `report.md` and `report.json`.
    #[arg(long, default_value = "own-model")]
    pub out: PathBuf,
    /// Folds of the cross-validation by track (fewer when a category has fewer tracks).
    #[arg(long, default_value_t = OwnSettings::default().folds)]
    pub folds: usize,
    /// Seed of the folds, initial weights, dropout and batch order.
    #[arg(long, default_value_t = OwnSettings::default().seed)]
    pub seed: u64,
    /// Most epochs per fit.
    #[arg(long, default_value_t = OwnSettings::default().epochs)]
    pub epochs: usize,
    /// Patches per optimiser step.
    #[arg(long, default_value_t = OwnSettings::default().batch_size)]
    pub batch: usize,
    /// Adam's starting learning rate.
    #[arg(long, default_value_t = OwnSettings::default().learning_rate)]
    pub lr: f64,
    /// Epochs without improvement before a fit stops.
    #[arg(long, default_value_t = OwnSettings::default().patience)]
    pub patience: usize,
    /// Epochs without improvement before the learning rate is halved.
    #[arg(long, default_value_t = OwnSettings::default().plateau_patience)]
    pub plateau_patience: usize,
    /// Dropout on the embedding while training.
    #[arg(long, default_value_t = OwnSettings::default().dropout)]
    pub dropout: f64,
    /// The `uncertain` threshold aims at answers right this often.
    #[arg(long, default_value_t = OwnSettings::default().target_accuracy)]
    pub target_accuracy: f64,
}

impl OwnArgs {
    /// The training settings these options give.
    pub fn settings(&self) -> OwnSettings {
        OwnSettings {
            folds: self.folds,
            seed: self.seed,
            epochs: self.epochs,
            batch_size: self.batch,
            learning_rate: self.lr,
            patience: self.patience,
            plateau_patience: self.plateau_patience,
            dropout: self.dropout,
            target_accuracy: self.target_accuracy,
        }
    }
}

/// Embeds every example with the base model's backbone (every core), trains, writes the
/// bundle and the report. Exit code 1 when some files could not be read (the others trained).
pub fn run(args: OwnArgs) -> anyhow::Result<ExitCode> {
    let dataset = discover_labelled(&args.data)?;
    let base = std::fs::read(&args.base)
        .with_context(|| format!("cannot read the base model {}", args.base.display()))?;
    let ensemble = Ensemble::from_bundle(&base, &Device::flex())
        .with_context(|| format!("cannot load the base model {}", args.base.display()))?;
    let limits = DecodeLimits::default();
    let bar = progress_bar(dataset.tracks.len(), "embedding");
    let embedded: Vec<(PathBuf, Result<OwnTrack, String>)> = dataset
        .tracks
        .par_iter()
        .map(|t| {
            let label = dataset.labels[t.label].clone();
            let result = embed_file(&ensemble, &t.path, &limits).map(|embedding| OwnTrack {
                label,
                name: file_name(&t.path),
                embedding,
            });
            bar.inc(1);
            (t.path.clone(), result)
        })
        .collect();
    bar.finish_and_clear();
    let mut tracks = Vec::with_capacity(embedded.len());
    let mut failed = 0;
    for (path, result) in embedded {
        match result {
            Ok(track) => tracks.push(track),
            Err(e) => {
                failed += 1;
                eprintln!("warning: skipped {}: {e}", path.display());
            }
        }
    }
    let origin = OwnOrigin {
        command: command_line(),
        created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        data: crate::provenance::dataset(&args.data, tracks.len()).name,
    };
    let settings = args.settings();
    let model = train_own_genres(&base, &tracks, &settings, &origin, &mut |p| {
        eprintln!("trained {}/{} (the folds, then the model on every track)", p.done, p.total)
    })?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let bundle = args.out.join("model.gscope");
    std::fs::write(&bundle, &model.bundle)
        .with_context(|| format!("writing {}", bundle.display()))?;
    std::fs::write(args.out.join("report.json"), serde_json::to_string_pretty(&model.report)?)?;
    std::fs::write(args.out.join("report.md"), report_markdown(&model.report, &origin))?;
    println!("{}", headline(&model.report));
    println!("wrote {} and its report", bundle.display());
    Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Decodes a file and embeds every patch with the base model's backbone.
fn embed_file(ensemble: &Ensemble, path: &Path, limits: &DecodeLimits) -> Result<Vec<f32>, String> {
    let decoded = audio::decode_path(path, limits).map_err(|e| e.to_string())?;
    match ensemble.embed(&decoded.samples, decoded.sample_rate).map_err(|e| e.to_string())? {
        Some(e) => Ok(e.data),
        None => Err("the base model has no MusiCNN backbone to embed with".into()),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The cross-validation in one line.
pub fn headline(r: &OwnReport) -> String {
    let tracks: usize = r.tracks_per_label.iter().sum();
    format!(
        "{}-fold cross-validation by track: {:.1} % ± {:.1} ({} of {tracks} held-out tracks right), {} categories",
        r.folds,
        100.0 * r.accuracy,
        100.0 * r.accuracy_std,
        r.correct,
        r.labels.len()
    )
}

/// The report for people: the headline, the confusion matrix and the calibration.
fn report_markdown(r: &OwnReport, origin: &OwnOrigin) -> String {
    let mut md = format!("# Own-genre model\n\n{}\n\n", headline(r));
    md += &format!("Made {} by `{}`.\n\n", origin.created, origin.command);
    md += "| true \\ predicted | ";
    md += &r.labels.join(" | ");
    md += " |\n|---|";
    md += &"---|".repeat(r.labels.len());
    md += "\n";
    for (label, row) in r.labels.iter().zip(&r.confusion) {
        let cells: Vec<String> = row.iter().map(usize::to_string).collect();
        md += &format!("| {label} | {} |\n", cells.join(" | "));
    }
    md += &format!(
        "\nBest epochs of the folds: {:?}; the model trained on every track for {} epochs.\n",
        r.fold_epochs, r.epochs
    );
    if let Some(c) = &r.calibration {
        md += &format!("\n{}\n", c.summary());
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        own: OwnArgs,
    }

    #[test]
    fn the_cli_defaults_are_the_pages() {
        let cli = Cli::try_parse_from(["own", "--data", "x"]).unwrap();
        assert_eq!(cli.own.settings(), OwnSettings::default());
    }
}
