//! `trainer convert`: re-encode a model bundle's weights (f32, f16, int8, int6 or int5)
//! without retraining, e.g. to make a trained model's download smaller, and choose which
//! fusion members are stored in files beside the bundle (`--detach`, `--inline`).
//!
//! The converted bundle keeps the header (labels, front end, normalisation, architecture,
//! calibration, provenance) and changes only `weight_storage` (and `weight_levels`), adding
//! the conversion to the provenance's command; a fusion has each member converted and keeps
//! its own header (fusion weights, calibration). Before writing, the
//! command reloads each converted member and checks that it gives exactly the model the
//! storage describes (the input model with its weights rounded in memory), and tells how far
//! that rounding moves the output probabilities on a fixed input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use burn::tensor::{Device, Tensor, TensorData};
use clap::Args;
use genrescope::bundle::{
    rounded, rounded_with_levels, weight_matrices, FusionBundle, FusionMember, Header,
    MemberBundle, Provenance, SpectrogramBundle, TableBundle, WeightStorage,
};
use genrescope::classify::{max_abs_diff, softmax};
use genrescope::model::GenreNet;

use super::read_detached;

/// Options of `trainer convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Model bundle (`.gscope`) to convert: a spectrogram, table or fusion model (any format
    /// version, any weight storage).
    #[arg(long, value_name = "BUNDLE")]
    pub model: PathBuf,
    /// Where to write the converted bundle (may be the input itself).
    #[arg(long, value_name = "BUNDLE")]
    pub out: PathBuf,
    /// Weight storage of the output: f32, f16 (half the size), int8 (per-channel 8-bit, a
    /// quarter of the size), int6 or int5 (per-channel 6 or 5-bit levels stored as int8: the
    /// int8 size, a smaller gzip). Without it the weights are copied as they are (to change
    /// only where a fusion's members are stored).
    #[arg(long, value_name = "f32|f16|int8|int6|int5")]
    pub weights: Option<WeightStorage>,
    /// With integer weights: store the weight matrix at this parameter path with fewer levels
    /// (`q` in `-N..=N`), e.g. `network.Musicnn.backbone.penultimate.weight=15`; repeatable.
    /// In a fusion it applies to the member that has the parameter. Check the effect with
    /// `trainer eval` (or `classify --json`) before shipping.
    #[arg(long = "levels", value_name = "PARAM=N", value_parser = parse_levels)]
    pub levels: Vec<(String, u8)>,
    /// Store this table member of a fusion in its own file beside the output
    /// (`<out stem>.<member>.gscope`), the fusion keeping its header only: the page fetches
    /// it when a run first needs it, after the first answer. Repeatable; members detached in
    /// the input stay detached.
    #[arg(long, value_name = "MEMBER")]
    pub detach: Vec<String>,
    /// Store every member of a fusion inside the output (one self-contained file).
    #[arg(long, conflicts_with = "detach")]
    pub inline: bool,
}

/// Parses `PARAM=N` (N from 1 to 127).
fn parse_levels(s: &str) -> Result<(String, u8), String> {
    let (name, n) = s.split_once('=').ok_or_else(|| format!("expected PARAM=N, got '{s}'"))?;
    let n: u8 =
        n.parse().map_err(|_| format!("levels must be a number from 1 to 127, got '{n}'"))?;
    if name.is_empty() || !(1..=127).contains(&n) {
        return Err(format!("expected a parameter path and levels from 1 to 127, got '{s}'"));
    }
    Ok((name.to_string(), n))
}

