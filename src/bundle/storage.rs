//! [`WeightStorage`]: how a bundle stores its weight matrices, and the conversions to and
//! from f32.
//!
//! Only tensors of rank 2 or more (convolution kernels, dense and recurrent weight matrices)
//! use the compact storage; vectors (biases, batch-norm scales and running statistics) are
//! tiny and stay f32. Whatever the storage, loading turns every weight back into f32, so the
//! model computes in f32 exactly as before; only the stored values are rounded.
//!
//! - `f16`: IEEE half precision (round to nearest even), about 3 significant digits.
//! - `int8`: symmetric linear quantisation with one scale per output channel:
//!   `w ≈ q * scale`, `q` in -127..=127, `scale = max |w| / 127` over the channel, so each
//!   weight moves by at most `scale / 2`. The output channel is axis 0 of a convolution
//!   kernel (`[out, in, k...]`) and axis 1 of a dense weight (Burn's `[in, out]` layout).
//!   The scales are stored as an f32 tensor named `<weight>:scale` whose shape is the
//!   weight's with every axis but the channel axis set to 1.
//! - `int6`, `int5`: the same with fewer levels (`q` in -31..31 or -15..15, `scale =
//!   max |w| / 31` or `/ 15`), still one byte per weight: the file is as large as int8's, but
//!   its bytes take fewer distinct values, so its gzip (what a browser downloads) is smaller
//!   (the shipped model's weights: 558 kB gzip as int8, 375 kB as int6). Each weight moves by
//!   at most half a step, about 4 or 8 times int8's.

use std::fmt;
use std::str::FromStr;

#[cfg(feature = "burn")]
use half::f16;
use serde::{Deserialize, Serialize};

/// How a bundle stores its weight matrices (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightStorage {
    /// 32-bit floats, as trained (format v1 bundles are always this).
    #[default]
    F32,
    /// 16-bit floats: half the size, about 3 significant digits.
    F16,
    /// 8-bit integers with one f32 scale per output channel: a quarter of the size.
    Int8,
    /// 6-bit levels (-31..31) stored as int8: the int8 size, a smaller gzip.
    Int6,
    /// 5-bit levels (-15..15) stored as int8: the int8 size, a smaller gzip still.
    Int5,
}

impl WeightStorage {
    /// Every storage, smallest (gzipped) last.
    pub const ALL: [WeightStorage; 5] = [
        WeightStorage::F32,
        WeightStorage::F16,
        WeightStorage::Int8,
        WeightStorage::Int6,
        WeightStorage::Int5,
    ];

    /// The name used in bundle headers and on the command line (`f32`, `f16`, `int8`,
    /// `int6`, `int5`).
    pub fn name(self) -> &'static str {
        match self {
            WeightStorage::F32 => "f32",
            WeightStorage::F16 => "f16",
            WeightStorage::Int8 => "int8",
            WeightStorage::Int6 => "int6",
            WeightStorage::Int5 => "int5",
        }
    }

    /// For the integer storages (stored as int8 with per-channel scales), the largest `|q|`.
    pub fn int_levels(self) -> Option<u8> {
        match self {
            WeightStorage::F32 | WeightStorage::F16 => None,
            WeightStorage::Int8 => Some(127),
            WeightStorage::Int6 => Some(31),
            WeightStorage::Int5 => Some(15),
        }
    }

    /// Whether a float tensor of this shape uses the compact storage (rank 2 and up).
    pub fn compacts(self, shape: &[usize]) -> bool {
        self != WeightStorage::F32 && shape.len() >= 2
    }
}

impl fmt::Display for WeightStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WeightStorage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WeightStorage::ALL.into_iter().find(|w| w.name() == s).ok_or_else(|| {
            format!("unknown weight storage '{s}' (expected one of: f32, f16, int8, int6, int5)")
        })
    }
}

/// Suffix of the tensor holding an int8 weight's scales.
pub(crate) const SCALE_SUFFIX: &str = ":scale";

#[cfg(feature = "burn")]
/// Rounds f32 values to f16; fails with the first value f16 cannot hold (NaN or beyond
/// ±65504), giving its index.
pub(crate) fn to_f16(values: &[f32]) -> Result<Vec<f16>, usize> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let h = f16::from_f32(v);
            if h.is_finite() {
                Ok(h)
            } else {
                Err(i)
            }
        })
        .collect()
}

