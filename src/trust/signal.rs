//! Is there a signal? Silence, near-silence, DC offset and too-short input are found here,
//! before any model runs, from the decoded mono PCM. Pure DSP, no I/O.
//!
//! **Level rule.** The signal is cut into 50 ms frames; each frame's own mean is removed
//! (so a DC offset or a slow drift counts as no signal), and a frame whose RMS is above
//! [`SilenceGate::threshold_dbfs`] (dB relative to a full-scale amplitude of 1) is active.
//! A track with less than [`SilenceGate::min_signal_seconds`] of active frames is silent.
//!
//! **Range rule** ([`conform_range`]). Decoded samples are finite (the decoder refuses
//! NaN and infinity), but float files may hold finite values far beyond full scale (1e30),
//! whose squares overflow f32 in the front end. When the peak magnitude exceeds 1 the whole
//! signal is scaled so that its peak is 1 (as an editor's "normalise" would); the model
//! then hears the waveform's shape, not a hard-clipped square wave. A non-finite sample that
//! reaches this point anyway (PCM handed in by a caller) becomes 0.

use serde::{Deserialize, Serialize};

/// Length of the frames the level is measured on, in seconds.
const FRAME_SECONDS: f64 = 0.05;

/// The lowest level reported, in dBFS (digital silence reads as this, not minus infinity).
pub const FLOOR_DBFS: f32 = -200.0;

/// When input counts as silent; stored in the bundle's front-end config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SilenceGate {
    /// A 50 ms frame (mean removed) is signal when its RMS is above this, in dBFS.
    pub threshold_dbfs: f32,
    /// Input with less signal than this, in seconds, is silent.
    pub min_signal_seconds: f64,
}

impl Default for SilenceGate {
    /// -60 dBFS and 0.5 s: room tone and tape hiss are signal; dither, digital silence and
    /// a lone click are not.
    fn default() -> Self {
        SilenceGate { threshold_dbfs: -60.0, min_signal_seconds: 0.5 }
    }
}

impl SilenceGate {
    /// Checks that the numbers are usable (finite; the duration not negative).
    pub fn validate(&self) -> Result<(), String> {
        if !self.threshold_dbfs.is_finite() || self.threshold_dbfs > 0.0 {
            return Err(format!(
                "silence threshold_dbfs must be finite and at most 0, got {}",
                self.threshold_dbfs
            ));
        }
        if !(self.min_signal_seconds.is_finite() && self.min_signal_seconds >= 0.0) {
            return Err(format!(
                "silence min_signal_seconds must be finite and >= 0, got {}",
                self.min_signal_seconds
            ));
        }
        Ok(())
    }
}

/// What the level rule measured on one input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SignalLevel {
    /// Length of the input, in seconds.
    pub seconds: f64,
    /// Seconds of active (above-threshold) 50 ms frames.
    pub active_seconds: f64,
    /// RMS of the whole input with its mean removed, in dBFS (at least [`FLOOR_DBFS`]).
    pub rms_dbfs: f32,
    /// Mean of the input (a DC offset), after [`conform_range`].
    pub dc_offset: f32,
    /// The factor [`conform_range`] scaled the input by (1 when it was within full scale).
    pub scaled_by: f32,
    /// True when the gate calls it silent.
    pub silent: bool,
}

/// Applies the range rule (see the module docs) in place and returns the scale factor used.
pub fn conform_range(samples: &mut [f32]) -> f32 {
    let mut peak = 0.0f32;
    for x in samples.iter_mut() {
        if !x.is_finite() {
            *x = 0.0;
        }
        peak = peak.max(x.abs());
    }
    if peak <= 1.0 {
        return 1.0;
    }
    let scale = 1.0 / peak;
    for x in samples.iter_mut() {
        *x = (*x * scale).clamp(-1.0, 1.0);
    }
    scale
}

