//! `trainer train --table CSV`: stratified K-fold cross-validation of a network on a table of
//! precomputed descriptors (one row per track). Each fold fits its own preprocessing
//! (correlation filter, standardisation) on its training rows only.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use genrescope::model::table::{TableArchitecture, TableNet, MLP_HIDDEN};
use serde_json::json;

use super::train::{command_line, pooled_evaluation, print_cv, TableArch, TrainArgs};
use crate::metrics::{summarize, Evaluation};
use crate::report::write_report;
use crate::split::stratified_k_fold;
use crate::table::{FeatureTable, TablePreprocessing};
use crate::train::rows::{Rows, Stage};
use crate::train::schedule::{Schedule, ScheduleConfig};

/// Epochs between halvings of the 1-D CNN's learning rate (the study's schedule).
const CNN1D_HALVE_EVERY: usize = 10;

/// Runs `trainer train --table CSV` (see [`TrainArgs::table`]).
pub fn run(args: &TrainArgs, path: &Path) -> anyhow::Result<ExitCode> {
    let (Some(k), true) = (args.folds, args.cv_only) else {
        bail!(
            "--table only cross-validates for now: add --folds K --cv-only (the bundle format \
             cannot hold a table model yet)"
        );
    };
    if !(0.0..=1.0).contains(&args.max_correlation) || args.max_correlation == 0.0 {
        bail!("--max-correlation must be in (0, 1], got {}", args.max_correlation);
    }
    let table = FeatureTable::read(path)?;
    eprintln!(
        "{}: {} rows, {} descriptor columns, {} labels ({})",
        path.display(),
        table.rows.len(),
        table.columns.len(),
        table.labels.len(),
        table.labels.join(", ")
    );
    let architecture = match args.table_arch {
        TableArch::Mlp => TableArchitecture::Mlp {
            hidden: if args.head_hidden.is_empty() { MLP_HIDDEN.to_vec() } else { args.head_hidden.clone() },
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
    let folds = stratified_k_fold(&track_labels, k, args.seed).map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    let mut evaluations = Vec::new();
    let mut kept_columns = Vec::new();
    for (i, fold) in folds.iter().enumerate() {
        let name = format!("fold {}/{k}", i + 1);
        let (evaluation, best_epoch, n_kept) = fit_fold(&table, &tracks, fold, &architecture, &schedule, args, &device, &name)?;
        eprintln!(
            "{name}: test accuracy {:.1}% (best epoch {best_epoch}, {n_kept} of {} descriptors kept)",
            100.0 * evaluation.track_accuracy,
            table.columns.len()
        );
        kept_columns.push(n_kept);
        evaluations.push(evaluation);
    }
    let cv = summarize(evaluations);
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let meta = json!({
        "data": format!("{}: {} rows, {} labels", path.display(), table.rows.len(), table.labels.len()),
        "seed": args.seed,
        "command": command_line(),
        "backend": backend_name,
        "architecture": architecture,
        "schedule": schedule,
        "max_correlation": args.max_correlation,
        "ensemble": args.ensemble,
        "descriptors_kept_per_fold": kept_columns,
        "training_seconds": started.elapsed().as_secs_f64(),
    });
    let files = write_report(&args.out, "cv-report", "Cross-validation (descriptor table)", &pooled_evaluation(&cv), None, Some(&cv), &meta)?;
    print_cv(&cv);
    eprintln!("wrote {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
    Ok(ExitCode::SUCCESS)
}

/// Trains one fold: preprocessing fitted on its training rows, the network with early
/// stopping on its validation rows, evaluated on its test rows. Returns the test evaluation,
/// the kept epoch (the members' mean with --ensemble) and the number of descriptors kept.
#[allow(clippy::too_many_arguments)]
fn fit_fold(
    table: &FeatureTable,
    tracks: &[Vec<usize>],
    fold: &crate::split::Fold,
    architecture: &TableArchitecture,
    schedule: &ScheduleConfig,
    args: &TrainArgs,
    device: &Device,
    name: &str,
) -> anyhow::Result<(Evaluation, usize, usize)> {
    let track_labels: Vec<usize> = tracks.iter().map(|rows| table.row_labels[rows[0]]).collect();
    let train_rows: Vec<usize> = fold.train.iter().flat_map(|&t| tracks[t].iter().copied()).collect();
    let prep = TablePreprocessing::fit(table, &train_rows, args.max_correlation)?;
    let dim = prep.columns.len();
    let vectors: Vec<Vec<f32>> = tracks.iter().map(|rows| prep.vectors(table, rows).concat()).collect();
    let rows = |indices: &[usize]| Rows::of(&vectors, dim, &track_labels, indices);
    let (train, val, test) = (rows(&fold.train), rows(&fold.val), rows(&fold.test));
    let mut members = Vec::new();
    let mut epochs = Vec::new();
    for member in 0..args.ensemble {
        let seed = args.seed + member as u64;
        device.seed(seed);
        let net = TableNet::new(architecture, dim, table.labels.len(), &device.clone().autodiff()).map_err(anyhow::Error::msg)?;
        let stage = Stage {
            name,
            train: &train,
            val: &val,
            eval_chunk: 256,
            first_epoch: 1,
            epochs: args.epochs,
            batch_size: args.batch,
            seed,
            weight_decay: args.weight_decay,
        };
        let mut history = Vec::new();
        let kept = stage
            .run(net, |net, x| net.forward(x), Schedule::new(schedule.clone()), &table.labels, device, &mut history)?
            .with_context(|| format!("{name}: no epoch reached a finite loss"))?;
        epochs.push(kept.epoch);
        members.push(kept.model);
    }
    // The ensemble's logits are the log of its mean probabilities.
    let mean_log_probabilities = |x: Tensor<2>| {
        let total = members.iter().map(|m| softmax(m.forward(x.clone()), 1)).reduce(|a, b| a + b).expect("at least one member");
        (total / members.len() as f64).log()
    };
    let evaluation = test.evaluate(mean_log_probabilities, 256, &table.labels, device)?;
    Ok((evaluation, epochs.iter().sum::<usize>() / epochs.len(), dim))
}
