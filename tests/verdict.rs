//! The verdict on every result, through the loader every caller uses ([`Ensemble`]):
//! silence, DC and too-short input are `silent`; extreme float samples stay finite; a stored
//! calibration softens the probabilities and makes unsure answers `uncertain`; a stored music
//! detector makes `not_music`; a MusiCNN bundle with its tag layer reports 50 tags.

use burn::tensor::Device;
use genrescope::bundle::{
    Normalisation, Provenance, SpectrogramBundle, SpectrogramHeader, WeightStorage,
};
use genrescope::classify::{Classification, Ensemble};
use genrescope::model::musicnn::{MusicnnEmbedding, MSD_TAGS, MSD_TAG_NAMES};
use genrescope::model::{ArchitectureConfig, GenreNet};
use genrescope::trust::calibration::with_temperature;
use genrescope::trust::{Calibration, DetectorInput, MusicDetector, VerdictKind};
use genrescope::FeatureConfig;

const LABELS: [&str; 3] = ["jazz", "metal", "pop"];

fn header(
    feature_config: FeatureConfig,
    architecture: ArchitectureConfig,
    calibration: Option<Calibration>,
    music_detector: Option<MusicDetector>,
) -> SpectrogramHeader {
    SpectrogramHeader {
        labels: LABELS.iter().map(|s| s.to_string()).collect(),
        normalisation: Normalisation::identity(feature_config.n_mels),
        tags: architecture.tag_names(),
        architecture,
        weight_storage: WeightStorage::F32,
        weight_levels: Default::default(),
        provenance: Provenance { data: "verdict test".into(), ..Provenance::default() },
        feature_config,
        calibration,
        music_detector,
    }
}

/// A tiny CNN bundle (random weights, seeded) with an optional calibration.
fn cnn(calibration: Option<Calibration>) -> Ensemble {
    cnns(&[calibration]).pop().unwrap()
}

/// One small random CNN bundled once per calibration: the same weights in each (seeding the
/// device is not enough, as tests running in parallel draw from the same generator).
fn cnns(calibrations: &[Option<Calibration>]) -> Vec<Ensemble> {
    let architecture = ArchitectureConfig::Cnn { filters: vec![4], dense: vec![], dropout: 0.0 };
    let h = header(FeatureConfig::gtzan_default(), architecture, None, None);
    let device = Device::flex();
    device.seed(7);
    let net = GenreNet::new(&h.architecture, h.n_mels(), h.n_frames(), 3, &device).unwrap();
    calibrations
        .iter()
        .map(|calibration| {
            let h = SpectrogramHeader { calibration: *calibration, ..h.clone() };
            let bytes = SpectrogramBundle::to_bytes(&h, &net).unwrap();
            Ensemble::from_bundle(&bytes, &Device::flex()).unwrap()
        })
        .collect()
}

fn tone(seconds: f64, rate: u32, amplitude: f32) -> Vec<f32> {
    (0..(seconds * rate as f64) as usize)
        .map(|i| {
            let t = i as f32 / rate as f32;
            amplitude * (0.6 * (t * 440.0 * std::f32::consts::TAU).sin() + 0.4 * (t * 3.1).sin())
        })
        .collect()
}

fn classify(model: &Ensemble, samples: &[f32], rate: u32) -> Classification {
    model.classify_mono(samples, rate).unwrap()
}

fn all_finite(c: &Classification) -> bool {
    c.probabilities
        .iter()
        .chain(c.windows.iter().flat_map(|w| &w.probabilities))
        .all(|p| p.is_finite())
}

#[test]
fn silence_dc_and_a_lone_click_are_silent() {
    let model = cnn(None);
    let rate = 22_050;
    let zeros = vec![0.0f32; rate as usize * 10];
    let dc = vec![1.0f32; rate as usize * 10];
    let mut click = zeros.clone();
    click[rate as usize] = 0.9;
    for (name, samples) in [("digital silence", &zeros), ("full-scale DC", &dc), ("click", &click)]
    {
        let c = classify(&model, samples, rate);
        assert_eq!(c.verdict.kind, VerdictKind::Silent, "{name}: {:?}", c.verdict);
        assert_eq!(c.verdict.text, "Silence");
        assert!(all_finite(&c), "{name}");
        assert!(c.signal.unwrap().silent);
    }
    let quarter_second = tone(0.25, rate, 0.5);
    assert_eq!(classify(&model, &quarter_second, rate).verdict.kind, VerdictKind::Silent);
    let c = classify(&model, &tone(4.0, rate, 0.5), rate);
    assert_ne!(c.verdict.kind, VerdictKind::Silent, "{:?}", c.signal);
}

