//! Trainer smoke test (CPU): a 2-epoch run on a few real clips writes a bundle that
//! `classify` loads; bad inputs fail with a message that names the problem.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn trainer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
}

fn shared_clip(genre: &str, index: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/gtzan-mini/genres")
        .join(genre)
        .join(format!("{genre}.{index:05}.wav"))
}

/// A labelled folder with three real clips of each of two genres.
fn tiny_collection(root: &Path) -> PathBuf {
    let data = root.join("data");
    for genre in ["classical", "metal"] {
        std::fs::create_dir_all(data.join(genre)).unwrap();
        for i in 0..3 {
            let src = shared_clip(genre, i);
            std::fs::copy(&src, data.join(genre).join(src.file_name().unwrap())).unwrap_or_else(
                |e| panic!("{}: {e} (../shared must sit beside the checkout)", src.display()),
            );
        }
    }
    data
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `trainer train KIND --data DATA --out OUT --cache CACHE` with `options` (KIND: `audio` or
/// `transfer`).
fn train_with(kind: &str, data: &Path, out: &Path, cache: &Path, options: &[&str]) -> Output {
    trainer()
        .args(["train", kind])
        .args(options)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .arg("--cache")
        .arg(cache)
        .output()
        .unwrap()
}

fn train(data: &Path, out: &Path, cache: &Path) -> Output {
    train_with("audio", data, out, cache, &["--epochs", "2", "--batch", "8", "--seed", "7"])
}

#[test]
fn two_epochs_on_real_clips_give_a_bundle_that_classify_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_collection(tmp.path());
    let out_dir = tmp.path().join("model");
    let out = train(&data, &out_dir, &tmp.path().join("cache"));
    assert!(out.status.success(), "{}", text(&out));
    for file in
        ["model.gscope", "report.json", "report.md", "report-confusion.png", "report-curves.png"]
    {
        assert!(out_dir.join(file).is_file(), "{file} missing: {}", text(&out));
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["history"].as_array().unwrap().len(), 2);

    let classified = trainer()
        .args(["classify", "--json", "--model"])
        .arg(out_dir.join("model.gscope"))
        .arg(shared_clip("metal", 5))
        .output()
        .unwrap();
    assert!(classified.status.success(), "{}", text(&classified));
    let json: serde_json::Value = serde_json::from_slice(&classified.stdout).unwrap();
    let entry = &json[0];
    assert_eq!(entry["ok"], true);
    let probs = entry["probabilities"].as_object().unwrap();
    assert_eq!(probs.keys().collect::<Vec<_>>(), ["classical", "metal"]);
    let sum: f64 = probs.values().map(|p| p.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-4);

    // The second run reads every track from the feature cache.
    let again = train(&data, &tmp.path().join("model2"), &tmp.path().join("cache"));
    assert!(again.status.success());
    assert!(text(&again).contains("6 tracks decoded (6 from the cache)"), "{}", text(&again));
}

#[test]
fn a_corrupt_file_among_good_ones_is_reported_and_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_collection(tmp.path());
    std::fs::write(data.join("metal/broken.wav"), b"RIFF....WAVEfmt this is not audio").unwrap();
    let out_dir = tmp.path().join("model");
    let out = train(&data, &out_dir, &tmp.path().join("cache"));
    assert_eq!(out.status.code(), Some(1), "exit code 1 says a file failed: {}", text(&out));
    assert!(text(&out).contains("broken.wav"), "{}", text(&out));
    assert!(out_dir.join("model.gscope").is_file(), "the good files still train a model");
}

