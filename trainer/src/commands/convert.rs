//! `trainer convert`: re-encode a model bundle's weights (f32, f16 or int8) without
//! retraining, e.g. to make a trained model's download smaller.
//!
//! The converted bundle keeps the header (labels, front end, normalisation, architecture,
//! provenance) and changes only `weight_storage`. Before writing, the command reloads the
//! converted bytes and checks that they give exactly the model the storage describes (the
//! input model with its weights rounded in memory), and tells how far that rounding moves
//! the output probabilities on a fixed input.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use genrescope::bundle::{SpectrogramBundle, WeightStorage};
use genrescope::classify::{max_abs_diff, softmax};
use genrescope::model::GenreNet;

/// Options of `trainer convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Model bundle (`.gscope`) to convert (format v1 or v2, any weight storage).
    #[arg(long, value_name = "BUNDLE")]
    pub model: PathBuf,
    /// Where to write the converted bundle (may be the input itself).
    #[arg(long, value_name = "BUNDLE")]
    pub out: PathBuf,
    /// Weight storage of the output: f32, f16 (half the size) or int8 (per-channel 8-bit,
    /// a quarter of the size).
    #[arg(long, value_name = "f32|f16|int8")]
    pub weights: WeightStorage,
}

/// Runs `trainer convert`.
pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let input = std::fs::read(&args.model)
        .with_context(|| format!("cannot read the model bundle {}", args.model.display()))?;
    let device = Device::flex();
    let (mut header, model) = SpectrogramBundle::from_bytes(&input, &device)
        .with_context(|| format!("{} is not a usable model bundle", args.model.display()))?;
    let from = header.weight_storage;
    header.weight_storage = args.weights;
    let output = SpectrogramBundle::to_bytes(&header, &model)
        .context("cannot encode the converted bundle")?;

    let (_, reloaded) = SpectrogramBundle::from_bytes(&output, &device)
        .context("the converted bundle does not load")?;
    let rounded = genrescope::bundle::rounded(&model, args.weights)?;
    let input_x = probe_input(model.n_mels, model.n_frames, &device);
    let [before, expected, got] = [&model, &rounded, &reloaded].map(|m| probabilities(m, &input_x));
    let check = max_abs_diff(&expected, &got);
    if check > 1e-5 {
        bail!("the converted bundle disagrees with the rounded model (max probability difference {check:.1e})");
    }
    let moved = max_abs_diff(&before, &got);

    std::fs::write(&args.out, &output)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({} bytes, weights {}); was {} bytes, weights {from}",
        args.out.display(),
        output.len(),
        args.weights,
        input.len()
    );
    eprintln!(
        "check: reloads as the rounded model (max probability difference {check:.1e}); on a fixed \
         test input, the rounding moves probabilities by up to {moved:.1e} (run `trainer eval` on \
         real data for the accuracy)"
    );
    Ok(ExitCode::SUCCESS)
}

/// A fixed batch of 8 smooth pseudo-spectrograms, standardised-looking (about zero mean, unit
/// spread).
fn probe_input(n_mels: usize, n_frames: usize, device: &Device) -> Tensor<4> {
    let batch = 8;
    let values: Vec<f32> = (0..batch * n_mels * n_frames)
        .map(|i| {
            let (b, rest) = (i / (n_mels * n_frames), i % (n_mels * n_frames));
            let (m, f) = ((rest / n_frames) as f32, (rest % n_frames) as f32);
            ((m * 0.11 + b as f32).sin() + (f * 0.07 * (1.0 + b as f32 * 0.3)).cos()) * 0.9
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [batch, 1, n_mels, n_frames]), device)
}

/// Softmax probabilities of every input row, flattened.
fn probabilities(model: &GenreNet, x: &Tensor<4>) -> Vec<f32> {
    let logits = model.forward(x.clone()).into_data().try_to_vec::<f32>().unwrap_or_default();
    logits.chunks(model.n_labels.max(1)).flat_map(softmax).collect()
}
