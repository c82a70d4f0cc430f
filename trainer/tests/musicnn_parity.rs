//! The imported MusiCNN backbone (web/models/backbones/musicnn-msd/, converted by
//! trainer/scripts/import_musicnn.py) against the original TensorFlow model
//! (tests/fixtures/musicnn/reference.json, made by tests/fixtures/make_musicnn_fixtures.py):
//! Burn's forward pass on flex, on the same two input patches of a real clip, must give the
//! taggram, penultimate layer and pooled embeddings within 1e-3.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use genrescope::audio::{load_mono, DecodeLimits};
use genrescope::bundle::{
    Normalisation, Provenance, SpectrogramBundle, SpectrogramHeader, WeightStorage,
};
use genrescope::classify::max_abs_diff;
use genrescope::classify::Ensemble;
use genrescope::mel::MelExtractor;
use genrescope::model::musicnn::{
    MusicnnEmbedding, MusicnnOutputs, MusicnnTransfer, TransferHead, MSD_TAGS, MSD_TAG_NAMES,
    POOLED_CHANNELS, POOL_DIM,
};
use genrescope::model::{ArchitectureConfig, GenreNet, Network};
use genrescope::segment::window_features;
use genrescope::FeatureConfig;
use genrescope_trainer::commands::train::default_backbone;
use genrescope_trainer::train::transfer::load_backbone;
use serde_json::Value;