#[test]
fn empty_folder_and_single_label_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = train(&empty, &tmp.path().join("m1"), &tmp.path().join("cache"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("label"), "{}", text(&out));

    let single = tmp.path().join("single");
    std::fs::create_dir_all(single.join("blues")).unwrap();
    std::fs::copy(shared_clip("blues", 0), single.join("blues/a.wav")).unwrap();
    let out = train(&single, &tmp.path().join("m2"), &tmp.path().join("cache"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("at least 2 labels"), "{}", text(&out));
}

#[test]
fn a_bundle_from_a_newer_format_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_collection(tmp.path());
    let out_dir = tmp.path().join("model");
    let out = train_with(
        "audio",
        &data,
        &out_dir,
        &tmp.path().join("cache"),
        &["--epochs", "1", "--batch", "8", "--limit-per-label", "3"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let mut bytes = std::fs::read(out_dir.join("model.gscope")).unwrap();
    bytes[8..12].copy_from_slice(&9u32.to_le_bytes());
    let newer = tmp.path().join("newer.gscope");
    std::fs::write(&newer, bytes).unwrap();
    let out = trainer()
        .args(["classify", "--model"])
        .arg(&newer)
        .arg(shared_clip("metal", 5))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("newer than this build supports"), "{}", text(&out));
}

fn cross_validate(data: &Path, out: &Path, cache: &Path, extra: &[&str]) -> Output {
    let options =
        [&["--epochs", "1", "--batch", "8", "--seed", "7", "--folds", "3", "--cv-only"], extra]
            .concat();
    train_with("audio", data, out, cache, &options)
}

#[test]
fn cross_validation_stores_each_fold_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_collection(tmp.path());
    let (out_dir, cache) = (tmp.path().join("cv"), tmp.path().join("cache"));

    let bad = cross_validate(&data, &out_dir, &cache, &["--only-folds", "4"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("fold 4 does not exist"), "{}", text(&bad));

    // One fold alone (as a parallel process would run it): stored, no report yet.
    let one = cross_validate(&data, &out_dir, &cache, &["--only-folds", "2"]);
    assert!(one.status.success(), "{}", text(&one));
    assert!(text(&one).contains("1 of 3 folds are stored"), "{}", text(&one));
    assert!(out_dir.join("cv-folds/fold-2-of-3.json").is_file());
    assert!(!out_dir.join("cv-report.json").exists());

    // The whole run reuses fold 2 and trains the others.
    let all = cross_validate(&data, &out_dir, &cache, &[]);
    assert!(all.status.success(), "{}", text(&all));
    let log = text(&all);
    assert!(
        log.contains("fold 2/3: test track accuracy") && log.contains("(stored by an earlier run)"),
        "{log}"
    );
    assert_eq!(log.matches("(stored by an earlier run)").count(), 1, "{log}");
    assert!(out_dir.join("cv-report.json").is_file(), "{log}");

    // Another seed is another run: nothing is reused.
    let reseeded = train_with(
        "audio",
        &data,
        &out_dir,
        &cache,
        &[
            "--epochs",
            "1",
            "--batch",
            "8",
            "--seed",
            "8",
            "--folds",
            "3",
            "--cv-only",
            "--only-folds",
            "1",
        ],
    );
    assert!(reseeded.status.success(), "{}", text(&reseeded));
    assert!(!text(&reseeded).contains("stored by an earlier run"), "{}", text(&reseeded));
}

#[test]
fn transfer_training_on_the_frozen_musicnn_backbone_writes_a_bundle_that_classify_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_collection(tmp.path());
    let out_dir = tmp.path().join("transfer");
    let cache = tmp.path().join("cache");
    let out = train_with(
        "transfer",
        &data,
        &out_dir,
        &cache,
        &[
            "--embedding",
            "pools",
            "--max-patches",
            "2",
            "--epochs",
            "3",
            "--batch",
            "8",
            "--seed",
            "7",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("embedded 60 windows of 6 tracks"),
        "every patch of the six 30 s clips: {}",
        text(&out)
    );
    let bundle = std::fs::read(out_dir.join("model.gscope")).unwrap();
    let header = genrescope::bundle::SpectrogramBundle::read_header(&bundle).unwrap();
    assert_eq!(header.architecture.kind(), "musicnn");
    assert_eq!(header.feature_config.sample_rate, 16_000);
    assert_eq!(header.n_mels(), 96);
    assert_eq!(
        header.feature_config.windowing,
        genrescope::feature_config::Windowing::SpectrogramPatches {
            patch_frames: 187,
            hop_frames: 187,
            max_patches: Some(2)
        }
    );

    let classify = |patches: &[&str]| {
        let classified = trainer()
            .args(["classify", "--json", "--timeline", "--model"])
            .arg(out_dir.join("model.gscope"))
            .args(patches)
            .arg(shared_clip("metal", 5))
            .output()
            .unwrap();
        assert!(classified.status.success(), "{}", text(&classified));
        serde_json::from_slice::<serde_json::Value>(&classified.stdout).unwrap()
    };
    let json = classify(&["--patches", "bundle"]);
    let probs = json[0]["probabilities"].as_object().unwrap();
    assert_eq!(probs.keys().collect::<Vec<_>>(), ["classical", "metal"]);
    assert_eq!(json[0]["windows"], 2, "--max-patches 2: {}", json[0]);
    assert_eq!(json[0]["timeline"].as_array().map(Vec::len), Some(2), "{}", json[0]);
    let json = classify(&[]);
    assert_eq!(json[0]["windows"], 10, "every patch by default: {}", json[0]);

    // Transfer options given to `train audio`, and a missing backbone, are named.
    let wrong = train_with("audio", &data, &tmp.path().join("x"), &cache, &["--max-patches", "2"]);
    assert!(
        !wrong.status.success() && text(&wrong).contains("unexpected argument '--max-patches'"),
        "{}",
        text(&wrong)
    );
    let missing = train_with(
        "transfer",
        &data,
        &tmp.path().join("y"),
        &cache,
        &["--backbone", "no-such-backbone.safetensors"],
    );
    assert!(
        !missing.status.success() && text(&missing).contains("no-such-backbone.safetensors"),
        "{}",
        text(&missing)
    );
}

#[test]
fn fine_tuning_the_backbone_top_runs_after_the_head_and_keeps_only_a_better_result() {
    use genrescope::model::Network;
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_collection(tmp.path());
    let out_dir = tmp.path().join("fine-tuned");
    let cache = tmp.path().join("cache");
    let out = train_with(
        "transfer",
        &data,
        &out_dir,
        &cache,
        &[
            "--max-patches",
            "2",
            "--epochs",
            "3",
            "--fine-tune",
            "2",
            "--fine-tune-lr",
            "3e-4",
            "--batch",
            "8",
            "--seed",
            "7",
            "--weights",
            "f32",
        ],
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    // The second stage continues the first's epoch count.
    assert!(log.contains("hold-out fine-tune epoch   4/5"), "{log}");
    let lowered = log.contains("fine-tuning lowered the validation loss");
    assert!(lowered || log.contains("fine-tuning did not lower the validation loss"), "{log}");

    // The bundle holds the fine-tuned mid end exactly when the second stage won.
    let device = burn::tensor::Device::flex();
    let bundle = std::fs::read(out_dir.join("model.gscope")).unwrap();
    let (header, model) =
        genrescope::bundle::SpectrogramBundle::from_bytes(&bundle, &device).unwrap();
    assert!(header.provenance.command.contains("--fine-tune 2"), "{}", header.provenance.command);
    let Network::Musicnn(network) = &model.network else { panic!("not a transfer network") };
    let pretrained = genrescope_trainer::train::transfer::load_backbone(
        &genrescope_trainer::commands::train::default_backbone(),
        &device,
    )
    .unwrap();
    let weights =
        |conv: &burn::nn::conv::Conv1d| conv.weight.val().into_data().try_to_vec::<f32>().unwrap();
    let same_mid_end =
        weights(&network.backbone.midend[1].conv) == weights(&pretrained.midend[1].conv);
    assert_eq!(same_mid_end, !lowered, "mid end unchanged unless fine-tuning won: {log}");

    let wrong = train_with("audio", &data, &tmp.path().join("x"), &cache, &["--fine-tune", "2"]);
    assert!(
        !wrong.status.success() && text(&wrong).contains("unexpected argument '--fine-tune'"),
        "{}",
        text(&wrong)
    );
}

/// A descriptor table of `per_label` rows for each of three labels: two informative columns
/// (label means 3 apart, unit noise), a column that copies the first one exactly, and two of
/// noise.
fn descriptor_table(per_label: usize) -> String {
    let mut csv = String::from("filename,length,a,a_copy,b,noise,noise2,label\n");
    let mut state = 12345u64;
    let mut uniform = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / ((1u64 << 31) as f64) - 0.5
    };
    for (l, label) in ["blues", "jazz", "rock"].iter().enumerate() {
        for i in 0..per_label {
            let a = 3.0 * l as f64 + 2.0 * uniform();
            let b = 3.0 * (l % 2) as f64 + 2.0 * uniform();
            csv += &format!(
                "{label}.{i:05}.wav,661794,{a},{a},{b},{},{},{label}\n",
                uniform(),
                uniform()
            );
        }
    }
    csv
}

#[test]
fn a_descriptor_table_is_cross_validated_with_its_own_preprocessing_per_fold() {
    let tmp = tempfile::tempdir().unwrap();
    let table = tmp.path().join("features.csv");
    std::fs::write(&table, descriptor_table(30)).unwrap();
    let out_dir = tmp.path().join("table-model");
    for arch in ["mlp", "cnn1d"] {
        let out = trainer()
            .args(["train", "table"])
            .arg(&table)
            .args([
                "--arch",
                arch,
                "--folds",
                "3",
                "--cv-only",
                "--epochs",
                "60",
                "--batch",
                "16",
                "--out",
            ])
            .arg(&out_dir)
            .output()
            .unwrap();
        let log = text(&out);
        assert!(out.status.success(), "{log}");
        assert!(log.contains("90 rows, 5 descriptor columns, 3 labels"), "{log}");
        // The exact copy of `a` is dropped in every fold (|r| = 1 >= 0.8).
        assert_eq!(log.matches("4 of 5 descriptors kept").count(), 3, "{log}");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("cv-report.json")).unwrap())
                .unwrap();
        let accuracy = report["cv"]["track_accuracy"]["mean"].as_f64().unwrap();
        // Labels are 3 noise widths apart on `a`: chance is 1/3, a working model is near 1.
        assert!(accuracy > 0.85, "{arch}: cross-validated accuracy {accuracy}: {log}");
        assert_eq!(report["meta"]["architecture"]["kind"], arch);
    }

    // Two windows per recording (as `trainer describe` writes long files), and an ensemble:
    // both windows of a recording stay in one fold and are pooled into one prediction.
    let mut windowed = String::from("filename,start,length,a,a_copy,b,noise,noise2,label\n");
    for line in descriptor_table(30).lines().skip(1) {
        let (name, rest) = line.split_once(',').unwrap();
        windowed += &format!("{name},0,{rest}\n{name},15,{rest}\n");
    }
    std::fs::write(&table, windowed).unwrap();
    let out = trainer()
        .args(["train", "table"])
        .arg(&table)
        .args([
            "--ensemble",
            "2",
            "--folds",
            "3",
            "--cv-only",
            "--epochs",
            "30",
            "--batch",
            "16",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    let log = text(&out);
    assert!(out.status.success() && log.contains("180 rows from 90 recordings"), "{log}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("cv-report.json")).unwrap()).unwrap();
    assert_eq!(report["evaluation"]["n_tracks"], 90, "{log}");
    assert_eq!(report["evaluation"]["n_windows"], 180, "{log}");
    assert_eq!(report["meta"]["ensemble"], 2);
    assert!(report["cv"]["track_accuracy"]["mean"].as_f64().unwrap() > 0.85, "{log}");

    // What a table run cannot do, and a broken table, are named: a bundle holds one network,
    // and only columns the engine computes from audio.
    let ensemble = trainer()
        .args(["train", "table", "--ensemble", "2"])
        .arg(&table)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        !ensemble.status.success() && text(&ensemble).contains("a table bundle holds one network"),
        "{}",
        text(&ensemble)
    );
    let synthetic = trainer()
        .args(["train", "table", "--epochs", "2"])
        .arg(&table)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        !synthetic.status.success() && text(&synthetic).contains("unknown descriptor column `a`"),
        "{}",
        text(&synthetic)
    );
    std::fs::write(&table, "a,b\n1,2\n").unwrap();
    let broken = trainer()
        .args(["train", "table", "--folds", "3", "--cv-only"])
        .arg(&table)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        !broken.status.success() && text(&broken).contains("no `label` column"),
        "{}",
        text(&broken)
    );
}

