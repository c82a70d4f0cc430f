//! `trainer eval`: evaluate a model bundle on a labelled folder and write a report.
//!
//! The folder's label names are matched to the model's labels by name (a folder label the
//! model does not know is an error; model labels without a folder are fine). Every track is
//! decoded (through the PCM cache unless `--no-cache`), cut into windows and run through the
//! same [`Ensemble`] the `classify` command and the browser use, in parallel over tracks and
//! one track at a time per worker, so memory stays bounded on large collections. Files that
//! fail to decode are reported and skipped (exit code 1); model and folder errors exit with 2.
//!
//! A table-model or fusion bundle is decoded directly (no cache), and each track counts as
//! one window holding its (fused) track probabilities, so the window figures of its report
//! equal the track figures.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use genrescope::audio::{decode_path, AudioError, DecodeLimits, DecodeWarnings};
use genrescope::bundle::{Header, ModelKind};
use genrescope::classify::Ensemble;
use genrescope::FeatureConfig;
use rayon::prelude::*;
use serde_json::json;

use super::backend::Backend;
use super::{discover_labelled, load_classifier, progress_bar};
use crate::cache::{default_dir, FeatureCache};
use crate::dataset::Track;
use crate::metrics::{evaluate, per_class_metrics, WindowPrediction};
use crate::provenance::command_line;
use crate::report::{print_summary, write_report};

/// Options of `trainer eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Model bundle (`.gscope`) written by `trainer train`.
    #[arg(long, value_name = "BUNDLE")]
    pub model: PathBuf,
    /// Folder with one sub-folder of audio files per label (names as in the model).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Report folder (default: `<bundle-stem>-eval-<data-folder-name>` next to the bundle).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// Feature cache folder (default: $GENRESCOPE_CACHE, $XDG_CACHE_HOME/genrescope or ~/.cache/genrescope).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Decode every file instead of using (and filling) the cache.
    #[arg(long, conflicts_with = "cache")]
    pub no_cache: bool,
}

/// One track's outcome.
struct TrackOutcome {
    /// Window probabilities, or why the track failed.
    windows: Result<Vec<Vec<f32>>, String>,
    cache_hit: bool,
    warnings: Vec<String>,
}

/// Runs `trainer eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let bytes = std::fs::read(&args.model).map_err(|e| {
        anyhow::anyhow!("cannot read the model bundle {}: {e}", args.model.display())
    })?;
    let (model, backend_name) = load_classifier(&args.model, args.backend)?;
    // A spectrogram bundle's PCM goes through the cache, keyed by its front end.
    let cache_config = match Header::read(&bytes) {
        Ok(Header::Spectrogram(h)) if !args.no_cache => Some(h.feature_config),
        _ => None,
    };
    let info = model.info();
    let model_labels = info.labels.clone();
    let dataset = discover_labelled(&args.data)?;
    let label_map = map_labels(&dataset.labels, &model_labels)?;

    let cache = cache_config
        .as_ref()
        .map(|cfg| (FeatureCache::new(args.cache.clone().unwrap_or_else(default_dir)), cfg));
    let limits = DecodeLimits::default();
    let bar = progress_bar(dataset.tracks.len(), "evaluating");
    let done = AtomicUsize::new(0);
    let outcomes: Vec<TrackOutcome> = dataset
        .tracks
        .par_iter()
        .map(|track| {
            let outcome =
                run_track(&model, cache.as_ref().map(|(c, cfg)| (c, *cfg)), track, &limits);
            bar.set_position((done.fetch_add(1, Ordering::Relaxed) + 1) as u64);
            outcome
        })
        .collect();
    bar.finish_and_clear();

    let mut windows = Vec::new();
    let mut failed = Vec::new();
    let mut hits = 0;
    let mut n_tracks = 0;
    let mut per_label = vec![0usize; dataset.labels.len()];
    let mut store_warned = false;
    for (i, (track, outcome)) in dataset.tracks.iter().zip(outcomes).enumerate() {
        for w in &outcome.warnings {
            // One cache-store warning is enough: they all have the same cause.
            if w.starts_with("cannot store") {
                if store_warned {
                    continue;
                }
                store_warned = true;
            }
            eprintln!("warning: {}: {w}", track.path.display());
        }
        match outcome.windows {
            Ok(probs) => {
                hits += usize::from(outcome.cache_hit);
                n_tracks += 1;
                per_label[track.label] += 1;
                let truth = label_map[track.label];
                windows.extend(probs.into_iter().map(|probs| WindowPrediction {
                    track: i,
                    truth,
                    probs,
                }));
            }
            Err(e) => {
                eprintln!("skipping {}: {e}", track.path.display());
                failed.push(format!("{}: {e}", track.path.display()));
            }
        }
    }
    if n_tracks == 0 {
        bail!("no track of {} could be classified", args.data.display());
    }
    eprintln!(
        "{n_tracks} tracks classified ({}), {} failed",
        if cache.is_some() { format!("{hits} from the cache") } else { "cache off".to_string() },
        failed.len()
    );

    let evaluation = evaluate(&model_labels, &windows);
    let seconds = started.elapsed().as_secs_f64();
    let out = args.out.clone().unwrap_or_else(|| default_out_dir(&args.model, &args.data));
    let title = format!("Evaluation of {} on {}", args.model.display(), args.data.display());
    let missing: Vec<&String> =
        model_labels.iter().filter(|l| !dataset.labels.contains(l)).collect();
    let macro_f1_data = macro_f1_over(&evaluation.track_confusion, &model_labels, &label_map);
    let meta = json!({
        "model": args.model.display().to_string(),
        "model_kind": info.kind,
        "model_labels": model_labels,
        "model_description": info.description,
        "model_members": info.members,
        "model_provenance": info.provenance,
        "data": args.data.display().to_string(),
        "data_labels": dataset.labels,
        "model_labels_without_data": missing,
        // Macro averages run over all model labels; labels without data count as 0 there.
        "macro_f1_over_data_labels": macro_f1_data,
        "tracks": n_tracks,
        "tracks_per_label": dataset.labels.iter().zip(per_label.iter().copied()).map(|(l, n)| (l.clone(), serde_json::Value::from(n))).collect::<serde_json::Map<_, _>>(),
        "skipped_files": failed,
        "non_audio_files": dataset.skipped_files.len(),
        "backend": backend_name,
        "cache": cache.as_ref().map(|(c, _)| c.dir().display().to_string()),
        "cache_hits": cache.as_ref().map(|_| hits),
        "seconds": seconds,
        "command": command_line(),
    });
    let files = write_report(&out, "report", &title, &evaluation, None, None, &meta)?;
    println!("{title}");
    println!("{}", print_summary(&evaluation));
    if !missing.is_empty() {
        println!(
            "Macro F1 over the {} labels present in the data: {macro_f1_data:.3} (the macro averages above count the {} model labels without data as 0)",
            dataset.labels.len(),
            missing.len()
        );
    }
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// For each folder label, its index among the model's labels; fails naming every folder
/// label the model does not know.
fn map_labels(data_labels: &[String], model_labels: &[String]) -> anyhow::Result<Vec<usize>> {
    let unknown: Vec<String> = data_labels
        .iter()
        .filter(|l| !model_labels.contains(l))
        .map(|l| format!("'{l}'"))
        .collect();
    if !unknown.is_empty() {
        bail!(
            "the data folder has label{} the model does not know: {} (the model's labels: {})",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            model_labels.join(", ")
        );
    }
    Ok(data_labels
        .iter()
        .map(|l| model_labels.iter().position(|m| m == l).expect("checked above"))
        .collect())
}

