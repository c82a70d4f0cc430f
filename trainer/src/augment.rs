//! Training-only data augmentation: pure functions that take their RNG explicitly, so a run
//! is reproducible from its seed.
//!
//! Per track and epoch ([`epoch_windows`]):
//! 1. time shift: the window grid starts at a random offset in `[0, hop)` (capped so at least
//!    one whole window still fits); a track no longer than one window is instead rotated
//!    (circular shift) by a random amount;
//! 2. random gain, uniform in `±gain_db` dB (no clipping: the front end works on floats);
//! 3. with probability `noise_probability`, white Gaussian noise at a random SNR in
//!    `noise_snr_db` (relative to the track's mean power);
//! 4. the windows and their log-Mel, through [`segment::window_features`] as at inference.
//!
//! Per window, after standardisation ([`spec_augment`]): SpecAugment frequency masks and time
//! masks, set to 0 (the band mean once standardised). The caller standardises the windows
//! returned by [`epoch_windows`] with the training-set statistics, then calls
//! [`spec_augment`] on each.
//!
//! [`segment::window_features`]: genrescope::segment::window_features

use genrescope::feature_config::{FeatureConfig, Windowing};
use genrescope::mel::MelExtractor;
use genrescope::segment::{window_features, WindowFeatures};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// The augmentation settings of a training run (recorded in the model's provenance).
/// Missing fields take their [`Default`] values when deserialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AugmentConfig {
    /// Largest gain change in dB; the gain is drawn uniformly from `[-gain_db, gain_db]`.
    /// 0 disables it.
    pub gain_db: f32,
    /// Probability (0..=1) of adding white noise to a track in an epoch.
    pub noise_probability: f32,
    /// Range `[low, high]` of the noise's signal-to-noise ratio in dB, drawn uniformly.
    pub noise_snr_db: [f32; 2],
    /// Shift the window grid by a random offset each epoch (circular shift for tracks no
    /// longer than one window).
    pub random_offset: bool,
    /// Number of SpecAugment time masks per window.
    pub time_masks: usize,
    /// Largest time-mask width in frames; each width is drawn uniformly from `0..=max`.
    pub time_mask_max_frames: usize,
    /// Number of SpecAugment frequency masks per window.
    pub freq_masks: usize,
    /// Largest frequency-mask width in mel bands; each width is drawn uniformly from `0..=max`.
    pub freq_mask_max_bands: usize,
}

impl Default for AugmentConfig {
    /// Moderate settings for 128-band, 130-frame windows: ±6 dB gain, noise at 20–40 dB SNR
    /// half of the time, a random grid offset, 2 time masks of up to 20 frames and 2
    /// frequency masks of up to 15 bands.
    fn default() -> Self {
        AugmentConfig {
            gain_db: 6.0,
            noise_probability: 0.5,
            noise_snr_db: [20.0, 40.0],
            random_offset: true,
            time_masks: 2,
            time_mask_max_frames: 20,
            freq_masks: 2,
            freq_mask_max_bands: 15,
        }
    }
}

impl AugmentConfig {
    /// No augmentation at all (evaluation, or a baseline run).
    pub fn none() -> Self {
        AugmentConfig {
            gain_db: 0.0,
            noise_probability: 0.0,
            noise_snr_db: [20.0, 40.0],
            random_offset: false,
            time_masks: 0,
            time_mask_max_frames: 0,
            freq_masks: 0,
            freq_mask_max_bands: 0,
        }
    }

    /// Checks the numbers, naming the first unusable one.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.gain_db.is_finite() && self.gain_db >= 0.0) {
            return Err(format!("gain_db must be finite and >= 0, got {}", self.gain_db));
        }
        if !(0.0..=1.0).contains(&self.noise_probability) {
            return Err(format!(
                "noise_probability must be in 0..=1, got {}",
                self.noise_probability
            ));
        }
        let [lo, hi] = self.noise_snr_db;
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return Err(format!("noise_snr_db must be finite with low <= high, got [{lo}, {hi}]"));
        }
        Ok(())
    }
}

