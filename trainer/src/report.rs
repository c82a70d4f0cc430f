//! Evaluation reports: JSON (machine readable), Markdown (human readable) and
//! PNG figures (track-level confusion heatmap, training curves), plus a plain
//! text summary for the terminal.
//!
//! Text in the PNGs is rendered from DejaVu Sans embedded in the binary (see
//! [`canvas`]), so rendering never depends on the fonts installed on the machine.

mod calibration_plot;
pub mod canvas;
mod plot;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};

use crate::calibrate::CalibrationReport;
use crate::metrics::{ClassMetrics, CvSummary, EpochRecord, Evaluation};

/// Everything a report contains; this is the schema of `<stem>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// Report title.
    pub title: String,
    /// Free-form provenance (data, split, seed, command, durations, ...).
    pub meta: serde_json::Value,
    /// The evaluation being reported.
    pub evaluation: Evaluation,
    /// Training history, when the report belongs to a training run.
    pub history: Option<Vec<EpochRecord>>,
    /// Cross-validation summary, when available.
    pub cv: Option<CvSummary>,
    /// The calibration fitted on out-of-fold predictions, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationReport>,
    /// Names (relative to the report directory) of the other files written.
    pub files: Vec<String>,
}

/// Writes a complete report into `dir` (created if missing) and returns the
/// paths written, in this order:
///
/// * `<stem>.json` — [`ReportData`], pretty printed;
/// * `<stem>.md` — Markdown: meta table, headline accuracies, per-genre
///   precision/recall/F1/support with macro averages, confusion matrix (table
///   and image), cross-validation folds with mean ± std when `cv` is given,
///   training history when `history` is given;
/// * `<stem>-confusion.png` — track-level confusion heatmap (colours
///   row-normalised, counts in the cells);
/// * `<stem>-curves.png` — only when `history` is non-empty: loss and accuracy
///   (train/val) per epoch, learning rate in a third panel.
///
/// `meta` is shown as a key/value table when it is a JSON object.
pub fn write_report(
    dir: &Path,
    stem: &str,
    title: &str,
    eval: &Evaluation,
    history: Option<&[EpochRecord]>,
    cv: Option<&CvSummary>,
    meta: &serde_json::Value,
) -> Result<Vec<PathBuf>> {
    write_report_calibrated(dir, stem, title, eval, history, cv, None, meta)
}

/// [`write_report`] with a calibration section when `calibration` is given: its numbers
/// in the Markdown (temperature, ECE before and after, coverage and accuracy at the
/// `uncertain` threshold) and two more figures, `<stem>-reliability.png` (reliability
/// diagram before and after) and `<stem>-selective.png` (selective accuracy against
/// coverage).
// The parts of one report; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn write_report_calibrated(
    dir: &Path,
    stem: &str,
    title: &str,
    eval: &Evaluation,
    history: Option<&[EpochRecord]>,
    cv: Option<&CvSummary>,
    calibration: Option<&CalibrationReport>,
    meta: &serde_json::Value,
) -> Result<Vec<PathBuf>> {
    ensure!(
        !stem.is_empty() && !stem.contains(['/', '\\']) && stem != "." && stem != "..",
        "report stem {stem:?} must be a plain file name"
    );
    fs::create_dir_all(dir)
        .with_context(|| format!("creating report directory {}", dir.display()))?;

    let json_name = format!("{stem}.json");
    let md_name = format!("{stem}.md");
    let confusion_name = format!("{stem}-confusion.png");
    let curves_name = format!("{stem}-curves.png");
    let history = history.filter(|h| !h.is_empty());

    let confusion_path = dir.join(&confusion_name);
    let subtitle = format!(
        "track accuracy {} ({} tracks) · window accuracy {} ({} windows) · macro F1 {:.3}",
        pct(eval.track_accuracy),
        eval.n_tracks,
        pct(eval.window_accuracy),
        eval.n_windows,
        eval.macro_f1
    );
    plot::draw_confusion(
        &confusion_path,
        &format!("{title} — confusion (tracks)"),
        &subtitle,
        &eval.labels,
        &eval.track_confusion,
    )
    .with_context(|| format!("drawing {}", confusion_path.display()))?;
    let mut pngs = vec![confusion_path];

    if let Some(h) = history {
        let curves_path = dir.join(&curves_name);
        plot::draw_curves(&curves_path, &format!("{title} — training"), h)
            .with_context(|| format!("drawing {}", curves_path.display()))?;
        pngs.push(curves_path);
    }

    let calibration_pngs = match calibration {
        Some(report) => {
            let reliability = format!("{stem}-reliability.png");
            let selective = format!("{stem}-selective.png");
            let (r, s) = (dir.join(&reliability), dir.join(&selective));
            calibration_plot::draw_reliability(&r, &format!("{title} — reliability"), report)
                .with_context(|| format!("drawing {}", r.display()))?;
            calibration_plot::draw_selective(&s, &format!("{title} — selective accuracy"), report)
                .with_context(|| format!("drawing {}", s.display()))?;
            pngs.extend([r, s]);
            Some((report, reliability, selective))
        }
        None => None,
    };

    let mut md = render_markdown(
        title,
        eval,
        history,
        cv,
        meta,
        &confusion_name,
        history.map(|_| curves_name.as_str()),
        &json_name,
    );
    if let Some((report, reliability, selective)) = &calibration_pngs {
        let mut section = String::new();
        calibration_section(&mut section, report, reliability, selective);
        let at = md.find("## Files").unwrap_or(md.len());
        md.insert_str(at, &section);
    }
    let md_path = dir.join(&md_name);
    fs::write(&md_path, md).with_context(|| format!("writing {}", md_path.display()))?;

    let mut files = vec![md_name];
    files.extend(
        pngs.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()),
    );
    let data = ReportData {
        title: title.to_string(),
        meta: meta.clone(),
        evaluation: eval.clone(),
        history: history.map(<[EpochRecord]>::to_vec),
        cv: cv.cloned(),
        calibration: calibration.cloned(),
        files,
    };
    let json_path = dir.join(&json_name);
    let json = serde_json::to_string_pretty(&data).context("serialising report JSON")?;
    fs::write(&json_path, json + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;

    let mut out = vec![json_path, md_path];
    out.extend(pngs);
    Ok(out)
}