impl SignalLevel {
    /// Measures `samples` (mono, at `sample_rate`, already within full scale) against `gate`.
    pub fn measure(samples: &[f32], sample_rate: u32, gate: &SilenceGate) -> Self {
        let rate = sample_rate.max(1) as f64;
        let frame = ((FRAME_SECONDS * rate).round() as usize).max(1);
        let threshold = 10f64.powf(gate.threshold_dbfs as f64 / 20.0);
        let mut active_samples = 0usize;
        for chunk in samples.chunks(frame) {
            if rms_around(chunk, mean(chunk)) > threshold {
                active_samples += chunk.len();
            }
        }
        let seconds = samples.len() as f64 / rate;
        let active_seconds = active_samples as f64 / rate;
        let mean = mean(samples);
        SignalLevel {
            seconds,
            active_seconds,
            rms_dbfs: to_dbfs(rms_around(samples, mean)),
            dc_offset: mean as f32,
            scaled_by: 1.0,
            silent: active_seconds < gate.min_signal_seconds,
        }
    }
}

fn mean(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.iter().map(|&x| x as f64).sum::<f64>() / samples.len() as f64
}

/// RMS of `samples` minus `m` (their mean; 0 for no samples).
fn rms_around(samples: &[f32], m: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let power = samples.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / samples.len() as f64;
    power.sqrt()
}

fn to_dbfs(rms: f64) -> f32 {
    if rms <= 0.0 {
        return FLOOR_DBFS;
    }
    ((20.0 * rms.log10()) as f32).max(FLOOR_DBFS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 16_000;

    fn sine(seconds: f64, amplitude: f32) -> Vec<f32> {
        let n = (seconds * RATE as f64) as usize;
        (0..n)
            .map(|i| amplitude * (i as f32 * 440.0 * std::f32::consts::TAU / RATE as f32).sin())
            .collect()
    }

    fn level(samples: &[f32]) -> SignalLevel {
        SignalLevel::measure(samples, RATE, &SilenceGate::default())
    }

    #[test]
    fn digital_silence_dc_and_near_silence_are_silent() {
        let zeros = vec![0.0; RATE as usize * 10];
        let l = level(&zeros);
        assert!(l.silent);
        assert_eq!(l.rms_dbfs, FLOOR_DBFS);
        let dc = vec![1.0; RATE as usize * 10];
        let l = level(&dc);
        assert!(l.silent, "{l:?}");
        assert!((l.dc_offset - 1.0).abs() < 1e-6);
        // A -70 dBFS tone is below the -60 dBFS gate.
        assert!(level(&sine(5.0, 10f32.powf(-70.0 / 20.0) * 2f32.sqrt())).silent);
    }

    #[test]
    fn a_quiet_but_real_signal_is_not_silent() {
        // A -40 dBFS tone riding on a DC offset.
        let tone: Vec<f32> = sine(5.0, 0.01 * 2f32.sqrt()).into_iter().map(|x| x + 0.5).collect();
        let l = level(&tone);
        assert!(!l.silent, "{l:?}");
        assert!((l.rms_dbfs + 40.0).abs() < 0.1, "{}", l.rms_dbfs);
    }

    #[test]
    fn under_half_a_second_of_signal_is_silent() {
        let mut short = vec![0.0; RATE as usize * 5];
        let burst = sine(0.3, 0.5);
        short[RATE as usize..RATE as usize + burst.len()].copy_from_slice(&burst);
        assert!(level(&short).silent);
        assert!(level(&sine(0.3, 0.5)).silent);
        assert!(!level(&sine(0.6, 0.5)).silent);
    }

    #[test]
    fn extreme_floats_are_scaled_to_full_scale_and_stay_finite() {
        let mut huge: Vec<f32> = sine(1.0, 1e30);
        huge[3] = f32::NAN;
        let scale = conform_range(&mut huge);
        assert!(scale > 0.0 && scale < 1e-29);
        assert!(huge.iter().all(|x| x.is_finite() && x.abs() <= 1.0));
        assert_eq!(huge[3], 0.0);
        let peak = huge.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!((peak - 1.0).abs() < 1e-6);
        let mut normal = sine(1.0, 0.5);
        let before = normal.clone();
        assert_eq!(conform_range(&mut normal), 1.0);
        assert_eq!(normal, before);
    }

    #[test]
    fn gate_validation_names_the_field() {
        assert!(SilenceGate::default().validate().is_ok());
        let bad = SilenceGate { threshold_dbfs: f32::NAN, ..SilenceGate::default() };
        assert!(bad.validate().unwrap_err().contains("threshold_dbfs"));
        let bad = SilenceGate { min_signal_seconds: -1.0, ..SilenceGate::default() };
        assert!(bad.validate().unwrap_err().contains("min_signal_seconds"));
    }
}