/// Scales `samples` by `gain_db` decibels (amplitude factor `10^(gain_db / 20)`).
pub fn apply_gain_db(samples: &mut [f32], gain_db: f32) {
    let factor = 10f32.powf(gain_db / 20.0);
    samples.iter_mut().for_each(|s| *s *= factor);
}

/// Applies a gain drawn uniformly from `[-max_db, max_db]` and returns it (0 when
/// `max_db <= 0`, without drawing).
pub fn random_gain<R: Rng + ?Sized>(samples: &mut [f32], max_db: f32, rng: &mut R) -> f32 {
    if max_db.is_nan() || max_db <= 0.0 {
        return 0.0;
    }
    let gain = rng.random_range(-max_db..=max_db);
    apply_gain_db(samples, gain);
    gain
}

/// Adds white Gaussian noise whose power is the signal's mean power divided by
/// `10^(snr_db / 10)`. A silent (or empty) signal is left unchanged.
pub fn add_white_noise<R: Rng + ?Sized>(samples: &mut [f32], snr_db: f32, rng: &mut R) {
    if samples.is_empty() {
        return;
    }
    let power =
        samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / samples.len() as f64;
    if power.is_nan() || power <= 0.0 {
        return;
    }
    let std = (power / 10f64.powf(f64::from(snr_db) / 10.0)).sqrt();
    for pair in samples.chunks_mut(2) {
        // Box–Muller: two independent standard normals from two uniforms.
        let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt() * std;
        let theta = std::f64::consts::TAU * u2;
        pair[0] += (r * theta.cos()) as f32;
        if let Some(s) = pair.get_mut(1) {
            *s += (r * theta.sin()) as f32;
        }
    }
}

/// With probability `cfg.noise_probability`, adds white noise at an SNR drawn from
/// `cfg.noise_snr_db`; returns the SNR used, if any.
pub fn random_noise<R: Rng + ?Sized>(
    samples: &mut [f32],
    cfg: &AugmentConfig,
    rng: &mut R,
) -> Option<f32> {
    let p = cfg.noise_probability;
    if p.is_nan() || p <= 0.0 || !rng.random_bool(f64::from(p.min(1.0))) {
        return None;
    }
    let [lo, hi] = cfg.noise_snr_db;
    let snr = if hi > lo { rng.random_range(lo..=hi) } else { lo };
    add_white_noise(samples, snr, rng);
    Some(snr)
}

/// Sets frames `start..start + width` (clipped to the window) of every band to 0 in a
/// band-major `[n_mels, n_frames]` window.
pub fn time_mask(window: &mut [f32], n_mels: usize, n_frames: usize, start: usize, width: usize) {
    assert_eq!(window.len(), n_mels * n_frames, "window size");
    let end = (start + width).min(n_frames);
    if start >= end {
        return;
    }
    for row in window.chunks_exact_mut(n_frames) {
        row[start..end].fill(0.0);
    }
}

/// Sets bands `start..start + width` (clipped to the window) to 0 in a band-major
/// `[n_mels, n_frames]` window.
pub fn freq_mask(window: &mut [f32], n_mels: usize, n_frames: usize, start: usize, width: usize) {
    assert_eq!(window.len(), n_mels * n_frames, "window size");
    let end = (start + width).min(n_mels);
    if start >= end {
        return;
    }
    window[start * n_frames..end * n_frames].fill(0.0);
}

/// Draws a mask `(start, width)` on an axis of `len`: width uniform in `0..=max_width`
/// (capped at `len`), start uniform over the positions where it fits.
fn draw_mask<R: Rng + ?Sized>(len: usize, max_width: usize, rng: &mut R) -> (usize, usize) {
    let width = rng.random_range(0..=max_width.min(len));
    let start = rng.random_range(0..=len - width);
    (start, width)
}

