//! Whole-track analysis in parts (what the page's workers share): a first answer from a few
//! evenly spread patches, the rest dealt out in shares, merged in any order, gives the same
//! result as one run over every patch (what `trainer classify` does), with the shipped
//! default model (MusiCNN + descriptor table) on real music.

mod common;

use burn::tensor::Device;
use genrescope::audio::{decode, DecodeLimits};
use genrescope::bundle::ModelKind;
use genrescope::classify::{
    max_abs_diff, Classification, Ensemble, MemberPart, PartPlan, PatchSelection, RunContext,
    TrackPart,
};

const MODEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/models/default");

/// The shipped default model as it loads, its table member waiting for the file beside it.
fn waiting_model() -> Ensemble {
    let bytes = std::fs::read(format!("{MODEL_DIR}/model.gscope")).unwrap();
    Ensemble::from_bundle(&bytes, &Device::flex()).unwrap()
}

/// The shipped default model, its table member attached, with every patch analysed (the
/// CLI's default).
fn default_model() -> Ensemble {
    let mut model = waiting_model();
    assert_eq!(model.awaiting(), [("table", "model.table.gscope")]);
    model
        .attach("table", &std::fs::read(format!("{MODEL_DIR}/model.table.gscope")).unwrap())
        .unwrap();
    model.set_max_patches(None);
    model
}

/// About 75 s of real music: three shared clips (two genres) back to back, so the track has
/// more patches than the bundle's 10 and the table member sees more than one window.
fn long_track() -> (Vec<f32>, u32) {
    let mut samples = Vec::new();
    let mut rate = 0;
    for (genre, index) in [("jazz", 4), ("rock", 2), ("jazz", 6)] {
        let bytes = std::fs::read(common::shared_clip(genre, index)).unwrap();
        let audio = decode(bytes, None, &DecodeLimits::default()).unwrap();
        rate = audio.sample_rate;
        samples.extend_from_slice(&audio.samples[..audio.samples.len() * 5 / 6]);
    }
    (samples, rate)
}

fn part(model: &Ensemble, prepared: &genrescope::classify::Prepared, plan: PartPlan) -> TrackPart {
    model.analyse(prepared, plan, &mut RunContext::default()).unwrap()
}

fn assert_same(a: &Classification, b: &Classification) {
    assert_eq!(a.probabilities, b.probabilities, "track probabilities");
    assert_eq!(a.windows, b.windows, "timeline");
    assert_eq!(a.votes, b.votes);
    assert_eq!(a.tags, b.tags);
    assert_eq!(a.music, b.music);
    assert_eq!(a.verdict, b.verdict);
    assert_eq!(a.members, b.members);
    assert_eq!(a.coverage, b.coverage);
}

