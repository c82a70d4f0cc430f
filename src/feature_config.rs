//! The front-end configuration: every number that turns PCM into model input.
//!
//! A `FeatureConfig` is stored in each model bundle, so the trainer and the browser derive
//! exactly the same features from the same audio. Nothing in the DSP code hard-codes these
//! values; the defaults below only name well-known presets.

use serde::{Deserialize, Serialize};

use crate::trust::SilenceGate;

/// How mel band centres are placed on the frequency axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MelScale {
    /// Slaney's Auditory Toolbox scale (linear below 1 kHz, logarithmic above); librosa's default.
    Slaney,
    /// The HTK formula `2595 * log10(1 + f / 700)`.
    Htk,
}

/// How each mel filter is normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MelNorm {
    /// Slaney area normalisation: each triangle is scaled by `2 / (f_high - f_low)`.
    Slaney,
    /// Unnormalised triangles with peak 1.
    None,
}

/// How the mel power spectrogram is compressed to the model's input scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Compression {
    /// `librosa.power_to_db(S, ref=ref_value, amin, top_db)`: `10 log10(max(S, amin) / ref)`,
    /// then floored at `max - top_db` over the whole window when `top_db` is set.
    PowerToDb {
        /// Reference power (librosa's `ref` as a fixed value).
        ref_value: f32,
        /// Smallest power considered, to avoid `log(0)`.
        amin: f32,
        /// Dynamic range kept below the window's maximum, in dB.
        top_db: Option<f32>,
    },
    /// `log10(1 + scale * S)`, as musicnn uses (`scale` = 10000).
    Log10Plus1 {
        /// Multiplier applied to the power before the logarithm.
        scale: f32,
    },
}

/// How the STFT frame is padded at the signal edges when `center` is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadMode {
    /// Zeros (librosa >= 0.10 default, `pad_mode="constant"`).
    Constant,
    /// Mirror without repeating the edge sample (numpy `reflect`).
    Reflect,
}

/// How a track is cut into model-sized pieces.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Windowing {
    /// Cut the audio into windows of `window_samples` every `hop_samples`, then compute the
    /// log-Mel of each window on its own (centre padding applies per window). This is what
    /// "the log-Mel of a 3 s window equals librosa's on that window" means.
    AudioWindows {
        /// Window length in samples at `sample_rate`.
        window_samples: usize,
        /// Distance between window starts, in samples.
        hop_samples: usize,
    },
    /// Compute one log-Mel over the whole track, then slice it into patches of
    /// `patch_frames` every `hop_frames` (musicnn's way).
    SpectrogramPatches {
        /// Patch length in STFT frames.
        patch_frames: usize,
        /// Distance between patch starts, in frames.
        hop_frames: usize,
        /// Use at most this many of the patches, evenly spread over the track (first and last
        /// kept; see [`spread_evenly`](crate::segment::spread_evenly)); `None` uses them all.
        /// It bounds the work per track for heavy models; training sees every patch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_patches: Option<usize>,
    },
}

/// Every parameter of the audio front end: resampling target, STFT, mel filterbank,
/// compression and windowing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Rate the audio is resampled to before anything else, in Hz.
    pub sample_rate: u32,
    /// FFT size in samples.
    pub n_fft: usize,
    /// Distance between STFT frames, in samples.
    pub hop_length: usize,
    /// Length of the (periodic Hann) analysis window; at most `n_fft`, centred in the frame.
    pub win_length: usize,
    /// Pad the signal by `n_fft / 2` on both sides so frame `t` is centred on sample `t * hop`.
    pub center: bool,
    /// Padding used when `center` is on.
    pub pad_mode: PadMode,
    /// Exponent applied to the STFT magnitude (2 = power).
    pub power: f32,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest filterbank frequency, in Hz.
    pub fmin: f32,
    /// Highest filterbank frequency, in Hz; `None` means `sample_rate / 2`.
    pub fmax: Option<f32>,
    /// Placement of the mel band centres.
    pub mel_scale: MelScale,
    /// Normalisation of each mel filter.
    pub mel_norm: MelNorm,
    /// Compression from mel power to model input.
    pub compression: Compression,
    /// How a track is cut into model inputs.
    pub windowing: Windowing,
    /// When input counts as silent (see [`crate::trust::signal`]); absent in bundles written
    /// before it: the default gate.
    #[serde(default)]
    pub silence: SilenceGate,
}

