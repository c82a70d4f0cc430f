//! End-to-end tests of `trainer convert`: re-encoding a bundle's weights without retraining.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::tensor::{Device, Tensor, TensorData};
use genrescope::bundle::{
    rounded_with_levels, weight_matrices, FusionBundle, MemberBundle, Normalisation, Provenance,
    SpectrogramBundle, SpectrogramHeader, WeightStorage,
};
use genrescope::model::{ArchitectureConfig, GenreNet};
use genrescope::FeatureConfig;

fn trainer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Writes an f32 bundle of a small untrained CNN into `dir` (big enough, ~5k weights, that
/// the weights and not the header decide the bundle size).
fn write_bundle(dir: &Path) -> PathBuf {
    let feature_config = FeatureConfig::gtzan_default();
    let n_mels = feature_config.n_mels;
    let header = SpectrogramHeader {
        labels: ["blues", "jazz", "rock"].iter().map(|s| s.to_string()).collect(),
        feature_config,
        normalisation: Normalisation::identity(n_mels),
        architecture: ArchitectureConfig::Cnn {
            filters: vec![8, 32],
            dense: vec![64],
            dropout: 0.5,
        },
        weight_storage: WeightStorage::F32,
        weight_levels: Default::default(),
        provenance: Provenance {
            data: "convert test (untrained)".into(),
            seed: 3,
            ..Provenance::default()
        },
        calibration: None,
        music_detector: None,
        tags: Vec::new(),
    };
    let model =
        GenreNet::new(&header.architecture, header.n_mels(), header.n_frames(), 3, &Device::flex())
            .unwrap();
    let path = dir.join("tiny.gscope");
    fs::write(&path, SpectrogramBundle::to_bytes(&header, &model).unwrap()).unwrap();
    path
}

fn convert(model: &Path, out: &Path, weights: &str) -> Output {
    convert_with(model, out, weights, &[])
}

fn convert_with(model: &Path, out: &Path, weights: &str, extra: &[&str]) -> Output {
    trainer()
        .args(["convert", "--weights", weights, "--model"])
        .arg(model)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn load(path: &Path) -> (SpectrogramHeader, GenreNet) {
    SpectrogramBundle::from_bytes(&fs::read(path).unwrap(), &Device::flex()).unwrap()
}

fn logits(model: &GenreNet) -> Vec<f32> {
    let values: Vec<f32> = (0..2 * 128 * 130).map(|i| ((i as f32) * 0.017).sin()).collect();
    let x = Tensor::from_data(TensorData::new(values, [2, 1, 128, 130]), &Device::flex());
    model.forward(x).into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn convert_changes_only_the_weight_storage() {
    let tmp = tempfile::tempdir().unwrap();
    let original = write_bundle(tmp.path());
    let (header, model) = load(&original);
    let mut previous = original.clone();
    for storage in [WeightStorage::Int8, WeightStorage::F16, WeightStorage::F32] {
        let out = tmp.path().join(format!("tiny-{storage}.gscope"));
        let run = convert(&original, &out, storage.name());
        assert!(run.status.success(), "{}", text(&run));
        assert!(text(&run).contains(&format!("weights {storage}")), "{}", text(&run));
        let (converted_header, converted) = load(&out);
        let command = format!(
            "{} && trainer convert --model IN --out OUT --weights {storage}",
            header.provenance.command
        );
        let provenance = Provenance { command, ..header.provenance.clone() };
        assert_eq!(
            converted_header,
            SpectrogramHeader { weight_storage: storage, provenance, ..header.clone() }
        );
        // The converted bundle is the original model with its weights rounded in `storage`.
        assert_eq!(
            logits(&converted),
            logits(&genrescope::bundle::rounded(&model, storage).unwrap()),
            "{storage}"
        );
        assert_eq!(
            &fs::read(&out).unwrap()[8..12],
            &genrescope::bundle::FORMAT_VERSION.to_le_bytes()
        );
        previous = out;
    }
    let f32_size = fs::metadata(&previous).unwrap().len();
    let int8_size = fs::metadata(tmp.path().join("tiny-int8.gscope")).unwrap().len();
    assert!(int8_size < f32_size, "{int8_size} vs {f32_size}");

    // Back from int8 to f32: the dequantised weights are kept exactly.
    let int8 = tmp.path().join("tiny-int8.gscope");
    let back = tmp.path().join("back.gscope");
    assert!(convert(&int8, &back, "f32").status.success());
    assert_eq!(logits(&load(&back).1), logits(&load(&int8).1));
    assert_eq!(load(&back).0.weight_storage, WeightStorage::F32);

    // The converted bundle classifies real audio.
    let wav = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/audio"));
    let file = fs::read_dir(wav)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wav"))
        .unwrap();
    let classified =
        trainer().args(["classify", "--json", "--model"]).arg(&int8).arg(&file).output().unwrap();
    assert!(classified.status.success(), "{}", text(&classified));
}

#[test]
fn convert_errors_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let original = write_bundle(tmp.path());
    let out = tmp.path().join("out.gscope");

    let missing = convert(&tmp.path().join("missing.gscope"), &out, "int8");
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("cannot read the model bundle"), "{}", text(&missing));

    let junk = tmp.path().join("junk.gscope");
    fs::write(&junk, b"RIFF....WAVEfmt ").unwrap();
    let run = convert(&junk, &out, "int8");
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run).contains("junk.gscope") && text(&run).contains("not a Genrescope model bundle"),
        "{}",
        text(&run)
    );

    let mut truncated = fs::read(&original).unwrap();
    truncated.truncate(truncated.len() / 2);
    fs::write(&junk, truncated).unwrap();
    let run = convert(&junk, &out, "f16");
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run).contains("truncated"), "{}", text(&run));

    let run = convert(&original, &out, "fp8");
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run).contains("fp8") && text(&run).contains("int8"), "{}", text(&run));
    assert!(!out.exists(), "nothing is written on failure");
}