#[cfg(feature = "burn")]
/// An integer-quantised tensor: values, and one scale per output channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quantised {
    /// `round(w / scale)` for every weight, in the tensor's order.
    pub values: Vec<i8>,
    /// The scales' shape: the tensor's, with every axis but the channel axis set to 1.
    pub scale_shape: Vec<usize>,
    /// `max |w| / levels` of each channel (0 for an all-zero channel).
    pub scales: Vec<f32>,
}

#[cfg(feature = "burn")]
/// The output-channel axis of a weight of this rank (see the module docs).
fn channel_axis(rank: usize) -> usize {
    if rank == 2 {
        1
    } else {
        0
    }
}

#[cfg(feature = "burn")]
/// Quantises a finite f32 tensor of `shape` (rank 2 or more) per output channel to integers
/// in `-levels..=levels` (127 for int8), stored as i8.
pub(crate) fn quantise(values: &[f32], shape: &[usize], levels: u8) -> Quantised {
    let levels = f32::from(levels.min(127));
    let axis = channel_axis(shape.len());
    let channels = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let channel_of = |i: usize| (i / inner.max(1)) % channels.max(1);
    let mut max_abs = vec![0f32; channels];
    for (i, v) in values.iter().enumerate() {
        let c = channel_of(i);
        max_abs[c] = max_abs[c].max(v.abs());
    }
    let scales: Vec<f32> = max_abs.iter().map(|m| m / levels).collect();
    let quantised = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let scale = scales[channel_of(i)];
            if scale > 0.0 {
                (v / scale).round().clamp(-levels, levels) as i8
            } else {
                0
            }
        })
        .collect();
    let mut scale_shape = vec![1; shape.len()];
    scale_shape[axis] = channels;
    Quantised { values: quantised, scale_shape, scales }
}

