//! Own genres (`genrescope::training::own_genres`, what the page's "Your own genres" and
//! `trainer train own` run) on the shipped model's MusiCNN backbone:
//! - embeddings of real clips from `Ensemble::embed` (every patch, the backbone's width);
//! - a model trained on them cross-validates, keeps the base's detector and tags, records
//!   the base's backbone, loads as an ordinary bundle and classifies held-out clips right;
//! - the same examples in any order give the same folds, report and model;
//! - bad examples fail with errors that say what is wrong.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use burn::tensor::Device;
use genrescope::audio::{decode_path, DecodeLimits};
use genrescope::bundle::{Header, SpectrogramBundle};
use genrescope::classify::Ensemble;
use genrescope::training::own_genres::{
    train_own_genres, transfer_part, OwnModel, OwnOrigin, OwnSettings, OwnTrack,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn base() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| std::fs::read(repo().join("web/models/default/model.gscope")).unwrap())
}

fn ensemble() -> &'static Ensemble {
    static ENSEMBLE: OnceLock<Ensemble> = OnceLock::new();
    ENSEMBLE.get_or_init(|| Ensemble::from_bundle(base(), &Device::flex()).unwrap())
}

fn clip(genre: &str, n: usize) -> PathBuf {
    repo().join(format!("../shared/data/gtzan-mini/genres/{genre}/{genre}.{n:05}.wav"))
}

/// The first `seconds` of a clip, decoded.
fn audio(genre: &str, n: usize, seconds: f64) -> (Vec<f32>, u32) {
    let decoded = decode_path(&clip(genre, n), &DecodeLimits::default()).unwrap();
    let len = ((seconds * decoded.sample_rate as f64) as usize).min(decoded.samples.len());
    (decoded.samples[..len].to_vec(), decoded.sample_rate)
}

const GENRES: [&str; 3] = ["classical", "metal", "reggae"];
/// Clips per genre trained on; the next ones are held out.
const PER_GENRE: usize = 4;
/// Seconds of each clip used (4 patches of 3 s), to keep the test quick.
const SECONDS: f64 = 12.0;

fn examples() -> &'static [OwnTrack] {
    static EXAMPLES: OnceLock<Vec<OwnTrack>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let mut out = Vec::new();
        for genre in GENRES {
            for n in 0..PER_GENRE {
                let (samples, rate) = audio(genre, n, SECONDS);
                let e =
                    ensemble().embed(&samples, rate).unwrap().expect("the default model embeds");
                out.push(OwnTrack {
                    label: genre.into(),
                    name: format!("{genre}.{n:05}.wav"),
                    embedding: e.data,
                });
            }
        }
        out
    })
}

/// Burn's generator is one per process: trainings in parallel test threads would draw from
/// it in turn, so each takes this lock (the page and the CLI train one model at a time).
fn train(tracks: &[OwnTrack], settings: &OwnSettings) -> anyhow::Result<OwnModel> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut fits = Vec::new();
    let model = train_own_genres(base(), tracks, settings, &origin(), &mut |p| fits.push(p))?;
    let folds = model.report.folds;
    assert_eq!(
        fits.last().map(|p| (p.done, p.total)),
        Some((folds + 1, folds + 1)),
        "the folds and the final fit"
    );
    Ok(model)
}

fn origin() -> OwnOrigin {
    OwnOrigin {
        command: "test".into(),
        created: "2026-12-06T00:00:00Z".into(),
        data: "test clips".into(),
    }
}

fn trained() -> &'static OwnModel {
    static MODEL: OnceLock<OwnModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        train(examples(), &OwnSettings { folds: 4, ..OwnSettings::default() }).unwrap()
    })
}

#[test]
fn the_default_model_embeds_every_patch_with_its_backbone() {
    let info = ensemble().info().embedder.clone().expect("the default model has a backbone");
    assert_eq!(info.dim, 1506, "pools embedding");
    let (samples, rate) = audio("jazz", 4, 30.0);
    let e = ensemble().embed(&samples, rate).unwrap().unwrap();
    assert_eq!(e.dim, 1506);
    assert_eq!(e.patches(), 10, "every 3 s patch of a 30 s clip, whatever the bundle's limit");
    assert!(e.data.iter().all(|v| v.is_finite()));
    // The first patch depends on the first 3 s only: a 12 s excerpt embeds it the same.
    let (short, _) = audio("jazz", 4, 12.0);
    let first = ensemble().embed(&short, rate).unwrap().unwrap();
    let diff = first.data[..1506]
        .iter()
        .zip(&e.data[..1506])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(diff < 1e-4, "first patch differs by {diff}");
}