#[test]
fn convert_gives_chosen_matrices_fewer_levels_and_converts_fusions() {
    let tmp = tempfile::tempdir().unwrap();
    let original = write_bundle(tmp.path());
    let (header, model) = load(&original);
    let matrices = weight_matrices(&model);
    let dense = matrices.last().unwrap().clone();
    let out = tmp.path().join("levels.gscope");
    let run = convert_with(&original, &out, "int8", &["--levels", &format!("{dense}=15")]);
    assert!(run.status.success(), "{}", text(&run));
    let (converted_header, converted) = load(&out);
    assert_eq!(converted_header.weight_levels, BTreeMap::from([(dense.clone(), 15)]));
    assert!(converted_header.provenance.command.ends_with(&format!("--levels {dense}=15")));
    let expected =
        rounded_with_levels(&model, WeightStorage::Int8, &converted_header.weight_levels);
    assert_eq!(logits(&converted), logits(&expected.unwrap()));
    // Fewer levels move that matrix more than int8 alone does.
    let int8 = rounded_with_levels(&model, WeightStorage::Int8, &BTreeMap::new()).unwrap();
    assert_ne!(logits(&converted), logits(&int8));

    // Levels need an integer storage and a matrix the model has.
    let run = convert_with(&original, &out, "f16", &["--levels", &format!("{dense}=15")]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run).contains("f16 weights have none"), "{}", text(&run));
    let run = convert_with(&original, &out, "int8", &["--levels", "network.nothing.weight=15"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run).contains("`network.nothing.weight`, which is not a weight matrix"),
        "{}",
        text(&run)
    );
    let run = convert_with(&original, &out, "int8", &["--levels", &format!("{dense}=200")]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run).contains("from 1 to 127"), "{}", text(&run));

    // A fusion: every member converted, the fusion's own header kept.
    let bytes = fs::read(&original).unwrap();
    let members = ["a", "b"].map(|name| MemberBundle {
        name: name.into(),
        weight: 0.5,
        bytes: bytes.clone(),
        detach: None,
    });
    let provenance = Provenance { command: "trainer fuse".into(), ..Provenance::default() };
    let fused = tmp.path().join("fused.gscope");
    fs::write(&fused, FusionBundle::to_bytes(&header.labels, provenance, None, &members).unwrap())
        .unwrap();
    let out = tmp.path().join("fused-int6.gscope");
    let run = convert(&fused, &out, "int6");
    assert!(run.status.success(), "{}", text(&run));
    let converted = fs::read(&out).unwrap();
    let (fusion, parts) = FusionBundle::from_bytes(&converted).unwrap();
    assert_eq!(
        fusion.members.iter().map(|m| (m.name.as_str(), m.weight)).collect::<Vec<_>>(),
        [("a", 0.5), ("b", 0.5)]
    );
    assert_eq!(
        fusion.provenance.command,
        "trainer fuse && trainer convert --model IN --out OUT --weights int6"
    );
    for part in parts {
        let (member_header, member) = SpectrogramBundle::from_bytes(part, &Device::flex()).unwrap();
        assert_eq!(member_header.weight_storage, WeightStorage::Int6);
        let expected = rounded_with_levels(&model, WeightStorage::Int6, &BTreeMap::new()).unwrap();
        assert_eq!(logits(&member), logits(&expected));
    }
}

