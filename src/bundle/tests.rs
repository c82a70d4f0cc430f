//! Bundle round trip and one test per load error.

use std::collections::BTreeMap;

use burn::module::Module;
use burn::tensor::{Bytes, DType, Device, Tensor, TensorData};
use serde_json::{json, Value};

use super::format::{self, PREAMBLE_LEN};
use super::*;
use crate::model::{ArchitectureConfig, GenreNet};
use crate::FeatureConfig;

const GENRES: [&str; 10] =
    ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"];

fn header_for(arch: ArchitectureConfig) -> SpectrogramHeader {
    let feature_config = FeatureConfig::gtzan_default();
    let n_mels = feature_config.n_mels;
    SpectrogramHeader {
        labels: GENRES.iter().map(|s| s.to_string()).collect(),
        feature_config,
        normalisation: Normalisation {
            mean: (0..n_mels).map(|i| -40.0 + i as f32 * 0.1).collect(),
            std: (0..n_mels).map(|i| 10.0 + i as f32 * 0.01).collect(),
        },
        architecture: arch,
        weight_storage: WeightStorage::F32,
        weight_levels: Default::default(),
        provenance: Provenance {
            data: "GTZAN (unit test)".into(),
            split: "fault-filtered".into(),
            seed: 42,
            command: "trainer train --epochs 0".into(),
            metrics: json!({"test_accuracy": 0.0}),
            created: "2025-01-01T00:00:00Z".into(),
            ..Provenance::default()
        },
        calibration: None,
        music_detector: None,
        tags: Vec::new(),
    }
}

fn small_arch() -> ArchitectureConfig {
    ArchitectureConfig::Cnn { filters: vec![4, 8], dense: vec![16], dropout: 0.5 }
}

fn model_for(header: &SpectrogramHeader, device: &Device) -> GenreNet {
    GenreNet::new(
        &header.architecture,
        header.n_mels(),
        header.n_frames(),
        header.labels.len(),
        device,
    )
    .unwrap()
}

/// A bundle of the small CNN (f32 weights) and its header.
fn small_bundle() -> (Vec<u8>, SpectrogramHeader) {
    small_bundle_as(WeightStorage::F32)
}

/// A bundle of the small CNN with its weights in `storage`, and its header.
fn small_bundle_as(storage: WeightStorage) -> (Vec<u8>, SpectrogramHeader) {
    let (header, model) = small_bundle_model();
    let header = SpectrogramHeader { weight_storage: storage, ..header };
    (SpectrogramBundle::to_bytes(&header, &model).unwrap(), header)
}

/// The small CNN's header and a freshly initialised model of it.
fn small_bundle_model() -> (SpectrogramHeader, GenreNet) {
    let header = header_for(small_arch());
    let model = model_for(&header, &Device::flex());
    (header, model)
}

/// Little-endian f32 values of raw tensor bytes.
fn f32s(data: &[u8]) -> Vec<f32> {
    data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// The burnpack tensors of a bundle's weights section.
fn tensors_of(bundle: &[u8]) -> Vec<burn_pack::Tensor> {
    let (_, weights) = split(bundle);
    burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(weights)).unwrap().into_tensors().unwrap()
}

/// Re-frames `bundle` with each weight tensor replaced by what `f` returns (and a valid
/// checksum).
fn map_tensors(
    bundle: &[u8],
    f: impl FnMut(burn_pack::Tensor) -> Vec<burn_pack::Tensor>,
) -> Vec<u8> {
    let (header, _) = split(bundle);
    let tensors: Vec<_> = tensors_of(bundle).into_iter().flat_map(f).collect();
    format::write(&header, &burn_pack::Writer::new(tensors).into_bytes().unwrap()).unwrap()
}

/// Every parameter's path and f32 values (the form Burn records them in).
fn params_of(model: &GenreNet) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let record = model.clone().into_record().into_bytes().unwrap();
    burn_pack::Reader::from_bytes(record)
        .unwrap()
        .into_tensors()
        .unwrap()
        .into_iter()
        .map(|t| {
            let (name, _, shape, _, data) = t.into_parts().unwrap();
            (name, shape.as_slice().to_vec(), f32s(&data))
        })
        .collect()
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