/// SpecAugment on one standardised band-major `[n_mels, n_frames]` window:
/// `cfg.freq_masks` frequency masks, then `cfg.time_masks` time masks (masked values = 0).
pub fn spec_augment<R: Rng + ?Sized>(
    window: &mut [f32],
    n_mels: usize,
    n_frames: usize,
    cfg: &AugmentConfig,
    rng: &mut R,
) {
    for _ in 0..cfg.freq_masks {
        let (start, width) = draw_mask(n_mels, cfg.freq_mask_max_bands, rng);
        freq_mask(window, n_mels, n_frames, start, width);
    }
    for _ in 0..cfg.time_masks {
        let (start, width) = draw_mask(n_frames, cfg.time_mask_max_frames, rng);
        time_mask(window, n_mels, n_frames, start, width);
    }
}

/// The windows of one track for one training epoch, and the augmentation drawn for it.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochWindows {
    /// The windows' (unstandardised) log-Mel, band-major per window; spans are in the
    /// track's own sample positions (the grid offset is added back).
    pub features: WindowFeatures,
    /// Samples skipped at the start of the track (the grid offset).
    pub offset_samples: usize,
    /// Rotation applied instead of an offset, for a track no longer than one window.
    pub circular_shift: Option<usize>,
    /// The gain applied, in dB.
    pub gain_db: f32,
    /// The SNR of the added noise, in dB, when noise was added.
    pub noise_snr_db: Option<f32>,
}

/// Length in samples of one model input and the grid's hop in samples, for `cfg`.
fn window_and_hop_samples(cfg: &FeatureConfig) -> (usize, usize) {
    match cfg.windowing {
        Windowing::AudioWindows { window_samples, hop_samples } => (window_samples, hop_samples),
        Windowing::SpectrogramPatches { patch_frames, hop_frames, .. } => {
            ((patch_frames.saturating_sub(1)) * cfg.hop_length, hop_frames * cfg.hop_length)
        }
    }
}

