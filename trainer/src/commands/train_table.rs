//! `trainer train --table CSV`: a network on a table of precomputed descriptors (one row per
//! track, or per window of a long track): stratified K-fold cross-validation, then the
//! hold-out model written as a table-model bundle that classifies audio through the same
//! descriptor code. Each fit learns its own preprocessing (correlation filter,
//! standardisation) from its training rows only.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use genrescope::bundle::{DescriptorInput, Provenance, TableBundle, TableHeader};
use genrescope::classify::TableModel;
use genrescope::descriptors::{column_names, DescriptorWindowing, SAMPLE_RATE};
use genrescope::model::table::{TableArchitecture, TableNet, MLP_HIDDEN};
use serde_json::json;

use super::train::{median_epoch, no_holdout_rule, TableArch, TrainArgs};
use crate::cv::cross_validate;
use crate::metrics::Evaluation;
use crate::provenance::command_line;
use crate::report::{pooled_evaluation, print_cv};
use crate::report::{print_summary, write_report_calibrated};
use crate::split::stratified_split;
use crate::table::{FeatureTable, TablePreprocessing};
use crate::train::rows::{Rows, Stage};
use crate::train::schedule::{Schedule, ScheduleConfig};

/// Epochs between halvings of the 1-D CNN's learning rate (the study's schedule).
const CNN1D_HALVE_EVERY: usize = 10;