const TOLERANCE: f32 = 1e-3;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn f32_file(rel: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixtures().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn reference() -> Value {
    serde_json::from_slice(&std::fs::read(fixtures().join("musicnn/reference.json")).unwrap())
        .unwrap()
}

fn numbers(v: &Value) -> Vec<f32> {
    v.as_array().expect("an array").iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn rows(t: Tensor<2>) -> Vec<Vec<f32>> {
    let [_, n] = t.dims();
    t.into_data().try_to_vec::<f32>().unwrap().chunks(n).map(<[f32]>::to_vec).collect()
}

fn sigmoid(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect()
}

/// The backbone's outputs for the reference input patches, batched.
fn run(inputs: Vec<f32>, n: usize, device: &Device) -> MusicnnOutputs {
    let backbone = load_backbone(&default_backbone(), device).unwrap();
    let x = Tensor::from_data(TensorData::new(inputs, [n, 1, 96, 187]), device);
    backbone.outputs(x)
}

#[test]
fn imported_backbone_matches_tensorflow_on_a_real_clip() {
    let device = Device::flex();
    let reference = reference();
    let windows = reference["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 2);
    let inputs: Vec<f32> = windows
        .iter()
        .flat_map(|w| {
            f32_file(&format!(
                "musicnn/{}",
                w["input"].as_str().unwrap().rsplit('/').next().unwrap()
            ))
        })
        .collect();
    let out = run(inputs, windows.len(), &device);
    let (logits, penultimate, pools) =
        (rows(out.tag_logits), rows(out.penultimate), rows(out.pools));
    for (i, w) in windows.iter().enumerate() {
        let max_pool: Vec<f32> = (0..POOLED_CHANNELS).map(|c| pools[i][2 * c]).collect();
        let mean_pool: Vec<f32> = (0..POOLED_CHANNELS).map(|c| pools[i][2 * c + 1]).collect();
        let checks = [
            ("taggram", max_abs_diff(&sigmoid(&logits[i]), &numbers(&w["taggram"]))),
            ("logits", max_abs_diff(&logits[i], &numbers(&w["logits"]))),
            ("penultimate", max_abs_diff(&penultimate[i], &numbers(&w["penultimate"]))),
            ("mean_pool", max_abs_diff(&mean_pool, &numbers(&w["mean_pool"]))),
            ("max_pool", max_abs_diff(&max_pool, &numbers(&w["max_pool"]))),
        ];
        for (name, diff) in checks {
            eprintln!("window {i} {name:>12}: max abs diff {diff:.2e}");
            assert!(diff <= TOLERANCE, "window {i} {name}: max abs diff {diff} > {TOLERANCE}");
        }
    }
    // The model hears jazz in this jazz clip (MSD tag 9), as TensorFlow does.
    let top = |v: &[f32]| v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert_eq!(top(&logits[1]), top(&numbers(&windows[1]["logits"])));
}

/// The product path: our decoder, resampler, musicnn front end and segmenting on the WAV
/// file, then the backbone, against TensorFlow on librosa's features. Only the resamplers
/// differ (rubato against soxr), so the tag probabilities agree closely but not to 1e-3.
#[test]
fn backbone_on_our_front_end_agrees_with_tensorflow() {
    let device = Device::flex();
    let cfg = FeatureConfig::musicnn();
    let bytes = std::fs::read(fixtures().join("audio/gtzan_jazz_6s.wav")).unwrap();
    let audio = load_mono(bytes, Some("wav"), cfg.sample_rate, &DecodeLimits::default()).unwrap();
    let feats = window_features(&cfg, &MelExtractor::new(&cfg).unwrap(), &audio.samples);
    assert_eq!(feats.len(), 2);
    let out = run(feats.data.clone(), feats.len(), &device);
    let reference = reference();
    for (i, logits) in rows(out.tag_logits).iter().enumerate() {
        let diff = max_abs_diff(&sigmoid(logits), &numbers(&reference["windows"][i]["taggram"]));
        eprintln!("window {i}: taggram max abs diff {diff:.2e} through our front end");
        assert!(diff <= 0.01, "window {i}: taggram differs by {diff}");
    }
    // The embedding the genre head reads is the penultimate layer.
    let x = Tensor::from_data(TensorData::new(feats.data, [2, 1, 96, 187]), &device);
    let backbone = load_backbone(&default_backbone(), &device).unwrap();
    assert_eq!(backbone.embed(x, MusicnnEmbedding::Penultimate).dims(), [2, 200]);
}

/// The tags a user sees: a transfer bundle that keeps the backbone's tag layer, loaded and run
/// as the CLI and the page run it (decode, resample, front end, every patch, mean of the
/// patches' tag probabilities), against the mean of TensorFlow's taggram on the same patches.
#[test]
fn bundle_tags_agree_with_tensorflow() {
    let device = Device::flex();
    let architecture = ArchitectureConfig::Musicnn {
        embedding: MusicnnEmbedding::Pools,
        hidden: Vec::new(),
        dropout: 0.0,
        msd_tags: true,
    };
    let cfg = FeatureConfig::musicnn();
    let labels: Vec<String> = ["blues", "jazz"].iter().map(|s| s.to_string()).collect();
    let header = SpectrogramHeader {
        labels: labels.clone(),
        normalisation: Normalisation::identity(cfg.n_mels),
        tags: architecture.tag_names(),
        architecture: architecture.clone(),
        weight_storage: WeightStorage::F32,
        weight_levels: Default::default(),
        provenance: Provenance { data: "tag parity test".into(), ..Provenance::default() },
        feature_config: cfg.clone(),
        calibration: None,
        music_detector: None,
    };
    let backbone = load_backbone(&default_backbone(), &device).unwrap();
    let net = GenreNet {
        network: Network::Musicnn(MusicnnTransfer {
            backbone,
            head: TransferHead::new(POOL_DIM, &[], 0.0, labels.len(), &device),
            embedding: MusicnnEmbedding::Pools,
        }),
        architecture,
        n_mels: cfg.n_mels,
        n_frames: cfg.frames_per_window(),
        n_labels: labels.len(),
    };
    let bundle = SpectrogramBundle::to_bytes(&header, &net).unwrap();
    let model = Ensemble::from_bundle(&bundle, &device).unwrap();
    let bytes = std::fs::read(fixtures().join("audio/gtzan_jazz_6s.wav")).unwrap();
    let audio = load_mono(bytes, Some("wav"), cfg.sample_rate, &DecodeLimits::default()).unwrap();
    let result = model.classify_mono(&audio.samples, audio.sample_rate).unwrap();
    assert_eq!(result.tags.len(), MSD_TAGS);

    let reference = reference();
    let windows = reference["windows"].as_array().unwrap();
    let taggrams: Vec<Vec<f32>> = windows.iter().map(|w| numbers(&w["taggram"])).collect();
    let mut worst = 0.0f32;
    for tag in &result.tags {
        let index = MSD_TAG_NAMES.iter().position(|n| *n == tag.label).unwrap();
        let tf = taggrams.iter().map(|t| t[index]).sum::<f32>() / taggrams.len() as f32;
        worst = worst.max((tag.probability - tf).abs());
    }
    eprintln!("bundle tags against TensorFlow's mean taggram: max abs diff {worst:.2e}");
    assert!(worst <= 0.01, "tag probabilities differ by {worst}");
    // The top tag is TensorFlow's top tag for this jazz clip.
    let tf_mean: Vec<f32> = (0..MSD_TAGS)
        .map(|i| taggrams.iter().map(|t| t[i]).sum::<f32>() / taggrams.len() as f32)
        .collect();
    let tf_top = tf_mean.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    assert_eq!(result.tags[0].label, MSD_TAG_NAMES[tf_top]);
}

#[test]
fn a_file_that_is_not_the_backbone_is_refused_with_its_problem() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.safetensors");
    let err = load_backbone(&missing, &Device::flex()).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"this is not safetensors").unwrap();
    let err = format!("{:#}", load_backbone(&garbage, &Device::flex()).unwrap_err());
    assert!(err.contains("garbage.safetensors"), "{err}");
}

/// Where the backbone's time goes, stage by stage (not a check; run with
/// `cargo test --workspace --test musicnn_parity -- --ignored --nocapture`).
#[test]
#[ignore]
fn backbone_stage_timings() {
    use std::time::Instant;
    let device = Device::flex();
    let backbone = load_backbone(&default_backbone(), &device).unwrap();
    for batch in [1usize, 10] {
        let values: Vec<f32> = (0..batch * 96 * 187).map(|i| ((i as f32) * 0.0137).sin()).collect();
        let x = Tensor::<4>::from_data(TensorData::new(values, [batch, 1, 96, 187]), &device);
        let x = backbone.input_bn.forward(x);
        for (name, branch) in [
            ("timbral 38x7", &backbone.timbral[0]),
            ("timbral 67x7", &backbone.timbral[1]),
            ("temporal 128", &backbone.temporal[0]),
            ("temporal 64", &backbone.temporal[1]),
            ("temporal 32", &backbone.temporal[2]),
        ] {
            let started = Instant::now();
            let y = branch.conv.forward(x.clone());
            let _ = y.into_data();
            eprintln!("batch {batch}: {name} conv {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
        }
        let started = Instant::now();
        let _ = backbone.pools(x.clone()).into_data();
        eprintln!(
            "batch {batch}: whole pools pass {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}