#[test]
fn a_trained_model_cross_validates_and_keeps_the_base_models_trust_parts() {
    let model = trained();
    let r = &model.report;
    assert_eq!(r.labels, GENRES);
    assert_eq!(r.tracks_per_label, vec![PER_GENRE; 3]);
    assert_eq!(r.folds, 4);
    assert_eq!(r.outcomes.len(), 12);
    assert_eq!(r.confusion.iter().flatten().sum::<usize>(), 12);
    // Classical, metal and reggae are far apart for MusiCNN: at most one miss.
    assert!(r.correct >= 11, "{} of 12 held-out tracks right", r.correct);
    assert_eq!(r.patches, 12 * 4);
    assert!(r.epochs >= 1 && r.fold_epochs.len() == 4);
    let calibration = r.calibration.as_ref().expect("calibrated on the out-of-fold answers");
    assert!(calibration.calibration.temperature >= 1.0, "never sharpened on a handful of tracks");

    let embedder = ensemble().info().embedder.clone().unwrap();
    assert_eq!(r.embedder, embedder.id);
    let Header::Spectrogram(header) = Header::read(&model.bundle).unwrap() else {
        panic!("a spectrogram bundle")
    };
    let Header::Spectrogram(base_header) =
        Header::read(transfer_part(base()).unwrap().unwrap()).unwrap()
    else {
        panic!("the base's transfer member")
    };
    assert_eq!(header.labels, GENRES);
    assert_eq!(header.music_detector, base_header.music_detector, "the base's music detector");
    assert_eq!(header.tags, base_header.tags, "the base's MSD tags");
    assert_eq!(header.feature_config, base_header.feature_config);
    assert_eq!(header.calibration, Some(calibration.calibration));
    let provenance = serde_json::to_string(&header.provenance).unwrap();
    assert!(!provenance.contains(".wav"), "no file name in the bundle: {provenance}");
    assert_eq!(header.provenance.evaluation.as_ref().unwrap().accuracy, r.accuracy);

    // An ordinary bundle: it loads, names the same backbone, and tells held-out clips apart.
    let loaded = Ensemble::from_bundle(&model.bundle, &Device::flex()).unwrap();
    assert_eq!(
        loaded.info().embedder.as_ref().unwrap().id,
        embedder.id,
        "embeddings cached for the base stay valid"
    );
    assert!(loaded.info().music_detector);
    for genre in GENRES {
        let (samples, rate) = audio(genre, PER_GENRE + 1, 30.0);
        let c = loaded.classify_mono(&samples, rate).unwrap();
        assert_eq!(
            c.labels[genresc_top(&c.probabilities)],
            genre,
            "held-out {genre}: {:?}",
            c.probabilities
        );
    }
    SpectrogramBundle::from_bytes(&model.bundle, &Device::flex()).unwrap();
}

fn genresc_top(p: &[f32]) -> usize {
    genrescope::classify::argmax(p)
}

#[test]
fn the_same_examples_in_any_order_give_the_same_model() {
    let mut shuffled = examples().to_vec();
    shuffled.reverse();
    shuffled.swap(1, 7);
    let first = trained();
    let again = train(&shuffled, &OwnSettings { folds: 4, ..OwnSettings::default() }).unwrap();
    assert_eq!(again.report.outcomes, first.report.outcomes);
    assert_eq!(again.report.fold_epochs, first.report.fold_epochs);
    // The same header and weights (Burn names each parameter with a fresh random id in the
    // weights' index, so the bytes themselves differ there): the same answers, exactly.
    let header = |b: &[u8]| match Header::read(b).unwrap() {
        Header::Spectrogram(h) => serde_json::to_string(&h).unwrap(),
        _ => panic!("a spectrogram bundle"),
    };
    assert_eq!(header(&again.bundle), header(&first.bundle));
    let (samples, rate) = audio("reggae", PER_GENRE + 2, 30.0);
    let answer = |b: &[u8]| {
        Ensemble::from_bundle(b, &Device::flex()).unwrap().classify_mono(&samples, rate).unwrap()
    };
    let (a, b) = (answer(&again.bundle), answer(&first.bundle));
    assert_eq!(a.probabilities, b.probabilities);
    assert_eq!(a.tags, b.tags);
}

#[test]
fn bad_examples_are_refused_with_the_reason() {
    let settings = OwnSettings::default();
    let one_label: Vec<OwnTrack> =
        examples().iter().filter(|t| t.label == "metal").cloned().collect();
    let e = train(&one_label, &settings).err().unwrap();
    assert!(format!("{e:#}").contains("at least 2 categories"), "{e:#}");

    let mut thin: Vec<OwnTrack> = examples().to_vec();
    thin.retain(|t| t.label != "reggae" || t.name.ends_with("00000.wav"));
    let e = train(&thin, &settings).err().unwrap();
    assert!(format!("{e:#}").contains("\"reggae\" has 1 example"), "{e:#}");

    let mut short = examples().to_vec();
    short[0].embedding.truncate(100);
    let e = train(&short, &settings).err().unwrap();
    assert!(format!("{e:#}").contains("not a multiple of the backbone's 1506"), "{e:#}");

    let mut nan = examples().to_vec();
    nan[2].embedding[5] = f32::NAN;
    let e = train(&nan, &settings).err().unwrap();
    assert!(format!("{e:#}").contains("non-finite"), "{e:#}");

    let cnn = std::fs::read(repo().join("web/models/cnn/model.gscope")).unwrap();
    let e = train_own_genres(&cnn, examples(), &settings, &origin(), &mut |_| {}).err().unwrap();
    assert!(format!("{e:#}").contains("no MusiCNN transfer network"), "{e:#}");
}