/// The table and fusion path on real clips: `describe` writes the table, a table model is
/// trained on it (by `fuse`, with `train:` options), a 1-epoch CNN is cross-validated, and
/// `fuse` fits weights on their held-out predictions; `classify` then gives the fused result
/// with each member's opinion, and the fused probabilities are the weighted mean.
#[test]
fn a_table_model_and_a_cnn_fuse_into_one_bundle_that_classify_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_collection(tmp.path());
    let table = tmp.path().join("table.csv");
    let described = trainer()
        .args(["describe", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&table)
        .output()
        .unwrap();
    assert!(described.status.success(), "{}", text(&described));
    let cnn_dir = tmp.path().join("cnn");
    let cnn = train_with(
        "audio",
        &data,
        &cnn_dir,
        &tmp.path().join("cache"),
        &["--epochs", "1", "--batch", "8", "--seed", "7", "--folds", "3"],
    );
    assert!(cnn.status.success(), "{}", text(&cnn));
    let fused_dir = tmp.path().join("fused");
    let table_options = format!(
        "table '{}' --epochs 40 --batch 4 --max-correlation 1.0 --folds 3 --min-seconds 10",
        table.display()
    );
    let out = trainer()
        .args(["fuse", "--folds", "3", "--data"])
        .arg(&data)
        .arg("--member")
        .arg(format!("cnn={}", cnn_dir.join("model.gscope").display()))
        .arg("--member")
        .arg(format!("table=train:{table_options}"))
        .arg("--out")
        .arg(&fused_dir)
        .output()
        .unwrap();
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    // Both members' held-out predictions come from their own cross-validation.
    assert_eq!(
        log.matches("held-out predictions are the out-of-fold predictions").count(),
        2,
        "{log}"
    );
    assert!(log.contains("3-fold nested cross-validation on 6 tracks"), "{log}");
    assert!(log.contains("bundle check: the fused result"), "{log}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fused_dir.join("report.json")).unwrap()).unwrap();
    let weights = &report["meta"]["weights"];
    let (w_cnn, w_table) =
        (weights["cnn"]["weight"].as_f64().unwrap(), weights["table"]["weight"].as_f64().unwrap());
    assert!((w_cnn + w_table - 1.0).abs() < 1e-9, "{weights}");

    let clip = data.join("metal").join("metal.00001.wav");
    let classified = trainer()
        .args(["classify", "--json", "--model"])
        .arg(fused_dir.join("model.gscope"))
        .arg(&clip)
        .output()
        .unwrap();
    assert!(classified.status.success(), "{}", text(&classified));
    let entries: serde_json::Value = serde_json::from_slice(&classified.stdout).unwrap();
    let entry = &entries[0];
    let members = entry["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(
        (members[0]["name"].as_str(), members[1]["name"].as_str()),
        (Some("cnn"), Some("table"))
    );
    // The fused probabilities are the fusion's calibration applied to the weighted mean of
    // the (calibrated) members'.
    let fusion_bundle = std::fs::read(fused_dir.join("model.gscope")).unwrap();
    let genrescope::bundle::Header::Fusion(fusion) =
        genrescope::bundle::Header::read(&fusion_bundle).unwrap()
    else {
        panic!("not a fusion bundle")
    };
    let calibration = fusion.calibration.expect("the fusion stores its calibration");
    assert_eq!(report["calibration"]["calibration"]["temperature"], calibration.temperature);
    let labels = ["classical", "metal"];
    let mean: Vec<f32> = labels
        .iter()
        .map(|label| {
            members
                .iter()
                .map(|m| {
                    m["weight"].as_f64().unwrap() * m["probabilities"][label].as_f64().unwrap()
                })
                .sum::<f64>() as f32
        })
        .collect();
    let expected = calibration.apply(&mean);
    for (label, want) in labels.iter().zip(expected) {
        let fused = entry["probabilities"][label].as_f64().unwrap();
        assert!((fused - want as f64).abs() < 1e-5, "{label}: fused {fused} vs {want}");
    }
    assert_eq!(members[1]["windows"], 1, "a 30 s clip is one descriptor window");

    // Equal weights after each member's calibration: the fusion's calibration is still
    // fitted on the fused out-of-fold predictions.
    let equal_dir = tmp.path().join("fused-equal");
    let equal = trainer()
        .args(["fuse", "--folds", "3", "--weights", "equal", "--data"])
        .arg(&data)
        .arg("--member")
        .arg(format!("cnn={}", cnn_dir.join("model.gscope").display()))
        .arg("--member")
        .arg(format!("table={}", fused_dir.join("members/table/model.gscope").display()))
        .arg("--out")
        .arg(&equal_dir)
        .output()
        .unwrap();
    let log = text(&equal);
    assert!(equal.status.success(), "{log}");
    assert!(log.contains("fusion weights (equal, after each member's calibration)"), "{log}");
    let bundle = std::fs::read(equal_dir.join("model.gscope")).unwrap();
    let genrescope::bundle::Header::Fusion(header) =
        genrescope::bundle::Header::read(&bundle).unwrap()
    else {
        panic!("not a fusion bundle")
    };
    assert!(header.calibration.is_some(), "{log}");
    assert!(header.members.iter().all(|m| m.weight == 0.5), "{:?}", header.members);
    assert!(equal_dir.join("report-reliability.png").is_file(), "{log}");
    let given =
        trainer().args(["fuse", "--weights", "1,x", "--member", "a=b.gscope"]).output().unwrap();
    assert!(!given.status.success() && text(&given).contains("`x` is not a number"));

    // A member trained on --data without out-of-fold predictions would not be held out.
    let no_cv = tmp.path().join("cnn-no-cv");
    let plain = train_with(
        "audio",
        &data,
        &no_cv,
        &tmp.path().join("cache"),
        &["--epochs", "1", "--batch", "8", "--seed", "7"],
    );
    assert!(plain.status.success(), "{}", text(&plain));
    let refused = trainer()
        .args(["fuse", "--folds", "3", "--data"])
        .arg(&data)
        .arg("--member")
        .arg(format!("cnn={}", no_cv.join("model.gscope").display()))
        .arg("--out")
        .arg(tmp.path().join("refused"))
        .output()
        .unwrap();
    assert!(
        !refused.status.success()
            && text(&refused).contains("was trained on")
            && text(&refused).contains("--folds K"),
        "{}",
        text(&refused)
    );

    // `eval` takes the fusion too (track-level).
    let eval_dir = tmp.path().join("fused-eval");
    let evaluated = trainer()
        .args(["eval", "--model"])
        .arg(fused_dir.join("model.gscope"))
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&eval_dir)
        .output()
        .unwrap();
    assert!(evaluated.status.success(), "{}", text(&evaluated));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(eval_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["meta"]["model_kind"], "fusion");
    assert_eq!(report["evaluation"]["n_tracks"], 6);
    assert_eq!(report["evaluation"]["n_windows"], 6, "one window per track for a fusion");
}

