//! `trainer describe`: the descriptor table of a labelled folder, in the format of GTZAN's
//! `features_30_sec.csv` (one row per 30 s window, the 57 descriptor columns, `label`), so
//! `trainer train --table` can learn from any collection with the very code that will
//! describe audio at classification time.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use genrescope::audio::{decode_path, to_target_rate, DecodeLimits};
use genrescope::descriptors::{
    column_names, describe_windows, DescriptorWindowing, WindowDescriptors, SAMPLE_RATE,
};
use rayon::prelude::*;

use super::discover_labelled;

/// Options of `trainer describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// Folder with one sub-folder of audio files per label.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The CSV file to write.
    #[arg(long, value_name = "CSV")]
    pub out: PathBuf,
    /// Length of a described window in seconds (a track up to half a hop longer is described whole).
    #[arg(long, default_value_t = 30.0)]
    pub window_seconds: f64,
    /// Distance between window starts in seconds.
    #[arg(long, default_value_t = 15.0)]
    pub hop_seconds: f64,
    /// Most files described at once (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// Runs `trainer describe`: exit code 0 when every file was described, 1 when some failed
/// (they are named on stderr and left out of the table).
pub fn run(args: DescribeArgs) -> anyhow::Result<ExitCode> {
    if !(args.window_seconds > 0.0 && args.hop_seconds > 0.0) {
        bail!("--window-seconds and --hop-seconds must be positive");
    }
    let windowing =
        DescriptorWindowing { window_seconds: args.window_seconds, hop_seconds: args.hop_seconds };
    let dataset = discover_labelled(&args.data)?;
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(args.jobs.map_or(0, usize::from)).build()?;
    let started = Instant::now();
    let results: Vec<anyhow::Result<Vec<WindowDescriptors>>> = pool.install(|| {
        dataset.tracks.par_iter().map(|t| describe_file(&t.path, &windowing)).collect()
    });

    let mut writer = csv::Writer::from_path(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut header = vec!["filename".to_string(), "start".to_string(), "length".to_string()];
    header.extend(column_names());
    header.push("label".to_string());
    writer.write_record(&header)?;
    let (mut rows, mut failed) = (0usize, 0usize);
    for (track, result) in dataset.tracks.iter().zip(results) {
        let name = track.path.strip_prefix(&args.data).unwrap_or(&track.path).display().to_string();
        match result {
            Ok(windows) => {
                for window in windows {
                    let mut record = vec![
                        name.clone(),
                        format!("{}", window.span.start as f64 / SAMPLE_RATE as f64),
                        window.span.len().to_string(),
                    ];
                    record.extend(window.values.iter().map(|v| v.to_string()));
                    record.push(dataset.labels[track.label].clone());
                    writer.write_record(&record)?;
                    rows += 1;
                }
            }
            Err(e) => {
                eprintln!("{name}: {e:#}");
                failed += 1;
            }
        }
    }
    writer.flush()?;
    eprintln!(
        "wrote {}: {rows} rows from {} of {} files in {:.1} s",
        args.out.display(),
        dataset.tracks.len() - failed,
        dataset.tracks.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Decodes one file, brings it to the descriptors' rate and describes its windows.
fn describe_file(
    path: &Path,
    windowing: &DescriptorWindowing,
) -> anyhow::Result<Vec<WindowDescriptors>> {
    let decoded = decode_path(path, &DecodeLimits::default())?;
    for w in decoded.warnings.messages() {
        eprintln!("warning: {}: {w}", path.display());
    }
    let audio = to_target_rate(decoded, SAMPLE_RATE)?;
    Ok(describe_windows(&audio.samples, audio.sample_rate, windowing)?)
}