/// Runs `trainer convert`.
pub fn run(args: ConvertArgs) -> anyhow::Result<ExitCode> {
    let input = std::fs::read(&args.model)
        .with_context(|| format!("cannot read the model bundle {}", args.model.display()))?;
    let what = format!("{} is not a usable model bundle", args.model.display());
    let header = Header::read(&input).with_context(|| what.clone())?;
    if args.weights.is_none() && args.detach.is_empty() && !args.inline {
        bail!("nothing to do: give --weights, --detach or --inline");
    }
    if args.weights.is_none() && !args.levels.is_empty() {
        bail!("--levels needs --weights (the storage to re-encode the weights in)");
    }
    let levels: BTreeMap<String, u8> = args.levels.iter().cloned().collect();
    let mut unused: BTreeSet<&String> = levels.keys().collect();
    let mut convert = |bytes: &[u8], name: &str, top: Option<&ConvertArgs>| {
        let Some(storage) = args.weights else { return anyhow::Ok(bytes.to_vec()) };
        let (converted, used) = convert_member(bytes, storage, &levels, name, top)?;
        unused.retain(|k| !used.contains(*k));
        anyhow::Ok(converted)
    };
    let mut beside = Vec::new();
    let output = match header {
        Header::Fusion(fusion) => {
            let (_, members) = FusionBundle::from_bytes(&input).with_context(|| what.clone())?;
            if let Some(name) =
                args.detach.iter().find(|d| !fusion.members.iter().any(|m| &m.name == *d))
            {
                bail!("--detach names `{name}`, which is not a member of this fusion");
            }
            let mut converted = Vec::with_capacity(members.len());
            for (member, inline) in fusion.members.iter().zip(members) {
                let bytes = member_bytes(&args.model, member, inline)?;
                let bytes = convert(&bytes, &member.name, None)
                    .with_context(|| format!("member `{}`", member.name))?;
                let detached = member.detached.is_some() || args.detach.contains(&member.name);
                let detach =
                    (detached && !args.inline).then(|| detached_file(&args.out, &member.name));
                if let Some(file) = &detach {
                    beside.push((file.clone(), bytes.clone()));
                }
                converted.push(MemberBundle {
                    name: member.name.clone(),
                    weight: member.weight,
                    bytes,
                    detach,
                });
            }
            FusionBundle::to_bytes(
                &fusion.labels,
                Provenance {
                    command: converted_command(&fusion.provenance.command, &args),
                    ..fusion.provenance
                },
                fusion.calibration,
                &converted,
            )
            .context("cannot encode the converted fusion")?
        }
        _ if !args.detach.is_empty() => bail!("--detach applies to fusions only"),
        _ => convert(&input, "model", Some(&args)).with_context(|| what.clone())?,
    };
    if let Some(name) = unused.into_iter().next() {
        bail!("--levels names `{name}`, which is not a weight matrix of this model");
    }
    let dir = args.out.parent().unwrap_or(Path::new(""));
    for (file, bytes) in &beside {
        let path = dir.join(file);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "wrote {} ({} bytes, a member stored beside the bundle)",
            path.display(),
            bytes.len()
        );
    }
    std::fs::write(&args.out, &output)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let storage = args.weights.map_or("as they were".to_string(), |w| w.to_string());
    eprintln!(
        "wrote {} ({} bytes, weights {storage}); was {} bytes (run `trainer eval` on real data \
         for the accuracy)",
        args.out.display(),
        output.len(),
        input.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The complete bundle of a fusion member: `inline` (what the fusion holds), or for a
/// detached member its file beside the fusion at `fusion_path`, checked against the fusion.
fn member_bytes(
    fusion_path: &Path,
    member: &FusionMember,
    inline: &[u8],
) -> anyhow::Result<Vec<u8>> {
    let Some(d) = &member.detached else { return Ok(inline.to_vec()) };
    let (_, bytes) = read_detached(fusion_path, &member.name, &d.file)?;
    FusionBundle::check_detached(member, inline, &bytes)?;
    Ok(bytes)
}

/// The file name a detached member of the fusion written to `out` gets:
/// `<out stem>.<member>.gscope`.
fn detached_file(out: &Path, member: &str) -> String {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    format!("{stem}.{member}.gscope")
}

/// One spectrogram or table bundle re-encoded in `storage` (a spectrogram model's weight
/// matrices named in `levels` with those levels), checked to reload as the rounded model;
/// reports how far the rounding moves its probabilities on a fixed input. Also returns the
/// names of `levels` it used.
fn convert_member(
    input: &[u8],
    storage: WeightStorage,
    levels: &BTreeMap<String, u8>,
    name: &str,
    top: Option<&ConvertArgs>,
) -> anyhow::Result<(Vec<u8>, Vec<String>)> {
    let device = Device::flex();
    let mut used = Vec::new();
    let (from, output, before, expected, got) = match Header::read(input)? {
        Header::Spectrogram(_) => {
            let (mut header, model) = SpectrogramBundle::from_bytes(input, &device)?;
            let from = header.weight_storage;
            header.weight_storage = storage;
            let matrices = weight_matrices(&model);
            header.weight_levels = levels
                .iter()
                .filter(|(k, _)| matrices.contains(k))
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            used.extend(header.weight_levels.keys().cloned());
            if let Some(args) = top {
                header.provenance.command = converted_command(&header.provenance.command, args);
            }
            let output = SpectrogramBundle::to_bytes(&header, &model)?;
            let (_, reloaded) = SpectrogramBundle::from_bytes(&output, &device)
                .context("the converted bundle does not load")?;
            let rounded = rounded_with_levels(&model, storage, &header.weight_levels)?;
            let x = probe_input(model.n_mels, model.n_frames, &device);
            let [before, expected, got] =
                [&model, &rounded, &reloaded].map(|m| probabilities(m, &x));
            (from, output, before, expected, got)
        }
        Header::Table(_) => {
            let (mut header, net) = TableBundle::from_bytes(input, &device)?;
            let from = header.weight_storage;
            header.weight_storage = storage;
            if let Some(args) = top {
                header.provenance.command = converted_command(&header.provenance.command, args);
            }
            let output = TableBundle::to_bytes(&header, &net)?;
            let (_, reloaded) = TableBundle::from_bytes(&output, &device)
                .context("the converted bundle does not load")?;
            let rounded = rounded(&net, storage)?;
            let x = probe_vectors(header.descriptors.columns.len(), &device);
            let n_labels = header.labels.len();
            let [before, expected, got] =
                [&net, &rounded, &reloaded].map(|m| softmax_rows(m.forward(x.clone()), n_labels));
            (from, output, before, expected, got)
        }
        Header::Fusion(_) => bail!("a fusion cannot be a member of a fusion"),
    };
    let check = max_abs_diff(&expected, &got);
    if check > 1e-5 {
        bail!("the converted bundle disagrees with the rounded model (max probability difference {check:.1e})");
    }
    eprintln!(
        "{name}: weights {from} -> {storage}, {} -> {} bytes; reloads as the rounded model \
         (max probability difference {check:.1e}); on a fixed test input the rounding moves \
         probabilities by up to {:.1e}",
        input.len(),
        output.len(),
        max_abs_diff(&before, &got)
    );
    Ok((output, used))
}

/// The provenance's command followed by this conversion (the files as `IN`, `OUT`).
fn converted_command(before: &str, args: &ConvertArgs) -> String {
    let weights = args.weights.map(|w| format!(" --weights {w}")).unwrap_or_default();
    let levels: String =
        args.levels.iter().map(|(name, n)| format!(" --levels {name}={n}")).collect();
    let detach: String = args.detach.iter().map(|m| format!(" --detach {m}")).collect();
    let inline = if args.inline { " --inline" } else { "" };
    format!("{before} && trainer convert --model IN --out OUT{weights}{levels}{detach}{inline}")
}

/// A fixed batch of 8 standardised-looking descriptor vectors.
fn probe_vectors(dim: usize, device: &Device) -> Tensor<2> {
    let batch = 8;
    let values: Vec<f32> =
        (0..batch * dim).map(|i| ((i as f32 * 0.37).sin() * 1.3).clamp(-3.0, 3.0)).collect();
    Tensor::from_data(TensorData::new(values, [batch, dim]), device)
}

/// Softmax probabilities of every row of `logits`, flattened.
fn softmax_rows(logits: Tensor<2>, n_labels: usize) -> Vec<f32> {
    let values = logits.into_data().try_to_vec::<f32>().unwrap_or_default();
    values.chunks(n_labels.max(1)).flat_map(softmax).collect()
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
    softmax_rows(model.forward(x.clone()), model.n_labels)
}
