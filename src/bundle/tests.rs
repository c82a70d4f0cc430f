//! Bundle round trip and one test per load error.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::{json, Value};

use super::format::{self, PREAMBLE_LEN};
use super::*;
use crate::model::{ArchitectureConfig, GenreNet};
use crate::FeatureConfig;

const GENRES: [&str; 10] =
    ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"];

fn header_for(arch: ArchitectureConfig) -> BundleHeader {
    let feature_config = FeatureConfig::gtzan_default();
    let n_mels = feature_config.n_mels;
    BundleHeader {
        labels: GENRES.iter().map(|s| s.to_string()).collect(),
        feature_config,
        normalisation: Normalisation {
            mean: (0..n_mels).map(|i| -40.0 + i as f32 * 0.1).collect(),
            std: (0..n_mels).map(|i| 10.0 + i as f32 * 0.01).collect(),
        },
        architecture: arch,
        provenance: Provenance {
            data: "GTZAN (unit test)".into(),
            split: "fault-filtered".into(),
            seed: 42,
            command: "trainer train --epochs 0".into(),
            metrics: json!({"test_accuracy": 0.0}),
            created: "2025-01-01T00:00:00Z".into(),
        },
    }
}

fn small_arch() -> ArchitectureConfig {
    ArchitectureConfig::Cnn { filters: vec![4, 8], dense: vec![16], dropout: 0.5 }
}

fn model_for(header: &BundleHeader, device: &Device) -> GenreNet {
    GenreNet::new(
        &header.architecture,
        header.n_mels(),
        header.n_frames(),
        header.labels.len(),
        device,
    )
    .unwrap()
}

/// A bundle of the small CNN, its header and the device.
fn small_bundle() -> (Vec<u8>, BundleHeader) {
    let header = header_for(small_arch());
    let model = model_for(&header, &Device::flex());
    (Bundle::to_bytes(&header, &model).unwrap(), header)
}

fn fixed_input(batch: usize, device: &Device) -> Tensor<4> {
    let (m, f) = (128, 130);
    let values: Vec<f32> = (0..batch * m * f).map(|i| ((i as f32) * 0.013).sin() * 1.5).collect();
    Tensor::from_data(TensorData::new(values, [batch, 1, m, f]), device)
}

fn floats(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// (header bytes, weights bytes) of a valid bundle.
fn split(bundle: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let s = format::read(bundle).unwrap();
    (s.header.to_vec(), s.weights.to_vec())
}

/// Re-frames `bundle` with its header JSON changed by `edit` (and a valid checksum).
fn with_header(bundle: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let (header, weights) = split(bundle);
    let mut value: Value = serde_json::from_slice(&header).unwrap();
    edit(&mut value);
    format::write(&serde_json::to_vec(&value).unwrap(), &weights).unwrap()
}

/// Recomputes the trailing checksum after a deliberate corruption.
fn reseal(bundle: &mut [u8]) {
    let n = bundle.len() - 4;
    let crc = crc32::crc32(&bundle[..n]);
    bundle[n..].copy_from_slice(&crc.to_le_bytes());
}

fn load(bytes: &[u8]) -> Result<(BundleHeader, GenreNet), BundleError> {
    Bundle::from_bytes(bytes, &Device::flex())
}

fn load_err(bytes: &[u8]) -> BundleError {
    match load(bytes) {
        Ok(_) => panic!("bundle unexpectedly loaded"),
        Err(e) => e,
    }
}

/// Tiny deterministic generator for the corruption tests.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn bundle_round_trip_default_cnn_gives_identical_logits() {
    let device = Device::flex();
    let header = header_for(ArchitectureConfig::cnn_default());
    let model = model_for(&header, &device);
    let bytes = Bundle::to_bytes(&header, &model).unwrap();
    let (h, w) = split(&bytes);
    eprintln!(
        "default 3-block CNN, 10 labels: bundle is {} bytes (header {} B, weights {} B, {} parameters)",
        bytes.len(),
        h.len(),
        w.len(),
        model.num_params()
    );
    assert!(bytes.starts_with(&MAGIC));

    let (loaded_header, loaded) = load(&bytes).unwrap();
    assert_eq!(loaded_header, header);
    assert_eq!(loaded.num_params(), model.num_params());
    let x = fixed_input(2, &device);
    assert_eq!(floats(loaded.forward(x.clone())), floats(model.forward(x.clone())));
    assert_eq!(floats(loaded.embed(x.clone())), floats(model.embed(x)));
    // The loaded model saves again to a bundle of the same size (batch-norm running statistics
    // get fresh parameter ids on load, so the bytes themselves may differ).
    assert_eq!(Bundle::to_bytes(&loaded_header, &loaded).unwrap().len(), bytes.len());
}