/// Produces the training windows of one track (`pcm` mono at `cfg.sample_rate`) for one
/// epoch: random grid offset or circular shift, random gain and noise (see the module
/// docs), then [`window_features`] with `extractor` (built from `cfg`). With
/// [`AugmentConfig::none`] the result equals `window_features(cfg, extractor, pcm)`.
pub fn epoch_windows<R: Rng + ?Sized>(
    pcm: &[f32],
    cfg: &FeatureConfig,
    extractor: &MelExtractor,
    aug: &AugmentConfig,
    rng: &mut R,
) -> EpochWindows {
    let (window, hop) = window_and_hop_samples(cfg);
    let mut offset = 0;
    let mut circular_shift = None;
    let mut signal;
    if aug.random_offset && pcm.len() > window {
        let room = hop.min(pcm.len() - window + 1).max(1);
        offset = rng.random_range(0..room);
        signal = pcm[offset..].to_vec();
    } else if aug.random_offset && pcm.len() > 1 {
        let shift = rng.random_range(0..pcm.len());
        signal = pcm.to_vec();
        signal.rotate_right(shift);
        circular_shift = Some(shift);
    } else {
        signal = pcm.to_vec();
    }
    let gain_db = random_gain(&mut signal, aug.gain_db, rng);
    let noise_snr_db = random_noise(&mut signal, aug, rng);
    let mut features = window_features(cfg, extractor, &signal);
    for span in &mut features.spans {
        span.start_sample += offset;
        span.end_sample += offset;
    }
    EpochWindows { features, offset_samples: offset, circular_shift, gain_db, noise_snr_db }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genrescope::segment::window_starts;
    use rand::rngs::ChaCha8Rng;
    use rand::SeedableRng;

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(-0.3f32..0.3)).collect()
    }

    #[test]
    fn masks_change_only_the_masked_region() {
        let (n_mels, n_frames) = (8, 12);
        let orig: Vec<f32> = (0..n_mels * n_frames).map(|i| i as f32 + 1.0).collect();
        let mut w = orig.clone();
        time_mask(&mut w, n_mels, n_frames, 3, 4);
        for b in 0..n_mels {
            for t in 0..n_frames {
                let v = w[b * n_frames + t];
                if (3..7).contains(&t) {
                    assert_eq!(v, 0.0);
                } else {
                    assert_eq!(v, orig[b * n_frames + t]);
                }
            }
        }
        let mut w = orig.clone();
        freq_mask(&mut w, n_mels, n_frames, 6, 10); // clipped at the top band
        for b in 0..n_mels {
            for t in 0..n_frames {
                let expect = if b >= 6 { 0.0 } else { orig[b * n_frames + t] };
                assert_eq!(w[b * n_frames + t], expect);
            }
        }
    }

    #[test]
    fn spec_augment_masks_whole_rows_and_columns() {
        let (n_mels, n_frames) = (128, 130);
        let cfg = AugmentConfig::default();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut masked_any = false;
        for _ in 0..20 {
            let mut w = vec![1.0f32; n_mels * n_frames];
            spec_augment(&mut w, n_mels, n_frames, &cfg, &mut rng);
            let row_zero = |b: usize| w[b * n_frames..(b + 1) * n_frames].iter().all(|&v| v == 0.0);
            let col_zero = |t: usize| (0..n_mels).all(|b| w[b * n_frames + t] == 0.0);
            let zero_rows = (0..n_mels).filter(|&b| row_zero(b)).count();
            let zero_cols = (0..n_frames).filter(|&t| col_zero(t)).count();
            assert!(zero_rows <= cfg.freq_masks * cfg.freq_mask_max_bands);
            assert!(zero_cols <= cfg.time_masks * cfg.time_mask_max_frames);
            for b in 0..n_mels {
                for t in 0..n_frames {
                    let v = w[b * n_frames + t];
                    assert!(v == 1.0 || (v == 0.0 && (row_zero(b) || col_zero(t))));
                }
            }
            masked_any |= zero_rows + zero_cols > 0;
        }
        assert!(masked_any);
        let mut w = vec![1.0f32; 4 * 5];
        spec_augment(&mut w, 4, 5, &AugmentConfig::none(), &mut rng);
        assert!(w.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn gain_shifts_the_log_mel_by_its_db() {
        let cfg = FeatureConfig::gtzan_default();
        let ex = MelExtractor::new(&cfg).unwrap();
        let signal = noise(66_150, 1);
        let before = ex.log_mel(&signal);
        let max = before.data.iter().copied().fold(f32::MIN, f32::max);
        let min = before.data.iter().copied().fold(f32::MAX, f32::min);
        assert!(min > max - 80.0 + 6.0, "top_db floor not reached: {min} .. {max}");
        for gain in [-6.0f32, -2.5, 3.0, 6.0] {
            let mut louder = signal.clone();
            apply_gain_db(&mut louder, gain);
            let after = ex.log_mel(&louder);
            for (a, b) in after.data.iter().zip(&before.data) {
                assert!((a - b - gain).abs() < 1e-3, "{a} - {b} != {gain}");
            }
        }
    }

    #[test]
    fn noise_has_the_requested_snr() {
        let signal = noise(200_000, 2);
        let mut noisy = signal.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        add_white_noise(&mut noisy, 20.0, &mut rng);
        let p = |v: &[f32]| v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / v.len() as f64;
        let added: Vec<f32> = noisy.iter().zip(&signal).map(|(a, b)| a - b).collect();
        let snr = 10.0 * (p(&signal) / p(&added)).log10();
        assert!((snr - 20.0).abs() < 0.1, "snr {snr}");
        let mut silent = vec![0.0f32; 100];
        add_white_noise(&mut silent, 20.0, &mut rng);
        assert!(silent.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn epoch_windows_have_the_right_shape() {
        let cfg = FeatureConfig::gtzan_default();
        let ex = MelExtractor::new(&cfg).unwrap();
        let pcm = noise(22_050 * 10, 4);
        let aug = AugmentConfig::default();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut offsets = Vec::new();
        for _ in 0..5 {
            let ep = epoch_windows(&pcm, &cfg, &ex, &aug, &mut rng);
            assert!(ep.offset_samples < 33_075);
            assert_eq!(ep.circular_shift, None);
            assert!(ep.gain_db.abs() <= 6.0);
            let f = &ep.features;
            assert_eq!((f.n_mels, f.n_frames), (128, 130));
            assert_eq!(f.len(), window_starts(pcm.len() - ep.offset_samples, 66_150, 33_075).len());
            assert_eq!(f.data.len(), f.len() * 128 * 130);
            assert_eq!(f.spans[0].start_sample, ep.offset_samples);
            assert!(f.spans.last().unwrap().end_sample <= pcm.len());
            assert!(f.data.iter().all(|v| v.is_finite()));
            offsets.push(ep.offset_samples);
        }
        assert!(offsets.windows(2).any(|w| w[0] != w[1]), "offsets vary across epochs");
    }

    #[test]
    fn short_tracks_are_rotated_and_none_is_identity() {
        let cfg = FeatureConfig::gtzan_default();
        let ex = MelExtractor::new(&cfg).unwrap();
        let pcm = noise(40_000, 6);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let aug =
            AugmentConfig { gain_db: 0.0, noise_probability: 0.0, ..AugmentConfig::default() };
        let ep = epoch_windows(&pcm, &cfg, &ex, &aug, &mut rng);
        let shift = ep.circular_shift.expect("a short track is rotated");
        let mut rotated = pcm.clone();
        rotated.rotate_right(shift);
        assert_eq!(ep.features, window_features(&cfg, &ex, &rotated));
        let plain = epoch_windows(&pcm, &cfg, &ex, &AugmentConfig::none(), &mut rng);
        assert_eq!(plain.features, window_features(&cfg, &ex, &pcm));
        assert_eq!(
            (plain.offset_samples, plain.circular_shift, plain.gain_db, plain.noise_snr_db),
            (0, None, 0.0, None)
        );
    }

    #[test]
    fn epoch_windows_work_for_spectrogram_patches() {
        let cfg = FeatureConfig::musicnn();
        let ex = MelExtractor::new(&cfg).unwrap();
        let pcm = noise(16_000 * 8, 8);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let ep = epoch_windows(&pcm, &cfg, &ex, &AugmentConfig::default(), &mut rng);
        assert!(ep.offset_samples < 187 * 256);
        assert_eq!((ep.features.n_mels, ep.features.n_frames), (96, 187));
        assert!(!ep.features.is_empty());
    }

    #[test]
    fn augmentation_is_deterministic_per_seed() {
        let cfg = FeatureConfig::gtzan_default();
        let ex = MelExtractor::new(&cfg).unwrap();
        let pcm = noise(22_050 * 5, 9);
        let aug = AugmentConfig { noise_probability: 1.0, ..AugmentConfig::default() };
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut ep = epoch_windows(&pcm, &cfg, &ex, &aug, &mut rng);
            let (m, t) = (ep.features.n_mels, ep.features.n_frames);
            for w in ep.features.data.chunks_exact_mut(m * t) {
                spec_augment(w, m, t, &aug, &mut rng);
            }
            ep
        };
        let a = run(21);
        assert!(a.noise_snr_db.is_some_and(|s| (20.0..=40.0).contains(&s)));
        assert_eq!(a, run(21));
        assert_ne!(a, run(22));
    }

    #[test]
    fn config_serde_defaults_and_validation() {
        let cfg: AugmentConfig = serde_json::from_str(r#"{"gain_db": 3.0}"#).unwrap();
        assert_eq!(cfg, AugmentConfig { gain_db: 3.0, ..AugmentConfig::default() });
        let back: AugmentConfig =
            serde_json::from_str(&serde_json::to_string(&AugmentConfig::none()).unwrap()).unwrap();
        assert_eq!(back, AugmentConfig::none());
        AugmentConfig::default().validate().unwrap();
        AugmentConfig::none().validate().unwrap();
        let bad = AugmentConfig { noise_snr_db: [40.0, 20.0], ..AugmentConfig::default() };
        assert!(bad.validate().unwrap_err().contains("noise_snr_db"));
        let bad = AugmentConfig { noise_probability: 1.5, ..AugmentConfig::default() };
        assert!(bad.validate().unwrap_err().contains("noise_probability"));
    }
}
