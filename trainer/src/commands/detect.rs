//! `trainer detect`: fits the music / not-music detector of a MusiCNN transfer bundle and
//! writes the bundle again with it (header only: the weights are copied unchanged).
//!
//! Music is every audio file under the `--music` folders; not music is every file under
//! `--not-music` plus synthesised signals (noise, tones and chords, sweeps, clicks, hum,
//! speech babble mixed from the not-music files whose names say they are speech). Each
//! file's patches go through the bundle's own front end and network
//! ([`BackboneRows`]); a logistic regression on the per-patch rows (balanced classes) is
//! cross-validated by file, and the threshold is chosen on the out-of-fold track scores
//! ([`detection::choose_threshold`]). `--check` folders are only scored, by the written
//! bundle through the engine, never used to fit or to choose anything.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use burn::tensor::Device;
use clap::{Args, ValueEnum};
use genrescope::audio::{decode_path, resample, DecodeLimits};
use genrescope::classify::Ensemble;
use genrescope::trust::DetectorInput;
use serde::Serialize;
use serde_json::json;

use crate::backbone_rows::BackboneRows;
use crate::bundle_edit::with_music_detector;
use crate::dataset::is_audio_path;
use crate::detection::{self, Example, SourceRate, Threshold};
use crate::logistic::FitOptions;
use crate::provenance::command_line;
use crate::synth;

/// The backbone output the detector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputChoice {
    /// MusiCNN's 200-unit penultimate layer.
    Penultimate,
    /// MusiCNN's 50 tag logits.
    TagLogits,
    /// MusiCNN's normalised pools (1506 values).
    Pools,
}

impl From<InputChoice> for DetectorInput {
    fn from(choice: InputChoice) -> Self {
        match choice {
            InputChoice::Penultimate => DetectorInput::Penultimate,
            InputChoice::TagLogits => DetectorInput::TagLogits,
            InputChoice::Pools => DetectorInput::Pools,
        }
    }
}

/// Options of `trainer detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The MusiCNN transfer bundle (trained with `train transfer --msd-tags` for the
    /// penultimate and tag-logits inputs).
    #[arg(long)]
    pub model: PathBuf,
    /// A folder of music (searched recursively); repeat for more.
    #[arg(long, required = true)]
    pub music: Vec<PathBuf>,
    /// A folder of audio that is not music (searched recursively); repeat for more.
    #[arg(long, required = true)]
    pub not_music: Vec<PathBuf>,
    /// Output folder: the bundle with its detector (`model.gscope`) and `detect-report.md`
    /// / `.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// The backbone output the detector reads.
    #[arg(long, value_enum, default_value_t = InputChoice::Penultimate)]
    pub input: InputChoice,
    /// Folds of the cross-validation by file.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Seed of the folds and of the synthesised signals.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// L2 penalty of the logistic regression (per unit of total row weight).
    #[arg(long, default_value_t = 1e-2)]
    pub l2: f64,
    /// Not-music files whose name contains one of these (case-insensitive) are speech, mixed
    /// into the synthesised babble.
    #[arg(long, value_delimiter = ',', default_value = "speech,diarization,words,count")]
    pub speech_names: Vec<String>,
    /// Length range of the synthesised signals, in seconds (shorter: a quicker run).
    #[arg(long, value_delimiter = ',', value_name = "MIN,MAX", num_args = 1, default_values_t = [synth::SECONDS.0, synth::SECONDS.1])]
    pub synth_seconds: Vec<f64>,
    /// A folder only to score with the written bundle and report (never used to fit or to
    /// choose the threshold); repeat for more.
    #[arg(long)]
    pub check: Vec<PathBuf>,
}

/// One file's out-of-fold score, for the report.
#[derive(Debug, Clone, Serialize)]
struct FileScore {
    name: String,
    source: String,
    music: bool,
    patches: usize,
    score: f64,
    called_music: bool,
}

/// One `--check` file's score by the written bundle.
#[derive(Debug, Clone, Serialize)]
struct CheckScore {
    path: String,
    music_probability: Option<f32>,
    verdict: String,
    error: Option<String>,
}