/// Macro F1 over only the labels the folder has (from the full track confusion matrix).
fn macro_f1_over(confusion: &[Vec<usize>], labels: &[String], label_map: &[usize]) -> f64 {
    let (per_class, _, _, _) = per_class_metrics(labels, confusion);
    if label_map.is_empty() {
        return 0.0;
    }
    label_map.iter().map(|&i| per_class[i].f1).sum::<f64>() / label_map.len() as f64
}

/// `<bundle dir>/<bundle-stem>-eval-<data-folder-name>`.
fn default_out_dir(model: &Path, data: &Path) -> PathBuf {
    let stem =
        model.file_stem().map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let data_name = data
        .canonicalize()
        .ok()
        .as_deref()
        .unwrap_or(data)
        .file_name()
        .map_or_else(|| "data".into(), |s| s.to_string_lossy().into_owned());
    let parent = model.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    parent.join(format!("{stem}-eval-{data_name}"))
}

/// Decodes one track (a spectrogram bundle's through the PCM cache, when on) and classifies
/// it: a spectrogram model's window probabilities, or for other kinds one "window" holding
/// the track's (fused) probabilities.
fn run_track(
    model: &Ensemble,
    cache: Option<(&FeatureCache, &FeatureConfig)>,
    track: &Track,
    limits: &DecodeLimits,
) -> TrackOutcome {
    let mut warnings = Vec::new();
    let loaded = match cache {
        Some((cache, cfg)) => cache
            .load_pcm(&track.path, cfg, limits)
            .map(|p| {
                warnings.extend(p.store_error.clone());
                (p.samples, cfg.sample_rate, p.warnings, p.hit)
            })
            // The caller names the path once; the message is the error's own.
            .map_err(|e| e.error),
        None => decode_directly(&track.path, limits).map(|(s, r, w)| (s, r, w, false)),
    };
    let (samples, rate, decode_warnings, hit) = match loaded {
        Ok(l) => l,
        Err(e) => return TrackOutcome { windows: Err(e.to_string()), cache_hit: false, warnings },
    };
    warnings.extend(decode_warnings.messages());
    let windows = model
        .classify_mono(&samples, rate)
        .map(|c| match model.kind() {
            ModelKind::Spectrogram => c.windows.into_iter().map(|w| w.probabilities).collect(),
            _ => vec![c.probabilities],
        })
        .map_err(|e| e.to_string());
    TrackOutcome { windows, cache_hit: hit, warnings }
}

/// The mono PCM of a file at its own rate, the rate, and what decoding warned about.
fn decode_directly(
    path: &Path,
    limits: &DecodeLimits,
) -> Result<(Vec<f32>, u32, DecodeWarnings), AudioError> {
    let audio = decode_path(path, limits)?;
    Ok((audio.samples, audio.sample_rate, audio.warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn labels_map_by_name() {
        let model = s(&["blues", "jazz", "rock"]);
        assert_eq!(map_labels(&s(&["jazz", "rock"]), &model).unwrap(), vec![1, 2]);
        let err = map_labels(&s(&["jazz", "polka", "zydeco"]), &model).unwrap_err().to_string();
        assert!(err.contains("'polka', 'zydeco'") && err.contains("blues, jazz, rock"), "{err}");
    }

    #[test]
    fn default_report_folder_sits_next_to_the_bundle() {
        let out = default_out_dir(Path::new("/m/gtzan.gscope"), Path::new("/d/test-set"));
        assert_eq!(out, Path::new("/m/gtzan-eval-test-set"));
        let out = default_out_dir(Path::new("model.gscope"), Path::new("/d/genres/"));
        assert_eq!(out, Path::new("./model-eval-genres"));
    }
}
