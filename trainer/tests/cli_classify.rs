//! End-to-end tests of `trainer classify` and `trainer eval` on the committed audio fixtures,
//! with a small untrained model bundle built in the test.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::tensor::Device;
use genrescope::bundle::{
    Normalisation, Provenance, SpectrogramBundle, SpectrogramHeader, WeightStorage,
};
use genrescope::model::{ArchitectureConfig, GenreNet};
use genrescope::FeatureConfig;
use serde_json::Value;

const LABELS: [&str; 3] = ["blues", "jazz", "rock"];

fn fixture(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/audio")).join(name)
}

/// Writes a bundle of a small untrained CNN with `LABELS` into `dir`.
fn write_bundle(dir: &Path) -> PathBuf {
    let feature_config = FeatureConfig::gtzan_default();
    let n_mels = feature_config.n_mels;
    let header = SpectrogramHeader {
        labels: LABELS.iter().map(|s| s.to_string()).collect(),
        feature_config,
        normalisation: Normalisation::identity(n_mels),
        architecture: ArchitectureConfig::Cnn {
            filters: vec![4, 8],
            dense: vec![16],
            dropout: 0.5,
        },
        weight_storage: WeightStorage::F32,
        weight_levels: Default::default(),
        provenance: Provenance {
            data: "cli test (untrained)".into(),
            seed: 7,
            ..Provenance::default()
        },
        calibration: None,
        music_detector: None,
        tags: Vec::new(),
    };
    let model = GenreNet::new(
        &header.architecture,
        header.n_mels(),
        header.n_frames(),
        LABELS.len(),
        &Device::flex(),
    )
    .unwrap();
    let path = dir.join("tiny.gscope");
    fs::write(&path, SpectrogramBundle::to_bytes(&header, &model).unwrap()).unwrap();
    path
}

/// A temp dir with the bundle, two good files and a text file named `bad.mp3`.
struct Setup {
    dir: tempfile::TempDir,
    bundle: PathBuf,
    wav: PathBuf,
    flac: PathBuf,
    bad: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_bundle(dir.path());
    let audio = dir.path().join("audio");
    fs::create_dir_all(&audio).unwrap();
    let wav = audio.join("jazz, take 1.wav"); // a comma, to exercise CSV quoting
    fs::copy(fixture("gtzan_jazz_6s.wav"), &wav).unwrap();
    let flac = audio.join("jazz.flac");
    fs::copy(fixture("gtzan_jazz_6s.flac"), &flac).unwrap();
    let bad = audio.join("bad.mp3");
    fs::write(&bad, "This is a text file, not an MP3.\n").unwrap();
    Setup { dir, bundle, wav, flac, bad }
}

fn trainer(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .env("GENRESCOPE_CACHE", std::env::temp_dir().join("genrescope-cli-test-cache-unused"))
        .output()
        .expect("the trainer binary runs")
}