#[test]
fn no_holdout_trains_on_every_track_and_stores_the_calibration_of_its_cross_validation() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_collection(tmp.path());
    let out_dir = tmp.path().join("all");
    let out = train_with(
        "audio",
        &data,
        &out_dir,
        &tmp.path().join("cache"),
        &["--epochs", "2", "--batch", "8", "--seed", "7", "--folds", "3", "--no-holdout"],
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("calibration on 6 out-of-fold tracks"), "{log}");
    let bundle = std::fs::read(out_dir.join("model.gscope")).unwrap();
    let header = genrescope::bundle::SpectrogramBundle::read_header(&bundle).unwrap();
    let calibration = header.calibration.expect("the bundle stores its calibration");
    assert!(calibration.temperature > 0.0 && calibration.temperature.is_finite());
    let split = &header.provenance.split;
    assert!(split.starts_with("no hold-out: trained on all 6 tracks for"), "{split}");
    for file in ["report-reliability.png", "report-selective.png"] {
        assert!(out_dir.join(file).is_file(), "{file} missing: {log}");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["calibration"]["tracks"], 6);
    assert_eq!(report["calibration"]["calibration"]["temperature"], calibration.temperature);
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.contains("## Calibration") && md.contains("(report-reliability.png)"), "{md}");

    let refused = train_with(
        "audio",
        &data,
        &tmp.path().join("x"),
        &tmp.path().join("cache"),
        &["--epochs", "1", "--target-accuracy", "1.5"],
    );
    assert!(!refused.status.success() && text(&refused).contains("--target-accuracy"));
    let refused = train_with(
        "transfer",
        &data,
        &tmp.path().join("y"),
        &tmp.path().join("cache"),
        &["--folds", "3", "--no-holdout", "--fine-tune", "2"],
    );
    assert!(!refused.status.success() && text(&refused).contains("--fine-tune"));
    let refused = train_with(
        "audio",
        &data,
        &tmp.path().join("z"),
        &tmp.path().join("cache"),
        &["--no-holdout"],
    );
    assert!(!refused.status.success() && text(&refused).contains("--folds"), "{}", text(&refused));
}