/// Number of STFT frames librosa produces for `n_samples` samples: with `center`, the signal
/// is first padded by `n_fft / 2` on both sides.
pub fn stft_frame_count(n_samples: usize, n_fft: usize, hop: usize, center: bool) -> usize {
    let padded = if center { n_samples.saturating_add(2 * (n_fft / 2)) } else { n_samples };
    if padded < n_fft {
        0
    } else {
        1 + (padded - n_fft) / hop
    }
}

impl FeatureConfig {
    /// The reference front end (docs/ARCHITECTURE.md, "Mel semantics"): 22050 Hz, n_fft 2048, hop 512,
    /// 128 Slaney mel bands, `power_to_db(ref=1, amin=1e-10, top_db=80)`, 3 s windows every 1.5 s.
    pub fn gtzan_default() -> Self {
        let sample_rate = 22_050;
        FeatureConfig {
            sample_rate,
            n_fft: 2048,
            hop_length: 512,
            win_length: 2048,
            center: true,
            pad_mode: PadMode::Constant,
            power: 2.0,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            mel_scale: MelScale::Slaney,
            mel_norm: MelNorm::Slaney,
            compression: Compression::PowerToDb { ref_value: 1.0, amin: 1e-10, top_db: Some(80.0) },
            windowing: Windowing::AudioWindows {
                window_samples: 3 * sample_rate as usize,
                hop_samples: 3 * sample_rate as usize / 2,
            },
            silence: SilenceGate::default(),
        }
    }

    /// The musicnn front end: 16 kHz, n_fft 512, hop 256, 96 Slaney bands,
    /// `log10(1 + 10000 x)`, 187-frame patches (about 3 s) taken from the whole-track spectrogram.
    pub fn musicnn() -> Self {
        FeatureConfig {
            sample_rate: 16_000,
            n_fft: 512,
            hop_length: 256,
            win_length: 512,
            center: true,
            pad_mode: PadMode::Constant,
            power: 2.0,
            n_mels: 96,
            fmin: 0.0,
            fmax: None,
            mel_scale: MelScale::Slaney,
            mel_norm: MelNorm::Slaney,
            compression: Compression::Log10Plus1 { scale: 10_000.0 },
            windowing: Windowing::SpectrogramPatches {
                patch_frames: 187,
                hop_frames: 187,
                max_patches: None,
            },
            silence: SilenceGate::default(),
        }
    }

    /// The same front end with every patch used (no `max_patches`): what training sees.
    pub fn without_patch_limit(&self) -> Self {
        let mut cfg = self.clone();
        if let Windowing::SpectrogramPatches { max_patches, .. } = &mut cfg.windowing {
            *max_patches = None;
        }
        cfg
    }

    /// Upper filterbank edge in Hz (`fmax`, or Nyquist when unset).
    pub fn fmax_hz(&self) -> f32 {
        self.fmax.unwrap_or(self.sample_rate as f32 / 2.0)
    }

    /// Number of FFT bins (`n_fft / 2 + 1`).
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Number of STFT frames for a signal of `n_samples` samples.
    pub fn frames_for(&self, n_samples: usize) -> usize {
        stft_frame_count(n_samples, self.n_fft, self.hop_length, self.center)
    }

    /// Frames in one model input (the time axis of each window's log-Mel).
    pub fn frames_per_window(&self) -> usize {
        match self.windowing {
            Windowing::AudioWindows { window_samples, .. } => self.frames_for(window_samples),
            Windowing::SpectrogramPatches { patch_frames, .. } => patch_frames,
        }
    }