/// A terminal summary: headline accuracies, then an aligned per-genre table
/// (precision, recall, F1, support) with a macro-average row.
pub fn print_summary(eval: &Evaluation) -> String {
    let mut s = String::new();
    let _ =
        writeln!(s, "Track accuracy   {:>6}  ({} tracks)", pct(eval.track_accuracy), eval.n_tracks);
    let _ = writeln!(
        s,
        "Window accuracy  {:>6}  ({} windows)",
        pct(eval.window_accuracy),
        eval.n_windows
    );
    if let Some(loss) = eval.mean_loss {
        let _ = writeln!(s, "Mean loss        {loss:>6.4}");
    }
    let _ = writeln!(s, "Macro F1         {:>6.3}", eval.macro_f1);
    s.push('\n');
    let w =
        eval.labels.iter().map(|l| l.chars().count()).chain(["macro avg".len()]).max().unwrap_or(0);
    let _ = writeln!(
        s,
        "{:<w$}  {:>9}  {:>6}  {:>6}  {:>7}",
        "genre", "precision", "recall", "f1", "support"
    );
    let _ = writeln!(
        s,
        "{}  {}  {}  {}  {}",
        "-".repeat(w),
        "-".repeat(9),
        "-".repeat(6),
        "-".repeat(6),
        "-".repeat(7)
    );
    for m in &eval.per_class {
        let _ = writeln!(
            s,
            "{:<w$}  {:>9.3}  {:>6.3}  {:>6.3}  {:>7}",
            m.label, m.precision, m.recall, m.f1, m.support
        );
    }
    let total: usize = eval.per_class.iter().map(|m| m.support).sum();
    let _ = writeln!(
        s,
        "{:<w$}  {:>9.3}  {:>6.3}  {:>6.3}  {:>7}",
        "macro avg", eval.macro_precision, eval.macro_recall, eval.macro_f1, total
    );
    s
}

// ---------------------------------------------------------------------------
// Markdown

/// `0.8123` -> `"81.2%"`.
fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// `1` -> `"1 epoch"`, `3` -> `"3 epochs"`.
fn epochs(n: usize) -> String {
    format!("{n} epoch{}", if n == 1 { "" } else { "s" })
}

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Human duration for values whose key mentions seconds.
fn duration(seconds: f64) -> String {
    genrescope::audio::fmt_duration(seconds)
}

