//! `trainer classify`: tag audio files and folders with a model bundle.
//!
//! Files are classified in parallel (rayon, one shared [`Ensemble`]: it is `Send + Sync`,
//! checked at compile time below) and printed in input order as an aligned table, one JSON
//! document or CSV. A file that cannot be decoded is reported and skipped; the others are
//! still tagged. Any bundle works: one model, or a fusion (whose members' opinions are in
//! the JSON output). Exit code: 0 when every file was classified, 1 when any failed, 2 for usage
//! and model errors (the error is returned to `main`, which prints it and exits with 2).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use genrescope::audio;
use genrescope::audio::{fmt_duration, DecodeLimits};
use genrescope::classify::{Classification, Ensemble, MemberResult, SpectrogramModel};
use genrescope::tags::TagWrite;
use genrescope::trust::{MusicScore, SignalLevel, Verdict, VerdictKind};

use super::{load_classifier, progress_bar};
use rayon::prelude::*;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::backend::Backend;
use crate::dataset::is_audio_path;

/// Deepest folder nesting followed below a folder argument (guards against symlink loops
/// together with the visited-folder set).
const MAX_DEPTH: usize = 32;

/// Options of `trainer classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Model bundle (`.gscope`) written by `trainer train`.
    #[arg(long, value_name = "BUNDLE")]
    pub model: PathBuf,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// How many of the most likely genres to show per file.
    #[arg(long, value_name = "K", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    pub top: u16,
    /// Print one JSON document (an array with one object per file) instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV (a header, then one row per file with every label's probability).
    #[arg(long)]
    pub csv: bool,
    /// Most files classified at once (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// With --json: include every window's probabilities (the genre timeline);
    /// in the table: print the top genre of every window under each file.
    #[arg(long)]
    pub timeline: bool,
    /// How many of the model's Million Song Dataset tags to show per file in the table and
    /// the CSV (JSON lists them all); 0 hides them.
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub tags: usize,
    /// How many 3 s patches of a long track a patch model classifies: a number (evenly
    /// spread, first and last kept), `bundle` (the bundle's `max_patches`) or `all` (the
    /// default: the whole track, as the page's final answer).
    #[arg(long, value_name = "N|all|bundle", value_parser = parse_patches)]
    pub patches: Option<PatchChoice>,
    /// Audio files and folders (folders are searched recursively for audio files by
    /// extension; a file named explicitly is tried whatever its extension).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write each confident genre into its file's own genre tag (files whose verdict is
    /// unsure, not music or silence are left alone). Each write is checked first: the genre
    /// reads back and the audio stream is unchanged, packet for packet; then the file is
    /// replaced. Every write is logged for `trainer tags undo`.
    #[arg(long)]
    pub write_tags: bool,
    /// With --write-tags: check every write, change nothing.
    #[arg(long, requires = "write_tags")]
    pub dry_run: bool,
    /// With --write-tags: the undo log to append to.
    #[arg(long, requires = "write_tags", value_name = "FILE", default_value = super::tags::DEFAULT_UNDO_LOG)]
    pub undo_log: PathBuf,
    /// With --write-tags: also write the K most likely of the model's Million Song Dataset
    /// tags into the MSD_TAGS field (a field of its own: the genre field keeps the genre
    /// alone), with the same check. Refused for a model without MSD tags.
    #[arg(long, requires = "write_tags", value_name = "K")]
    pub write_msd_tags: Option<usize>,
}

/// `--patches`: a number of patches, or every patch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PatchChoice {
    /// At most this many, evenly spread.
    AtMost(usize),
    /// Every patch of the track.
    All,
    /// What the bundle says (its `max_patches`).
    Bundle,
}

fn parse_patches(s: &str) -> Result<PatchChoice, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(PatchChoice::All);
    }
    if s.eq_ignore_ascii_case("bundle") {
        return Ok(PatchChoice::Bundle);
    }
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(PatchChoice::AtMost(n)),
        _ => Err(format!("expected a number of patches (1 or more), `all` or `bundle`, got `{s}`")),
    }
}

