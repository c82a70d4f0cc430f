//! Rewriting a bundle's JSON header (to store a calibration or a music detector fitted
//! after training), the weights section copied byte for byte.

use anyhow::Context;
use genrescope::bundle::{format, Header};
use genrescope::trust::{Calibration, MusicDetector};

/// `bytes` (a complete, checked bundle of any kind) with its header changed by `edit`; the
/// new header is validated and written in the current format version, the weights section
/// is unchanged.
pub fn rewrite_header(
    bytes: &[u8],
    edit: impl FnOnce(&mut Header) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<u8>> {
    let sections = format::read(bytes).context("reading the bundle to rewrite its header")?;
    let mut header = Header::from_json_version(sections.header, sections.version)?;
    edit(&mut header)?;
    let json = match &header {
        Header::Spectrogram(h) => {
            h.validate()?;
            h.to_json()?
        }
        Header::Table(h) => {
            h.validate()?;
            h.to_json()?
        }
        Header::Fusion(h) => {
            h.validate()?;
            h.to_json()?
        }
    };
    Ok(format::write(&json, sections.weights)?)
}

/// `bytes` with `calibration` stored in its header (any kind; a fusion's applies to the
/// fused probabilities).
pub fn with_calibration(bytes: &[u8], calibration: Calibration) -> anyhow::Result<Vec<u8>> {
    rewrite_header(bytes, |header| {
        match header {
            Header::Spectrogram(h) => h.calibration = Some(calibration),
            Header::Table(h) => h.calibration = Some(calibration),
            Header::Fusion(h) => h.calibration = Some(calibration),
        }
        Ok(())
    })
}

/// `bytes` (a spectrogram bundle) with `detector` stored in its header; fails, naming the
/// kind, for other bundles.
pub fn with_music_detector(bytes: &[u8], detector: MusicDetector) -> anyhow::Result<Vec<u8>> {
    rewrite_header(bytes, |header| match header {
        Header::Spectrogram(h) => {
            h.music_detector = Some(detector);
            Ok(())
        }
        other => anyhow::bail!(
            "a music detector belongs in a spectrogram bundle, this one is a {} bundle",
            other.kind().name()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use genrescope::bundle::{
        Normalisation, Provenance, SpectrogramBundle, SpectrogramHeader, WeightStorage,
    };
    use genrescope::model::{ArchitectureConfig, GenreNet};
    use genrescope::trust::DetectorInput;
    use genrescope::FeatureConfig;

    use crate::calibrate;
    use crate::metrics::{evaluate, summarize, WindowPrediction};

    /// An untrained two-label CNN bundle.
    fn tiny_bundle() -> Vec<u8> {
        let feature_config = FeatureConfig::gtzan_default();
        let header = SpectrogramHeader {
            labels: vec!["a".into(), "b".into()],
            normalisation: Normalisation::identity(feature_config.n_mels),
            feature_config,
            architecture: ArchitectureConfig::Cnn {
                filters: vec![4, 8],
                dense: vec![8],
                dropout: 0.5,
            },
            weight_storage: WeightStorage::F32,
            weight_levels: Default::default(),
            provenance: Provenance::default(),
            calibration: None,
            music_detector: None,
            tags: Vec::new(),
        };
        let model = GenreNet::new(
            &header.architecture,
            header.n_mels(),
            header.n_frames(),
            2,
            &Device::flex(),
        )
        .unwrap();
        SpectrogramBundle::to_bytes(&header, &model).unwrap()
    }

    #[test]
    fn a_calibration_fitted_on_out_of_fold_predictions_loads_back_from_the_bundle() {
        // Two folds of an over-confident model: 95 % sure, right on 6 tracks of 8.
        let labels = vec!["a".to_string(), "b".to_string()];
        let fold = |tracks: std::ops::Range<usize>| {
            let windows: Vec<WindowPrediction> = tracks
                .map(|t| {
                    let truth = t % 2;
                    let predicted = if t % 4 == 3 { 1 - truth } else { truth };
                    let mut probs = vec![0.05f32; 2];
                    probs[predicted] = 0.95;
                    WindowPrediction { track: t, truth, probs }
                })
                .collect();
            evaluate(&labels, &windows)
        };
        let cv = summarize(vec![fold(0..4), fold(4..8)]);
        let report = calibrate::fit(&calibrate::out_of_fold(&cv), 0.9).unwrap();
        assert!(report.calibration.temperature > 1.0, "{report:?}");

        let bytes = tiny_bundle();
        let rewritten = with_calibration(&bytes, report.calibration).unwrap();
        let header = SpectrogramBundle::read_header(&rewritten).unwrap();
        assert_eq!(header.calibration, Some(report.calibration));
        // The weights are copied byte for byte, and the bundle still loads.
        assert_eq!(
            format::read(&bytes).unwrap().weights,
            format::read(&rewritten).unwrap().weights
        );
        SpectrogramBundle::from_bytes(&rewritten, &Device::flex()).unwrap();
    }

    #[test]
    fn a_header_the_network_cannot_serve_is_refused_by_name() {
        let detector = MusicDetector {
            input: DetectorInput::Penultimate,
            mean: vec![0.0; 200],
            std: vec![1.0; 200],
            weights: vec![0.0; 200],
            bias: 0.0,
            threshold: 0.5,
        };
        let error = with_music_detector(&tiny_bundle(), detector).unwrap_err();
        assert!(format!("{error:#}").contains("music_detector"), "{error:#}");
        let bad = Calibration { temperature: -1.0, uncertain_below: 0.5 };
        let error = with_calibration(&tiny_bundle(), bad).unwrap_err();
        assert!(format!("{error:#}").contains("temperature"), "{error:#}");
        assert!(with_calibration(b"not a bundle", Calibration::default()).is_err());
    }
}