fn meta_value(key: &str, v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "—".to_string(),
        Value::String(s) if key.contains("command") => format!("`{}`", cell(s)),
        Value::String(s) => cell(s),
        Value::Number(n) if key.contains("seconds") => {
            n.as_f64().map(duration).unwrap_or_else(|| n.to_string())
        }
        Value::Number(_) | Value::Bool(_) => v.to_string(),
        Value::Array(_) | Value::Object(_) => format!("`{}`", cell(&v.to_string())),
    }
}

fn confusion_table(md: &mut String, labels: &[String], confusion: &[Vec<usize>]) {
    md.push_str("| true \\ predicted |");
    for l in labels {
        let _ = write!(md, " {} |", cell(l));
    }
    md.push_str(" total |\n|---|");
    md.push_str(&"---:|".repeat(labels.len() + 1));
    md.push('\n');
    for (i, (l, row)) in labels.iter().zip(confusion).enumerate() {
        let _ = write!(md, "| **{}** |", cell(l));
        for (j, c) in row.iter().enumerate() {
            if i == j {
                let _ = write!(md, " **{c}** |");
            } else if *c == 0 {
                md.push_str(" · |");
            } else {
                let _ = write!(md, " {c} |");
            }
        }
        let _ = writeln!(md, " {} |", row.iter().sum::<usize>());
    }
    md.push('\n');
}

fn class_table(md: &mut String, per_class: &[ClassMetrics], macro_prf: Option<(f64, f64, f64)>) {
    md.push_str("| Genre | Precision | Recall | F1 | Support |\n|---|---:|---:|---:|---:|\n");
    for m in per_class {
        let _ = writeln!(
            md,
            "| {} | {:.3} | {:.3} | {:.3} | {} |",
            cell(&m.label),
            m.precision,
            m.recall,
            m.f1,
            m.support
        );
    }
    let total: usize = per_class.iter().map(|m| m.support).sum();
    if let Some((p, r, f)) = macro_prf {
        let _ =
            writeln!(md, "| **macro average** | **{p:.3}** | **{r:.3}** | **{f:.3}** | {total} |");
    }
    md.push('\n');
}

