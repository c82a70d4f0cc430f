//! Table-model and fusion bundles: round trips through the engine's loader, the fused
//! result against its members', members left out of short input, and every load error.

mod common;

use burn::tensor::Device;
use genrescope::bundle::{
    BundleError, DescriptorInput, FusionBundle, Header, MemberBundle, ModelKind, Provenance,
    SpectrogramBundle, TableBundle, TableHeader, WeightStorage,
};
use genrescope::classify::{
    ClassifyError, Ensemble, MemberPart, PartPlan, PatchSelection, RunContext, TableModel,
};
use genrescope::descriptors::{column_names, describe, DescriptorWindowing, SAMPLE_RATE};
use genrescope::model::table::{TableArchitecture, TableNet};
use genrescope::FeatureConfig;

const LABELS: [&str; 3] = ["jazz", "metal", "pop"];

fn labels() -> Vec<String> {
    LABELS.iter().map(|s| s.to_string()).collect()
}

fn provenance() -> Provenance {
    Provenance { data: "unit test".into(), ..Provenance::default() }
}

/// A table bundle reading five descriptors, with 10 s windows so that test signals stay short.
fn table_bundle(storage: WeightStorage) -> Vec<u8> {
    let columns: Vec<String> =
        ["rms_mean", "spectral_centroid_mean", "zero_crossing_rate_mean", "tempo", "mfcc2_mean"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let header = TableHeader {
        labels: labels(),
        descriptors: DescriptorInput {
            sample_rate: SAMPLE_RATE,
            windowing: DescriptorWindowing { window_seconds: 10.0, hop_seconds: 5.0 },
            max_windows: Some(2),
            min_seconds: 5.0,
            mean: vec![0.1, 2000.0, 0.1, 120.0, 50.0],
            std: vec![0.05, 800.0, 0.05, 30.0, 20.0],
            columns,
        },
        architecture: TableArchitecture::Mlp { hidden: vec![8], dropout: 0.0 },
        weight_storage: storage,
        provenance: provenance(),
        calibration: None,
    };
    let net = TableNet::new(&header.architecture, 5, 3, &Device::flex()).unwrap();
    TableBundle::to_bytes(&header, &net).unwrap()
}

fn cnn_bundle() -> Vec<u8> {
    common::tiny_cnn_bundle(labels())
}

fn fusion(members: Vec<(&str, f64, Vec<u8>)>) -> Result<Vec<u8>, BundleError> {
    let members: Vec<MemberBundle> = members
        .into_iter()
        .map(|(name, weight, bytes)| MemberBundle {
            name: name.into(),
            weight,
            bytes,
            detach: None,
        })
        .collect();
    FusionBundle::to_bytes(&labels(), provenance(), None, &members)
}

/// `seconds` of a tone with harmonics, a pulse and some noise at 22050 Hz.
fn music(seconds: f64) -> Vec<f32> {
    let n = (seconds * SAMPLE_RATE as f64) as usize;
    let mut state = 7u32;
    (0..n)
        .map(|i| {
            let t = i as f32 / SAMPLE_RATE as f32;
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let beat = if (t * 2.0).fract() < 0.05 { 0.5 } else { 0.0 };
            0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                + 0.1 * (2.0 * std::f32::consts::PI * 660.0 * t).sin()
                + beat * noise
                + 0.02 * noise
        })
        .collect()
}

#[test]
fn table_bundle_round_trips_and_standardises_named_columns() {
    for storage in [WeightStorage::F32, WeightStorage::Int8] {
        let bytes = table_bundle(storage);
        assert_eq!(Header::read(&bytes).unwrap().kind(), ModelKind::Table);
        let classifier = TableModel::from_bundle(&bytes).unwrap();
        // 12 s is within half a hop of one 10 s window: described whole.
        assert_eq!(classifier.features(&music(12.0)).unwrap().spans, vec![0..264_600]);
        let signal = music(14.0);
        let features = classifier.features(&signal).unwrap();
        // 14 s with 10 s windows every 5 s: windows at 0 and 4 s (the last aligned to the end).
        assert_eq!(features.spans, vec![0..220_500, 88_200..308_700]);
        // The first vector is the named columns of `describe`, standardised.
        let all = describe(&signal[0..220_500], SAMPLE_RATE).unwrap();
        let names = column_names();
        let input = &classifier.header().descriptors;
        for (i, name) in input.columns.iter().enumerate() {
            let c = names.iter().position(|n| n == name).unwrap();
            let want = ((all[c] - input.mean[i]) / input.std[i]) as f32;
            assert!(
                (features.vectors[i] - want).abs() < 1e-6,
                "{name}: {} vs {want}",
                features.vectors[i]
            );
        }
        let result = classifier.infer(&features).unwrap();
        assert_eq!(result.windows.len(), 2);
        assert!((result.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn fused_result_is_the_weighted_mean_and_short_input_skips_the_table_member() {
    let (cnn, table) = (cnn_bundle(), table_bundle(WeightStorage::F32));
    let bytes = fusion(vec![("cnn", 0.25, cnn.clone()), ("table", 0.75, table.clone())]).unwrap();
    let fused = Ensemble::from_bundle(&bytes, &Device::flex()).unwrap();
    assert_eq!(fused.kind(), ModelKind::Fusion);
    assert_eq!(fused.info().members[1].min_seconds, 5.0);
    let alone_cnn = Ensemble::from_bundle(&cnn, &Device::flex()).unwrap();
    let alone_table = Ensemble::from_bundle(&table, &Device::flex()).unwrap();

    let signal = music(8.0);
    let got = fused.classify_mono(&signal, SAMPLE_RATE).unwrap();
    let a = alone_cnn.classify_mono(&signal, SAMPLE_RATE).unwrap();
    let b = alone_table.classify_mono(&signal, SAMPLE_RATE).unwrap();
    for c in 0..3 {
        let want = 0.25 * a.probabilities[c] + 0.75 * b.probabilities[c];
        assert!(
            (got.probabilities[c] - want).abs() < 1e-6,
            "label {c}: {} vs {want}",
            got.probabilities[c]
        );
    }
    assert_eq!(got.windows, a.windows, "the fused timeline is the first member's");
    assert_eq!(got.members.len(), 2);
    assert_eq!((got.members[0].weight, got.members[1].weight), (0.25, 0.75));
    assert_eq!(got.members[1].probabilities, b.probabilities);
    assert_eq!(got.ranking[0].probability, got.probabilities.iter().cloned().fold(0.0, f32::max));

    // 3 s (live mode): the table member needs 5 s, so only the CNN counts, with weight 1.
    let short = music(3.0);
    let got = fused.classify_mono(&short, 44_100).unwrap();
    let cnn_only = alone_cnn.classify_mono(&short, 44_100).unwrap();
    assert_eq!(got.probabilities, cnn_only.probabilities);
    assert_eq!(got.members[0].weight, 1.0);
    assert!(
        got.members[1].skipped.as_deref().unwrap().contains("at least 5 s"),
        "{:?}",
        got.members[1].skipped
    );
    assert!(fused.applies_to_seconds(3.0));

    // A fusion of the table member alone cannot classify 3 s, and says why.
    let table_only =
        Ensemble::from_bundle(&fusion(vec![("table", 1.0, table)]).unwrap(), &Device::flex())
            .unwrap();
    assert!(!table_only.applies_to_seconds(3.0));
    match table_only.classify_mono(&short, 44_100) {
        Err(ClassifyError::NoMemberApplies(reason)) => {
            assert!(reason.contains("`table`: it needs at least 5 s"), "{reason}")
        }
        other => panic!("expected NoMemberApplies, got {other:?}"),
    }
}

#[test]
fn a_table_model_alone_answers_a_first_answer_plan_itself() {
    // The page's first answer leaves whole-track members for later; with no spectrogram
    // member there is nothing else to answer, so the table runs at once and the answer is
    // complete; there is no preview to make.
    let table = Ensemble::from_bundle(&table_bundle(WeightStorage::F32), &Device::flex()).unwrap();
    let signal = music(8.0);
    let prepared = table.prepare(&signal, SAMPLE_RATE).unwrap();
    let plan =
        PartPlan { patches: PatchSelection::Spread { count: 3 }, whole_track_members: false };
    let part = table.analyse(&prepared, plan, &mut RunContext::default()).unwrap();
    let first = table.merge(&[part]).unwrap();
    assert!(first.coverage.complete);
    assert_eq!(first, table.classify_mono(&signal, SAMPLE_RATE).unwrap());
    assert_eq!(table.preview(&signal, SAMPLE_RATE, 3, &mut RunContext::default()).unwrap(), None);
}

#[test]
fn the_primary_member_is_the_first_spectrogram_one() {
    let (cnn, table) = (cnn_bundle(), table_bundle(WeightStorage::F32));
    let bytes = fusion(vec![("table", 0.5, table.clone()), ("cnn", 0.5, cnn.clone())]).unwrap();
    let fused = Ensemble::from_bundle(&bytes, &Device::flex()).unwrap();
    // Its windows set the info's window and hop; the table member's 10 s do not.
    let info = fused.info();
    assert_eq!((info.window_seconds, info.hop_seconds), (3.0, 1.5));
    assert_eq!(info.members[0].window_seconds, 10.0);
    assert_eq!(info.min_seconds, 0.0);
    // Its log-Mel is the Mel image, and its windows the timeline, though it comes second.
    let signal = music(12.0);
    let mut ctx = RunContext::default().with_mel_image(64);
    let got = fused.run(&fused.prepare(&signal, SAMPLE_RATE).unwrap(), &mut ctx).unwrap();
    let mel = ctx.mel_image.expect("a Mel image");
    assert_eq!(mel.bands, FeatureConfig::gtzan_default().n_mels);
    let alone = Ensemble::from_bundle(&cnn, &Device::flex()).unwrap();
    assert_eq!(got.windows, alone.classify_mono(&signal, SAMPLE_RATE).unwrap().windows);
    // A table model alone has no Mel image.
    let table_only = Ensemble::from_bundle(&table, &Device::flex()).unwrap();
    let mut ctx = RunContext::default().with_mel_image(64);
    table_only.run(&table_only.prepare(&signal, SAMPLE_RATE).unwrap(), &mut ctx).unwrap();
    assert!(ctx.mel_image.is_none());
}

#[test]
fn every_fusion_error_is_named() {
    let (cnn, table) = (cnn_bundle(), table_bundle(WeightStorage::F32));
    let msg = |r: Result<Vec<u8>, BundleError>| r.unwrap_err().to_string();
    assert!(msg(fusion(vec![])).contains("1 to 16 members"));
    assert!(msg(fusion(vec![("a", 0.5, cnn.clone()), ("a", 0.5, table.clone())]))
        .contains("two members are named `a`"));
    assert!(msg(fusion(vec![("a", -1.0, cnn.clone())])).contains("weights must be finite and >= 0"));
    assert!(msg(fusion(vec![("a", f64::NAN, cnn.clone())])).contains("weights must be finite"));
    assert!(msg(fusion(vec![("a", 0.0, cnn.clone())])).contains("every fusion weight is 0"));
    let nested = fusion(vec![("a", 1.0, cnn.clone())]).unwrap();
    assert!(msg(fusion(vec![("n", 1.0, nested)])).contains("fusions do not nest"));
    assert!(msg(fusion(vec![("junk", 1.0, b"not a bundle".to_vec())]))
        .contains("fusion member `junk`: not a Genrescope model bundle"));

    // Members with other labels.
    let other = common::tiny_cnn_bundle(vec!["a".into(), "b".into(), "c".into()]);
    assert!(msg(fusion(vec![("x", 1.0, other)]))
        .contains("member `x` has the labels [a, b, c], the fusion [jazz, metal, pop]"));

    // A damaged member inside a well-framed fusion: its own checksum catches it.
    let good = fusion(vec![("cnn", 0.5, cnn.clone()), ("table", 0.5, table.clone())]).unwrap();
    let (header, parts) = FusionBundle::from_bytes(&good).unwrap();
    assert_eq!(header.members[1].bytes as usize, table.len());
    assert_eq!(parts[0], &cnn[..]);
    let mut damaged_member = table.clone();
    let middle = damaged_member.len() / 2;
    damaged_member[middle] ^= 0x40;
    let reframed = genrescope::bundle::format::write(
        &header.to_json().unwrap(),
        &[cnn.clone(), damaged_member].concat(),
    )
    .unwrap();
    let err = Ensemble::from_bundle(&reframed, &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("fusion member `table`") && err.contains("checksum"), "{err}");

    // Member lengths that do not add up to the section.
    let mut bad_header = header.clone();
    bad_header.members[0].bytes += 1;
    let reframed = genrescope::bundle::format::write(
        &bad_header.to_json().unwrap(),
        &[cnn.clone(), table.clone()].concat(),
    )
    .unwrap();
    assert!(FusionBundle::from_bytes(&reframed).unwrap_err().to_string().contains("add up to"));

    // The single-model loader says what the bundle is.
    let device = Device::flex();
    assert_eq!(
        SpectrogramBundle::from_bytes(&good, &device).err().unwrap(),
        BundleError::WrongKind { expected: ModelKind::Spectrogram, found: ModelKind::Fusion }
    );
    assert!(TableBundle::from_bytes(&cnn, &device)
        .err()
        .unwrap()
        .to_string()
        .contains("holds a spectrogram model, not a table model"));
    // Truncation anywhere is named.
    assert!(Ensemble::from_bundle(&good[..good.len() - 10], &device)
        .err()
        .unwrap()
        .to_string()
        .contains("truncated"));
}

#[test]
fn table_header_errors_are_named() {
    let bytes = table_bundle(WeightStorage::F32);
    let sections = genrescope::bundle::format::read(&bytes).unwrap();
    let header = TableHeader::from_json_version(sections.header, sections.version).unwrap();
    let rewrite = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut value: serde_json::Value = serde_json::from_slice(sections.header).unwrap();
        edit(&mut value);
        TableHeader::from_json_version(&serde_json::to_vec(&value).unwrap(), 3)
            .unwrap_err()
            .to_string()
    };
    assert!(rewrite(&|v| v["descriptors"]["columns"][0] = "loudness".into())
        .contains("unknown descriptor column `loudness`"));
    assert!(
        rewrite(&|v| v["descriptors"]["columns"][1] = "rms_mean".into()).contains("listed twice")
    );
    assert!(rewrite(&|v| v["descriptors"]["std"][2] = 0.0.into())
        .contains("standard deviation of `zero_crossing_rate_mean`"));
    assert!(
        rewrite(&|v| v["descriptors"]["sample_rate"] = 44100.into()).contains("must be 22050 Hz")
    );
    assert!(rewrite(&|v| v["descriptors"]["max_windows"] = 0.into()).contains("max_windows"));
    assert!(rewrite(&|v| v["descriptors"]["mean"] = serde_json::json!([1.0]))
        .contains("mean has 1 values for 5 columns"));
    assert!(rewrite(&|v| v["descriptors"]["windowing"]["hop_seconds"] = (-1.0).into())
        .contains("window and hop"));
    assert!(rewrite(&|v| {
        v.as_object_mut().unwrap().remove("descriptors");
    })
    .contains("no `descriptors` field"));
    // A v2 bundle cannot declare a table model.
    let err = TableHeader::from_json_version(sections.header, 2).unwrap_err().to_string();
    assert!(err.contains("v2 bundle holds a spectrogram model only"), "{err}");
    assert_eq!(header.descriptors.columns.len(), 5);
    // A network of another shape is refused when writing.
    let wrong = TableNet::new(&header.architecture, 6, 3, &Device::flex()).unwrap();
    assert!(TableBundle::to_bytes(&header, &wrong)
        .unwrap_err()
        .to_string()
        .contains("cannot save"));
}

/// A fusion of the tiny CNN and the five-descriptor table model, equal weights.
fn cnn_and_table() -> Ensemble {
    let members =
        vec![("cnn", 0.5, cnn_bundle()), ("table", 0.5, table_bundle(WeightStorage::F32))];
    Ensemble::from_bundle(&fusion(members).unwrap(), &Device::flex()).unwrap()
}

#[test]
fn table_members_take_their_descriptors_from_a_given_describer() {
    // The browser's CPU engine has no descriptor code: the page's descriptor module computes
    // the numbers through a describer. Given `describe` itself, the result is the same; what
    // a describer gets wrong fails the run and says why.
    let model = cnn_and_table();
    let signal = music(14.0);
    let prepared = model.prepare(&signal, SAMPLE_RATE).unwrap();
    let here = model.run(&prepared, &mut RunContext::default()).unwrap();

    let calls = std::cell::Cell::new(0);
    let forwarded = |samples: &[f32], rate: u32| {
        calls.set(calls.get() + 1);
        describe(samples, rate).map_err(|e| e.to_string())
    };
    let mut ctx = RunContext::default().with_describer(&forwarded);
    assert_eq!(model.run(&prepared, &mut ctx).unwrap(), here);
    assert_eq!(calls.get(), 2, "one call per descriptor window");

    let failing = |_: &[f32], _: u32| Err("the module did not load".to_string());
    let too_few = |_: &[f32], _: u32| Ok(vec![0.0; 56]);
    let not_finite = |_: &[f32], _: u32| Ok(vec![f64::NAN; column_names().len()]);
    let cases: [(&genrescope::classify::Describer<'_>, &str); 3] = [
        (&failing, "the module did not load"),
        (&too_few, "56 values came back for one window, 57 were expected"),
        (&not_finite, "value 0 of the window's descriptors is not finite"),
    ];
    // A table model alone has nothing else to answer with: the run fails and says why.
    let table_alone =
        Ensemble::from_bundle(&table_bundle(WeightStorage::F32), &Device::flex()).unwrap();
    let alone = table_alone.prepare(&signal, SAMPLE_RATE).unwrap();
    // Beside a network, the table member fails alone: the network's answer stays, the member
    // is left out with the reason and the result is not complete.
    for (describer, why) in cases {
        match table_alone.run(&alone, &mut RunContext::default().with_describer(describer)) {
            Err(ClassifyError::DescriptorSource(message)) => assert_eq!(message, why),
            other => panic!("expected a descriptor-source error ({why}), got {other:?}"),
        }
        let fused = model.run(&prepared, &mut RunContext::default().with_describer(describer));
        let fused = fused.unwrap_or_else(|e| panic!("{why}: {e}"));
        let table = &fused.members[1];
        assert_eq!(
            table.skipped.as_deref(),
            Some(format!("its clip descriptors could not be computed: {why}").as_str())
        );
        assert_eq!(fused.members[0].probabilities, here.members[0].probabilities);
        assert_eq!(fused.windows, here.windows);
        assert!(!fused.coverage.complete, "{:?}", fused.coverage);
    }
    // A first answer leaves the table member out, so it never asks.
    let plan =
        PartPlan { patches: PatchSelection::Spread { count: 3 }, whole_track_members: false };
    let part = model.analyse(&prepared, plan, &mut RunContext::default().with_describer(&failing));
    assert!(part.is_ok(), "{part:?}");
}

#[test]
fn a_share_keeps_its_patches_when_the_table_member_fails() {
    // The page's worker shares a track; the share that also runs the table member must not
    // lose its patches when the descriptor module cannot load.
    let model = cnn_and_table();
    let prepared = model.prepare(&music(14.0), SAMPLE_RATE).unwrap();
    let failing = |_: &[f32], _: u32| Err("the module did not load".to_string());
    let share = |part: usize, parts: usize, whole_track_members: bool| PartPlan {
        patches: PatchSelection::Rest { after: 1, part, parts },
        whole_track_members,
    };
    let first =
        PartPlan { patches: PatchSelection::Spread { count: 1 }, whole_track_members: false };
    let mut ctx = RunContext::default();
    let first = model.analyse(&prepared, first, &mut ctx).unwrap();
    let other = model.analyse(&prepared, share(0, 2, false), &mut ctx).unwrap();
    let mut failed_ctx = RunContext::default().with_describer(&failing);
    let with_table = model.analyse(&prepared, share(1, 2, true), &mut failed_ctx).unwrap();
    assert!(
        matches!(&with_table.members[1], MemberPart::Failed { reason } if reason == "the module did not load"),
        "{:?}",
        with_table.members[1]
    );
    match &with_table.members[0] {
        MemberPart::Analysed { windows, .. } => assert!(!windows.is_empty(), "its patches stay"),
        other => panic!("the network ran: {other:?}"),
    }

    let merged = model.merge(&[with_table.clone(), first.clone(), other.clone()]).unwrap();
    let all = model.run(&prepared, &mut RunContext::default()).unwrap();
    assert_eq!(merged.windows, all.windows, "every patch is in the merged result");
    assert_eq!(merged.coverage.analysed, merged.coverage.total);
    assert!(!merged.coverage.complete);
    assert_eq!(
        model.failures(&[first.clone(), other.clone(), with_table.clone()]),
        vec![("table", "the module did not load")]
    );
    // A share with no patch and only the failed member gives that member's error, with the
    // code the page reports.
    // (8 windows, 1 in the first answer: the eighth of 8 shares has none.)
    let empty = model.analyse(&prepared, share(7, 8, true), &mut failed_ctx).unwrap();
    match model.merge(std::slice::from_ref(&empty)) {
        Err(ClassifyError::DescriptorSource(message)) => {
            assert_eq!(message, "the module did not load")
        }
        other => panic!("expected the member's error, got {other:?}"),
    }
    // Merged with the others, it still names the member; the descriptors once computed
    // replace the failure.
    let merged = model.merge(&[first.clone(), other.clone(), empty]).unwrap();
    assert_eq!(
        merged.members[1].skipped.as_deref(),
        Some("its clip descriptors could not be computed: the module did not load")
    );
    let table = model.analyse(&prepared, share(1, 2, true), &mut RunContext::default()).unwrap();
    let recovered = model.merge(&[first, other, with_table, table]).unwrap();
    assert!(recovered.members[1].skipped.is_none());
    assert!(model.failures(&[]).is_empty());
}

/// A fusion of `cnn` and `table`, the table member detached to `file`.
fn detached_fusion(file: &str, cnn: &[u8], table: &[u8]) -> Result<Vec<u8>, BundleError> {
    let members = vec![
        MemberBundle { name: "cnn".into(), weight: 0.25, bytes: cnn.to_vec(), detach: None },
        MemberBundle {
            name: "table".into(),
            weight: 0.75,
            bytes: table.to_vec(),
            detach: Some(file.into()),
        },
    ];
    FusionBundle::to_bytes(&labels(), provenance(), None, &members)
}

#[test]
fn a_detached_member_waits_for_its_file_then_matches_the_inline_fusion() {
    let (cnn, table) = (cnn_bundle(), table_bundle(WeightStorage::F32));
    let inline = fusion(vec![("cnn", 0.25, cnn.clone()), ("table", 0.75, table.clone())]).unwrap();
    let bytes = detached_fusion("fused.table.gscope", &cnn, &table).unwrap();
    // The fusion keeps the table member's header only, and names its file.
    let (header, parts) = FusionBundle::from_bytes(&bytes).unwrap();
    let d = header.members[1].detached.clone().unwrap();
    assert_eq!((d.file.as_str(), d.bytes), ("fused.table.gscope", table.len() as u64));
    assert_eq!(d.crc32.to_le_bytes(), table[table.len() - 4..]);
    assert_eq!(parts[0], &cnn[..]);
    assert_eq!(Header::read(parts[1]).unwrap(), Header::read(&table).unwrap());
    assert!(bytes.len() < inline.len() - 100, "{} vs {}", bytes.len(), inline.len());

    let device = Device::flex();
    let mut fused = Ensemble::from_bundle(&bytes, &device).unwrap();
    let info = fused.info();
    assert_eq!(info.members[1].weights_file.as_deref(), Some("fused.table.gscope"));
    assert_eq!(info.members[1].min_seconds, 5.0, "the info comes from the header kept inside");
    assert_eq!(info.members[0].weights_file, None);
    assert_eq!(fused.awaiting(), [("table", "fused.table.gscope")]);

    // Until it is attached, runs leave it out and say why: the CNN answers alone.
    let signal = music(8.0);
    let cnn_alone = Ensemble::from_bundle(&cnn, &device).unwrap();
    let got = fused.classify_mono(&signal, SAMPLE_RATE).unwrap();
    assert_eq!(
        got.probabilities,
        cnn_alone.classify_mono(&signal, SAMPLE_RATE).unwrap().probabilities
    );
    let reason = got.members[1].skipped.as_deref().unwrap();
    assert!(reason.contains("`fused.table.gscope`, are not loaded"), "{reason}");
    // Input too short for it is too short whether or not it is attached: said so at once.
    let short = music(3.0);
    let got = fused.classify_mono(&short, SAMPLE_RATE).unwrap();
    assert!(got.members[1].skipped.as_deref().unwrap().contains("at least 5 s"), "{got:?}");
    if let Some(part) = fused.preview(&short, SAMPLE_RATE, 2, &mut RunContext::default()).unwrap() {
        assert!(
            matches!(&part.members[1], MemberPart::Skipped { reason } if reason.contains("at least 5 s"))
        );
    }
    // A first look defers it (it may be attached before the rest of the track is analysed).
    if let Some(part) = fused.preview(&signal, SAMPLE_RATE, 2, &mut RunContext::default()).unwrap()
    {
        assert_eq!(part.members[1], MemberPart::Deferred);
    }

    // An engine still waiting merges the parts another engine analysed with the member.
    let waiting = Ensemble::from_bundle(&bytes, &device).unwrap();
    let full = Ensemble::from_bundle(&inline, &device).unwrap();
    let prepared = full.prepare(&signal, SAMPLE_RATE).unwrap();
    let part = full.analyse(&prepared, PartPlan::default(), &mut RunContext::default()).unwrap();
    assert_eq!(waiting.merge(std::slice::from_ref(&part)).unwrap(), full.merge(&[part]).unwrap());

    // Attached, the fusion gives exactly what the inline fusion gives.
    fused.attach("table", &table).unwrap();
    assert!(fused.awaiting().is_empty());
    let want = Ensemble::from_bundle(&inline, &device)
        .unwrap()
        .classify_mono(&signal, SAMPLE_RATE)
        .unwrap();
    assert_eq!(fused.classify_mono(&signal, SAMPLE_RATE).unwrap(), want);
    let again = fused.attach("table", &table).unwrap_err().to_string();
    assert!(again.contains("not waiting for its weights"), "{again}");
}

#[test]
fn attaching_the_wrong_file_is_refused_by_name() {
    let device = Device::flex();
    let (cnn, table) = (cnn_bundle(), table_bundle(WeightStorage::F32));
    let mut fused =
        Ensemble::from_bundle(&detached_fusion("t.gscope", &cnn, &table).unwrap(), &device)
            .unwrap();
    let mut attach = |name: &str, bytes: &[u8]| fused.attach(name, bytes).unwrap_err().to_string();
    // Another bundle (another length), a damaged copy, a truncated one.
    let other = attach("table", &table_bundle(WeightStorage::Int8));
    assert!(
        other.contains("fusion member `table`") && other.contains("`t.gscope` is not its file"),
        "{other}"
    );
    let mut damaged = table.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    assert!(attach("table", &damaged).contains("checksum"));
    assert!(attach("table", &table[..table.len() - 1]).contains("is not its file"));
    assert!(attach("nothing", &table).contains("no member of that name"));
    assert!(attach("cnn", &cnn).contains("not waiting for its weights"));
    // Still waiting, and still usable.
    assert_eq!(fused.awaiting(), [("table", "t.gscope")]);
    assert!(fused.classify_mono(&music(8.0), SAMPLE_RATE).is_ok());
}

#[test]
fn only_table_members_detach_to_plain_file_names_from_format_v4() {
    let msg = |r: Result<Vec<u8>, BundleError>| r.unwrap_err().to_string();
    let (cnn, table) = (cnn_bundle(), table_bundle(WeightStorage::F32));
    for bad in ["", "../model.gscope", "dir/t.gscope", ".hidden", "a b"] {
        assert!(
            msg(detached_fusion(bad, &cnn, &table)).contains("not a plain file name"),
            "{bad:?}"
        );
    }
    let cnn_detached = [MemberBundle {
        name: "cnn".into(),
        weight: 1.0,
        bytes: cnn.clone(),
        detach: Some("cnn.gscope".into()),
    }];
    assert!(msg(FusionBundle::to_bytes(&labels(), provenance(), None, &cnn_detached))
        .contains("only table members may be detached"));

    // A format v3 container cannot hold a detached member (a v3 reader would take the
    // header-only stand-in for the model).
    let mut v3 = detached_fusion("t.gscope", &cnn, &table).unwrap();
    v3[8..12].copy_from_slice(&3u32.to_le_bytes());
    let end = v3.len() - 4;
    let crc = crc32(&v3[..end]);
    v3[end..].copy_from_slice(&crc.to_le_bytes());
    let err = FusionBundle::from_bytes(&v3).unwrap_err().to_string();
    assert!(err.contains("format v3 does not allow"), "{err}");
}

/// CRC-32 (IEEE, as zlib), bit by bit: to re-frame a bundle as another format version.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