#[test]
fn detect_fits_a_music_detector_that_the_written_bundle_applies() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_collection(tmp.path());
    let model_dir = tmp.path().join("transfer");
    let cache = tmp.path().join("cache");
    let options = ["--msd-tags", "--max-patches", "2", "--epochs", "2", "--batch", "8"];
    let trained = train_with("transfer", &data, &model_dir, &cache, &options);
    assert!(trained.status.success(), "{}", text(&trained));
    let not_music = tmp.path().join("not-music");
    std::fs::create_dir_all(&not_music).unwrap();
    let ood = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/ood-dev/not-music");
    for name in [
        "count.wav",
        "3WORDS.wav",
        "room-tone-n_IJI9R1NTO9_57.0_58.0.wav",
        "room-tone-n_J950HTM138_56.0_57.0.wav",
    ] {
        std::fs::copy(ood.join(name), not_music.join(name))
            .unwrap_or_else(|e| panic!("{}: {e}", ood.join(name).display()));
    }
    let detect = |model: &Path, out: &Path| {
        trainer()
            .args(["detect", "--folds", "2", "--synth-seconds", "3,3", "--model"])
            .arg(model)
            .arg("--music")
            .arg(&data)
            .arg("--not-music")
            .arg(&not_music)
            .arg("--check")
            .arg(data.join("metal"))
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let out_dir = tmp.path().join("detector");
    let out = detect(&model_dir.join("model.gscope"), &out_dir);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("bundle check: the engine's music score of"), "{log}");
    let bundle = std::fs::read(out_dir.join("model.gscope")).unwrap();
    let header = genrescope::bundle::SpectrogramBundle::read_header(&bundle).unwrap();
    let detector = header.music_detector.expect("the bundle stores its detector");
    assert_eq!(detector.input, genrescope::trust::DetectorInput::Penultimate);
    assert_eq!(detector.weights.len(), 200);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("detect-report.json")).unwrap())
            .unwrap();
    let sources: Vec<&str> =
        report["rates"].as_array().unwrap().iter().map(|r| r["source"].as_str().unwrap()).collect();
    for source in ["music", "not-music", "synth:noise", "synth:tone", "synth:hum"] {
        assert!(sources.contains(&source), "{source} missing from {sources:?}");
    }
    assert_eq!(
        report["files"].as_array().unwrap().len(),
        report["rates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["files"].as_u64().unwrap() as usize)
            .sum::<usize>()
    );
    // The check folder is scored by the written bundle, through the engine.
    let checks = report["check"].as_array().unwrap();
    assert_eq!(checks.len(), 3, "{log}");
    assert!(checks.iter().all(|c| c["music_probability"].as_f64().is_some()), "{log}");
    assert!(out_dir.join("detect-report.md").is_file());

    // A network without the MusiCNN top is refused by name.
    let cnn_dir = tmp.path().join("cnn");
    let cnn = train_with("audio", &data, &cnn_dir, &cache, &["--epochs", "1", "--batch", "8"]);
    assert!(cnn.status.success(), "{}", text(&cnn));
    let refused = detect(&cnn_dir.join("model.gscope"), &tmp.path().join("refused"));
    assert!(
        !refused.status.success() && text(&refused).contains("--msd-tags"),
        "{}",
        text(&refused)
    );
}