#[test]
fn parts_merged_in_any_order_equal_one_run_over_every_patch() {
    let model = default_model();
    let (samples, rate) = long_track();
    let prepared = model.prepare(&samples, rate).unwrap();
    let whole = model.run(&prepared, &mut RunContext::default()).unwrap();
    let total = whole.windows.len();
    assert!(total > 20, "{total} patches");
    assert_eq!((whole.coverage.analysed, whole.coverage.total), (total, total));
    assert!(whole.coverage.complete);

    let first_plan =
        PartPlan { patches: PatchSelection::Spread { count: 3 }, whole_track_members: false };
    let first = part(&model, &prepared, first_plan);
    let rest = |k: usize| PartPlan {
        patches: PatchSelection::Rest { after: 3, part: k, parts: 2 },
        whole_track_members: k == 0,
    };
    let (rest0, rest1) = (part(&model, &prepared, rest(0)), part(&model, &prepared, rest(1)));

    // The first answer: 3 patches, the table member not run yet, and it says so.
    let early = model.merge(std::slice::from_ref(&first)).unwrap();
    assert_eq!((early.coverage.analysed, early.coverage.total), (3, total));
    assert!(!early.coverage.complete);
    let table = early.members.iter().find(|m| m.kind == ModelKind::Table).unwrap();
    assert!(table.skipped.as_deref().unwrap().contains("after the first answer"), "{table:?}");
    assert_eq!(early.windows.len(), 3);
    assert!(max_abs_diff(&early.probabilities, &whole.probabilities) < 1.0);

    // Every order of the parts merges to the one-run result, exactly.
    for parts in [
        vec![first.clone(), rest0.clone(), rest1.clone()],
        vec![rest1.clone(), first.clone(), rest0.clone()],
        vec![rest0.clone(), rest1.clone(), first.clone(), rest0.clone()],
    ] {
        assert_same(&model.merge(&parts).unwrap(), &whole);
    }

    // A refinement in between covers the first answer and one share.
    let middle = model.merge(&[first.clone(), rest1.clone()]).unwrap();
    let share1 = match &rest1.members[0] {
        MemberPart::Analysed { windows, .. } => windows.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(middle.coverage.analysed, 3 + share1);
    assert!(!middle.coverage.complete);

    // A share that draws the Mel image computes the whole track's log-Mel; one that does not
    // computes its own patches' frames only. The rows are the same either way.
    let mut with_image = RunContext::default().with_mel_image(64);
    let drawn = model.analyse(&prepared, rest(1), &mut with_image).unwrap();
    assert!(with_image.mel_image.is_some(), "the share drew the Mel image");
    assert_eq!(drawn, rest1);

    // Parts travel between workers as JSON-like values.
    let json = serde_json::to_string(&rest0).unwrap();
    assert_eq!(serde_json::from_str::<TrackPart>(&json).unwrap(), rest0);
}

#[test]
fn a_preview_from_the_audio_around_three_patches_equals_the_first_answer() {
    let model = default_model();
    let (samples, rate) = long_track();
    let prepared = model.prepare(&samples, rate).unwrap();
    let first =
        PartPlan { patches: PatchSelection::Spread { count: 3 }, whole_track_members: false };
    let expected = part(&model, &prepared, first);
    let preview = model.preview(&samples, rate, 3, &mut RunContext::default()).unwrap().unwrap();
    assert_eq!(preview, expected, "same rows, bit for bit");

    // Out of range input is conformed as `prepare` does it.
    let loud: Vec<f32> = samples.iter().map(|x| x * 4.0).collect();
    let prepared = model.prepare(&loud, rate).unwrap();
    let preview = model.preview(&loud, rate, 3, &mut RunContext::default()).unwrap().unwrap();
    assert_eq!(preview, part(&model, &prepared, first));

    // Shorter than one patch: no preview (the caller analyses the prepared track).
    let short = &samples[..rate as usize];
    assert_eq!(model.preview(short, rate, 3, &mut RunContext::default()).unwrap(), None);

    // As the page's worker has it before the table member's file arrives: the same rows,
    // the table member deferred on a long track, and skipped at once on one too short for it
    // (so a short track's first answer is its final one, as with the member attached).
    let waiting = waiting_model();
    let preview = waiting.preview(&samples, rate, 3, &mut RunContext::default()).unwrap().unwrap();
    assert_eq!(preview, expected);
    assert_eq!(preview.members[1], MemberPart::Deferred);
    let five_seconds = &samples[..rate as usize * 5];
    let attached = model.preview(five_seconds, rate, 3, &mut RunContext::default()).unwrap();
    let early = waiting.preview(five_seconds, rate, 3, &mut RunContext::default()).unwrap();
    assert_eq!(early, attached);
    assert!(
        matches!(&early.unwrap().members[1], MemberPart::Skipped { reason } if reason.contains("at least 15 s"))
    );
}

#[test]
fn a_short_input_and_a_bundle_limit_still_merge() {
    let mut model = default_model();
    // 5 s of the jazz clip: two patches (the second aligned to the end); the table member (needs 15 s) is skipped, not deferred.
    let bytes = std::fs::read(common::shared_clip("jazz", 4)).unwrap();
    let audio = decode(bytes, None, &DecodeLimits::default()).unwrap();
    let short = &audio.samples[..audio.sample_rate as usize * 5];
    let prepared = model.prepare(short, audio.sample_rate).unwrap();
    let plan = |k| PartPlan {
        patches: PatchSelection::Rest { after: 3, part: k, parts: 2 },
        whole_track_members: true,
    };
    let first = PartPlan { patches: PatchSelection::Spread { count: 3 }, ..PartPlan::default() };
    let parts = [
        part(&model, &prepared, first),
        part(&model, &prepared, plan(0)),
        part(&model, &prepared, plan(1)),
    ];
    let merged = model.merge(&parts).unwrap();
    assert_eq!((merged.coverage.analysed, merged.coverage.total), (2, 2));
    assert!(merged.coverage.complete, "a member that does not apply leaves nothing to wait for");
    assert_same(&merged, &model.run(&prepared, &mut RunContext::default()).unwrap());

    // `Configured` follows the bundle's limit (10 evenly spread patches of the long track).
    model.set_max_patches(Some(10));
    let (samples, rate) = long_track();
    let prepared = model.prepare(&samples, rate).unwrap();
    let limited = model.run(&prepared, &mut RunContext::default()).unwrap();
    assert_eq!(limited.coverage.analysed, 10);
    assert!(limited.coverage.total > 20 && !limited.coverage.complete);

    assert!(model.merge(&[]).is_err(), "no part, no result");
}
