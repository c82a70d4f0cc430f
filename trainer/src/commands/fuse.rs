//! `trainer fuse`: a fusion bundle of several member models (e.g. the MusiCNN transfer
//! model and the descriptor-table model), with fusion weights fitted on held-out
//! predictions, and a nested cross-validation that tells whether the fusion beats each
//! member alone.
//!
//! Held-out predictions of a member on the tracks of `--data` are, in this order of
//! preference: the out-of-fold predictions its own cross-validation stored in the
//! `report.json` next to its bundle (when they cover every track: the member was trained
//! on these tracks), or the bundle's predictions through the engine's own path (decode,
//! resample, features, network), which are held out only if the member never saw these
//! tracks (a table model trained with `--exclude-data`). The log says which was used.
//!
//! Fusion weights are a point of the simplex on a grid (`--weight-step`) that minimises
//! the cross-entropy of the fused track probabilities. Nested CV: for each fold, weights
//! fitted on the other folds' tracks are tested on the fold's tracks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use burn::tensor::Device;
use clap::{Args, Parser};
use genrescope::audio::{decode_path, DecodeLimits};
use genrescope::bundle::{FusionBundle, Header, MemberBundle, Provenance};
use genrescope::classify::Ensemble;
use genrescope::trust::calibration::Prediction;
use genrescope::trust::Calibration;
use rayon::prelude::*;
use serde_json::json;

use super::train::TrainArgs;
use super::train_options::TrainCli;
use crate::bundle_edit::with_calibration;
use crate::cv::cross_validate;
use crate::dataset::track_key;
use crate::metrics::{evaluate, summarize, CvSummary, Evaluation, WindowPrediction, LOSS_EPS};
use crate::provenance::command_line;
use crate::report::write_report_calibrated;
use crate::report::{pooled_evaluation, print_cv};

/// Options of `trainer fuse`.
#[derive(Debug, Args)]
pub struct FuseArgs {
    /// Labelled folder of audio (one sub-folder per label) on which the fusion weights are
    /// fitted (unless --weights), the members without a calibration and the fusion's own
    /// calibration are fitted, and the fusion is evaluated.
    #[arg(long, required_unless_present = "weights")]
    pub data: Option<PathBuf>,
    /// `equal`: every member weighs the same (after its calibration); with --data the
    /// fusion's calibration is still fitted and the fusion evaluated. Or W1,W2,..: these
    /// weights, one per member in order (>= 0, not all 0; renormalised when the bundle
    /// runs), without --data: nothing is fitted or evaluated.
    #[arg(long, value_name = "equal|W1,W2,..", value_parser = parse_weights)]
    pub weights: Option<WeightChoice>,
    /// Answers whose calibrated fused top probability is below the threshold fitted on the
    /// fused out-of-fold predictions are `uncertain`; the threshold is the lowest at which
    /// the others are right at least this often (0..1).
    #[arg(long, default_value_t = crate::calibrate::DEFAULT_TARGET_ACCURACY)]
    pub target_accuracy: f64,
    /// A member, in fusion order (the first spectrogram member's timeline is the fused
    /// result's): NAME=BUNDLE for an existing bundle, or NAME=train:OPTIONS to train it first
    /// with `trainer train OPTIONS`, OPTIONS starting with the sub-command (e.g.
    /// `cnn=train:transfer --data DIR --folds 5`; shell-quoted; its --out is
    /// OUT/members/NAME).
    #[arg(long = "member", value_name = "NAME=BUNDLE|NAME=train:OPTIONS", required = true)]
    pub members: Vec<String>,
    /// Folds of the nested cross-validation.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Seed of the folds (use the members' --seed to get the folds of their own CV).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Grid step of the fusion weights (each weight is a multiple of it; they sum to 1).
    #[arg(long, default_value_t = 0.05)]
    pub weight_step: f64,
    /// Output folder for the fused bundle (`model.gscope`) and its report.
    #[arg(long, default_value = "fused-model")]
    pub out: PathBuf,
}