fn classify(s: &Setup, extra: &[&str], paths: &[&Path]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["classify".as_ref(), "--model".as_ref(), s.bundle.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.extend(paths.iter().map(|p| p.as_os_str()));
    trainer(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn probabilities(entry: &Value) -> Vec<(String, f64)> {
    entry["probabilities"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
        .collect()
}

/// Parses one CSV record (RFC 4180 quoting, no embedded line breaks needed here).
fn parse_csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[test]
fn json_reports_every_file_and_the_failure() {
    let s = setup();
    let out = classify(&s, &["--json", "--top", "2"], &[&s.wav, &s.bad, &s.flac]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).expect("stdout is one JSON document");
    let entries = doc.as_array().unwrap();
    assert_eq!(entries.len(), 3);

    // Input order is kept.
    assert_eq!(entries[0]["file"], s.wav.display().to_string());
    assert_eq!(entries[1]["file"], s.bad.display().to_string());
    assert_eq!(entries[2]["file"], s.flac.display().to_string());

    let bad = &entries[1];
    assert_eq!(bad["ok"], false);
    let error = bad["error"].as_str().unwrap();
    assert!(error.contains("text"), "{error}");
    assert!(bad["probabilities"].is_null());

    for good in [&entries[0], &entries[2]] {
        assert_eq!(good["ok"], true, "{good}");
        assert!(good.get("error").is_none());
        let p = probabilities(good);
        assert_eq!(p.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), LABELS, "label order");
        let sum: f64 = p.iter().map(|(_, v)| v).sum();
        assert!((sum - 1.0).abs() < 1e-5, "sum {sum}");
        let top = good["top"].as_array().unwrap();
        assert_eq!(top.len(), 2);
        let best = p.iter().map(|(_, v)| *v).fold(f64::MIN, f64::max);
        assert_eq!(top[0]["probability"].as_f64().unwrap(), best);
        assert!(top[0]["probability"].as_f64() >= top[1]["probability"].as_f64());
        let duration = good["duration_seconds"].as_f64().unwrap();
        assert!((duration - 6.0).abs() < 0.05, "{duration}");
        assert_eq!(good["windows"], 3, "6 s at 3 s windows, 1.5 s hop");
        assert!(good.get("timeline").is_none());
    }
    // WAV and FLAC hold the same samples: bit-identical probabilities.
    assert_eq!(probabilities(&entries[0]), probabilities(&entries[2]));
    assert!(stderr(&out).contains("2 files classified, 1 failed"), "{}", stderr(&out));
}

#[test]
fn json_timeline_has_every_window() {
    let s = setup();
    let out = classify(&s, &["--json", "--timeline", "--jobs", "1"], &[&s.flac]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let entry = &doc[0];
    let timeline = entry["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 3);
    let starts: Vec<f64> = timeline.iter().map(|w| w["start_seconds"].as_f64().unwrap()).collect();
    assert_eq!(starts, vec![0.0, 1.5, 3.0]);
    // The track probability is the mean of the window probabilities.
    for (i, label) in LABELS.iter().enumerate() {
        let mean =
            timeline.iter().map(|w| w["probabilities"][label].as_f64().unwrap()).sum::<f64>() / 3.0;
        let track = probabilities(entry)[i].1;
        assert!((mean - track).abs() < 1e-6, "{label}: {mean} vs {track}");
    }
}

#[test]
fn csv_matches_json() {
    let s = setup();
    let json = classify(&s, &["--json"], &[&s.wav, &s.bad, &s.flac]);
    let csv = classify(&s, &["--csv"], &[&s.wav, &s.bad, &s.flac]);
    assert_eq!(csv.status.code(), Some(1), "stderr: {}", stderr(&csv));
    let doc: Value = serde_json::from_str(&stdout(&json)).unwrap();
    let text = stdout(&csv);
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{text}");
    let header = parse_csv_line(lines[0]);
    assert_eq!(
        header,
        [
            "file",
            "verdict",
            "verdict_text",
            "genre",
            "confidence",
            "music_probability",
            "tags",
            "blues",
            "jazz",
            "rock",
            "error"
        ]
    );
    assert!(lines[1].starts_with('"'), "a file name with a comma is quoted: {}", lines[1]);
    for (line, entry) in lines[1..].iter().zip(doc.as_array().unwrap()) {
        let row = parse_csv_line(line);
        assert_eq!(row.len(), header.len(), "{line}");
        assert_eq!(row[0], entry["file"].as_str().unwrap());
        if entry["ok"] == true {
            assert_eq!(row[1], entry["verdict"]["kind"].as_str().unwrap());
            assert_eq!(row[2], entry["verdict"]["text"].as_str().unwrap());
            assert_eq!(row[3], entry["top"][0]["label"].as_str().unwrap());
            assert_eq!(
                row[4].parse::<f32>().unwrap(),
                entry["top"][0]["probability"].as_f64().unwrap() as f32
            );
            // The test model has neither a music detector nor tags.
            assert_eq!((row[5].as_str(), row[6].as_str()), ("", ""));
            for (i, label) in LABELS.iter().enumerate() {
                // Both carry the full f32: they read back to the same f32.
                assert_eq!(
                    row[7 + i].parse::<f32>().unwrap(),
                    entry["probabilities"][label].as_f64().unwrap() as f32
                );
            }
            assert_eq!(row[10], "");
        } else {
            assert!(row[1..10].iter().all(String::is_empty), "{line}");
            assert_eq!(row[10], entry["error"].as_str().unwrap());
        }
    }
}

#[test]
fn table_shows_results_and_the_error() {
    let s = setup();
    let out = classify(&s, &[], &[&s.wav, &s.bad, &s.flac]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with("FILE") && lines[0].contains("VERDICT") && lines[0].contains("CONF"),
        "{text}"
    );
    assert!(lines[1].starts_with(&s.wav.display().to_string()), "{text}");
    assert!(
        lines[2].contains("bad.mp3") && lines[2].contains("ERROR") && lines[2].contains("text"),
        "{text}"
    );
    assert!(lines[3].contains("%") && lines[3].contains("6.0 s"), "{text}");
    // The genre column starts at the same place in every classified row.
    let genre_at = |l: &str| l.find(LABELS.iter().find(|g| l.contains(*g)).unwrap()).unwrap();
    assert_eq!(genre_at(lines[1]), genre_at(lines[3]));
}

#[test]
fn folders_are_searched_for_audio() {
    let s = setup();
    let sub = s.dir.path().join("audio/more");
    fs::create_dir_all(&sub).unwrap();
    fs::copy(fixture("gtzan_jazz_6s.ogg"), sub.join("jazz.ogg")).unwrap();
    fs::write(s.dir.path().join("audio/notes.txt"), "not audio").unwrap();
    fs::copy(fixture("gtzan_jazz_6s.wav"), s.dir.path().join("audio/.hidden.wav")).unwrap();
    let out = classify(&s, &["--json"], &[&s.dir.path().join("audio")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad.mp3 is found by extension and fails: {}",
        stderr(&out)
    );
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let files: Vec<String> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            Path::new(e["file"].as_str().unwrap())
                .strip_prefix(s.dir.path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        files,
        ["audio/bad.mp3", "audio/jazz, take 1.wav", "audio/jazz.flac", "audio/more/jazz.ogg"]
    );

    // Only good files: exit code 0.
    let out = classify(&s, &[], &[&s.wav, &sub]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 3);
}

#[test]
fn model_errors_exit_with_2() {
    let s = setup();
    let junk = s.dir.path().join("junk.gscope");
    fs::write(
        &junk,
        (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    let out =
        trainer(&["classify".as_ref(), "--model".as_ref(), junk.as_os_str(), s.wav.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("junk.gscope") && err.contains("not a Genrescope model bundle"), "{err}");
    assert!(stdout(&out).is_empty());

    let mut truncated = fs::read(&s.bundle).unwrap();
    truncated.truncate(truncated.len() / 2);
    fs::write(&junk, truncated).unwrap();
    let out =
        trainer(&["classify".as_ref(), "--model".as_ref(), junk.as_os_str(), s.wav.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));

    let missing = s.dir.path().join("missing.gscope");
    let out =
        trainer(&["classify".as_ref(), "--model".as_ref(), missing.as_os_str(), s.wav.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read the model bundle"), "{}", stderr(&out));

    // Usage errors (clap) also exit with 2.
    let out = classify(&s, &["--json", "--csv"], &[&s.wav]);
    assert_eq!(out.status.code(), Some(2));
    let out = classify(&s, &["--top", "0"], &[&s.wav]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn eval_writes_a_report() {
    let s = setup();
    let data = s.dir.path().join("labelled");
    for (label, files) in [
        ("jazz", &["gtzan_jazz_6s.wav", "gtzan_jazz_6s.flac"][..]),
        ("rock", &["gtzan_jazz_6s.ogg"][..]),
    ] {
        fs::create_dir_all(data.join(label)).unwrap();
        for f in files {
            fs::copy(fixture(f), data.join(label).join(f)).unwrap();
        }
    }
    let cache = s.dir.path().join("cache");
    let run = || {
        trainer(&[
            "eval".as_ref(),
            "--model".as_ref(),
            s.bundle.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
            "--cache".as_ref(),
            cache.as_os_str(),
        ])
    };
    let out = run();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let report_dir = s.dir.path().join("tiny-eval-labelled");
    for f in ["report.json", "report.md", "report-confusion.png"] {
        assert!(report_dir.join(f).is_file(), "{f} missing; stderr: {}", stderr(&out));
    }
    let report: Value =
        serde_json::from_slice(&fs::read(report_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["evaluation"]["n_tracks"], 3);
    assert_eq!(report["evaluation"]["n_windows"], 9);
    assert_eq!(report["evaluation"]["labels"], serde_json::json!(LABELS));
    assert_eq!(report["meta"]["tracks"], 3);
    assert_eq!(report["meta"]["model_labels_without_data"], serde_json::json!(["blues"]));
    assert_eq!(report["meta"]["tracks_per_label"], serde_json::json!({"jazz": 2, "rock": 1}));
    assert!(
        stdout(&out).contains("Macro F1 over the 2 labels present in the data"),
        "{}",
        stdout(&out)
    );
    assert!(report["title"].as_str().unwrap().starts_with("Evaluation of "));
    assert!(stdout(&out).contains("Track accuracy"), "{}", stdout(&out));

    // Second run: everything from the cache; a corrupt file is skipped with exit code 1.
    fs::write(data.join("rock/broken.wav"), b"RIFF\x00\x00\x00\x00WAVEjunk").unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains("3 from the cache") && stderr(&out).contains("broken.wav"),
        "{}",
        stderr(&out)
    );
    let report: Value =
        serde_json::from_slice(&fs::read(report_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["evaluation"]["n_tracks"], 3);
    assert_eq!(report["meta"]["skipped_files"].as_array().unwrap().len(), 1);

    // A folder label the model does not know is an error naming it.
    fs::create_dir_all(data.join("polka")).unwrap();
    fs::copy(fixture("gtzan_jazz_6s.wav"), data.join("polka/a.wav")).unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("'polka'"), "{}", stderr(&out));
}

/// `trainer info` on the shipped fusion: its typed info as text and as the JSON the page reads.
#[test]
fn info_describes_a_fusion_with_its_members_data_set_and_accuracy() {
    let fused = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/models/fused/model.gscope"));
    let json = trainer(&["info".as_ref(), fused.as_os_str(), "--json".as_ref()]);
    assert!(json.status.success(), "{}", stderr(&json));
    let info: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(info["kind"], "fusion");
    assert_eq!(info["labels"].as_array().unwrap().len(), 10);
    // The primary member is the MusiCNN one: 187 frames of 256 samples at 16 kHz.
    assert_eq!(info["windowSeconds"], 2.992);
    assert_eq!(info["liveHopSeconds"], 1.496);
    assert_eq!(info["sampleRate"], 22_050);
    let members: Vec<(&str, f64)> = info["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["minSeconds"].as_f64().unwrap()))
        .collect();
    assert_eq!(members, [("cnn", 0.0), ("table", 15.0)]);
    let provenance = &info["provenance"];
    assert_eq!(
        (provenance["dataset"].as_str(), provenance["tracks"].as_u64()),
        (Some("gtzan-mini"), Some(80))
    );
    assert_eq!(provenance["evaluation"]["method"], "nested 5-fold cross-validation");
    assert!((provenance["evaluation"]["accuracy"].as_f64().unwrap() - 0.8625).abs() < 1e-9);

    let text = trainer(&["info".as_ref(), fused.as_os_str()]);
    let text = stdout(&text);
    assert!(text.contains("data set: gtzan-mini, 80 tracks"), "{text}");
    assert!(text.contains("member table: descriptor-table MLP"), "{text}");

    let broken = trainer(&["info".as_ref(), fixture("gtzan_jazz_6s.wav").as_os_str()]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(stderr(&broken).contains("is not a valid model bundle"), "{}", stderr(&broken));
}

/// A mono 32-bit IEEE-float WAV file of `samples` at `rate`.
fn write_float_wav(path: &Path, samples: &[f32], rate: u32) {
    let data_len = (samples.len() * 4) as u32;
    let mut bytes = Vec::with_capacity(44 + data_len as usize);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 4).to_le_bytes());
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(&32u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    fs::write(path, bytes).unwrap();
}

#[test]
fn silence_is_silent_and_huge_floats_stay_finite() {
    let s = setup();
    let rate = 22_050u32;
    let silence = s.dir.path().join("ten minutes of silence.wav");
    write_float_wav(&silence, &vec![0.0; rate as usize * 600], rate);
    let dc = s.dir.path().join("dc.wav");
    write_float_wav(&dc, &vec![1.0; rate as usize * 5], rate);
    let huge = s.dir.path().join("huge.wav");
    let tone: Vec<f32> = (0..rate as usize * 5)
        .map(|i| 1e30 * (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin())
        .collect();
    write_float_wav(&huge, &tone, rate);

    let out = classify(&s, &["--json"], &[&silence, &dc, &huge]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let entries = doc.as_array().unwrap();
    for entry in &entries[..2] {
        assert_eq!(entry["verdict"]["kind"], "silent", "{entry}");
        assert_eq!(entry["verdict"]["text"], "Silence");
        assert_eq!(entry["signal"]["silent"], true);
    }
    let loud = &entries[2];
    assert_ne!(loud["verdict"]["kind"], "silent", "{loud}");
    assert!(loud["signal"]["scaled_by"].as_f64().unwrap() < 1e-29, "{loud}");
    // Every probability is a finite number (JSON has no NaN: serde writes null for it).
    for (_, p) in probabilities(loud) {
        assert!(p.is_finite() && (0.0..=1.0).contains(&p), "{loud}");
    }
    assert!(loud["tags"].as_array().unwrap().is_empty(), "the test model has no tag layer");
    assert!(loud["music"].is_null());

    let table = stdout(&classify(&s, &[], &[&silence]));
    assert!(table.contains("Silence"), "{table}");
    assert!(!table.contains("NaN"), "{table}");
}

/// A WebM whose first EBML size starts with a zero byte: symphonia 0.5.5's Matroska reader
/// computes `7 - 8` (docs/upstream/symphonia-mkv-vint-overflow.md), a panic in builds with
/// overflow checks (this test's): a decoder panic no header guard foresees.
fn panicking_webm() -> Vec<u8> {
    [&[0x1a, 0x45, 0xdf, 0xa3][..], &[0; 28]].concat()
}

#[test]
fn hostile_files_in_a_batch_get_one_line_errors_and_no_panic_text() {
    let s = setup();
    let zero_hz = s.dir.path().join("audio/zero-hz.wav");
    let mut bytes = fs::read(&s.wav).unwrap();
    bytes[24..28].copy_from_slice(&0u32.to_le_bytes());
    fs::write(&zero_hz, bytes).unwrap();
    let webm = s.dir.path().join("audio/panics.webm");
    fs::write(&webm, panicking_webm()).unwrap();
    let run = |backtrace: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trainer"));
        command.arg("classify").arg("--model").arg(&s.bundle).arg("--json");
        command.args([&s.wav, &zero_hz, &webm, &s.flac]);
        command.env("GENRESCOPE_CACHE", std::env::temp_dir().join("genrescope-cli-unused"));
        match backtrace {
            Some(v) => command.env("RUST_BACKTRACE", v),
            None => command.env_remove("RUST_BACKTRACE"),
        };
        command.output().expect("the trainer binary runs")
    };

    let out = run(None);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).expect("stdout is one JSON document");
    let entries = doc.as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["ok"], true, "{}", entries[0]);
    assert_eq!(entries[3]["ok"], true, "{}", entries[3]);
    assert_eq!(entries[1]["ok"], false);
    assert_eq!(entries[1]["error"], "the WAV header gives a sample rate of 0 Hz");
    assert_eq!(entries[2]["ok"], false);
    let webm_error = entries[2]["error"].as_str().unwrap();
    assert!(!webm_error.contains('\n'), "{webm_error}");
    if !cfg!(debug_assertions) {
        // Without overflow checks the reader does not panic; it fails with an error.
        return;
    }
    assert_eq!(
        webm_error,
        "decoder failure: attempt to subtract with overflow (in the mkv decoder, on malformed \
         data)"
    );
    let err = stderr(&out);
    for text in ["panicked at", "stack backtrace", "RUST_BACKTRACE", "internal failure"] {
        assert!(!err.contains(text), "stderr has {text:?}: {err}");
    }

    // Asked for, the details are there.
    let verbose = run(Some("1"));
    assert_eq!(verbose.status.code(), Some(1));
    assert!(stderr(&verbose).contains("panicked at"), "{}", stderr(&verbose));
}