    /// Seconds of audio one model input covers (a patch: its frames times the hop).
    pub fn window_seconds(&self) -> f64 {
        let samples = match self.windowing {
            Windowing::AudioWindows { window_samples, .. } => window_samples,
            Windowing::SpectrogramPatches { patch_frames, .. } => patch_frames * self.hop_length,
        };
        samples as f64 / self.sample_rate as f64
    }

    /// Seconds between the starts of consecutive model inputs.
    pub fn hop_seconds(&self) -> f64 {
        let samples = match self.windowing {
            Windowing::AudioWindows { hop_samples, .. } => hop_samples,
            Windowing::SpectrogramPatches { hop_frames, .. } => hop_frames * self.hop_length,
        };
        samples as f64 / self.sample_rate as f64
    }

    /// Checks that the numbers are usable together, naming the first one that is not.
    pub fn validate(&self) -> Result<(), String> {
        let fail = |msg: String| Err(msg);
        self.silence.validate()?;
        if self.sample_rate == 0 {
            return fail("sample_rate must be positive".into());
        }
        if self.n_fft < 2 {
            return fail(format!("n_fft must be at least 2, got {}", self.n_fft));
        }
        if self.hop_length == 0 {
            return fail("hop_length must be positive".into());
        }
        if self.win_length == 0 || self.win_length > self.n_fft {
            return fail(format!(
                "win_length must be in 1..={} (n_fft), got {}",
                self.n_fft, self.win_length
            ));
        }
        if self.n_mels == 0 {
            return fail("n_mels must be positive".into());
        }
        if !(self.power.is_finite() && self.power > 0.0) {
            return fail(format!("power must be positive, got {}", self.power));
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        let fmax = self.fmax_hz();
        if !(self.fmin >= 0.0 && self.fmin < fmax && fmax <= nyquist) {
            return fail(format!(
                "need 0 <= fmin < fmax <= {nyquist} Hz, got fmin {} and fmax {fmax}",
                self.fmin
            ));
        }
        match self.compression {
            Compression::PowerToDb { ref_value, amin, top_db } => {
                if !(ref_value > 0.0 && amin > 0.0) {
                    return fail("power_to_db needs ref_value > 0 and amin > 0".into());
                }
                if matches!(top_db, Some(t) if t.is_nan() || t < 0.0) {
                    return fail("top_db must be non-negative".into());
                }
            }
            Compression::Log10Plus1 { scale } => {
                if scale.is_nan() || scale <= 0.0 {
                    return fail("log10(1 + scale * x) needs scale > 0".into());
                }
            }
        }
        match self.windowing {
            Windowing::AudioWindows { window_samples, hop_samples } => {
                if window_samples == 0 || hop_samples == 0 {
                    return fail("window_samples and hop_samples must be positive".into());
                }
            }
            Windowing::SpectrogramPatches { patch_frames, hop_frames, max_patches } => {
                if patch_frames == 0 || hop_frames == 0 {
                    return fail("patch_frames and hop_frames must be positive".into());
                }
                if max_patches == Some(0) {
                    return fail("max_patches must be at least 1".into());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtzan_window_has_130_frames() {
        let cfg = FeatureConfig::gtzan_default();
        assert_eq!(cfg.frames_per_window(), 130);
        assert_eq!(cfg.n_bins(), 1025);
        cfg.validate().unwrap();
    }

    #[test]
    fn config_round_trips_through_json() {
        for cfg in [FeatureConfig::gtzan_default(), FeatureConfig::musicnn()] {
            let json = serde_json::to_string(&cfg).unwrap();
            let back: FeatureConfig = serde_json::from_str(&json).unwrap();
            assert_eq!(back, cfg);
            back.validate().unwrap();
        }
    }

    #[test]
    fn validate_names_the_bad_field() {
        let mut cfg = FeatureConfig::gtzan_default();
        cfg.fmax = Some(20_000.0);
        assert!(cfg.validate().unwrap_err().contains("fmax"));
        let mut cfg = FeatureConfig::gtzan_default();
        cfg.win_length = 4096;
        assert!(cfg.validate().unwrap_err().contains("win_length"));
    }
}