/// How `fuse` weighs its members.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightChoice {
    /// The same weight for every member.
    Equal,
    /// These weights, one per member.
    Given(Vec<f64>),
}

/// Parses `--weights`: `equal` or a comma-separated list of numbers.
fn parse_weights(text: &str) -> Result<WeightChoice, String> {
    if text.trim().eq_ignore_ascii_case("equal") {
        return Ok(WeightChoice::Equal);
    }
    let weights = text
        .split(',')
        .map(|w| {
            w.trim()
                .parse::<f64>()
                .map_err(|_| format!("`{w}` is not a number (expected `equal` or W1,W2,..)"))
        })
        .collect::<Result<Vec<f64>, String>>()?;
    Ok(WeightChoice::Given(weights))
}

/// A member's bundle and its held-out predictions on the fusion data.
struct LoadedMember {
    name: String,
    /// Its bundle (with the calibration fitted here when it had none).
    bytes: Vec<u8>,
    /// Per track (in dataset order): mean probabilities, calibrated by the member's
    /// calibration.
    predictions: Vec<Vec<f32>>,
    /// Where the predictions come from.
    source: String,
    /// Its calibration and whether it was fitted here.
    calibration: Option<(Calibration, bool)>,
}

/// Runs `trainer fuse`.
pub fn run(args: FuseArgs) -> anyhow::Result<ExitCode> {
    if !(args.weight_step > 0.0 && args.weight_step <= 1.0)
        || (1.0 / args.weight_step - (1.0 / args.weight_step).round()).abs() > 1e-9
    {
        bail!("--weight-step must divide 1 (e.g. 0.05, 0.1), got {}", args.weight_step);
    }
    crate::calibrate::check_target(args.target_accuracy)?;
    match (&args.weights, &args.data) {
        (Some(WeightChoice::Given(weights)), None) => return fuse_as_given(&args, weights),
        (Some(WeightChoice::Given(_)), Some(_)) => {
            bail!("--weights W1,W2,.. are used as given: leave out --data (or use --weights equal)")
        }
        (Some(WeightChoice::Equal), None) => {
            let equal = vec![1.0 / args.members.len() as f64; args.members.len()];
            return fuse_as_given(&args, &equal);
        }
        _ => {}
    }
    let equal_weights = args.weights == Some(WeightChoice::Equal);
    let data_dir = args.data.clone().context("--data DIR (or --weights) is required")?;
    let dataset = super::discover_labelled(&data_dir)?;
    let names: Vec<String> =
        dataset.tracks.iter().map(|t| track_key(&dataset.labels[t.label], &t.path)).collect();
    let truths = dataset.track_labels();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    let mut members = Vec::new();
    for spec in &args.members {
        let (name, bundle, bytes, ensemble) = open_member(spec, &args.out)?;
        if members.iter().any(|m: &LoadedMember| m.name == name) {
            bail!("two members are named `{name}`");
        }
        if ensemble.labels() != dataset.labels.as_slice() {
            bail!(
                "member `{name}` has the labels [{}], --data has [{}]",
                ensemble.labels().join(", "),
                dataset.labels.join(", ")
            );
        }
        let (predictions, source) = match cross_validated(&bundle, &names, &truths)? {
            Some(p) => (
                p,
                format!(
                    "out-of-fold predictions of its {}",
                    bundle.with_file_name("report.json").display()
                ),
            ),
            None => {
                if trained_on(&bytes, &data_dir) {
                    bail!(
                        "member `{name}` was trained on {} (its provenance says so), and {} holds no out-of-fold predictions of those tracks: its own predictions would not be held out. Retrain it with --folds K (its report then keeps them), or fit the fusion on other data",
                        data_dir.display(),
                        bundle.with_file_name("report.json").display()
                    );
                }
                eprintln!("member `{name}`: classifying the {} tracks with {} (it must not have been trained on them)", names.len(), bundle.display());
                (
                    classify_all(
                        &ensemble,
                        &dataset.tracks.iter().map(|t| t.path.clone()).collect::<Vec<_>>(),
                    )?,
                    format!("predictions of {} (not trained on these tracks)", bundle.display()),
                )
            }
        };
        eprintln!("member `{name}`: held-out predictions are the {source}");
        members.push(calibrated_member(
            name,
            bytes,
            predictions,
            source,
            &truths,
            args.target_accuracy,
        )?);
    }
    let k = args.folds;
    let steps = (1.0 / args.weight_step).round() as usize;
    let all: Vec<usize> = (0..names.len()).collect();

    // Each fold: weights fitted on the other folds, then the fusion and each member alone on
    // this fold's tracks.
    let mut member_folds: Vec<Vec<Evaluation>> = vec![Vec::new(); members.len()];
    let mut fold_weights = Vec::new();
    let choose_weights = |on: &[usize]| {
        if equal_weights {
            vec![1.0 / members.len() as f64; members.len()]
        } else {
            fit_weights(&members, &truths, on, steps)
        }
    };
    let fused_cv = cross_validate(&truths, k, args.seed, |_, fold| {
        let fit_on: Vec<usize> = all.iter().copied().filter(|t| !fold.test.contains(t)).collect();
        let weights = choose_weights(&fit_on);
        for (m, member) in members.iter().enumerate() {
            member_folds[m].push(evaluation(&dataset.labels, &fold.test, &truths, |t| {
                member.predictions[t].clone()
            }));
        }
        let fused =
            evaluation(&dataset.labels, &fold.test, &truths, |t| fuse(&members, &weights, t));
        fold_weights.push(weights);
        Ok(fused)
    })?;
    let member_cv: Vec<CvSummary> = member_folds.into_iter().map(summarize).collect();
    let weights = choose_weights(&all);
    let calibration =
        crate::calibrate::fit(&crate::calibrate::out_of_fold(&fused_cv), args.target_accuracy);

    println!(
        "{k}-fold nested cross-validation on {} tracks (track accuracy, mean ± std):",
        names.len()
    );
    for (member, cv) in members.iter().zip(&member_cv) {
        println!(
            "  {:<10} {:.1}% ± {:.1}",
            member.name,
            100.0 * cv.track_accuracy.mean,
            100.0 * cv.track_accuracy.std
        );
    }
    println!(
        "  {:<10} {:.1}% ± {:.1}",
        "fusion",
        100.0 * fused_cv.track_accuracy.mean,
        100.0 * fused_cv.track_accuracy.std
    );
    let described: Vec<String> =
        members.iter().zip(&weights).map(|(m, w)| format!("{} {w:.2}", m.name)).collect();
    if equal_weights {
        println!(
            "fusion weights (equal, after each member's calibration): {}",
            described.join(", ")
        );
    } else {
        println!("fusion weights (fitted on all {} tracks): {}", names.len(), described.join(", "));
    }
    print_cv(&fused_cv);
    if let Some(c) = &calibration {
        println!("fusion {}", c.summary());
    }

    let member_metrics: serde_json::Map<String, serde_json::Value> = members
        .iter()
        .zip(&member_cv)
        .zip(&weights)
        .map(|((m, cv), w)| {
            (m.name.clone(), json!({
                "weight": w,
                "calibration": m.calibration.map(|(c, fitted_here)| json!({
                    "temperature": c.temperature,
                    "uncertain_below": c.uncertain_below,
                    "fitted": if fitted_here { "by fuse, on its held-out predictions" } else { "stored in its bundle" },
                })),
                "held_out_predictions": m.source,
                "cross_validation": {"folds": k, "track_accuracy": cv.track_accuracy, "macro_f1": cv.macro_f1},
            }))
        })
        .collect();
    let metrics = json!({
        "cross_validation": {"folds": k, "track_accuracy": fused_cv.track_accuracy, "macro_f1": fused_cv.macro_f1, "nested": true},
        "members": member_metrics,
        "weights": if equal_weights { "equal after each member's calibration" } else { "fitted: the grid point of least cross-entropy" },
        "fold_weights": fold_weights,
        "calibration": calibration.as_ref().map(crate::calibrate::CalibrationReport::metrics),
    });
    let provenance = Provenance {
        data: format!(
            "fusion {} on {}: {} tracks, {} labels",
            if equal_weights { "weights equal, calibration fitted" } else { "weights and calibration fitted" },
            data_dir.display(),
            names.len(),
            dataset.labels.len()
        ),
        split: format!("held-out predictions of each member; nested {k}-fold cross-validation stratified by label, seed {}", args.seed),
        seed: args.seed,
        command: command_line(),
        metrics: metrics.clone(),
        created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        dataset: Some(crate::provenance::dataset(&data_dir, names.len())),
        evaluation: Some(crate::provenance::cross_validated(&fused_cv, true)),
    };
    let parts: Vec<MemberBundle> = members
        .iter()
        .zip(&weights)
        .map(|(m, &w)| MemberBundle {
            name: m.name.clone(),
            weight: w,
            bytes: m.bytes.clone(),
            detach: None,
        })
        .collect();
    let fused_calibration = calibration.as_ref().map(|c| c.calibration);
    let bytes = FusionBundle::to_bytes(&dataset.labels, provenance, fused_calibration, &parts)?;
    let bundle_path = args.out.join("model.gscope");
    std::fs::write(&bundle_path, &bytes)
        .with_context(|| format!("writing {}", bundle_path.display()))?;
    check_bundle(&bytes, &members, &weights, fused_calibration, &dataset.tracks[0].path)?;
    let meta = json!({
        "data": data_dir.display().to_string(),
        "seed": args.seed,
        "command": command_line(),
        "weights": member_metrics,
        "fold_weights": fold_weights,
    });
    let files = write_report_calibrated(
        &args.out,
        "report",
        "Fusion: nested cross-validation",
        &pooled_evaluation(&fused_cv),
        None,
        Some(&fused_cv),
        calibration.as_ref(),
        &meta,
    )?;
    eprintln!("wrote {} ({} bytes)", bundle_path.display(), bytes.len());
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `fuse --weights` without `--data`: the members' bundles with these weights, nothing
/// fitted or evaluated.
fn fuse_as_given(args: &FuseArgs, weights: &[f64]) -> anyhow::Result<ExitCode> {
    if weights.len() != args.members.len() {
        bail!("--weights lists {} weights for {} members", weights.len(), args.members.len());
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut parts = Vec::new();
    let mut labels: Option<Vec<String>> = None;
    for (spec, &weight) in args.members.iter().zip(weights) {
        let (name, _, bytes, ensemble) = open_member(spec, &args.out)?;
        labels.get_or_insert_with(|| ensemble.labels().to_vec());
        parts.push(MemberBundle { name, weight, bytes, detach: None });
    }
    let provenance = Provenance {
        data: "fusion weights given on the command line (not fitted)".into(),
        split: String::new(),
        seed: 0,
        command: command_line(),
        metrics: json!({"weights": weights}),
        created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        dataset: None,
        evaluation: None,
    };
    let bytes = FusionBundle::to_bytes(&labels.unwrap_or_default(), provenance, None, &parts)?;
    let bundle_path = args.out.join("model.gscope");
    std::fs::write(&bundle_path, &bytes)
        .with_context(|| format!("writing {}", bundle_path.display()))?;
    eprintln!("wrote {} ({} bytes)", bundle_path.display(), bytes.len());
    Ok(ExitCode::SUCCESS)
}

/// A member from its `--member` spec (trained first for `NAME=train:...`): its name, bundle
/// path, bundle bytes and the bundle loaded.
fn open_member(spec: &str, out: &Path) -> anyhow::Result<(String, PathBuf, Vec<u8>, Ensemble)> {
    let (name, bundle) = member_bundle(spec, out)?;
    let bytes = std::fs::read(&bundle)
        .with_context(|| format!("reading member `{name}`: {}", bundle.display()))?;
    let ensemble = Ensemble::from_bundle(&bytes, &Device::flex())
        .with_context(|| format!("member `{name}` ({}) does not load", bundle.display()))?;
    Ok((name, bundle, bytes, ensemble))
}

/// The member's name and bundle path from `NAME=BUNDLE` or `NAME=train:OPTIONS` (training it
/// first, into `out/members/NAME`).
fn member_bundle(spec: &str, out: &Path) -> anyhow::Result<(String, PathBuf)> {
    let Some((name, rest)) = spec.split_once('=') else {
        bail!("--member {spec:?}: expected NAME=BUNDLE or NAME=train:OPTIONS");
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        bail!("--member {spec:?}: the name must be letters, digits, - or _");
    }
    let Some(options) = rest.strip_prefix("train:") else {
        return Ok((name.to_string(), PathBuf::from(rest)));
    };
    let words = shlex::split(options).with_context(|| {
        format!("--member {name}: cannot split the train options {options:?} (unbalanced quotes?)")
    })?;
    let parsed = TrainCli::try_parse_from(std::iter::once("train".to_string()).chain(words))
        .map_err(|e| anyhow::anyhow!("--member {name}: invalid train options: {e}"))?;
    let mut args = TrainArgs::try_from(parsed.command)?;
    args.out = out.join("members").join(name);
    eprintln!("member `{name}`: trainer train {options} --out {}", args.out.display());
    let code = super::train::run(args)?;
    if code != ExitCode::SUCCESS {
        eprintln!("warning: training member `{name}` reported failed files (see above); using what it trained");
    }
    Ok((name.to_string(), out.join("members").join(name).join("model.gscope")))
}

/// Whether the bundle's provenance says it was trained on the folder `data` (its
/// `dataset.source`).
fn trained_on(bytes: &[u8], data: &Path) -> bool {
    let Ok(header) = Header::read(bytes) else { return false };
    let Some(dataset) = &header.provenance().dataset else { return false };
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    canonical(Path::new(&dataset.source)) == canonical(data)
}

/// The out-of-fold track predictions stored in the `report.json` beside `bundle`, when its
/// cross-validation covered every track in `names` with the same truths.
fn cross_validated(
    bundle: &Path,
    names: &[String],
    truths: &[usize],
) -> anyhow::Result<Option<Vec<Vec<f32>>>> {
    let path = bundle.with_file_name("report.json");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(None) };
    let report: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let Some(folds) = report["cv"]["folds"].as_array() else { return Ok(None) };
    let mut found: std::collections::HashMap<String, (usize, Vec<f32>)> =
        std::collections::HashMap::new();
    for fold in folds {
        let evaluation: Evaluation = serde_json::from_value(fold.clone())
            .with_context(|| format!("reading the CV folds of {}", path.display()))?;
        for t in evaluation.tracks {
            if let Some(name) = t.name {
                found.insert(name, (t.truth, t.probabilities));
            }
        }
    }
    // Tables name rows by file name alone (GTZAN's `blues.00000.wav`): match on that when
    // the full `<label>/<file>` key is not there.
    let file_of = |key: &str| key.rsplit('/').next().unwrap_or(key).to_string();
    let mut by_file: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for key in found.keys() {
        by_file.entry(file_of(key)).or_default().push(key.clone());
    }
    let mut out = Vec::with_capacity(names.len());
    for (name, &truth) in names.iter().zip(truths) {
        let key = match by_file.get(&file_of(name)) {
            _ if found.contains_key(name) => name.clone(),
            Some(keys) if keys.len() == 1 => keys[0].clone(),
            _ => return Ok(None),
        };
        match found.get(&key) {
            Some((t, p)) if *t == truth => out.push(p.clone()),
            Some(_) => bail!("{}: `{name}` has another label there than in --data", path.display()),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// Each file's track probabilities through the engine's path, in parallel.
fn classify_all(ensemble: &Ensemble, paths: &[PathBuf]) -> anyhow::Result<Vec<Vec<f32>>> {
    let limits = DecodeLimits::default();
    paths
        .par_iter()
        .map(|path| {
            let audio = decode_path(path, &limits)
                .with_context(|| format!("decoding {}", path.display()))?;
            let c = ensemble
                .classify_mono(&audio.samples, audio.sample_rate)
                .with_context(|| format!("classifying {}", path.display()))?;
            Ok(c.probabilities)
        })
        .collect()
}

/// The member with its predictions calibrated: by the calibration its bundle stores, or
/// else by one fitted here on its held-out predictions (and written into its bundle, so the
/// fusion applies it too).
fn calibrated_member(
    name: String,
    bytes: Vec<u8>,
    predictions: Vec<Vec<f32>>,
    source: String,
    truths: &[usize],
    target_accuracy: f64,
) -> anyhow::Result<LoadedMember> {
    let header = Header::read(&bytes).with_context(|| format!("member `{name}`"))?;
    let (calibration, bytes) = match header.calibration() {
        Some(c) => (Some((c, false)), bytes),
        None => {
            let held_out: Vec<Prediction> = predictions
                .iter()
                .zip(truths)
                .map(|(p, &label)| Prediction { probabilities: p.clone(), label })
                .collect();
            match crate::calibrate::fit(&held_out, target_accuracy) {
                Some(report) => {
                    eprintln!("member `{name}` has no calibration: {}", report.summary());
                    let bytes = with_calibration(&bytes, report.calibration)
                        .with_context(|| format!("member `{name}`: storing its calibration"))?;
                    (Some((report.calibration, true)), bytes)
                }
                None => (None, bytes),
            }
        }
    };
    if let Some((c, _)) = calibration {
        eprintln!(
            "member `{name}`: calibration temperature {:.3}, uncertain below {:.3}",
            c.temperature, c.uncertain_below
        );
    }
    let predictions = match calibration {
        Some((c, _)) => predictions.iter().map(|p| c.apply(p)).collect(),
        None => predictions,
    };
    Ok(LoadedMember { name, bytes, predictions, source, calibration })
}

/// Track `t`'s fused probabilities.
fn fuse(members: &[LoadedMember], weights: &[f64], t: usize) -> Vec<f32> {
    let n = members[0].predictions[t].len();
    (0..n)
        .map(|c| {
            members.iter().zip(weights).map(|(m, w)| w * m.predictions[t][c] as f64).sum::<f64>()
                as f32
        })
        .collect()
}

/// The simplex point on a grid of `steps` per unit that minimises the mean cross-entropy
/// of the fused predictions on tracks `on` (the first such point in enumeration order).
fn fit_weights(members: &[LoadedMember], truths: &[usize], on: &[usize], steps: usize) -> Vec<f64> {
    let mut best = (f64::INFINITY, vec![1.0 / members.len() as f64; members.len()]);
    for counts in compositions(steps, members.len()) {
        let weights: Vec<f64> = counts.iter().map(|&c| c as f64 / steps as f64).collect();
        let loss = on
            .iter()
            .map(|&t| -(fuse(members, &weights, t)[truths[t]] as f64).max(LOSS_EPS).ln())
            .sum::<f64>()
            / on.len().max(1) as f64;
        if loss < best.0 - 1e-12 {
            best = (loss, weights);
        }
    }
    best.1
}

/// Every way of writing `total` as an ordered sum of `parts` non-negative integers.
fn compositions(total: usize, parts: usize) -> Vec<Vec<usize>> {
    if parts == 1 {
        return vec![vec![total]];
    }
    (0..=total)
        .flat_map(|first| {
            compositions(total - first, parts - 1).into_iter().map(move |mut rest| {
                rest.insert(0, first);
                rest
            })
        })
        .collect()
}

/// The evaluation of track predictions on the tracks `on`.
fn evaluation(
    labels: &[String],
    on: &[usize],
    truths: &[usize],
    predict: impl Fn(usize) -> Vec<f32>,
) -> Evaluation {
    let windows: Vec<WindowPrediction> = on
        .iter()
        .map(|&t| WindowPrediction { track: t, truth: truths[t], probs: predict(t) })
        .collect();
    evaluate(labels, &windows)
}

/// Loads the written bundle and checks, on one track, that its fused probabilities are the
/// weighted mean of its members' (each member run on its own bundle, so with its own
/// calibration), with the fusion's `calibration` applied.
fn check_bundle(
    bytes: &[u8],
    members: &[LoadedMember],
    weights: &[f64],
    calibration: Option<Calibration>,
    track: &Path,
) -> anyhow::Result<()> {
    let fused = Ensemble::from_bundle(bytes, &Device::flex())
        .context("the written fusion bundle does not load")?;
    let audio = decode_path(track, &DecodeLimits::default())?;
    let got = fused.classify_mono(&audio.samples, audio.sample_rate)?;
    let mut expected = vec![0.0f64; got.labels.len()];
    let mut total = 0.0;
    for (m, &w) in members.iter().zip(weights) {
        let alone = Ensemble::from_bundle(&m.bytes, &Device::flex())?
            .classify_mono(&audio.samples, audio.sample_rate);
        if let Ok(alone) = alone {
            total += w;
            for (e, p) in expected.iter_mut().zip(&alone.probabilities) {
                *e += w * *p as f64;
            }
        }
    }
    let mean: Vec<f32> = expected.iter().map(|e| (e / total) as f32).collect();
    let expected = calibration.map_or_else(|| mean.clone(), |c| c.apply(&mean));
    let diff = expected
        .iter()
        .zip(&got.probabilities)
        .map(|(e, g)| (e - g).abs() as f64)
        .fold(0.0, f64::max);
    if diff > 1e-5 {
        bail!("the fusion bundle's result on {} is not the weighted mean of its members' (max difference {diff:.1e})", track.display());
    }
    eprintln!("bundle check: the fused result on {} is its members' weighted mean (max difference {diff:.1e})", track.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(predictions: Vec<Vec<f32>>) -> LoadedMember {
        LoadedMember {
            name: "m".into(),
            bytes: Vec::new(),
            predictions,
            source: String::new(),
            calibration: None,
        }
    }

    #[test]
    fn compositions_cover_the_simplex_grid() {
        assert_eq!(compositions(2, 2), vec![vec![0, 2], vec![1, 1], vec![2, 0]]);
        assert_eq!(compositions(20, 3).len(), 231);
        assert!(compositions(20, 3).iter().all(|c| c.iter().sum::<usize>() == 20));
    }

    #[test]
    fn weights_favour_the_member_that_is_right() {
        // Member a is right on every track, b always wrong: all weight to a.
        let truths = [0, 1, 0, 1];
        let a = member(
            truths.iter().map(|&t| if t == 0 { vec![0.9, 0.1] } else { vec![0.1, 0.9] }).collect(),
        );
        let b = member(
            truths.iter().map(|&t| if t == 0 { vec![0.2, 0.8] } else { vec![0.8, 0.2] }).collect(),
        );
        let w = fit_weights(&[a, b], &truths, &[0, 1, 2, 3], 20);
        assert_eq!(w, vec![1.0, 0.0]);
        // Complementary members (each sure where right, unsure where wrong): a mix wins.
        let a = member(vec![vec![0.99, 0.01], vec![0.6, 0.4]]);
        let b = member(vec![vec![0.6, 0.4], vec![0.01, 0.99]]);
        let w = fit_weights(&[a, b], &[0, 1], &[0, 1], 20);
        assert!(w[0] > 0.0 && w[1] > 0.0, "{w:?}");
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