#[allow(clippy::too_many_arguments)]
fn render_markdown(
    title: &str,
    eval: &Evaluation,
    history: Option<&[EpochRecord]>,
    cv: Option<&CvSummary>,
    meta: &serde_json::Value,
    confusion_png: &str,
    curves_png: Option<&str>,
    json_name: &str,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {title}\n");

    match meta {
        serde_json::Value::Object(map) if !map.is_empty() => {
            md.push_str("| | |\n|---|---|\n");
            for (k, v) in map {
                let _ = writeln!(md, "| **{}** | {} |", cell(k), meta_value(k, v));
            }
            md.push('\n');
        }
        serde_json::Value::Object(_) | serde_json::Value::Null => {}
        other => {
            let _ = writeln!(md, "Meta: {}\n", meta_value("", other));
        }
    }

    md.push_str("## Headline\n\n");
    let _ = writeln!(
        md,
        "- **Track accuracy: {}** ({} tracks; a track's prediction is the argmax of its windows' mean probabilities)",
        pct(eval.track_accuracy),
        eval.n_tracks
    );
    let _ = writeln!(
        md,
        "- Window accuracy: {} ({} windows)",
        pct(eval.window_accuracy),
        eval.n_windows
    );
    let _ = writeln!(
        md,
        "- Macro averages (tracks): precision {:.3}, recall {:.3}, F1 {:.3}",
        eval.macro_precision, eval.macro_recall, eval.macro_f1
    );
    if let Some(loss) = eval.mean_loss {
        let _ = writeln!(md, "- Mean window cross-entropy: {loss:.4}");
    }
    if let Some(cv) = cv {
        let _ = writeln!(
            md,
            "- Cross-validation ({} folds): track accuracy {} ± {}, macro F1 {:.3} ± {:.3}",
            cv.folds.len(),
            pct(cv.track_accuracy.mean),
            pct(cv.track_accuracy.std),
            cv.macro_f1.mean,
            cv.macro_f1.std
        );
    }
    md.push('\n');

    md.push_str("## Per-genre metrics (track level)\n\n");
    class_table(
        &mut md,
        &eval.per_class,
        Some((eval.macro_precision, eval.macro_recall, eval.macro_f1)),
    );
    md.push_str(
        "Precision, recall and F1 of a genre with no predictions or no support are reported as 0; \
         macro averages are unweighted means over all genres.\n\n",
    );

    md.push_str("## Confusion matrix (track level)\n\n");
    let _ = writeln!(md, "![Track-level confusion matrix]({confusion_png})\n");
    md.push_str(
        "Rows are the true genre, columns the predicted genre; the diagonal (bold) is correct.\n\n",
    );
    confusion_table(&mut md, &eval.labels, &eval.track_confusion);
    md.push_str("<details><summary>Window-level confusion matrix</summary>\n\n");
    confusion_table(&mut md, &eval.labels, &eval.window_confusion);
    md.push_str("</details>\n\n");

    if let Some(cv) = cv {
        let _ = writeln!(md, "## Cross-validation ({} folds)\n", cv.folds.len());
        md.push_str("| Fold | Track accuracy | Window accuracy | Macro F1 | Tracks | Windows |\n");
        md.push_str("|---:|---:|---:|---:|---:|---:|\n");
        for (k, f) in cv.folds.iter().enumerate() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.3} | {} | {} |",
                k + 1,
                pct(f.track_accuracy),
                pct(f.window_accuracy),
                f.macro_f1,
                f.n_tracks,
                f.n_windows
            );
        }
        let _ = writeln!(
            md,
            "| **mean ± std** | **{} ± {}** | **{} ± {}** | **{:.3} ± {:.3}** | {} | {} |\n",
            pct(cv.track_accuracy.mean),
            pct(cv.track_accuracy.std),
            pct(cv.window_accuracy.mean),
            pct(cv.window_accuracy.std),
            cv.macro_f1.mean,
            cv.macro_f1.std,
            cv.folds.iter().map(|f| f.n_tracks).sum::<usize>(),
            cv.folds.iter().map(|f| f.n_windows).sum::<usize>()
        );
        md.push_str("Standard deviations are sample standard deviations (n − 1).\n\n");
        md.push_str("### Pooled over folds\n\n");
        class_table(&mut md, &cv.pooled_per_class, None);
        confusion_table(&mut md, &cv.labels, &cv.pooled_confusion);
    }

    if let Some(h) = history {
        md.push_str("## Training\n\n");
        if let Some(png) = curves_png {
            let _ = writeln!(md, "![Training curves]({png})\n");
        }
        if let Some(best) = best_epoch(h) {
            let _ = writeln!(
                md,
                "Kept epoch {} (lowest validation loss {:.4}; validation accuracy {}).\n",
                best.epoch,
                best.val_loss,
                pct(best.val_accuracy)
            );
        }
        let total: f64 = h.iter().map(|r| r.seconds).sum();
        let _ = writeln!(md, "{}, {} in total.\n", epochs(h.len()), duration(total));
        md.push_str(
            "| Epoch | Train loss | Train acc. | Val. loss | Val. acc. | Learning rate | Time |\n",
        );
        md.push_str("|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in h {
            let _ = writeln!(
                md,
                "| {} | {:.4} | {} | {:.4} | {} | {:.2e} | {:.1} s |",
                r.epoch,
                r.train_loss,
                pct(r.train_accuracy),
                r.val_loss,
                pct(r.val_accuracy),
                r.learning_rate,
                r.seconds
            );
        }
        md.push('\n');
    }

    md.push_str("## Files\n\n");
    let _ = writeln!(md, "- [{confusion_png}]({confusion_png}) — confusion heatmap");
    if let Some(png) = curves_png {
        let _ = writeln!(md, "- [{png}]({png}) — training curves");
    }
    let _ = writeln!(md, "- [{json_name}]({json_name}) — all numbers (machine readable)");
    md
}

/// The calibration section of the Markdown report.
fn calibration_section(md: &mut String, r: &CalibrationReport, reliability: &str, selective: &str) {
    md.push_str("## Calibration\n\n");
    let _ = writeln!(
        md,
        "Fitted on the {} out-of-fold track predictions of the cross-validation (accuracy {}): \
         a temperature on the track probabilities (softmax of log p / T, the ranking never \
         changes) minimising their negative log-likelihood, then the `uncertain` threshold: \
         the lowest top probability above which answers are right at least {} of the time.\n",
        r.tracks,
        pct(r.accuracy),
        pct(r.target_accuracy)
    );
    md.push_str("| | Before | After |\n|---|---:|---:|\n");
    let _ = writeln!(md, "| Temperature | 1 | {:.4} |", r.calibration.temperature);
    let _ = writeln!(
        md,
        "| Expected calibration error ({} bins) | {:.4} | {:.4} |\n",
        r.reliability_before.len(),
        r.ece_before,
        r.ece_after
    );
    let _ = writeln!(md, "![Reliability diagram]({reliability})\n");
    md.push_str("| Answers | Uncertain below | Coverage | Accuracy |\n|---|---:|---:|---:|\n");
    let _ = writeln!(md, "| all | — | 100.0% | {} |", pct(r.accuracy));
    let _ = writeln!(
        md,
        "| not `uncertain` | {:.4} | {} | {} |\n",
        r.calibration.uncertain_below,
        pct(r.coverage_at_threshold),
        pct(r.accuracy_at_threshold)
    );
    let _ = writeln!(md, "![Selective accuracy against coverage]({selective})\n");
}