#[test]
fn bundle_round_trip_crnn_gives_identical_logits() {
    let device = Device::flex();
    for bidirectional in [true, false] {
        let arch = ArchitectureConfig::Crnn {
            filters: vec![4, 8],
            gru_hidden: 12,
            bidirectional,
            dropout: 0.3,
        };
        let header = header_for(arch);
        let model = model_for(&header, &device);
        let bytes = Bundle::to_bytes(&header, &model).unwrap();
        let (_, loaded) = load(&bytes).unwrap();
        let x = fixed_input(1, &device);
        assert_eq!(floats(loaded.forward(x.clone())), floats(model.forward(x)));
    }
}

#[test]
fn bundle_read_header_needs_only_the_header() {
    let (bytes, header) = small_bundle();
    let header_end = PREAMBLE_LEN + split(&bytes).0.len();
    assert_eq!(Bundle::read_header(&bytes).unwrap(), header);
    assert_eq!(Bundle::read_header(&bytes[..header_end]).unwrap(), header);
    assert!(matches!(
        Bundle::read_header(&bytes[..header_end - 1]),
        Err(BundleError::Truncated { part: "the JSON header", .. })
    ));
}

#[test]
fn bundle_error_empty_input() {
    assert_eq!(load_err(&[]), BundleError::Empty);
    assert_eq!(Bundle::read_header(&[]).unwrap_err(), BundleError::Empty);
}