/// Runs `trainer detect`.
pub fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    if args.folds < 2 {
        bail!("--folds must be at least 2, got {}", args.folds);
    }
    if !(args.l2 > 0.0 && args.l2.is_finite()) {
        bail!("--l2 must be a positive number, got {}", args.l2);
    }
    let &[lo, hi] = args.synth_seconds.as_slice() else {
        bail!("--synth-seconds takes MIN,MAX, got {} values", args.synth_seconds.len());
    };
    let synth_seconds = (lo, hi);
    synth::check_seconds(synth_seconds)?;
    let bytes = std::fs::read(&args.model)
        .with_context(|| format!("cannot read the model bundle {}", args.model.display()))?;
    let device = Device::flex();
    let input = DetectorInput::from(args.input);
    let reader = BackboneRows::new(&bytes, input, true, &device)
        .with_context(|| format!("{}", args.model.display()))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    let mut examples = Vec::new();
    let mut failed = Vec::new();
    for dir in &args.music {
        read_folder(&reader, dir, "music", true, &mut examples, &mut failed)?;
    }
    let first_other = examples.len();
    for dir in &args.not_music {
        read_folder(&reader, dir, "not-music", false, &mut examples, &mut failed)?;
    }
    let speech = speech_clips(&args.not_music, &args.speech_names, &failed)?;
    eprintln!(
        "{} music and {} not-music files read ({} speech clips for babble); synthesising",
        first_other,
        examples.len() - first_other,
        speech.len()
    );
    let signals = synth::signals(args.seed, &speech, synth_seconds)?;
    let bar = super::progress_bar(signals.len(), "synthesised signals");
    for s in signals {
        let rows = reader.rows(&s.samples, synth::SAMPLE_RATE)?;
        examples.push(Example {
            name: s.name,
            source: format!("synth:{}", s.family),
            music: false,
            rows,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let patches: usize = examples.iter().map(|e| e.rows.len()).sum();
    eprintln!("{} examples, {patches} patches; cross-validating by file", examples.len());

    let options = FitOptions { l2: args.l2, ..FitOptions::default() };
    let scores = detection::cross_validate(&examples, args.folds, args.seed, options)?;
    let pairs: Vec<(f64, bool)> =
        scores.iter().zip(&examples).map(|(&s, e)| (s, e.music)).collect();
    let threshold = detection::choose_threshold(&pairs).context("no music or no not-music")?;
    let auc = detection::auc(&pairs);
    let rates = detection::rates(&examples, &scores, threshold.value);
    let all: Vec<&Example> = examples.iter().collect();
    let model = detection::fit(&all, options)?;
    let detector = detection::detector(&model, input, threshold.value);
    let written = with_music_detector(&bytes, detector)?;
    let bundle_path = args.out.join("model.gscope");
    std::fs::write(&bundle_path, &written)
        .with_context(|| format!("writing {}", bundle_path.display()))?;
    let ensemble = Ensemble::from_bundle(&written, &device)
        .context("the bundle with its music detector does not load")?;
    check_bundle(&written, &ensemble, input, &args.music[0], &device)?;

    println!(
        "{}-fold cross-validation by file: AUC {auc:.3}; threshold {:.4} ({})",
        args.folds,
        threshold.value,
        threshold_rule(&threshold)
    );
    for r in &rates {
        println!("  {}", rate_line(r));
    }
    let checks: Vec<CheckScore> = check_files(&ensemble, &args.check)?;
    for c in &checks {
        match (c.music_probability, &c.error) {
            (Some(p), _) => println!("  check {}: music {p:.3} ({})", c.path, c.verdict),
            (None, Some(e)) => println!("  check {}: {e}", c.path),
            (None, None) => println!("  check {}: no music score ({})", c.path, c.verdict),
        }
    }
    let files: Vec<FileScore> = examples
        .iter()
        .zip(&scores)
        .map(|(e, &score)| FileScore {
            name: e.name.clone(),
            source: e.source.clone(),
            music: e.music,
            patches: e.rows.len(),
            score,
            called_music: score >= threshold.value as f64,
        })
        .collect();
    let report = json!({
        "command": command_line(),
        "model": args.model.display().to_string(),
        "input": input,
        "folds": args.folds,
        "seed": args.seed,
        "l2": args.l2,
        "auc": auc,
        "threshold": threshold,
        "rates": rates,
        "files": files,
        "check": checks,
        "failed": failed,
    });
    let json_path = args.out.join("detect-report.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;
    let md_path = args.out.join("detect-report.md");
    std::fs::write(&md_path, markdown(&args, input, auc, &threshold, &rates, &files, &checks))
        .with_context(|| format!("writing {}", md_path.display()))?;
    eprintln!("wrote {} ({} bytes)", bundle_path.display(), written.len());
    eprintln!("wrote {}, {}", md_path.display(), json_path.display());
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Checks, on the first music file, that the engine's music score of the written bundle is
/// its detector's score of the rows read here (same front end, same patches).
fn check_bundle(
    written: &[u8],
    ensemble: &Ensemble,
    input: DetectorInput,
    music: &Path,
    device: &Device,
) -> anyhow::Result<()> {
    let Some(path) = audio_files(music)?.into_iter().next() else { return Ok(()) };
    let header = genrescope::bundle::SpectrogramBundle::read_header(written)?;
    let detector = header.music_detector.context("the written bundle has no music detector")?;
    let audio = decode_path(&path, &DecodeLimits::default())?;
    let rows = BackboneRows::new(written, input, false, device)?
        .rows(&audio.samples, audio.sample_rate)?;
    let expected = detector.score(rows.iter().map(Vec::as_slice)).probability;
    let got = ensemble
        .classify_mono(&audio.samples, audio.sample_rate)?
        .music
        .context("the engine gives no music score for the written bundle")?
        .probability;
    let diff = (expected - got).abs();
    if diff > 1e-4 {
        bail!(
            "the engine's music score of {} is {got}, the detector's own {expected} (difference {diff:.1e})",
            path.display()
        );
    }
    eprintln!(
        "bundle check: the engine's music score of {} is the detector's ({got:.4}, difference {diff:.1e})",
        path.display()
    );
    Ok(())
}

/// Reads every audio file under `dir` (recursively, sorted) into `examples`; files that do
/// not decode go to `failed`.
fn read_folder(
    reader: &BackboneRows,
    dir: &Path,
    source: &str,
    music: bool,
    examples: &mut Vec<Example>,
    failed: &mut Vec<String>,
) -> anyhow::Result<()> {
    let files = audio_files(dir)?;
    if files.is_empty() {
        bail!("no audio file in {}", dir.display());
    }
    let bar = super::progress_bar(files.len(), source);
    for path in files {
        bar.inc(1);
        let rows = decode_path(&path, &DecodeLimits::default())
            .map_err(anyhow::Error::from)
            .and_then(|audio| reader.rows(&audio.samples, audio.sample_rate));
        match rows {
            Ok(rows) => examples.push(Example {
                name: path.strip_prefix(dir).unwrap_or(&path).display().to_string(),
                source: source.to_string(),
                music,
                rows,
            }),
            Err(e) => {
                eprintln!("skipping {}: {e:#}", path.display());
                failed.push(format!("{}: {e:#}", path.display()));
            }
        }
    }
    bar.finish_and_clear();
    Ok(())
}

/// The audio files under `dir`, recursively, sorted by path (hidden entries skipped).
fn audio_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d)
            .with_context(|| format!("cannot read the folder {}", d.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if is_audio_path(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Mono clips at the synthesis rate of the not-music files whose names contain one of
/// `names` (case-insensitive), for babble.
fn speech_clips(
    dirs: &[PathBuf],
    names: &[String],
    failed: &[String],
) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut clips = Vec::new();
    for dir in dirs {
        for path in audio_files(dir)? {
            let name =
                path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
            let is_speech = names.iter().any(|n| !n.is_empty() && name.contains(&n.to_lowercase()));
            if !is_speech || failed.iter().any(|f| f.starts_with(&path.display().to_string())) {
                continue;
            }
            let audio = decode_path(&path, &DecodeLimits::default())?;
            clips.push(resample(&audio.samples, audio.sample_rate, synth::SAMPLE_RATE)?);
        }
    }
    Ok(clips)
}

/// Scores every audio file under `dirs` with the written bundle through the engine.
fn check_files(ensemble: &Ensemble, dirs: &[PathBuf]) -> anyhow::Result<Vec<CheckScore>> {
    let mut out = Vec::new();
    for dir in dirs {
        for path in audio_files(dir)? {
            let result = decode_path(&path, &DecodeLimits::default())
                .map_err(anyhow::Error::from)
                .and_then(|a| Ok(ensemble.classify_mono(&a.samples, a.sample_rate)?));
            let shown = path.display().to_string();
            out.push(match result {
                Ok(c) => CheckScore {
                    path: shown,
                    music_probability: c.music.map(|m| m.probability),
                    verdict: snake_case(&c.verdict.kind),
                    error: None,
                },
                Err(e) => CheckScore {
                    path: shown,
                    music_probability: None,
                    verdict: String::new(),
                    error: Some(format!("{e:#}")),
                },
            });
        }
    }
    Ok(out)
}

/// How a serialisable enum value is written in JSON (`tag_logits`, `not_music`).
fn snake_case(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn threshold_rule(t: &Threshold) -> &'static str {
    if t.separated {
        "the classes separate out of fold: midpoint between the highest not-music and the lowest music score"
    } else {
        "the classes overlap out of fold: the lowest music score, so no music file is rejected"
    }
}

fn rate_line(r: &SourceRate) -> String {
    if r.music {
        format!(
            "{:<16} {:>3} files: {} rejected as not music (false rejection {:.1}%)",
            r.source,
            r.files,
            r.rejected,
            100.0 * r.rate
        )
    } else {
        format!(
            "{:<16} {:>3} files: {} detected as not music ({:.1}%)",
            r.source,
            r.files,
            r.rejected,
            100.0 * r.rate
        )
    }
}

/// The Markdown report.
fn markdown(
    args: &DetectArgs,
    input: DetectorInput,
    auc: f64,
    threshold: &Threshold,
    rates: &[SourceRate],
    files: &[FileScore],
    checks: &[CheckScore],
) -> String {
    let mut md = String::from("# Music / not-music detector\n\n");
    let _ = writeln!(md, "- Command: `{}`", command_line());
    let _ = writeln!(md, "- Model: `{}`; input: {}", args.model.display(), snake_case(&input));
    let _ = writeln!(
        md,
        "- Logistic regression on per-patch rows (standardised, L2 {}, classes weighed \
         equally); a track's score is the mean of its patches' probabilities.",
        args.l2
    );
    let _ = writeln!(
        md,
        "- {}-fold cross-validation by file (every patch of a file, or of a synthesised \
         signal, in one fold; folds stratified by source), seed {}.",
        args.folds, args.seed
    );
    let _ = writeln!(md, "- Out-of-fold AUC (music against not music, by file): {auc:.4}");
    let _ = writeln!(md, "- Threshold {:.4}: {}.", threshold.value, threshold_rule(threshold));
    md.push_str(
        "- The threshold is chosen on the same out-of-fold scores as the rates below, which \
         are therefore optimistic; the AUC does not depend on it.\n\n",
    );
    md.push_str("## Out-of-fold rates at the threshold\n\n");
    md.push_str("| Source | Files | Called not music | Rate |\n|---|---:|---:|---:|\n");
    for r in rates {
        let what = if r.music { "false rejection" } else { "detection" };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1}% ({what}) |",
            r.source,
            r.files,
            r.rejected,
            100.0 * r.rate
        );
    }
    if !checks.is_empty() {
        md.push_str(
            "\n## Check folders (scored by the written bundle; never used to fit)\n\n\
             | File | Music probability | Verdict |\n|---|---:|---|\n",
        );
        for c in checks {
            let p = c.music_probability.map_or("—".to_string(), |p| format!("{p:.4}"));
            let verdict = c.error.clone().unwrap_or_else(|| c.verdict.clone());
            let _ = writeln!(md, "| {} | {p} | {verdict} |", c.path);
        }
    }
    md.push_str("\n## Out-of-fold score of every file\n\n");
    md.push_str("| File | Source | Patches | Score | Called |\n|---|---|---:|---:|---|\n");
    for f in files {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.4} | {} |",
            f.name.replace('|', "\\|"),
            f.source,
            f.patches,
            f.score,
            if f.called_music { "music" } else { "not music" }
        );
    }
    md
}