/// Runs `trainer classify`.
pub fn run(args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (mut classifier, backend_name) = load_classifier(&args.model, args.backend)?;
    match args.patches {
        Some(PatchChoice::All) | None => classifier.set_max_patches(None),
        Some(PatchChoice::AtMost(n)) => classifier.set_max_patches(Some(n)),
        Some(PatchChoice::Bundle) => {}
    }
    if args.write_msd_tags.is_some() && classifier.info().tags.is_empty() {
        bail!(
            "--write-msd-tags: the model {} has no Million Song Dataset tags",
            args.model.display()
        );
    }
    let files = collect_inputs(&args.paths)?;
    if files.is_empty() {
        bail!("no audio file found in {}", list_paths(&args.paths));
    }

    let threads = args.jobs.map_or_else(default_threads, usize::from);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("classify-{i}"))
        .build()
        .context("starting the worker threads")?;
    let bar = progress_bar(files.len(), "classifying");
    let done = AtomicUsize::new(0);
    let limits = DecodeLimits::default();
    let results: Vec<FileResult> = pool.install(|| {
        files
            .par_iter()
            .map(|path| {
                let result = classify_path(&classifier, path, &limits);
                bar.set_position((done.fetch_add(1, Ordering::Relaxed) + 1) as u64);
                result
            })
            .collect()
    });
    bar.finish_and_clear();

    let labels = classifier.labels();
    let top = usize::from(args.top);
    let mut out = io::stdout().lock();
    let written = if args.json {
        write_json(&mut out, &results, top, args.timeline)
    } else if args.csv {
        write_csv(&mut out, &results, labels, args.tags)
    } else {
        out.write_all(render_table(&results, top, args.tags, args.timeline).as_bytes())
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        r => r.context("writing the results")?,
    }

    for r in &results {
        if let Ok(t) = &r.outcome {
            for w in &t.warnings {
                eprintln!("warning: {}: {w}", r.file);
            }
        }
    }
    let unwritten = if args.write_tags { write_tags(&results, &args)? } else { 0 };
    let failed = results.iter().filter(|r| r.outcome.is_err()).count();
    eprintln!(
        "{} file{} classified, {failed} failed ({backend_name}, {threads} thread{}, {:.1} s)",
        results.len() - failed,
        if results.len() - failed == 1 { "" } else { "s" },
        if threads == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64()
    );
    Ok(if failed == 0 && unwritten == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `--write-tags`: the confident genres (and with `--write-msd-tags` the most likely MSD
/// tags) written (see [`super::tags::write_tags`]); the other files are named with their
/// verdict. Returns how many writes failed.
fn write_tags(results: &[FileResult], args: &ClassifyArgs) -> anyhow::Result<usize> {
    let mut writes = Vec::new();
    for r in results {
        match &r.outcome {
            Ok(t) if t.classification.verdict.kind == VerdictKind::Genre => {
                let c = &t.classification;
                let genre = c.verdict.label.clone().unwrap_or_default();
                let msd_tags = args
                    .write_msd_tags
                    .map(|k| c.tags.iter().take(k).map(|t| t.label.clone()).collect());
                writes.push((PathBuf::from(&r.file), TagWrite { genres: vec![genre], msd_tags }));
            }
            Ok(t) => eprintln!("left alone: {}: {}", r.file, t.classification.verdict.text),
            Err(_) => {}
        }
    }
    super::tags::write_tags(&writes, args.dry_run, &args.undo_log)
}

/// One worker per core (at least one).
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Expands the PATH arguments, in order: a folder becomes its audio files (recursively,
/// sorted, hidden entries skipped); anything else is taken as a file to try, whatever its
/// extension (a missing file then fails with its own error row).
fn collect_inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = files.len();
            let mut visited = HashSet::new();
            walk(p, 0, &mut visited, &mut files)
                .with_context(|| format!("cannot read the folder {}", p.display()))?;
            if files.len() == before {
                eprintln!("warning: no audio file (by extension) in the folder {}", p.display());
            }
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn walk(
    dir: &Path,
    depth: usize,
    visited: &mut HashSet<PathBuf>,
    out: &mut Vec<PathBuf>,
) -> io::Result<()> {
    if let Ok(canonical) = dir.canonicalize() {
        if !visited.insert(canonical) {
            return Ok(()); // a symlink loop or a folder reached twice
        }
    }
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        if path.is_dir() {
            dirs.push(path);
        } else if is_audio_path(&path) {
            files.push(path);
        }
    }
    // Files and sub-folders in one sorted sequence, so the order is that of the full paths.
    let mut entries: Vec<(PathBuf, bool)> =
        files.into_iter().map(|f| (f, false)).chain(dirs.into_iter().map(|d| (d, true))).collect();
    entries.sort();
    for (path, is_dir) in entries {
        if !is_dir {
            out.push(path);
        } else if depth < MAX_DEPTH {
            walk(&path, depth + 1, visited, out)?;
        }
    }
    Ok(())
}

// Sharing one classifier between the worker threads needs these; a change in Burn that
// breaks them fails the build here rather than at a distance.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<SpectrogramModel>();
    shared::<Ensemble>();
};

/// The outcome for one input file.
pub struct FileResult {
    /// The path as given or found.
    pub file: String,
    /// The classification, or why the file failed.
    pub outcome: Result<Tagged, String>,
}

/// A classified file.
pub struct Tagged {
    /// The model's result.
    pub classification: Classification,
    /// Length of the decoded audio, in seconds.
    pub duration_seconds: f64,
    /// Non-fatal problems (truncated file, skipped packets).
    pub warnings: Vec<String>,
}

fn classify_path(classifier: &Ensemble, path: &Path, limits: &DecodeLimits) -> FileResult {
    FileResult {
        file: path.display().to_string(),
        outcome: classify_file(classifier, path, limits),
    }
}

fn classify_file(
    classifier: &Ensemble,
    path: &Path,
    limits: &DecodeLimits,
) -> Result<Tagged, String> {
    let audio = audio::decode_path(path, limits).map_err(|e| e.to_string())?;
    let duration_seconds = audio.duration_seconds();
    let warnings = audio.warnings.messages();
    let classification =
        classifier.classify_mono(&audio.samples, audio.sample_rate).map_err(|e| e.to_string())?;
    Ok(Tagged { classification, duration_seconds, warnings })
}

// ---------------------------------------------------------------------------------------
// Table

fn pct(p: f32) -> String {
    format!("{:.1}%", 100.0 * p)
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// The `k` most likely tags as `label 12.3%, ...`.
fn tag_list(c: &Classification, k: usize) -> String {
    c.tags
        .iter()
        .take(k)
        .map(|t| format!("{} {}", t.label, pct(t.probability)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The aligned, human-readable table (one row per file, input order): the verdict (a genre,
/// `Unsure: rock or pop?`, `Not music` or `Silence`), its confidence, the next genres, the
/// top tags when the model has them.
pub fn render_table(results: &[FileResult], top: usize, tags: usize, timeline: bool) -> String {
    let show_tags = tags > 0
        && results
            .iter()
            .any(|r| r.outcome.as_ref().is_ok_and(|t| !t.classification.tags.is_empty()));
    struct Row {
        file: String,
        cells: Option<[String; 6]>, // verdict, confidence, others, tags, duration, windows
        error: Option<String>,
        timeline: Vec<String>,
    }
    let rows: Vec<Row> = results
        .iter()
        .map(|r| match &r.outcome {
            Ok(t) => {
                let c = &t.classification;
                // Silence and not-music name no genre: no confidence, no runners-up.
                let names_genres =
                    !matches!(c.verdict.kind, VerdictKind::Silent | VerdictKind::NotMusic);
                let others = c.top(if names_genres { top } else { 1 })[1..]
                    .iter()
                    .map(|s| format!("{} {}", s.label, pct(s.probability)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let timeline = if timeline {
                    c.windows
                        .iter()
                        .map(|w| {
                            let i = genrescope::classify::argmax(&w.probabilities);
                            format!(
                                "{:>7.1} s - {:>6.1} s  {} {}{}",
                                w.start_seconds,
                                w.end_seconds,
                                c.labels[i],
                                pct(w.probabilities[i]),
                                if w.padded { " (padded)" } else { "" }
                            )
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                Row {
                    file: r.file.clone(),
                    cells: Some([
                        c.verdict.text.clone(),
                        if names_genres { pct(c.verdict.confidence) } else { "-".into() },
                        others,
                        tag_list(c, tags),
                        fmt_duration(t.duration_seconds),
                        c.windows.len().to_string(),
                    ]),
                    error: None,
                    timeline,
                }
            }
            Err(e) => Row {
                file: r.file.clone(),
                cells: None,
                error: Some(e.clone()),
                timeline: Vec::new(),
            },
        })
        .collect();

    let headers = [
        "FILE",
        "VERDICT",
        "CONF",
        if top > 1 { "NEXT" } else { "" },
        if show_tags { "TAGS" } else { "" },
        "DURATION",
        "WINDOWS",
    ];
    let mut w = headers.map(width);
    for row in &rows {
        w[0] = w[0].max(width(&row.file));
        if let Some(cells) = &row.cells {
            for (i, c) in cells.iter().enumerate() {
                w[i + 1] = w[i + 1].max(width(c));
            }
        }
    }
    let pad = |s: &str, n: usize| format!("{s}{}", " ".repeat(n.saturating_sub(width(s))));
    let lpad = |s: &str, n: usize| format!("{}{s}", " ".repeat(n.saturating_sub(width(s))));
    let line = |cells: [&str; 7]| {
        let mut parts = vec![pad(cells[0], w[0]), pad(cells[1], w[1]), lpad(cells[2], w[2])];
        if top > 1 {
            parts.push(pad(cells[3], w[3]));
        }
        if show_tags {
            parts.push(pad(cells[4], w[4]));
        }
        parts.extend([lpad(cells[5], w[5]), lpad(cells[6], w[6])]);
        let mut s = parts.join("  ");
        s.truncate(s.trim_end().len());
        s
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", line(headers));
    for row in &rows {
        match (&row.cells, &row.error) {
            (Some(c), _) => {
                let cells = [&row.file, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5]];
                let _ = writeln!(out, "{}", line(cells.map(String::as_str)));
                for t in &row.timeline {
                    let _ = writeln!(out, "  {t}");
                }
            }
            (None, Some(e)) => {
                let _ = writeln!(out, "{}  ERROR: {e}", pad(&row.file, w[0]));
            }
            (None, None) => unreachable!(),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// JSON

/// `{label: probability}` in the model's label order (serde_json's `Map` would sort it).
struct LabelMap<'a> {
    labels: &'a [String],
    values: &'a [f32],
}

impl Serialize for LabelMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.labels.len()))?;
        for (l, v) in self.labels.iter().zip(self.values) {
            map.serialize_entry(l, v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct JsonWindow<'a> {
    start_seconds: f64,
    end_seconds: f64,
    padded: bool,
    probabilities: LabelMap<'a>,
}

#[derive(Serialize)]
struct JsonEntry<'a> {
    file: &'a str,
    ok: bool,
    /// The `--top` most likely labels, most likely first.
    top: &'a [genrescope::classify::LabelScore],
    /// What the answer is: `{kind: genre|uncertain|not_music|silent, label, candidates,
    /// confidence, text}` (`null` on failure).
    verdict: Option<&'a Verdict>,
    /// Every label's track probability, in the model's label order (`null` on failure).
    probabilities: Option<LabelMap<'a>>,
    /// The model's Million Song Dataset tags, most likely first (empty when it has none).
    tags: &'a [genrescope::classify::LabelScore],
    /// The music detector's score (`null` when the model has none).
    music: Option<&'a MusicScore>,
    /// The input's level: seconds, active seconds, RMS in dBFS, DC offset, scaling.
    signal: Option<&'a SignalLevel>,
    duration_seconds: Option<f64>,
    windows: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeline: Option<Vec<JsonWindow<'a>>>,
    /// For a fusion: each member's opinion.
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<Vec<JsonMember<'a>>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// One fusion member's opinion on a file.
#[derive(Serialize)]
struct JsonMember<'a> {
    name: &'a str,
    kind: genrescope::bundle::ModelKind,
    /// Its weight in this file's fused result (0 when skipped).
    weight: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    probabilities: Option<LabelMap<'a>>,
    windows: usize,
}

fn json_members<'a>(
    labels: &'a [String],
    members: &'a [MemberResult],
) -> Option<Vec<JsonMember<'a>>> {
    (!members.is_empty()).then(|| {
        members
            .iter()
            .map(|m| JsonMember {
                name: &m.name,
                kind: m.kind,
                weight: m.weight,
                skipped: m.skipped.as_deref(),
                probabilities: m
                    .skipped
                    .is_none()
                    .then(|| LabelMap { labels, values: &m.probabilities }),
                windows: m.windows.len(),
            })
            .collect()
    })
}

/// One JSON array with an object per file. Probabilities are f32 written with the shortest
/// representation that reads back to the same f32 (no precision lost).
fn write_json(
    out: &mut impl Write,
    results: &[FileResult],
    top: usize,
    timeline: bool,
) -> io::Result<()> {
    let entries: Vec<JsonEntry> = results
        .iter()
        .map(|r| match &r.outcome {
            Ok(t) => {
                let c = &t.classification;
                JsonEntry {
                    file: &r.file,
                    ok: true,
                    top: c.top(top),
                    verdict: Some(&c.verdict),
                    probabilities: Some(LabelMap { labels: &c.labels, values: &c.probabilities }),
                    tags: &c.tags,
                    music: c.music.as_ref(),
                    signal: c.signal.as_ref(),
                    duration_seconds: Some(t.duration_seconds),
                    windows: Some(c.windows.len()),
                    timeline: timeline.then(|| {
                        c.windows
                            .iter()
                            .map(|w| JsonWindow {
                                start_seconds: w.start_seconds,
                                end_seconds: w.end_seconds,
                                padded: w.padded,
                                probabilities: LabelMap {
                                    labels: &c.labels,
                                    values: &w.probabilities,
                                },
                            })
                            .collect()
                    }),
                    members: json_members(&c.labels, &c.members),
                    warnings: &t.warnings,
                    error: None,
                }
            }
            Err(e) => JsonEntry {
                file: &r.file,
                ok: false,
                top: &[],
                verdict: None,
                probabilities: None,
                tags: &[],
                music: None,
                signal: None,
                duration_seconds: None,
                windows: None,
                timeline: None,
                members: None,
                warnings: &[],
                error: Some(e),
            },
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &entries).map_err(io::Error::other)?;
    writeln!(out)
}

// ---------------------------------------------------------------------------------------
// CSV

/// Quotes a CSV field when it needs it (RFC 4180: commas, quotes, line breaks; also
/// leading or trailing spaces, which some readers trim).
pub fn csv_field(s: &str) -> String {
    let needs = s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ');
    if needs {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `file,verdict,verdict_text,genre,confidence,music_probability,tags,<label>...,error`:
/// `genre` is the top label whatever the verdict; `tags` the `--tags` most likely as
/// `label:probability` joined by `;`; probabilities with full f32 precision.
fn write_csv(
    out: &mut impl Write,
    results: &[FileResult],
    labels: &[String],
    tags: usize,
) -> io::Result<()> {
    let mut header = vec!["file".to_string(), "verdict".into(), "verdict_text".into()];
    header.extend(["genre".into(), "confidence".into(), "music_probability".into(), "tags".into()]);
    header.extend(labels.iter().cloned());
    header.push("error".into());
    let join =
        |fields: &[String]| fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    write!(out, "{}\r\n", join(&header))?;
    for r in results {
        let mut row = vec![r.file.clone()];
        match &r.outcome {
            Ok(t) => {
                let c = &t.classification;
                row.push(c.verdict.kind.name().to_string());
                row.push(c.verdict.text.clone());
                row.push(c.ranking[0].label.clone());
                row.push(c.ranking[0].probability.to_string());
                row.push(c.music.map_or(String::new(), |m| m.probability.to_string()));
                let top_tags: Vec<String> = c
                    .tags
                    .iter()
                    .take(tags)
                    .map(|t| format!("{}:{}", t.label, t.probability))
                    .collect();
                row.push(top_tags.join(";"));
                row.extend(c.probabilities.iter().map(f32::to_string));
                row.push(String::new());
            }
            Err(e) => {
                row.extend(std::iter::repeat_n(String::new(), 6 + labels.len()));
                row.push(e.clone());
            }
        }
        write!(out, "{}\r\n", join(&row))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a.wav"), "a.wav");
        assert_eq!(csv_field("a,b.wav"), "\"a,b.wav\"");
        assert_eq!(csv_field("say \"hi\".wav"), "\"say \"\"hi\"\".wav\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(" lead"), "\" lead\"");
    }

    #[test]
    fn folders_are_walked_sorted_without_hidden_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for rel in [
            "b.wav",
            "a/z.mp3",
            "a/.hidden.wav",
            ".git/x.wav",
            "notes.txt",
            "C.FLAC",
            "a/sub/y.ogg",
        ] {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, b"x").unwrap();
        }
        let explicit = root.join("notes.txt");
        let files = collect_inputs(&[root.to_path_buf(), explicit.clone()]).unwrap();
        let rel: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap_or(f).to_string_lossy().into_owned())
            .collect();
        assert_eq!(rel, vec!["C.FLAC", "a/sub/y.ogg", "a/z.mp3", "b.wav", "notes.txt"]);
        assert_eq!(files.last().unwrap(), &explicit);
    }
}