/// `trainer classify --json` of `files` with `model`.
fn classify_json(model: &Path, files: &[PathBuf]) -> Output {
    trainer()
        .args(["classify", "--backend", "cpu", "--json", "--model"])
        .arg(model)
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn the_shipped_fusion_moves_its_table_member_in_and_out_without_changing_an_answer() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shipped = repo.join("web/models/default/model.gscope");
    let (fusion, _) = FusionBundle::from_bytes(&fs::read(&shipped).unwrap()).unwrap();
    let file = fusion.members[1].detached.as_ref().expect("the page's table member is detached");
    assert_eq!(file.file, "model.table.gscope");
    let sidecar = fs::read(repo.join("web/models/default").join(&file.file)).unwrap();
    // 30 s: long enough for the table member (15 s), so its answer counts.
    let clip = [repo.join("../shared/data/gtzan-mini/genres/rock/rock.00003.wav")];
    let shipped_answer = classify_json(&shipped, &clip);
    assert!(shipped_answer.status.success(), "{}", text(&shipped_answer));
    let answer: serde_json::Value = serde_json::from_slice(&shipped_answer.stdout).unwrap();
    assert!(
        answer.to_string().contains("\"name\":\"table\"")
            && !answer.to_string().contains("not loaded"),
        "{answer}"
    );

    // Inline: one self-contained file, whose members are the shipped ones byte for byte.
    let tmp = tempfile::tempdir().unwrap();
    let inline = tmp.path().join("inline.gscope");
    let run = trainer()
        .args(["convert", "--inline", "--model"])
        .arg(&shipped)
        .arg("--out")
        .arg(&inline)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    let inline_bytes = fs::read(&inline).unwrap();
    let (inline_fusion, parts) = FusionBundle::from_bytes(&inline_bytes).unwrap();
    assert!(inline_fusion.members.iter().all(|m| m.detached.is_none()));
    assert_eq!(parts[1], &sidecar[..]);
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1, "nothing written beside it");

    // Detached again under another name: the same answers as the shipped fusion.
    let split = tmp.path().join("split.gscope");
    let run = trainer()
        .args(["convert", "--detach", "table", "--model"])
        .arg(&inline)
        .arg("--out")
        .arg(&split)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(fs::read(tmp.path().join("split.table.gscope")).unwrap(), sidecar);
    for model in [&inline, &split] {
        let got = classify_json(model, &clip);
        assert!(got.status.success(), "{}", text(&got));
        assert_eq!(got.stdout, shipped_answer.stdout, "{}", model.display());
    }

    // Without its file the model does not load, and the error names the file.
    fs::remove_file(tmp.path().join("split.table.gscope")).unwrap();
    let got = classify_json(&split, &clip);
    assert_eq!(got.status.code(), Some(2), "{}", text(&got));
    assert!(text(&got).contains("keeps its member `table` in"), "{}", text(&got));
    assert!(text(&got).contains("split.table.gscope"), "{}", text(&got));
    // And --detach names only members of a fusion.
    let run = trainer()
        .args(["convert", "--detach", "tabel", "--model"])
        .arg(&inline)
        .arg("--out")
        .arg(tmp.path().join("x.gscope"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run).contains("`tabel`, which is not a member"), "{}", text(&run));
}