/// Runs `trainer train --table CSV` (see [`TrainArgs::table`]).
pub fn run(args: &TrainArgs, path: &Path) -> anyhow::Result<ExitCode> {
    if args.cv_only && args.folds.is_none() {
        bail!("--cv-only needs --folds K");
    }
    crate::calibrate::check_target(args.target_accuracy)?;
    if args.no_holdout && (args.folds.is_none() || args.cv_only) {
        bail!("--no-holdout trains the bundle on every recording and needs --folds K (without --cv-only)");
    }
    if !args.cv_only && args.ensemble > 1 {
        bail!("a table bundle holds one network: use --ensemble N with --folds K --cv-only");
    }
    if !(0.0..=1.0).contains(&args.max_correlation) || args.max_correlation == 0.0 {
        bail!("--max-correlation must be in (0, 1], got {}", args.max_correlation);
    }
    if !(args.min_seconds.is_finite() && args.min_seconds >= 0.0) {
        bail!("--min-seconds must be a number >= 0, got {}", args.min_seconds);
    }
    let mut table = FeatureTable::read(path)?;
    let excluded = match &args.exclude_data {
        Some(dir) => exclude_rows(&mut table, dir, args.exclude_neighbours)?,
        None => 0,
    };
    eprintln!(
        "{}: {} rows, {} descriptor columns, {} labels ({}){}",
        path.display(),
        table.rows.len(),
        table.columns.len(),
        table.labels.len(),
        table.labels.join(", "),
        if excluded > 0 {
            format!("; {excluded} rows left out (--exclude-data)")
        } else {
            String::new()
        }
    );
    let architecture = match args.table_arch {
        TableArch::Mlp => TableArchitecture::Mlp {
            hidden: if args.head_hidden.is_empty() {
                MLP_HIDDEN.to_vec()
            } else {
                args.head_hidden.clone()
            },
            dropout: args.head_dropout,
        },
        TableArch::Cnn1d => TableArchitecture::cnn1d_default(),
    };
    let schedule = ScheduleConfig {
        learning_rate: args.lr,
        plateau_patience: args.plateau_patience,
        early_stop_patience: args.patience,
        step_every: (args.table_arch == TableArch::Cnn1d).then_some(CNN1D_HALVE_EVERY),
        ..ScheduleConfig::default()
    };
    let (device, backend_name) = args.backend.device()?;
    let tracks = table.tracks()?;
    let track_labels: Vec<usize> = tracks.iter().map(|rows| table.row_labels[rows[0]]).collect();
    if tracks.len() < table.rows.len() {
        eprintln!("{} rows from {} recordings: the windows of one recording stay in one fold and are pooled", table.rows.len(), tracks.len());
    }
    let trainer = TableTrainer {
        table: &table,
        tracks: &tracks,
        track_labels: &track_labels,
        architecture: &architecture,
        schedule: &schedule,
        args,
        device: &device,
    };
    let started = Instant::now();

    let mut best_epochs = Vec::new();
    let cv = match args.folds {
        Some(k) => Some(cross_validate(&track_labels, k, args.seed, |i, fold| {
            let name = format!("fold {}/{k}", i + 1);
            let fit = trainer.fit(&fold.train, &fold.val, &name)?;
            best_epochs.push(fit.mean_epoch());
            let mut evaluation = trainer.evaluate(&fit, &fold.test, &device)?;
            evaluation.name_tracks(|t| table.names[tracks[t][0]].clone());
            eprintln!(
                "{name}: test accuracy {:.1}% (best epoch {}, {} of {} descriptors kept)",
                100.0 * evaluation.track_accuracy,
                fit.mean_epoch(),
                fit.prep.columns.len(),
                table.columns.len()
            );
            Ok(evaluation)
        })?),
        None => None,
    };
    let calibration = cv.as_ref().and_then(|cv| {
        crate::calibrate::fit(&crate::calibrate::out_of_fold(cv), args.target_accuracy)
    });
    if let Some(c) = &calibration {
        println!("{}", c.summary());
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let data = format!(
        "{}: {} rows of {} recordings, {} labels{}",
        path.display(),
        table.rows.len(),
        tracks.len(),
        table.labels.len(),
        match &args.exclude_data {
            Some(dir) => format!(
                "; {excluded} rows left out: the files of {} and their neighbours up to {} numbers away",
                dir.display(),
                args.exclude_neighbours
            ),
            None => String::new(),
        }
    );
    let mut meta = json!({
        "data": data,
        "seed": args.seed,
        "command": command_line(),
        "backend": backend_name,
        "architecture": architecture,
        "schedule": schedule,
        "max_correlation": args.max_correlation,
        "ensemble": args.ensemble,
        "training_seconds": started.elapsed().as_secs_f64(),
    });
    if args.cv_only {
        let cv = cv.expect("--cv-only has --folds");
        let files = write_report_calibrated(
            &args.out,
            "cv-report",
            "Cross-validation (descriptor table)",
            &pooled_evaluation(&cv),
            None,
            Some(&cv),
            calibration.as_ref(),
            &meta,
        )?;
        print_cv(&cv);
        eprintln!(
            "wrote {}",
            files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        return Ok(ExitCode::SUCCESS);
    }

    // The bundle's network: on a hold-out split, or on every recording (--no-holdout).
    let (fit, test, split_text, check_on) = if args.no_holdout {
        let epochs = median_epoch(&best_epochs).context("no fold reported a best epoch")?;
        let fixed_args = TrainArgs { epochs, ..args.clone() };
        let fixed_schedule = ScheduleConfig { early_stop_patience: epochs + 1, ..schedule.clone() };
        let all_recordings =
            TableTrainer { args: &fixed_args, schedule: &fixed_schedule, ..trainer };
        let rule =
            no_holdout_rule(tracks.len(), best_epochs.len(), epochs, &best_epochs, args.seed);
        eprintln!("{rule}");
        let all: Vec<usize> = (0..tracks.len()).collect();
        let fit = all_recordings.fit(&all, &[], "all recordings")?;
        (fit, None, rule, vec![0])
    } else {
        let split = stratified_split(&track_labels, (0.8, 0.1, 0.1), args.seed)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let split_text = format!(
            "stratified by label, by recording: {} train / {} validation / {} test, seed {}",
            split.train.len(),
            split.val.len(),
            split.test.len(),
            args.seed
        );
        eprintln!(
            "split by recording: {} train, {} validation, {} test",
            split.train.len(),
            split.val.len(),
            split.test.len()
        );
        let fit = trainer.fit(&split.train, &split.val, "hold-out")?;
        let test = trainer.evaluate(&fit, &split.test, &device)?;
        println!("{}", print_summary(&test));
        (fit, Some(test), split_text, split.test)
    };
    if let Some(cv) = &cv {
        print_cv(cv);
    }
    let (net, best_epoch) = fit.members.into_iter().next().expect("one network");
    let header = TableHeader {
        labels: table.labels.clone(),
        descriptors: DescriptorInput {
            sample_rate: SAMPLE_RATE,
            windowing: DescriptorWindowing::default(),
            max_windows: args.max_windows.map(|n| n as usize),
            min_seconds: args.min_seconds,
            columns: fit.prep.columns.clone(),
            mean: fit.prep.mean.clone(),
            std: fit.prep.std.clone(),
        },
        architecture: architecture.clone(),
        weight_storage: args.weights,
        provenance: Provenance {
            data: meta["data"].as_str().unwrap_or_default().to_string(),
            split: split_text.clone(),
            seed: args.seed,
            command: command_line(),
            metrics: json!({
                "test": test.as_ref().map(|test| json!({"tracks": test.n_tracks, "track_accuracy": test.track_accuracy, "macro_f1": test.macro_f1, "mean_loss": test.mean_loss})),
                "cross_validation": cv.as_ref().map(|c| json!({
                    "folds": c.folds.len(), "track_accuracy": c.track_accuracy, "macro_f1": c.macro_f1,
                })),
                "best_epoch": best_epoch,
                "calibration": calibration.as_ref().map(|c| c.metrics()),
            }),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            dataset: Some(crate::provenance::dataset(path, table.rows.len())),
            evaluation: Some(match (&cv, &test) {
                (Some(cv), _) => crate::provenance::cross_validated(cv, false),
                (None, Some(test)) => crate::provenance::headline(None, test),
                (None, None) => bail!("a bundle trained without a test set needs --folds K"),
            }),
        },
        calibration: calibration.as_ref().map(|c| c.calibration),
    };
    let bytes = TableBundle::to_bytes(&header, &net).context(
        "cannot write the table bundle (its columns must be descriptors the engine computes from audio: the names of `trainer describe`)",
    )?;
    let bundle_path = args.out.join("model.gscope");
    std::fs::write(&bundle_path, &bytes)
        .with_context(|| format!("writing {}", bundle_path.display()))?;
    check_bundle(&bytes, &trainer, &fit.vectors, fit.prep.columns.len(), &net, &check_on, &device)?;
    meta["split"] = json!(split_text);
    meta["best_epoch"] = json!(best_epoch);
    let (title, evaluation) = match (test, &cv) {
        (Some(test), _) => ("Hold-out test set (descriptor table)", test),
        (None, Some(cv)) => (
            "Cross-validation (descriptor table; the bundle is trained on every recording)",
            pooled_evaluation(cv),
        ),
        (None, None) => bail!("a bundle trained without a test set needs --folds K"),
    };
    let files = write_report_calibrated(
        &args.out,
        "report",
        title,
        &evaluation,
        Some(&fit.history),
        cv.as_ref(),
        calibration.as_ref(),
        &meta,
    )?;
    eprintln!("wrote {} ({} bytes)", bundle_path.display(), bytes.len());
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes the rows of the audio files in the labelled folder `dir` (matched by file name)
/// and of files numbered up to `neighbours` away from one (same name apart from the number);
/// returns how many rows went.
fn exclude_rows(table: &mut FeatureTable, dir: &Path, neighbours: usize) -> anyhow::Result<usize> {
    let dataset = super::discover_labelled(dir)?;
    let names: HashSet<String> = dataset
        .tracks
        .iter()
        .filter_map(|t| t.path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let numbered: Vec<(String, u64)> = names.iter().filter_map(|n| numbered_name(n)).collect();
    let excluded = |name: &str| {
        let file = Path::new(name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        names.contains(&file)
            || numbered_name(&file).is_some_and(|(stem, n)| {
                numbered.iter().any(|(s, m)| *s == stem && n.abs_diff(*m) <= neighbours as u64)
            })
    };
    let keep: Vec<bool> = table.names.iter().map(|n| !excluded(n)).collect();
    let before = table.rows.len();
    let mut i = 0;
    table.rows.retain(|_| (keep[i], i += 1).0);
    let mut i = 0;
    table.row_labels.retain(|_| (keep[i], i += 1).0);
    let mut i = 0;
    table.names.retain(|_| (keep[i], i += 1).0);
    if table.rows.is_empty() {
        bail!("--exclude-data {} leaves no row of the table", dir.display());
    }
    Ok(before - table.rows.len())
}

/// `("blues.", 3)` for `blues.00003.wav`: the name up to its last run of digits before the
/// extension, and that number.
fn numbered_name(file: &str) -> Option<(String, u64)> {
    let stem = Path::new(file).file_stem()?.to_str()?;
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let (prefix, number) = stem.split_at(stem.len() - digits);
    Some((prefix.to_string(), number.parse().ok()?))
}

/// What one fit produced: its preprocessing, the networks (one per ensemble member, with
/// the kept epoch) and the first member's history.
struct TableFit {
    prep: TablePreprocessing,
    /// Every recording's standardised rows under `prep`, concatenated.
    vectors: Vec<Vec<f32>>,
    members: Vec<(TableNet, usize)>,
    history: Vec<crate::metrics::EpochRecord>,
}

impl TableFit {
    fn mean_epoch(&self) -> usize {
        self.members.iter().map(|m| m.1).sum::<usize>() / self.members.len()
    }
}

/// Fits table networks on sets of recordings.
struct TableTrainer<'a> {
    table: &'a FeatureTable,
    tracks: &'a [Vec<usize>],
    track_labels: &'a [usize],
    architecture: &'a TableArchitecture,
    schedule: &'a ScheduleConfig,
    args: &'a TrainArgs,
    device: &'a Device,
}

impl TableTrainer<'_> {
    /// The rows of the recordings `indices`, from every recording's `vectors` of `dim` values.
    fn rows(&self, vectors: &[Vec<f32>], dim: usize, indices: &[usize]) -> Rows {
        Rows::of(vectors, dim, self.track_labels, indices)
    }

    /// Preprocessing fitted on the `train` recordings' rows, then `--ensemble` networks with
    /// early stopping on `val`.
    fn fit(&self, train: &[usize], val: &[usize], name: &str) -> anyhow::Result<TableFit> {
        let train_rows: Vec<usize> =
            train.iter().flat_map(|&t| self.tracks[t].iter().copied()).collect();
        let prep = TablePreprocessing::fit(self.table, &train_rows, self.args.max_correlation)?;
        let dim = prep.columns.len();
        let vectors: Vec<Vec<f32>> =
            self.tracks.iter().map(|rows| prep.vectors(self.table, rows).concat()).collect();
        let (train, val) = (self.rows(&vectors, dim, train), self.rows(&vectors, dim, val));
        let mut members = Vec::new();
        let mut first_history = Vec::new();
        for member in 0..self.args.ensemble {
            let seed = self.args.seed + member as u64;
            self.device.seed(seed);
            let net = TableNet::new(
                self.architecture,
                dim,
                self.table.labels.len(),
                &self.device.clone().autodiff(),
            )
            .map_err(anyhow::Error::msg)?;
            let stage = Stage {
                name,
                train: &train,
                val: &val,
                eval_chunk: 256,
                first_epoch: 1,
                epochs: self.args.epochs,
                batch_size: self.args.batch,
                seed,
                weight_decay: self.args.weight_decay,
            };
            let mut history = Vec::new();
            let kept = stage
                .run(
                    net,
                    |net, x| net.forward(x),
                    Schedule::new(self.schedule.clone()),
                    &self.table.labels,
                    self.device,
                    &mut history,
                )?
                .with_context(|| format!("{name}: no epoch reached a finite loss"))?;
            if member == 0 {
                first_history = history;
            }
            members.push((kept.model, kept.epoch));
        }
        Ok(TableFit { prep, vectors, members, history: first_history })
    }

    /// The fit's members (mean of their probabilities) on the recordings `test`.
    fn evaluate(
        &self,
        fit: &TableFit,
        test: &[usize],
        device: &Device,
    ) -> anyhow::Result<Evaluation> {
        // The ensemble's logits are the log of its mean probabilities.
        let mean_log_probabilities = |x: Tensor<2>| {
            let total = fit
                .members
                .iter()
                .map(|(m, _)| softmax(m.forward(x.clone()), 1))
                .reduce(|a, b| a + b)
                .expect("at least one member");
            (total / fit.members.len() as f64).log()
        };
        self.rows(&fit.vectors, fit.prep.columns.len(), test).evaluate(
            mean_log_probabilities,
            256,
            &self.table.labels,
            device,
        )
    }
}

/// Loads the written bundle back and checks that it gives the trained network's
/// probabilities on the first test recording's rows (standardisation, column choice and
/// weights), within what its weight storage's rounding allows.
fn check_bundle(
    bytes: &[u8],
    trainer: &TableTrainer,
    vectors: &[Vec<f32>],
    dim: usize,
    net: &TableNet,
    test: &[usize],
    device: &Device,
) -> anyhow::Result<()> {
    let classifier = TableModel::from_bundle(bytes).context("the written bundle does not load")?;
    let Some(&track) = test.first() else { return Ok(()) };
    let rows = trainer.rows(vectors, dim, &[track]);
    let storage = classifier.header().weight_storage;
    let rounded = genrescope::bundle::rounded(net, storage)?;
    let expected =
        rows.evaluate(|x| rounded.forward(x), 16, trainer.table.labels.as_slice(), device)?;
    // The classifier selects and standardises raw descriptor rows itself (by column name):
    // hand it the recording's table rows as the engine's descriptor vectors.
    let names = column_names();
    let raw = trainer.tracks[track]
        .iter()
        .flat_map(|&r| {
            let values: Vec<f64> = names
                .iter()
                .map(|n| {
                    trainer
                        .table
                        .columns
                        .iter()
                        .position(|c| c == n)
                        .map_or(0.0, |c| trainer.table.rows[r][c])
                })
                .collect();
            classifier.standardise(&values)
        })
        .collect();
    let features = genrescope::classify::TableFeatures {
        spans: (0..rows.len()).map(|i| i..i + 1).collect(),
        dim: rows.dim,
        vectors: raw,
    };
    let got = classifier.infer(&features)?;
    let want = &expected.tracks[0].probabilities;
    let diff = genrescope::classify::max_abs_diff(want, &got.probabilities);
    if diff > 1e-5 {
        bail!("the reloaded table bundle disagrees with the trained network (max probability difference {diff})");
    }
    eprintln!("bundle check: reloaded table model matches the trained one ({storage} weights; max probability difference {diff:.1e})");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_split_at_the_last_digits() {
        assert_eq!(numbered_name("blues.00003.wav"), Some(("blues.".to_string(), 3)));
        assert_eq!(numbered_name("jazz.00054.au"), Some(("jazz.".to_string(), 54)));
        assert_eq!(numbered_name("intro.wav"), None);
    }
}