/// The epoch with the lowest finite validation loss (first on ties): the one whose weights
/// the trainer keeps.
fn best_epoch(history: &[EpochRecord]) -> Option<&EpochRecord> {
    history.iter().filter(|r| r.val_loss.is_finite()).fold(None, |best: Option<&EpochRecord>, r| {
        match best {
            Some(b) if b.val_loss <= r.val_loss => Some(b),
            _ => Some(r),
        }
    })
}

/// The evaluation pooled over all CV folds (every track tested once), for the CV-only report.
pub fn pooled_evaluation(cv: &CvSummary) -> Evaluation {
    let mut pooled = cv.folds[0].clone();
    let n = cv.folds.len() as f64;
    pooled.track_confusion = cv.pooled_confusion.clone();
    pooled.per_class = cv.pooled_per_class.clone();
    pooled.track_accuracy = crate::metrics::accuracy(&cv.pooled_confusion);
    pooled.n_tracks = cv.folds.iter().map(|f| f.n_tracks).sum();
    pooled.n_windows = cv.folds.iter().map(|f| f.n_windows).sum();
    pooled.window_accuracy = cv.window_accuracy.mean;
    pooled.macro_f1 = cv.macro_f1.mean;
    pooled.mean_loss = Some(cv.folds.iter().filter_map(|f| f.mean_loss).sum::<f64>() / n);
    pooled
}