fn load(bytes: &[u8]) -> Result<(SpectrogramHeader, GenreNet), BundleError> {
    SpectrogramBundle::from_bytes(bytes, &Device::flex())
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
    let bytes = SpectrogramBundle::to_bytes(&header, &model).unwrap();
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
    assert_eq!(SpectrogramBundle::to_bytes(&loaded_header, &loaded).unwrap().len(), bytes.len());
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
        let bytes = SpectrogramBundle::to_bytes(&header, &model).unwrap();
        let (_, loaded) = load(&bytes).unwrap();
        let x = fixed_input(1, &device);
        assert_eq!(floats(loaded.forward(x.clone())), floats(model.forward(x)));
    }
}

#[test]
fn bundle_read_header_needs_only_the_header() {
    let (bytes, header) = small_bundle();
    let header_end = PREAMBLE_LEN + split(&bytes).0.len();
    assert_eq!(SpectrogramBundle::read_header(&bytes).unwrap(), header);
    assert_eq!(SpectrogramBundle::read_header(&bytes[..header_end]).unwrap(), header);
    assert!(matches!(
        SpectrogramBundle::read_header(&bytes[..header_end - 1]),
        Err(BundleError::Truncated { part: "the JSON header", .. })
    ));
}

#[test]
fn bundle_error_empty_input() {
    assert_eq!(load_err(&[]), BundleError::Empty);
    assert_eq!(SpectrogramBundle::read_header(&[]).unwrap_err(), BundleError::Empty);
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
        assert_eq!(SpectrogramBundle::read_header(input).unwrap_err(), err);
    }
}

