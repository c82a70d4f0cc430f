//! `trainer info`: what a model bundle is (kind, labels, rates, windows, members, data set,
//! accuracy), read from its headers without loading the weights. `--json` prints the
//! [`ModelInfo`] record exactly as the browser's `engine.info().model` and `bundleInfo` give
//! it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use genrescope::ModelInfo;

/// Options of `trainer info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Model bundle (`.gscope`) of any kind.
    #[arg(value_name = "BUNDLE")]
    pub model: PathBuf,
    /// Print the `ModelInfo` record as JSON (camelCase, as in the browser).
    #[arg(long)]
    pub json: bool,
}

/// Runs `trainer info`.
pub fn run(args: InfoArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.model)
        .with_context(|| format!("cannot read the model bundle {}", args.model.display()))?;
    let info = ModelInfo::from_bundle(&bytes)
        .with_context(|| format!("{} is not a valid model bundle", args.model.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print!("{}", describe(&info));
    }
    Ok(ExitCode::SUCCESS)
}

/// The info as a few lines of text.
pub fn describe(info: &ModelInfo) -> String {
    let p = &info.provenance;
    let mut out = format!("{} ({} model)\n", info.description, info.kind);
    out += &format!("labels: {}\n", info.labels.join(", "));
    out += &format!(
        "input: {} Hz, {:.2} s windows every {:.2} s\n",
        info.sample_rate, info.window_seconds, info.hop_seconds
    );
    for m in info.members.iter().filter(|_| info.members.len() > 1) {
        let shortest = match m.min_seconds {
            s if s > 0.0 => format!("at least {s} s of audio"),
            _ => "any length".to_string(),
        };
        let stored = m
            .weights_file
            .as_ref()
            .map(|f| format!("; stored beside the bundle in {f}"))
            .unwrap_or_default();
        out += &format!(
            "member {}: {} (weight {:.2}, {} Hz, {:.1} s windows, {shortest}{stored})\n",
            m.name, m.description, m.weight, m.sample_rate, m.window_seconds
        );
    }
    let tracks = p.tracks.map(|n| format!(", {n} tracks")).unwrap_or_default();
    let dataset = p.dataset.as_deref().unwrap_or("not recorded");
    out += &format!("data set: {dataset}{tracks}\n");
    if let Some(e) = &p.evaluation {
        let spread = e.accuracy_std.map(|s| format!(" ± {:.1}", 100.0 * s)).unwrap_or_default();
        out += &format!("accuracy: {:.1} %{spread} ({})\n", 100.0 * e.accuracy, e.method);
    }
    out += &format!("made: {} by `{}`\n", p.created, p.command);
    out
}