/// Prints a cross-validation's headline figures (mean ± std over folds).
pub fn print_cv(cv: &CvSummary) {
    println!(
        "{}-fold cross-validation: track accuracy {:.1}% ± {:.1}, window accuracy {:.1}% ± {:.1}, macro F1 {:.3} ± {:.3}",
        cv.folds.len(),
        100.0 * cv.track_accuracy.mean,
        100.0 * cv.track_accuracy.std,
        100.0 * cv.window_accuracy.mean,
        100.0 * cv.window_accuracy.std,
        cv.macro_f1.mean,
        cv.macro_f1.std
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{evaluate, summarize, WindowPrediction};

    fn sample_eval() -> Evaluation {
        let labels: Vec<String> =
            ["rock", "jazz", "hip|hop"].iter().map(|s| s.to_string()).collect();
        let mut windows = Vec::new();
        for t in 0..9usize {
            let truth = t % 3;
            for k in 0..3usize {
                let mut probs = vec![0.1f32; 3];
                // track 8 is wrong, the rest right
                let pred = if t == 8 {
                    (truth + 1) % 3
                } else if k == 2 {
                    (truth + 2) % 3
                } else {
                    truth
                };
                probs[pred] = 0.8;
                windows.push(WindowPrediction { track: t, truth, probs });
            }
        }
        evaluate(&labels, &windows)
    }

    fn history(n: usize) -> Vec<EpochRecord> {
        (1..=n)
            .map(|e| EpochRecord {
                epoch: e,
                train_loss: 2.0 / e as f64,
                train_accuracy: 1.0 - 0.5 / e as f64,
                val_loss: 2.2 / e as f64 + 0.01 * e as f64,
                val_accuracy: 0.9 - 0.5 / e as f64,
                learning_rate: if e < 4 { 1e-3 } else { 1e-4 },
                seconds: 12.5,
            })
            .collect()
    }

    fn assert_png(path: &Path, min_w: u32, min_h: u32) {
        let bytes = fs::read(path).unwrap();
        assert!(bytes.len() > 1000, "{} is only {} bytes", path.display(), bytes.len());
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert!(
            info.width >= min_w && info.height >= min_h,
            "{}: {}x{}",
            path.display(),
            info.width,
            info.height
        );
        // More than two distinct colours: something beyond background and a frame was drawn.
        let px = info.line_size / info.width as usize;
        let distinct: std::collections::HashSet<&[u8]> =
            buf[..info.buffer_size()].chunks(px).collect();
        assert!(distinct.len() > 20, "{} has only {} colours", path.display(), distinct.len());
    }

    #[test]
    fn writes_all_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested"); // created on demand
        let eval = sample_eval();
        let cv = summarize(vec![eval.clone(), eval.clone()]);
        let hist = history(6);
        let meta = serde_json::json!({
            "data": "tiny",
            "seed": 42,
            "command": "trainer train --data x | tee log",
            "train_seconds": 3725.0,
        });
        let paths = write_report(&dir, "eval", "Test report", &eval, Some(&hist), Some(&cv), &meta)
            .unwrap();
        let names: Vec<String> =
            paths.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["eval.json", "eval.md", "eval-confusion.png", "eval-curves.png"]);
        for p in &paths {
            assert!(p.is_file(), "{} missing", p.display());
        }
        assert_png(&paths[2], 300, 300);
        assert_png(&paths[3], 800, 600);

        let md = fs::read_to_string(&paths[1]).unwrap();
        for label in ["rock", "jazz", "hip\\|hop"] {
            assert!(md.contains(label), "markdown lacks {label}");
        }
        assert!(md.contains(&pct(eval.track_accuracy)), "markdown lacks the track accuracy");
        assert!(md.contains(&pct(eval.window_accuracy)), "markdown lacks the window accuracy");
        assert!(md.contains("(eval-confusion.png)") && md.contains("(eval-curves.png)"));
        assert!(md.contains("## Cross-validation (2 folds)"));
        assert!(md.contains("1 h 02 min 05 s"), "duration formatting");
        assert!(md.contains("`trainer train --data x \\| tee log`"));

        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&paths[0]).unwrap()).unwrap();
        let back: Evaluation = serde_json::from_value(json["evaluation"].clone()).unwrap();
        assert_eq!(back, eval);
        let data: ReportData = serde_json::from_value(json).unwrap();
        assert_eq!(data.history.unwrap(), hist);
        assert_eq!(data.cv.unwrap(), cv);
        assert_eq!(data.meta, meta);
    }

    #[test]
    fn without_history_or_cv() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let eval = sample_eval();
        let paths =
            write_report(&dir, "r", "Minimal", &eval, Some(&[]), None, &serde_json::Value::Null)
                .unwrap();
        assert_eq!(paths.len(), 3);
        assert!(!dir.join("r-curves.png").exists());
        let md = fs::read_to_string(dir.join("r.md")).unwrap();
        assert!(!md.contains("Cross-validation") && !md.contains("## Training"));
        assert_png(&paths[2], 300, 300);
    }

    #[test]
    fn many_classes_and_single_epoch_render() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let labels: Vec<String> =
            (0..24).map(|i| format!("a rather long genre name {i}")).collect();
        let windows: Vec<WindowPrediction> = (0..48)
            .map(|t| {
                let mut probs = vec![0.0f32; 24];
                probs[(t * 7) % 24] = 1.0;
                WindowPrediction { track: t, truth: t % 24, probs }
            })
            .collect();
        let eval = evaluate(&labels, &windows);
        let paths =
            write_report(&dir, "m", "Many", &eval, Some(&history(1)), None, &serde_json::json!({}))
                .unwrap();
        assert_png(&paths[2], 300, 300);
        assert_png(&paths[3], 800, 600);
    }

    #[test]
    fn rejects_path_like_stems() {
        let eval = sample_eval();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        assert!(
            write_report(&dir, "../x", "t", &eval, None, None, &serde_json::Value::Null).is_err()
        );
        assert!(write_report(&dir, "", "t", &eval, None, None, &serde_json::Value::Null).is_err());
    }

    #[test]
    fn summary_is_aligned() {
        let eval = sample_eval();
        let s = print_summary(&eval);
        assert!(s.contains(&pct(eval.track_accuracy)));
        let table: Vec<&str> = s.lines().skip_while(|l| !l.starts_with("genre")).collect();
        assert_eq!(table.len(), 2 + 3 + 1, "{s}");
        let width = table[0].chars().count();
        assert!(table.iter().all(|l| l.chars().count() == width), "{s}");
        assert!(table.last().unwrap().starts_with("macro avg"));
    }
}