#[test]
fn bundle_error_wrong_magic() {
    for (input, hint) in [
        (&b"RIFF\x24\x08\x00\x00WAVEfmt "[..], None),
        (b"{\"labels\": []}", Some("JSON")),
        (b"NRUB\x01\x00\x10\x00\x00\x00", Some("bare Burn record")),
        (b"<!DOCTYPE html>", Some("HTML")),
        (b"x", None),
    ] {
        let err = load_err(input);
        assert!(matches!(err, BundleError::NotABundle { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with("not a Genrescope model bundle (the file starts with \""), "{msg}");
        if let Some(hint) = hint {
            assert!(msg.contains(hint), "{msg}");
        }
        assert_eq!(Bundle::read_header(input).unwrap_err(), err);
    }
}

#[test]
fn bundle_error_newer_or_invalid_version() {
    let (mut bytes, _) = small_bundle();
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    let err = load_err(&bytes);
    assert_eq!(err, BundleError::NewerVersion { found: 3, supported: 1 });
    assert_eq!(
        err.to_string(),
        "bundle format v3 is newer than this build supports (v1); update Genrescope"
    );
    assert_eq!(Bundle::read_header(&bytes).unwrap_err(), err);
    bytes[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert!(matches!(load_err(&bytes), BundleError::InvalidVersion { found: 0, .. }));
}

#[test]
fn bundle_error_truncated_at_every_section() {
    let (bytes, _) = small_bundle();
    let (header, weights) = split(&bytes);
    let (h, w, total) = (header.len(), weights.len(), bytes.len());
    assert_eq!(total, 28 + h + w);
    let cases: &[(usize, &str, usize)] = &[
        (1, "the format version", 12),
        (7, "the format version", 12),
        (8, "the format version", 12),
        (11, "the format version", 12),
        (12, "the header length", 16),
        (15, "the header length", 16),
        (16, "the JSON header", 16 + h),
        (16 + h / 2, "the JSON header", 16 + h),
        (16 + h, "the weights length", 24 + h),
        (20 + h, "the weights length", 24 + h),
        (24 + h, "the weights", 24 + h + w),
        (24 + h + w / 2, "the weights", 24 + h + w),
        (24 + h + w, "the checksum", total),
        (total - 1, "the checksum", total),
    ];
    for &(cut, part, end) in cases {
        let err = load_err(&bytes[..cut]);
        assert_eq!(
            err,
            BundleError::Truncated { part, expected: end as u64, actual: cut as u64 },
            "cut at {cut}"
        );
        assert!(err.to_string().contains(&format!("has only {cut} bytes")), "{err}");
    }
    // Every other cut fails too (and never panics).
    for cut in (0..total).step_by(97) {
        assert!(load(&bytes[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn bundle_error_trailing_bytes() {
    let (mut bytes, _) = small_bundle();
    let total = bytes.len() as u64;
    bytes.extend_from_slice(b"junk");
    let err = load_err(&bytes);
    assert_eq!(err, BundleError::TrailingBytes { expected: total, actual: total + 4 });
    assert!(err.to_string().contains("4 unexpected bytes"), "{err}");
}

#[test]
fn bundle_error_checksum_mismatch() {
    let (bytes, _) = small_bundle();
    let (h, w) = (split(&bytes).0.len(), split(&bytes).1.len());
    for pos in [20, 16 + h / 2, 24 + h + w / 2, 24 + h + w - 1] {
        let mut corrupt = bytes.clone();
        corrupt[pos] ^= 0x10;
        assert!(matches!(load_err(&corrupt), BundleError::ChecksumMismatch { .. }), "byte {pos}");
    }
}

#[test]
fn bundle_error_header_not_json() {
    let (bytes, _) = small_bundle();
    let (_, weights) = split(&bytes);
    for (header, needle) in [
        (&b"not json"[..], "expected"),
        (b"{\"labels\": [", "EOF"),
        (b"[1, 2, 3]", "found an array"),
        (b"\xff\xfe{}", ""),
        (b"", "EOF"),
    ] {
        let bundle = format::write(header, &weights).unwrap();
        match load_err(&bundle) {
            BundleError::HeaderNotJson(msg) => assert!(msg.contains(needle), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn bundle_error_missing_header_field_is_named() {
    let (bytes, _) = small_bundle();
    for field in header::REQUIRED_FIELDS {
        let bundle = with_header(&bytes, |v| {
            v.as_object_mut().unwrap().remove(field);
        });
        let err = load_err(&bundle);
        assert_eq!(err, BundleError::MissingHeaderField { field });
        assert_eq!(err.to_string(), format!("bundle header has no `{field}` field"));
        assert_eq!(Bundle::read_header(&bundle).unwrap_err(), err);
    }
    // A nested missing field is named through its parent.
    let bundle = with_header(&bytes, |v| {
        v["normalisation"].as_object_mut().unwrap().remove("std");
    });
    match load_err(&bundle) {
        BundleError::InvalidHeaderField { field: "normalisation", message } => {
            assert!(message.contains("std"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let bundle = with_header(&bytes, |v| v["architecture"] = json!({"kind": "transformer"}));
    assert!(matches!(
        load_err(&bundle),
        BundleError::InvalidHeaderField { field: "architecture", .. }
    ));
    let bundle = with_header(&bytes, |v| v["labels"] = json!("rock"));
    assert!(matches!(load_err(&bundle), BundleError::InvalidHeaderField { field: "labels", .. }));
    // Provenance fields are optional; unknown fields are ignored.
    let bundle = with_header(&bytes, |v| {
        v["provenance"] = json!({});
        v["written_by_a_later_v1"] = json!(true);
    });
    assert_eq!(load(&bundle).unwrap().0.provenance, Provenance::default());
}

#[test]
fn bundle_error_inconsistent_header() {
    let (bytes, _) = small_bundle();
    let check = |edit: &dyn Fn(&mut Value), expect: &dyn Fn(&BundleError) -> bool| {
        let bundle = with_header(&bytes, edit);
        let err = load_err(&bundle);
        assert!(expect(&err), "{err:?}");
        assert_eq!(Bundle::read_header(&bundle).unwrap_err(), err);
    };
    check(&|v| v["labels"] = json!([]), &|e| *e == BundleError::NoLabels);
    check(&|v| v["labels"][3] = json!(""), &|e| *e == BundleError::EmptyLabel { index: 3 });
    check(&|v| v["labels"][9] = json!("blues"), &|e| {
        *e == BundleError::DuplicateLabel { label: "blues".into() }
    });
    check(&|v| v["normalisation"]["mean"].as_array_mut().unwrap().truncate(100), &|e| {
        *e == BundleError::NormalisationLength { field: "mean", found: 100, n_mels: 128 }
    });
    check(&|v| v["normalisation"]["std"][5] = json!(0.0), &|e| {
        *e == BundleError::InvalidNormalisation { field: "std", band: 5, value: 0.0 }
    });
    check(&|v| v["normalisation"]["mean"][7] = json!(1e300), &|e| {
        matches!(e, BundleError::InvalidNormalisation { field: "mean", band: 7, .. })
            || matches!(e, BundleError::InvalidHeaderField { field: "normalisation", .. })
    });
    check(
        &|v| v["feature_config"]["win_length"] = json!(4096),
        &|e| matches!(e, BundleError::InvalidFeatureConfig(m) if m.contains("win_length")),
    );
    check(
        &|v| v["feature_config"]["n_mels"] = json!(0),
        &|e| matches!(e, BundleError::InvalidFeatureConfig(m) if m.contains("n_mels")),
    );
    check(
        &|v| {
            v["feature_config"]["windowing"] =
                json!({"kind": "audio_windows", "window_samples": u64::MAX, "hop_samples": 1})
        },
        &|e| matches!(e, BundleError::InvalidFeatureConfig(m) if m.contains("window_samples")),
    );
    check(
        &|v| v["architecture"]["filters"] = json!([4, 8, 8, 8, 8, 8, 8, 8]),
        &|e| matches!(e, BundleError::InvalidArchitecture(m) if m.contains("mel bands")),
    );
    check(
        &|v| v["architecture"]["dropout"] = json!(1.5),
        &|e| matches!(e, BundleError::InvalidArchitecture(m) if m.contains("dropout")),
    );
    check(
        &|v| v["architecture"]["filters"] = json!([4, 1_000_000_000usize]),
        &|e| matches!(e, BundleError::InvalidArchitecture(m) if m.contains("filters")),
    );
}

#[test]
fn bundle_error_weights_do_not_fit_architecture() {
    let (bytes, _) = small_bundle();

    // Wider first block: the first conv weight has the wrong shape, and the error names it.
    let bundle = with_header(&bytes, |v| v["architecture"]["filters"] = json!([6, 8]));
    let err = load_err(&bundle);
    assert_eq!(
        err,
        BundleError::WeightShapeMismatch {
            parameter: "network.Cnn.blocks.0.conv.bias".into(),
            expected: vec![6],
            found: vec![4],
        }
    );
    assert_eq!(
        err.to_string(),
        "bundle weight `network.Cnn.blocks.0.conv.bias` has shape [4] but the architecture needs [6]"
    );

    // One label more than the weights have outputs.
    let bundle =
        with_header(&bytes, |v| v["labels"].as_array_mut().unwrap().push(json!("ambient")));
    assert_eq!(
        load_err(&bundle),
        BundleError::WeightShapeMismatch {
            parameter: "network.Cnn.head.bias".into(),
            expected: vec![11],
            found: vec![10],
        }
    );

    // A deeper network than the weights: the third block is missing.
    let bundle = with_header(&bytes, |v| v["architecture"]["filters"] = json!([4, 8, 8]));
    match load_err(&bundle) {
        BundleError::MissingWeight { parameter } => {
            assert!(parameter.starts_with("network.Cnn.blocks.2."), "{parameter}")
        }
        other => panic!("{other:?}"),
    }

    // A shallower network than the weights: the second block is left over.
    let bundle = with_header(&bytes, |v| v["architecture"]["filters"] = json!([4]));
    match load_err(&bundle) {
        BundleError::UnexpectedWeight { parameter } => {
            assert!(parameter.starts_with("network.Cnn.blocks.1."), "{parameter}")
        }
        other => panic!("{other:?}"),
    }

    // CNN weights under a CRNN header.
    let bundle = with_header(
        &bytes,
        |v| v["architecture"] = json!({"kind": "crnn", "filters": [4, 8], "gru_hidden": 16, "bidirectional": true, "dropout": 0.5}),
    );
    match load_err(&bundle) {
        BundleError::UnexpectedWeight { parameter } => {
            assert!(parameter.starts_with("network.Cnn."), "{parameter}")
        }
        other => panic!("{other:?}"),
    }

    // Weights that are not a burnpack at all.
    let (header, _) = split(&bytes);
    let bundle = format::write(&header, b"definitely not burnpack").unwrap();
    assert!(matches!(load_err(&bundle), BundleError::UnreadableWeights(_)));
    let bundle = format::write(&header, b"").unwrap();
    assert!(matches!(load_err(&bundle), BundleError::UnreadableWeights(_)));
}

#[test]
fn bundle_error_weights_not_f32() {
    let (bytes, _) = small_bundle();
    let (header, weights) = split(&bytes);
    let reader =
        burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(weights)).unwrap();
    let tensors = reader
        .into_tensors()
        .unwrap()
        .into_iter()
        .map(|t| {
            if t.name != "network.Cnn.head.bias" {
                return t;
            }
            let (name, _, shape, id, data) = t.into_parts().unwrap();
            let wide: Vec<u8> = data
                .chunks_exact(4)
                .flat_map(|c| (f32::from_le_bytes(c.try_into().unwrap()) as f64).to_le_bytes())
                .collect();
            burn_pack::Tensor::new(
                name,
                burn::tensor::DType::F64,
                shape,
                id,
                burn::tensor::Bytes::from_bytes_vec(wide),
            )
        })
        .collect();
    let weights = burn_pack::Writer::new(tensors).into_bytes().unwrap();
    let bundle = format::write(&header, &weights).unwrap();
    assert_eq!(
        load_err(&bundle),
        BundleError::WeightDType { parameter: "network.Cnn.head.bias".into(), found: "F64".into() }
    );
}

#[test]
fn bundle_error_non_finite_weight() {
    let (bytes, _) = small_bundle();
    let (header, weights) = split(&bytes);
    let reader =
        burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(weights)).unwrap();
    let tensors = reader
        .into_tensors()
        .unwrap()
        .into_iter()
        .map(|t| {
            if t.name != "network.Cnn.head.weight" {
                return t;
            }
            let (name, dtype, shape, id, data) = t.into_parts().unwrap();
            let mut data = data.to_vec();
            data[12..16].copy_from_slice(&f32::NAN.to_le_bytes());
            burn_pack::Tensor::new(
                name,
                dtype,
                shape,
                id,
                burn::tensor::Bytes::from_bytes_vec(data),
            )
        })
        .collect();
    let weights = burn_pack::Writer::new(tensors).into_bytes().unwrap();
    let bundle = format::write(&header, &weights).unwrap();
    assert_eq!(
        load_err(&bundle),
        BundleError::NonFiniteWeight { parameter: "network.Cnn.head.weight".into(), index: 3 }
    );
    assert_eq!(weights::check_encoded(&weights).unwrap_err(), load_err(&bundle));
}

#[test]
fn bundle_random_bytes_after_a_valid_preamble_never_panic() {
    let mut rng = Lcg(7);
    for round in 0..200 {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        let len = rng.below(64 + round * 4);
        bytes.extend((0..len).map(|_| rng.below(256) as u8));
        if round % 2 == 0 && bytes.len() >= 16 {
            // A plausible header length now and then.
            let h = rng.below(bytes.len() - 15) as u32;
            bytes[12..16].copy_from_slice(&h.to_le_bytes());
        }
        assert!(load(&bytes).is_err());
        let _ = Bundle::read_header(&bytes);
    }
}

#[test]
fn bundle_random_corruption_never_panics() {
    let (bytes, _) = small_bundle();
    let (h, w) = (split(&bytes).0.len(), split(&bytes).1.len());
    let mut rng = Lcg(0x5eed);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..300 {
        let mut corrupt = bytes.clone();
        // Mostly the header, then the weights, then anywhere; 1 to 4 bytes each.
        let (start, len) = match round % 3 {
            0 | 1 => (PREAMBLE_LEN, h),
            _ if round % 2 == 0 => (24 + h, w),
            _ => (0, corrupt.len()),
        };
        for _ in 0..1 + rng.below(4) {
            let pos = start + rng.below(len);
            corrupt[pos] = match rng.below(3) {
                0 => corrupt[pos] ^ (1 << rng.below(8)),
                1 => rng.below(256) as u8,
                _ => *b"{}[]\",:0-e9 ".get(rng.below(12)).unwrap(),
            };
        }
        // Resealed, so the header and weight checks are what catch it.
        reseal(&mut corrupt);
        let outcome = match load(&corrupt) {
            Ok(_) => "loaded".to_string(),
            Err(e) => format!("{e:?}").split(['(', ' ', '{']).next().unwrap().to_string(),
        };
        let _ = Bundle::read_header(&corrupt);
        *outcomes.entry(outcome).or_default() += 1;
    }
    eprintln!("corruption outcomes: {outcomes:?}");
    assert!(outcomes.len() > 2, "{outcomes:?}");
}

#[test]
fn bundle_to_bytes_refuses_mismatched_model() {
    let device = Device::flex();
    let header = header_for(small_arch());
    let other = GenreNet::new(&ArchitectureConfig::cnn_default(), 128, 130, 10, &device).unwrap();
    assert!(matches!(Bundle::to_bytes(&header, &other), Err(BundleError::ModelMismatch(_))));
    let fewer_labels = GenreNet::new(&small_arch(), 128, 130, 9, &device).unwrap();
    assert!(matches!(Bundle::to_bytes(&header, &fewer_labels), Err(BundleError::ModelMismatch(_))));
    let mut bad = header.clone();
    bad.labels.clear();
    let model = model_for(&header, &device);
    assert_eq!(Bundle::to_bytes(&bad, &model).unwrap_err(), BundleError::NoLabels);
}

#[test]
fn bundle_normalisation_standardises_band_major_windows() {
    let norm = Normalisation { mean: vec![1.0, -2.0], std: vec![2.0, 0.5] };
    let mut window = vec![1.0, 3.0, 5.0, -2.0, -1.0, 0.0];
    norm.standardise(&mut window, 3);
    assert_eq!(window, vec![0.0, 1.0, 2.0, 0.0, 2.0, 4.0]);
    let mut same = vec![3.0; 6];
    Normalisation::identity(2).standardise(&mut same, 3);
    assert_eq!(same, vec![3.0; 6]);
}