#[test]
fn bundle_error_newer_or_invalid_version() {
    let (mut bytes, _) = small_bundle();
    bytes[8..12].copy_from_slice(&5u32.to_le_bytes());
    let err = load_err(&bytes);
    assert_eq!(err, BundleError::NewerVersion { found: 5, supported: 4 });
    assert_eq!(
        err.to_string(),
        "bundle format v5 is newer than this build supports (v4); update Genrescope"
    );
    assert_eq!(SpectrogramBundle::read_header(&bytes).unwrap_err(), err);
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
        assert_eq!(SpectrogramBundle::read_header(&bundle).unwrap_err(), err);
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
        assert_eq!(SpectrogramBundle::read_header(&bundle).unwrap_err(), err);
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
    let bundle = map_tensors(&bytes, |t| {
        if t.name != "network.Cnn.head.bias" {
            return vec![t];
        }
        let (name, _, shape, id, data) = t.into_parts().unwrap();
        let wide: Vec<u8> = f32s(&data).iter().flat_map(|v| (*v as f64).to_le_bytes()).collect();
        vec![burn_pack::Tensor::new(name, DType::F64, shape, id, Bytes::from_bytes_vec(wide))]
    });
    let err = load_err(&bundle);
    assert_eq!(
        err,
        BundleError::WeightDType {
            parameter: "network.Cnn.head.bias".into(),
            found: "F64".into(),
            storage: WeightStorage::F32,
        }
    );
    assert_eq!(
        err.to_string(),
        "bundle weight `network.Cnn.head.bias` is stored as F64, which the bundle's weight \
         storage (f32) does not allow"
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
    let nan =
        BundleError::NonFiniteWeight { parameter: "network.Cnn.head.weight".into(), index: 3 };
    assert_eq!(load_err(&bundle), nan);

    // A model holding that NaN is never saved, whatever the storage.
    let (header, model) = small_bundle_model();
    let record = burn::store::ModuleRecord::from_bytes(weights).unwrap();
    let broken = model.try_load_record(record).unwrap();
    for storage in WeightStorage::ALL {
        let header = SpectrogramHeader { weight_storage: storage, ..header.clone() };
        assert_eq!(SpectrogramBundle::to_bytes(&header, &broken).unwrap_err(), nan, "{storage}");
    }
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
        let _ = SpectrogramBundle::read_header(&bytes);
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
        let _ = SpectrogramBundle::read_header(&corrupt);
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
    assert!(matches!(
        SpectrogramBundle::to_bytes(&header, &other),
        Err(BundleError::ModelMismatch(_))
    ));
    let fewer_labels = GenreNet::new(&small_arch(), 128, 130, 9, &device).unwrap();
    assert!(matches!(
        SpectrogramBundle::to_bytes(&header, &fewer_labels),
        Err(BundleError::ModelMismatch(_))
    ));
    let mut bad = header.clone();
    bad.labels.clear();
    let model = model_for(&header, &device);
    assert_eq!(SpectrogramBundle::to_bytes(&bad, &model).unwrap_err(), BundleError::NoLabels);
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

// ---------------------------------------------------------------------------------------
// Weight storage (format v2) and format v1 compatibility

#[test]
fn bundle_round_trip_each_storage_loads_the_rounded_model() {
    let device = Device::flex();
    let mut sizes = Vec::new();
    for (kind, arch) in ["cnn", "crnn"].into_iter().zip([
        ArchitectureConfig::cnn_default(),
        ArchitectureConfig::Crnn {
            filters: vec![4, 8],
            gru_hidden: 12,
            bidirectional: true,
            dropout: 0.3,
        },
    ]) {
        let base = header_for(arch);
        let model = model_for(&base, &device);
        let x = fixed_input(2, &device);
        let exact = floats(model.forward(x.clone()));
        for storage in WeightStorage::ALL {
            let header = SpectrogramHeader { weight_storage: storage, ..base.clone() };
            let bytes = SpectrogramBundle::to_bytes(&header, &model).unwrap();
            assert_eq!(&bytes[8..12], &FORMAT_VERSION.to_le_bytes());
            let (loaded_header, loaded) = load(&bytes).unwrap();
            assert_eq!(loaded_header, header);
            assert_eq!(SpectrogramBundle::read_header(&bytes).unwrap().weight_storage, storage);
            // The bundle loads exactly as the in-memory rounding of the same weights.
            let rounded = rounded(&model, storage).unwrap();
            let got = floats(loaded.forward(x.clone()));
            assert_eq!(got, floats(rounded.forward(x.clone())), "{storage}");
            if storage == WeightStorage::F32 {
                assert_eq!(got, exact);
            }
            let diff = got.iter().zip(&exact).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            eprintln!("{kind} {storage}: {} bytes, max logit change {diff:.2e}", bytes.len());
            sizes.push((storage, bytes.len()));
            // Saving the loaded model again in the same storage changes nothing.
            let again = SpectrogramBundle::to_bytes(&loaded_header, &loaded).unwrap();
            let (_, reloaded) = load(&again).unwrap();
            assert_eq!(floats(reloaded.forward(x.clone())), got, "{storage} is stable");
        }
    }
    // The default CNN: f16 about halves the bundle, int8 about quarters it.
    let [(_, f32_len), (_, f16_len), (_, int8_len)] = sizes[..3] else { unreachable!() };
    assert!(f16_len * 10 < f32_len * 6, "{f16_len} vs {f32_len}");
    assert!(int8_len * 10 < f32_len * 4, "{int8_len} vs {f32_len}");
}

#[test]
fn bundle_stored_weights_stay_within_the_storage_error_bound() {
    let device = Device::flex();
    let header = header_for(ArchitectureConfig::cnn_default());
    let model = model_for(&header, &device);
    let original = params_of(&model);
    for storage in
        [WeightStorage::F16, WeightStorage::Int8, WeightStorage::Int6, WeightStorage::Int5]
    {
        let header = SpectrogramHeader { weight_storage: storage, ..header.clone() };
        let (_, loaded) = load(&SpectrogramBundle::to_bytes(&header, &model).unwrap()).unwrap();
        let loaded = params_of(&loaded);
        assert_eq!(loaded.len(), original.len());
        let mut compacted = 0;
        for ((name, shape, a), (name_b, _, b)) in original.iter().zip(&loaded) {
            assert_eq!(name, name_b);
            if shape.len() < 2 {
                assert_eq!(a, b, "{storage}: vector {name} stays f32");
                continue;
            }
            compacted += 1;
            let max_abs = a.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (x, y) in a.iter().zip(b) {
                let bound = match storage {
                    // Nearest f16: half a unit in the 11th significant bit (plus subnormals).
                    WeightStorage::F16 => x.abs() * 2f32.powi(-11) + 2f32.powi(-25),
                    // Half a quantisation step of the channel, at most max|w| / (2 levels).
                    _ => {
                        let levels = f32::from(storage.int_levels().unwrap());
                        max_abs / (2.0 * levels) * (1.0 + 1e-5)
                    }
                };
                assert!((x - y).abs() <= bound, "{storage} {name}: {x} -> {y}");
            }
            if storage != WeightStorage::F16 {
                assert_ne!(a, b, "{name} is quantised");
            }
        }
        assert!(compacted >= 6, "{compacted}");
    }
}

#[test]
fn bundle_int8_weights_are_stored_as_bytes_and_scales() {
    let (bytes, _) = small_bundle_as(WeightStorage::Int8);
    let tensors = tensors_of(&bytes);
    let find = |name: &str| tensors.iter().find(|t| t.name == name).unwrap();
    let conv = find("network.Cnn.blocks.1.conv.weight");
    assert_eq!((conv.dtype, conv.shape.as_slice()), (DType::I8, &[8usize, 4, 3, 3][..]));
    let scale = find("network.Cnn.blocks.1.conv.weight:scale");
    assert_eq!((scale.dtype, scale.shape.as_slice()), (DType::F32, &[8usize, 1, 1, 1][..]));
    let dense_scale = find("network.Cnn.head.weight:scale");
    assert_eq!(dense_scale.shape.as_slice(), &[1usize, 10]);
    assert_eq!(find("network.Cnn.head.bias").dtype, DType::F32);
    let (f16_bytes, _) = small_bundle_as(WeightStorage::F16);
    assert_eq!(
        tensors_of(&f16_bytes).iter().find(|t| t.name == "network.Cnn.head.weight").unwrap().dtype,
        DType::F16
    );
}

/// A bundle written by the format v1 code (before weight storage existed): the small test
/// CNN, untrained, and the logits that code computed for `fixed_input(1)`.
fn v1_fixture() -> (Vec<u8>, Vec<f32>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bundle");
    let bytes = std::fs::read(dir.join("v1-small-cnn.gscope")).unwrap();
    let logits =
        serde_json::from_slice(&std::fs::read(dir.join("v1-small-cnn.logits.json")).unwrap())
            .unwrap();
    (bytes, logits)
}

#[test]
fn bundle_format_v1_still_loads() {
    let (bytes, logits) = v1_fixture();
    assert_eq!(&bytes[8..12], &1u32.to_le_bytes());
    assert!(!String::from_utf8_lossy(&bytes).contains("weight_storage"));
    let (header, model) = load(&bytes).unwrap();
    assert_eq!(header.weight_storage, WeightStorage::F32);
    assert_eq!(header.architecture, small_arch());
    assert_eq!(SpectrogramBundle::read_header(&bytes).unwrap(), header);
    let device = Device::flex();
    assert_eq!(floats(model.forward(fixed_input(1, &device))), logits);

    // Re-saved, it is a current (v3) bundle with the same weights.
    let v2 = SpectrogramBundle::to_bytes(&header, &model).unwrap();
    assert_eq!(&v2[8..12], &FORMAT_VERSION.to_le_bytes());
    assert_eq!(floats(load(&v2).unwrap().1.forward(fixed_input(1, &device))), logits);

    // A v1 header cannot declare a compact storage (v1 had none).
    let mut v1_int8 = with_header(&bytes, |v| v["weight_storage"] = json!("int8"));
    v1_int8[8..12].copy_from_slice(&1u32.to_le_bytes());
    reseal(&mut v1_int8);
    let err = load_err(&v1_int8);
    assert!(
        matches!(&err, BundleError::InvalidHeaderField { field: "weight_storage", message } if message.contains("v1")),
        "{err:?}"
    );
    assert_eq!(SpectrogramBundle::read_header(&v1_int8).unwrap_err(), err);
}

#[test]
fn bundle_v2_and_v3_kinds() {
    // A v2 bundle (no `kind`) is a spectrogram model, and so is a v3 one without `kind`.
    let (bytes, header) = small_bundle();
    let mut v2 = bytes.clone();
    v2[8..12].copy_from_slice(&2u32.to_le_bytes());
    reseal(&mut v2);
    assert_eq!(Header::read(&v2).unwrap().kind(), ModelKind::Spectrogram);
    assert_eq!(load(&v2).unwrap().0, header);
    let explicit = with_header(&bytes, |v| v["kind"] = json!("spectrogram"));
    assert_eq!(load(&explicit).unwrap().0, header);
    // A v2 bundle cannot declare another kind; an unknown kind is named.
    let mut v2_table = with_header(&bytes, |v| v["kind"] = json!("table"));
    v2_table[8..12].copy_from_slice(&2u32.to_le_bytes());
    reseal(&mut v2_table);
    assert!(matches!(load_err(&v2_table), BundleError::InvalidHeaderField { field: "kind", .. }));
    let unknown = with_header(&bytes, |v| v["kind"] = json!("hologram"));
    assert!(
        matches!(load_err(&unknown), BundleError::InvalidHeaderField { field: "kind", message } if message.contains("hologram"))
    );
    // A v3 table header handed to the spectrogram loader says what it is.
    let table = with_header(&bytes, |v| v["kind"] = json!("table"));
    assert_eq!(
        load_err(&table),
        BundleError::WrongKind { expected: ModelKind::Spectrogram, found: ModelKind::Table }
    );
    assert_eq!(
        load_err(&table).to_string(),
        "this bundle holds a table model, not a spectrogram model"
    );
}

#[test]
fn bundle_error_unknown_weight_storage() {
    let (bytes, _) = small_bundle();
    let bundle = with_header(&bytes, |v| v["weight_storage"] = json!("fp8"));
    match load_err(&bundle) {
        BundleError::InvalidHeaderField { field: "weight_storage", message } => {
            assert!(message.contains("fp8"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bundle_error_storage_and_stored_types_disagree() {
    // int8 tensors under a header that says f16, f16 tensors under one that says f32.
    for (storage, header_says, found) in
        [(WeightStorage::Int8, "f16", "I8"), (WeightStorage::F16, "f32", "F16")]
    {
        let (bytes, _) = small_bundle_as(storage);
        let bundle = with_header(&bytes, |v| v["weight_storage"] = json!(header_says));
        match load_err(&bundle) {
            BundleError::WeightDType { found: f, storage: s, .. } => {
                assert_eq!((f.as_str(), s.name()), (found, header_says))
            }
            other => panic!("{storage}: {other:?}"),
        }
    }
    // Scales under an f32 header are tensors the architecture does not have.
    let (bytes, _) = small_bundle_as(WeightStorage::Int8);
    let bundle = with_header(&bytes, |v| v["weight_storage"] = json!("f32"));
    assert!(matches!(
        load_err(&bundle),
        BundleError::WeightDType { .. } | BundleError::UnexpectedWeight { .. }
    ));
}

#[test]
fn bundle_error_int_values_beyond_the_storage_levels() {
    // An int6 bundle stores its levels as int8 bytes: a byte beyond ±31 is refused by name.
    let (bytes, _) = small_bundle_as(WeightStorage::Int6);
    let target = "network.Cnn.blocks.0.conv.weight";
    let values = |t: &burn_pack::Tensor| t.to_bytes().unwrap().iter().map(|b| *b as i8).collect();
    let stored: Vec<i8> = values(tensors_of(&bytes).iter().find(|t| t.name == target).unwrap());
    assert_eq!(stored.iter().map(|v| v.unsigned_abs()).max(), Some(31));
    let bundle = map_tensors(&bytes, |t| {
        if t.name != target {
            return vec![t];
        }
        let mut data = t.to_bytes().unwrap().to_vec();
        data[3] = 40;
        let shape = t.shape.as_slice().to_vec();
        vec![burn_pack::Tensor::new(t.name, DType::I8, shape, None, Bytes::from_bytes_vec(data))]
    });
    match load_err(&bundle) {
        BundleError::InvalidQuantisation { parameter, message } => {
            assert_eq!(parameter, target);
            assert_eq!(message, "value 3 is 40, beyond int6's range of ±31");
        }
        other => panic!("{other:?}"),
    }
    // The same byte is within int8's levels.
    let as_int8 = with_header(&bundle, |v| v["weight_storage"] = json!("int8"));
    assert!(load(&as_int8).is_ok());
}

#[test]
fn bundle_weight_levels_are_stored_checked_and_named() {
    // One matrix at 15 levels under int8 storage: stored within ±15, loaded as that rounding,
    // and a header or bytes that break the rule are refused by name.
    let (header, model) = small_bundle_model();
    let target = "network.Cnn.blocks.0.conv.weight";
    let levels = BTreeMap::from([(target.to_string(), 15u8)]);
    let header = SpectrogramHeader {
        weight_storage: WeightStorage::Int8,
        weight_levels: levels.clone(),
        ..header
    };
    let bytes = SpectrogramBundle::to_bytes(&header, &model).unwrap();
    let stored = tensors_of(&bytes);
    let q = |name: &str| -> Vec<i8> {
        let t = stored.iter().find(|t| t.name == name).unwrap();
        t.to_bytes().unwrap().iter().map(|b| *b as i8).collect()
    };
    assert_eq!(q(target).iter().map(|v| v.unsigned_abs()).max(), Some(15));
    assert_eq!(
        q("network.Cnn.blocks.1.conv.weight").iter().map(|v| v.unsigned_abs()).max(),
        Some(127)
    );
    let (loaded_header, loaded) = load(&bytes).unwrap();
    assert_eq!(loaded_header.weight_levels, levels);
    let expected = rounded_with_levels(&model, WeightStorage::Int8, &levels).unwrap();
    assert_eq!(params_of(&loaded), params_of(&expected));

    let invalid = |edit: &dyn Fn(&mut Value)| match load_err(&with_header(&bytes, edit)) {
        BundleError::InvalidHeaderField { field: "weight_levels", message } => message,
        other => panic!("{other:?}"),
    };
    let message = invalid(&|v| v["weight_storage"] = json!("f16"));
    assert!(message.contains("f16 weights have none"), "{message}");
    let message = invalid(&|v| v["weight_levels"][target] = json!(0));
    assert!(message.contains("0 levels; int8 allows 1 to 127"), "{message}");
    let message = invalid(&|v| v["weight_levels"]["network.Cnn.nothing"] = json!(3));
    assert!(message.contains("`network.Cnn.nothing` is not a weight matrix"), "{message}");
    // Fewer levels in the header than the bytes hold: the value beyond them is named.
    match load_err(&with_header(&bytes, |v: &mut Value| v["weight_levels"][target] = json!(7))) {
        BundleError::InvalidQuantisation { parameter, message } => {
            assert_eq!(parameter, target);
            assert!(message.contains("beyond its weight_levels range of ±7"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Writing refuses a name the model does not have.
    let header = SpectrogramHeader {
        weight_levels: BTreeMap::from([("network.Cnn.nothing".to_string(), 3u8)]),
        ..header
    };
    assert!(matches!(
        SpectrogramBundle::to_bytes(&header, &model),
        Err(BundleError::InvalidHeaderField { field: "weight_levels", .. })
    ));
}

#[test]
fn bundle_error_bad_int8_scales() {
    let (bytes, _) = small_bundle_as(WeightStorage::Int8);
    let target = "network.Cnn.blocks.0.conv.weight:scale";
    let edit = |f: &dyn Fn(burn_pack::Tensor) -> Vec<burn_pack::Tensor>| {
        map_tensors(&bytes, |t| if t.name == target { f(t) } else { vec![t] })
    };
    let rebuilt = |t: burn_pack::Tensor, dtype: DType, shape: Vec<usize>, data: Vec<u8>| {
        burn_pack::Tensor::new(t.name, dtype, shape, None, Bytes::from_bytes_vec(data))
    };

    // The scales are missing.
    assert_eq!(
        load_err(&edit(&|_| vec![])),
        BundleError::MissingWeight { parameter: target.into() }
    );
    // A NaN or negative scale, or scales of the wrong shape.
    let nan = edit(&|t| {
        let mut v = f32s(&t.to_bytes().unwrap());
        v[2] = f32::NAN;
        let shape = t.shape.as_slice().to_vec();
        vec![rebuilt(t, DType::F32, shape, v.iter().flat_map(|x| x.to_le_bytes()).collect())]
    });
    let negative = edit(&|t| {
        let mut v = f32s(&t.to_bytes().unwrap());
        v[0] = -0.5;
        let shape = t.shape.as_slice().to_vec();
        vec![rebuilt(t, DType::F32, shape, v.iter().flat_map(|x| x.to_le_bytes()).collect())]
    });
    let wrong_shape = edit(&|t| {
        let v = f32s(&t.to_bytes().unwrap());
        vec![rebuilt(
            t,
            DType::F32,
            vec![1, v.len(), 1, 1],
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        )]
    });
    for (bundle, needle) in [(nan, "NaN"), (negative, "-0.5"), (wrong_shape, "does not fit")] {
        match load_err(&bundle) {
            BundleError::InvalidQuantisation { parameter, message } => {
                assert_eq!(parameter, "network.Cnn.blocks.0.conv.weight");
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    // Scales stored as f16.
    let halves = edit(&|t| {
        let v = f32s(&t.to_bytes().unwrap());
        let shape = t.shape.as_slice().to_vec();
        let data = v.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect();
        vec![rebuilt(t, DType::F16, shape, data)]
    });
    assert!(
        matches!(load_err(&halves), BundleError::WeightDType { parameter, .. } if parameter == target)
    );
    // Scales of a weight that does not exist.
    let extra = map_tensors(&bytes, |t| {
        if t.name != target {
            return vec![t];
        }
        let stray = burn_pack::Tensor::new(
            "network.Cnn.extra:scale".into(),
            DType::F32,
            vec![1],
            None,
            Bytes::from_bytes_vec(1f32.to_le_bytes().to_vec()),
        );
        vec![t, stray]
    });
    assert_eq!(
        load_err(&extra),
        BundleError::UnexpectedWeight { parameter: "network.Cnn.extra:scale".into() }
    );
}

#[test]
fn bundle_error_non_finite_f16_weight() {
    let (bytes, _) = small_bundle_as(WeightStorage::F16);
    let bundle = map_tensors(&bytes, |t| {
        if t.name != "network.Cnn.head.weight" {
            return vec![t];
        }
        let (name, dtype, shape, id, data) = t.into_parts().unwrap();
        let mut data = data.to_vec();
        data[10..12].copy_from_slice(&half::f16::INFINITY.to_le_bytes());
        vec![burn_pack::Tensor::new(name, dtype, shape, id, Bytes::from_bytes_vec(data))]
    });
    assert_eq!(
        load_err(&bundle),
        BundleError::NonFiniteWeight { parameter: "network.Cnn.head.weight".into(), index: 5 }
    );
}

#[test]
fn bundle_f16_refuses_weights_beyond_its_range() {
    let (header, model) = small_bundle_model();
    let bytes = SpectrogramBundle::to_bytes(&header, &model).unwrap();
    let big = map_tensors(&bytes, |t| {
        if t.name != "network.Cnn.head.weight" {
            return vec![t];
        }
        let (name, dtype, shape, id, data) = t.into_parts().unwrap();
        let mut data = data.to_vec();
        data[0..4].copy_from_slice(&1e6f32.to_le_bytes());
        vec![burn_pack::Tensor::new(name, dtype, shape, id, Bytes::from_bytes_vec(data))]
    });
    let (_, huge) = load(&big).unwrap();
    let header = SpectrogramHeader { weight_storage: WeightStorage::F16, ..header };
    match SpectrogramBundle::to_bytes(&header, &huge).unwrap_err() {
        BundleError::Serialise(m) => {
            assert!(m.contains("network.Cnn.head.weight") && m.contains("f16"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // int8 takes it (its scale follows the channel's largest weight).
    let header = SpectrogramHeader { weight_storage: WeightStorage::Int8, ..header };
    assert!(load(&SpectrogramBundle::to_bytes(&header, &huge).unwrap()).is_ok());
}

#[test]
fn bundle_compact_storage_truncated_or_corrupt_never_panics() {
    for storage in [WeightStorage::F16, WeightStorage::Int8] {
        let (bytes, _) = small_bundle_as(storage);
        let (h, w) = (split(&bytes).0.len(), split(&bytes).1.len());
        for cut in (0..bytes.len()).step_by(61).chain([24 + h + w / 2, bytes.len() - 1]) {
            assert!(load(&bytes[..cut]).is_err(), "{storage} cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[24 + h + w / 2] ^= 0x40;
        assert!(matches!(load_err(&flipped), BundleError::ChecksumMismatch { .. }));
        // Random changes to the weights, resealed, so the weight checks are what catch them.
        let mut rng = Lcg(storage as u64 + 11);
        let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
        for _ in 0..150 {
            let mut corrupt = bytes.clone();
            for _ in 0..1 + rng.below(4) {
                let pos = 24 + h + rng.below(w);
                corrupt[pos] = rng.below(256) as u8;
            }
            reseal(&mut corrupt);
            let outcome = match load(&corrupt) {
                Ok(_) => "loaded".to_string(),
                Err(e) => format!("{e:?}").split(['(', ' ', '{']).next().unwrap().to_string(),
            };
            *outcomes.entry(outcome).or_default() += 1;
        }
        eprintln!("{storage} corruption outcomes: {outcomes:?}");
        assert!(outcomes.len() > 1, "{outcomes:?}");
    }
}