#[test]
fn extreme_finite_floats_give_finite_probabilities() {
    let model = cnn(None);
    let rate = 22_050;
    let normal = tone(4.0, rate, 0.5);
    for scale in [1e30f32, 3e38, 1e-30] {
        let samples: Vec<f32> = normal.iter().map(|x| x * scale / 0.5).collect();
        let c = classify(&model, &samples, rate);
        assert!(all_finite(&c), "scale {scale}: {:?}", c.probabilities);
        assert!((c.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    // Over full scale: scaled down to a peak of 1, the same as that signal given directly.
    let loud: Vec<f32> = normal.iter().map(|x| x * 1e30).collect();
    let c = classify(&model, &loud, rate);
    assert!(c.signal.unwrap().scaled_by < 1e-29);
    let peak = normal.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let unit: Vec<f32> = normal.iter().map(|x| x / peak).collect();
    let d = classify(&model, &unit, rate);
    for (a, b) in c.probabilities.iter().zip(&d.probabilities) {
        assert!((a - b).abs() < 1e-5, "{:?} vs {:?}", c.probabilities, d.probabilities);
    }
}

#[test]
fn calibration_softens_and_unsure_answers_name_two_genres() {
    let rate = 22_050;
    let samples = tone(6.0, rate, 0.3);
    // Random weights on raw dB input give near one-hot answers: a strong temperature.
    let calibration = Calibration { temperature: 100.0, uncertain_below: 0.9 };
    let [plain, calibrated] = <[Ensemble; 2]>::try_from(cnns(&[None, Some(calibration)]))
        .unwrap_or_else(|_| unreachable!());
    let raw = classify(&plain, &samples, rate);
    assert_eq!(raw.verdict.kind, VerdictKind::Genre);
    assert_eq!(raw.verdict.label.as_deref(), Some(raw.ranking[0].label.as_str()));
    let c = classify(&calibrated, &samples, rate);
    let expected = with_temperature(&raw.probabilities, 100.0);
    for (a, b) in c.probabilities.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-6, "{:?} vs {expected:?}", c.probabilities);
    }
    assert_eq!(c.verdict.kind, VerdictKind::Uncertain);
    let top_two: Vec<&str> = c.ranking[..2].iter().map(|s| s.label.as_str()).collect();
    assert_eq!(c.verdict.candidates, top_two);
    assert_eq!(c.verdict.text, format!("Unsure: {} or {}?", top_two[0], top_two[1]));
    assert_eq!(c.ranking[0].label, raw.ranking[0].label, "calibration keeps the ranking");
}

/// A MusiCNN transfer bundle with random weights that keeps its tag layer, with `detector`.
fn musicnn(detector: Option<MusicDetector>) -> Ensemble {
    let architecture = ArchitectureConfig::Musicnn {
        embedding: MusicnnEmbedding::Pools,
        hidden: Vec::new(),
        dropout: 0.0,
        msd_tags: true,
    };
    let h = header(FeatureConfig::musicnn(), architecture, None, detector);
    let device = Device::flex();
    device.seed(11);
    let net = GenreNet::new(&h.architecture, h.n_mels(), h.n_frames(), 3, &device).unwrap();
    let bytes = SpectrogramBundle::to_bytes(&h, &net).unwrap();
    Ensemble::from_bundle(&bytes, &Device::flex()).unwrap()
}

fn detector(bias: f32) -> MusicDetector {
    MusicDetector {
        input: DetectorInput::TagLogits,
        mean: vec![0.0; MSD_TAGS],
        std: vec![1.0; MSD_TAGS],
        weights: vec![0.0; MSD_TAGS],
        bias,
        threshold: 0.5,
    }
}

#[test]
fn music_detector_and_tags_come_from_the_bundle() {
    let rate = 16_000;
    let samples = tone(4.0, rate, 0.3);
    let c = classify(&musicnn(Some(detector(-6.0))), &samples, rate);
    assert_eq!(c.verdict.kind, VerdictKind::NotMusic);
    assert_eq!(c.verdict.text, "Not music");
    let music = c.music.unwrap();
    assert!((music.probability - 1.0 / (1.0 + 6f32.exp())).abs() < 1e-6, "{music:?}");
    assert_eq!(c.tags.len(), MSD_TAGS);
    assert!(c.tags.windows(2).all(|w| w[0].probability >= w[1].probability));
    assert!(c.tags.iter().all(|t| (0.0..=1.0).contains(&t.probability)));
    let mut names: Vec<&str> = c.tags.iter().map(|t| t.label.as_str()).collect();
    names.sort();
    let mut expected = MSD_TAG_NAMES.to_vec();
    expected.sort();
    assert_eq!(names, expected);

    let c = classify(&musicnn(Some(detector(6.0))), &samples, rate);
    assert_eq!(c.verdict.kind, VerdictKind::Genre);
    assert!(c.music.unwrap().is_music());
    // Silence comes first, whatever the detector says.
    let c = classify(&musicnn(Some(detector(6.0))), &vec![0.0; rate as usize * 4], rate);
    assert_eq!(c.verdict.kind, VerdictKind::Silent);
}

#[test]
fn a_detector_reading_a_missing_output_is_refused() {
    let architecture = ArchitectureConfig::musicnn_default(); // no tag layer
    let h = header(FeatureConfig::musicnn(), architecture, None, Some(detector(0.0)));
    let err = h.validate().unwrap_err().to_string();
    assert!(err.contains("music_detector"), "{err}");
    let bad = Calibration { temperature: -1.0, uncertain_below: 0.5 };
    let architecture = ArchitectureConfig::Cnn { filters: vec![4], dense: vec![], dropout: 0.0 };
    let h = header(FeatureConfig::gtzan_default(), architecture, Some(bad), None);
    assert!(h.validate().unwrap_err().to_string().contains("calibration"));
}
