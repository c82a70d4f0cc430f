//! Log-Mel spectrograms exactly as librosa computes them (docs/ARCHITECTURE.md, "Mel semantics").
//!
//! [`MelExtractor`] is built once from a [`FeatureConfig`] and reused for every window:
//! `power_to_db(melspectrogram(y))` or `log10(1 + C * melspectrogram(y))`.

mod compress;
mod filterbank;
mod stft;

pub use compress::compress_in_place;
pub use filterbank::{hz_to_mel, mel_frequencies, mel_to_hz, MelBand, MelFilterbank, FRAME_BLOCK};
#[cfg(feature = "descriptors")]
pub(crate) use stft::source_index;
pub use stft::{periodic_hann, PowerSpectrogram};

use crate::feature_config::{Compression, FeatureConfig};

/// A mel spectrogram, band-major: `data[band * n_frames + frame]` (librosa's `[n_mels, t]`).
#[derive(Debug, Clone, PartialEq)]
pub struct MelSpectrogram {
    /// Number of mel bands (rows).
    pub n_mels: usize,
    /// Number of STFT frames (columns).
    pub n_frames: usize,
    /// Values, `n_mels * n_frames` of them, band-major.
    pub data: Vec<f32>,
}

impl MelSpectrogram {
    /// The row of one mel band across all frames.
    pub fn band(&self, band: usize) -> &[f32] {
        &self.data[band * self.n_frames..(band + 1) * self.n_frames]
    }
}

/// Turns PCM at the config's sample rate into (log-)mel spectrograms.
pub struct MelExtractor {
    stft: PowerSpectrogram,
    bank: MelFilterbank,
    compression: Compression,
}

impl MelExtractor {
    /// Plans the STFT and builds the filterbank; fails, naming the field, on an invalid config.
    pub fn new(cfg: &FeatureConfig) -> Result<Self, String> {
        cfg.validate()?;
        Ok(MelExtractor {
            stft: PowerSpectrogram::new(cfg),
            bank: MelFilterbank::new(
                cfg.sample_rate as f64,
                cfg.n_fft,
                cfg.n_mels,
                cfg.fmin as f64,
                cfg.fmax_hz() as f64,
                cfg.mel_scale,
                cfg.mel_norm,
            ),
            compression: cfg.compression,
        })
    }

    /// Number of mel bands produced.
    pub fn n_mels(&self) -> usize {
        self.bank.bands.len()
    }

    /// Number of frames produced for `n_samples` samples.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        self.stft.n_frames(n_samples)
    }

    /// The mel power spectrogram (`librosa.feature.melspectrogram`), before compression.
    pub fn mel_power(&self, signal: &[f32]) -> MelSpectrogram {
        let n_frames = self.n_frames(signal.len());
        let mut data = vec![0.0f32; self.n_mels() * n_frames];
        self.mel_power_into(signal, &mut data);
        MelSpectrogram { n_mels: self.n_mels(), n_frames, data }
    }

    /// The compressed (log-)mel spectrogram that models take as input.
    pub fn log_mel(&self, signal: &[f32]) -> MelSpectrogram {
        let mut mel = self.mel_power(signal);
        compress_in_place(&mut mel.data, self.compression);
        mel
    }

    /// Writes the compressed log-mel of `signal` into `out`, band-major; `out` must hold
    /// exactly `n_mels() * n_frames(signal.len())` values.
    pub fn log_mel_into(&self, signal: &[f32], out: &mut [f32]) {
        self.mel_power_into(signal, out);
        compress_in_place(out, self.compression);
    }

    fn mel_power_into(&self, signal: &[f32], out: &mut [f32]) {
        self.mel_power_frames_into(signal, 0..self.n_frames(signal.len()), out);
    }

    /// The compressed (log-)mel of the frames `frames` of `signal` only (clipped to its
    /// frames), the same values as those columns of [`log_mel`](Self::log_mel): frames read
    /// only the samples around them ([`frame_support`](Self::frame_support)), so a signal
    /// whose other samples are missing (zeros) gives them too. `None` when the compression is
    /// not per value (a `top_db` floor depends on the whole spectrogram).
    pub fn log_mel_frames(
        &self,
        signal: &[f32],
        frames: std::ops::Range<usize>,
    ) -> Option<MelSpectrogram> {
        if let Compression::PowerToDb { top_db: Some(_), .. } = self.compression {
            return None;
        }
        let frames = frames.start.min(frames.end)..frames.end.min(self.n_frames(signal.len()));
        let n_frames = frames.len();
        let mut data = vec![0.0f32; self.n_mels() * n_frames];
        self.mel_power_frames_into(signal, frames, &mut data);
        compress_in_place(&mut data, self.compression);
        Some(MelSpectrogram { n_mels: self.n_mels(), n_frames, data })
    }

    /// The samples of a `n_samples`-long signal that frame `t` reads.
    pub fn frame_support(&self, t: usize, n_samples: usize) -> std::ops::Range<usize> {
        self.stft.frame_support(t, n_samples)
    }

    fn mel_power_frames_into(
        &self,
        signal: &[f32],
        frames: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        let n_frames = frames.len();
        assert_eq!(out.len(), self.n_mels() * n_frames, "output buffer size");
        // Frames are gathered bin-major in blocks so the filterbank runs on a block at once.
        let mut block = vec![0.0f32; self.stft.n_bins() * FRAME_BLOCK];
        let mut lanes = 0;
        let start = frames.start;
        self.stft.for_frames(signal, frames, |t, power| {
            let lane = lanes % FRAME_BLOCK; // provably in range: no bounds check in the loop
            for (row, &p) in block.chunks_exact_mut(FRAME_BLOCK).zip(power) {
                row[lane] = p;
            }
            lanes += 1;
            if lanes == FRAME_BLOCK || t + 1 - start == n_frames {
                let first = t + 1 - start - lanes;
                self.bank.apply_block(&block, lanes, &mut out[first..], n_frames);
                lanes = 0;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_range_equals_those_columns_of_the_whole_spectrogram() {
        let cfg = FeatureConfig::musicnn();
        let ex = MelExtractor::new(&cfg).unwrap();
        let signal: Vec<f32> =
            (0..16_000 * 7).map(|i| ((i as f32 * 0.013).sin() * (i % 977) as f32) * 1e-3).collect();
        let whole = ex.log_mel(&signal);
        let n = whole.n_frames;
        for range in [0..187, 1..188, 200..201, 101..n, n - 3..n + 5] {
            let part = ex.log_mel_frames(&signal, range.clone()).unwrap();
            let end = range.end.min(n);
            assert_eq!(part.n_frames, end - range.start);
            for band in [0, 17, 95] {
                assert_eq!(part.band(band), &whole.band(band)[range.start..end], "{range:?}");
            }
        }
        // Only the samples around the frames are read.
        let frames = 300..330;
        let support = ex.frame_support(frames.start, signal.len()).start
            ..ex.frame_support(frames.end, signal.len()).end;
        let mut sparse = vec![0.0; signal.len()];
        sparse[support.clone()].copy_from_slice(&signal[support]);
        assert_eq!(ex.log_mel_frames(&sparse, frames.clone()), ex.log_mel_frames(&signal, frames));
    }

    #[test]
    fn a_per_spectrogram_floor_has_no_frame_range() {
        let ex = MelExtractor::new(&FeatureConfig::gtzan_default()).unwrap();
        assert!(ex.log_mel_frames(&[0.1; 4096], 0..2).is_none());
    }
}