/// Turns quantised `values` of `shape` back into f32 with `scales` of `scale_shape`.
///
/// The scales' shape must be the tensor's with every axis but at most one set to 1, and the
/// scales finite and non-negative; otherwise the message says what is wrong.
pub(crate) fn dequantise(
    values: &[i8],
    shape: &[usize],
    scales: &[f32],
    scale_shape: &[usize],
) -> Result<Vec<f32>, String> {
    let bad_shape =
        || format!("scale shape {scale_shape:?} does not fit the weight shape {shape:?}");
    if scale_shape.len() != shape.len() {
        return Err(bad_shape());
    }
    // One axis may carry the scales (per channel); every other axis is broadcast.
    let mut axis = None;
    for (i, (&s, &d)) in scale_shape.iter().zip(shape).enumerate() {
        if s == 1 {
            continue;
        }
        if s != d || axis.is_some() {
            return Err(bad_shape());
        }
        axis = Some(i);
    }
    let (channels, inner) = match axis {
        Some(a) => (shape[a], shape[a + 1..].iter().product::<usize>()),
        None => (1, 1),
    };
    if scales.len() != channels {
        return Err(format!("{} scales for {channels} channels", scales.len()));
    }
    if let Some(i) = scales.iter().position(|s| !(s.is_finite() && *s >= 0.0)) {
        return Err(format!("scale {i} is {}; scales must be finite and >= 0", scales[i]));
    }
    Ok(values
        .iter()
        .enumerate()
        .map(|(i, &q)| q as f32 * scales[(i / inner.max(1)) % channels])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic, roughly bell-shaped values with a wide per-channel spread.
    fn weights(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|i| {
                let mut sum = 0.0;
                for _ in 0..4 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    sum += x as f32 / u32::MAX as f32 - 0.5;
                }
                sum * (1.0 + (i % 7) as f32)
            })
            .collect()
    }

    #[test]
    fn storage_names_round_trip() {
        for w in WeightStorage::ALL {
            assert_eq!(w.name().parse::<WeightStorage>().unwrap(), w);
            assert_eq!(serde_json::to_string(&w).unwrap(), format!("\"{w}\""));
        }
        let err = "fp8".parse::<WeightStorage>().unwrap_err();
        assert!(err.contains("'fp8'") && err.contains("int8"), "{err}");
        assert!(!WeightStorage::Int8.compacts(&[64]));
        assert!(WeightStorage::Int8.compacts(&[64, 32]));
        assert!(!WeightStorage::F32.compacts(&[64, 32]));
    }

    #[test]
    fn storage_int_error_is_at_most_half_a_step_per_channel() {
        let cases = [(vec![8usize, 3, 3, 3], 0usize), (vec![24, 10], 1), (vec![5, 4, 9], 0)];
        for ((shape, axis), levels) in
            cases.into_iter().flat_map(|c| [127u8, 31, 15].map(|l| (c.clone(), l)))
        {
            let n: usize = shape.iter().product();
            let w = weights(n, n as u32);
            let q = quantise(&w, &shape, levels);
            let max_q = q.values.iter().map(|v| v.unsigned_abs()).max().unwrap();
            assert_eq!(max_q, levels, "the largest weight of a channel takes the top level");
            assert_eq!(q.scales.len(), shape[axis]);
            assert_eq!(q.scale_shape.iter().product::<usize>(), shape[axis]);
            let back = dequantise(&q.values, &shape, &q.scales, &q.scale_shape).unwrap();
            let inner: usize = shape[axis + 1..].iter().product();
            for (i, (a, b)) in w.iter().zip(&back).enumerate() {
                let scale = q.scales[(i / inner) % shape[axis]];
                assert!(
                    (a - b).abs() <= scale * 0.5 * (1.0 + 1e-5),
                    "{i}: {a} vs {b} (scale {scale})"
                );
            }
            // The largest weight of each channel is exact up to rounding of the scale.
            let max = w.iter().fold(0f32, |m, v| m.max(v.abs()));
            let i = w.iter().position(|v| v.abs() == max).unwrap();
            assert!((w[i] - back[i]).abs() <= max * 1e-6, "{} vs {}", w[i], back[i]);
            assert!(q.values.iter().all(|&v| v != i8::MIN));
        }
        let levels: Vec<_> = WeightStorage::ALL.iter().map(|w| w.int_levels()).collect();
        assert_eq!(levels, [None, None, Some(127), Some(31), Some(15)]);
    }

    #[test]
    fn storage_int8_zero_channel_and_per_tensor_scales() {
        let shape = [3, 2];
        let w = [0.0, 1.0, 0.0, -2.0, 0.0, 0.5];
        let q = quantise(&w, &shape, 127);
        assert_eq!(q.scales, vec![0.0, 2.0 / 127.0]);
        assert_eq!(q.values, vec![0, 64, 0, -127, 0, 32]);
        let back = dequantise(&q.values, &shape, &q.scales, &q.scale_shape).unwrap();
        assert_eq!(back[0..4], [0.0, 64.0 * 2.0 / 127.0, 0.0, -2.0]);
        // One scale for the whole tensor is a valid layout too.
        let back = dequantise(&[1, -2, 3, 4], &[2, 2], &[0.5], &[1, 1]).unwrap();
        assert_eq!(back, vec![0.5, -1.0, 1.5, 2.0]);
    }

    #[test]
    fn storage_int8_rejects_bad_scales() {
        let q = [1i8; 6];
        for (scales, shape, needle) in [
            (&[1.0f32, 1.0][..], &[2usize, 3][..], "does not fit"),
            (&[1.0, 1.0, 1.0], &[1, 3, 1], "does not fit"),
            (&[1.0, 1.0, 1.0], &[2, 3], "does not fit"),
            (&[1.0, f32::NAN, 1.0], &[1, 3], "finite"),
            (&[1.0, -1.0, 1.0], &[1, 3], ">= 0"),
        ] {
            let err = dequantise(&q, &[2, 3], scales, shape).unwrap_err();
            assert!(err.contains(needle), "{shape:?}: {err}");
        }
        let err = dequantise(&q, &[2, 3], &[1.0, 1.0], &[1, 3]).unwrap_err();
        assert!(err.contains("2 scales for 3 channels"), "{err}");
    }

    #[test]
    fn storage_f16_relative_error_and_range() {
        let w = weights(1000, 3);
        let h = to_f16(&w).unwrap();
        for (a, b) in w.iter().zip(&h) {
            let b = b.to_f32();
            // Round to nearest with an 11-bit significand (values here are all normal in f16).
            assert!((a - b).abs() <= a.abs() * 2f32.powi(-11), "{a} vs {b}");
        }
        assert_eq!(to_f16(&[1.0, 70_000.0, 2.0]), Err(1));
        assert_eq!(to_f16(&[f32::NAN]), Err(0));
        assert_eq!(to_f16(&[1e-9]).unwrap()[0].to_f32(), 0.0);
    }
}
