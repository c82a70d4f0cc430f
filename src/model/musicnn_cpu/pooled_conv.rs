//! One frequency-pooled conv of the front end (`FrequencyPooledConv`: a conv over the
//! one-channel spectrogram, ReLU, batch norm, max over frequency) for one input.
//!
//! Two layouts of the same product, both ending in [`Extremes`]:
//! - kernels taller than one band (timbral, 38 or 67 bands by 7 frames): a two-parallel fast
//!   FIR along frequency. With the bands and the kernel rows split by parity (`x0`, `x1`;
//!   `h0`, `h1`), the even output bands are `h0 * x0 + h1 * x1` and the odd ones
//!   `(h0 + h1) * (x1 + x0') - h1 * x1 - h0 * x0'` (`x0'` is `x0` one band on), so three
//!   products of half height replace four: about 24 % fewer multiply-adds, in exact
//!   arithmetic the same values. Each phase is laid out time-major (bands contiguous), so the
//!   im2col row of output `(t, i)` is `width` contiguous runs of half the height; rows are built
//!   a chunk of frames at a time and multiplied by the phase's `[taps * width, filters]`
//!   weights;
//! - one-band kernels (temporal, 1 by 128, 64 or 32 frames): the input stays band-major (frames
//!   contiguous), and the im2col matrix of band `f` is the padded band itself read with row
//!   and column stride 1, so there is no copy at all: one product per band.

use super::affine::{ChannelAffine, Extremes};
use super::aligned::Aligned;
use super::gemm::{matmul, View};

/// Frames per im2col chunk of the tall kernels (bounds the scratch memory: for the 38-band
/// kernel, three phases of 8 x 30 rows of 133 values).
const CHUNK_FRAMES: usize = 8;

/// A frequency-pooled conv's weights (see `FrequencyPooledConv`), arranged for [`matmul`].
pub(crate) struct PooledConv {
    /// Output channels.
    pub(crate) filters: usize,
    height: usize,
    width: usize,
    /// Zero frames before the input (the rest of `width - 1` goes after).
    before: usize,
    kernel: Kernel,
    bias: Vec<f32>,
    bn: ChannelAffine,
}

/// The kernel, arranged for the path its height takes.
enum Kernel {
    /// One band high: `[filters][width]`, the right-hand side of one product per band.
    OneBand(Vec<f32>),
    /// Taller: its rows split by parity.
    Tall(KernelPhases),
}

/// A tall kernel's rows split by parity, for the fast FIR of [`PooledConv::forward_phases`]:
/// `[filters][taps * width]` each, the inner index `dw * taps + j`.
struct KernelPhases {
    /// Rows per phase: `ceil(height / 2)` (the odd rows get a zero row when `height` is odd).
    taps: usize,
    /// `h0`: rows 0, 2, 4, ...
    even: Vec<f32>,
    /// `h1`: rows 1, 3, 5, ...
    odd: Vec<f32>,
    /// `h0 + h1`.
    sum: Vec<f32>,
}

impl KernelPhases {
    /// The phases of `weights` (`[filters][width * height]`, inner index `dw * height + dh`).
    fn of(weights: &[f32], filters: usize, height: usize, width: usize) -> Self {
        let taps = height.div_ceil(2);
        let k = taps * width;
        let (mut even, mut odd) = (vec![0.0; filters * k], vec![0.0; filters * k]);
        for c in 0..filters {
            for dw in 0..width {
                for dh in 0..height {
                    let v = weights[c * height * width + dw * height + dh];
                    let phase = if dh % 2 == 0 { &mut even } else { &mut odd };
                    phase[c * k + dw * taps + dh / 2] = v;
                }
            }
        }
        let sum = even.iter().zip(&odd).map(|(a, b)| a + b).collect();
        KernelPhases { taps, even, odd, sum }
    }
}

/// One phase product's memory for a chunk of frames: its im2col rows and its products.
struct PhaseScratch {
    columns: Aligned,
    products: Aligned,
}

impl PooledConv {
    /// A conv of `filters` kernels `height` bands by `width` frames on one input channel,
    /// stride 1, zero-padded by `before` frames before the input (the rest of `width - 1`
    /// after); `raw` is `[filters][1][height][width]` (Burn's layout), `bias` one value per
    /// filter, `bn` the batch norm after the ReLU.
    pub(crate) fn new(
        raw: &[f32],
        [filters, height, width]: [usize; 3],
        before: usize,
        bias: Vec<f32>,
        bn: ChannelAffine,
    ) -> Self {
        let k = height * width;
        let mut weights = vec![0.0; filters * k];
        for c in 0..filters {
            for dh in 0..height {
                for dw in 0..width {
                    weights[c * k + dw * height + dh] = raw[c * k + dh * width + dw];
                }
            }
        }
        let kernel = if height == 1 {
            Kernel::OneBand(weights)
        } else {
            Kernel::Tall(KernelPhases::of(&weights, filters, height, width))
        };
        PooledConv { filters, height, width, before, kernel, bias, bn }
    }

    /// Whether an input of `mels` bands is tall enough for the kernel.
    pub(crate) fn fits(&self, mels: usize) -> bool {
        mels >= self.height
    }

    /// `out` (`[filters][frames]`) for one normalised input `x` (`[mels][frames]`).
    pub(crate) fn forward(&self, x: &[f32], mels: usize, frames: usize, out: &mut [f32]) {
        match &self.kernel {
            Kernel::Tall(phases) => self.forward_phases(phases, x, mels, frames, out),
            Kernel::OneBand(weights) => self.forward_per_band(weights, x, mels, frames, out),
        }
    }

    /// The tall kernels' fast FIR (see the module docs). Output band `f = 2i` is
    /// `p0[i] + p1[i]`, band `2i + 1` is `p2[i] - p1[i] - p0[i + 1]`, with
    /// `p0 = h0 * x0`, `p1 = h1 * x1` and `p2 = (h0 + h1) * (x1 + x0')`.
    fn forward_phases(
        &self,
        phases: &KernelPhases,
        x: &[f32],
        mels: usize,
        frames: usize,
        out: &mut [f32],
    ) {
        let (width, filters, taps) = (self.width, self.filters, phases.taps);
        let bands = mels - self.height + 1;
        let (n_even, n_odd) = (bands.div_ceil(2), bands / 2);
        // Rows of each product per frame (p0 also gives the odd bands their `p0[i + 1]`).
        let rows_per_frame = [n_even.max(n_odd + 1), n_even, n_odd];
        // Values per frame of each phase: enough for every row's `taps` values, zero beyond
        // the input's bands (they meet only zero kernel rows or cancel out).
        let len = rows_per_frame[0] + taps;
        let band = |f: usize, t: usize| if f < mels { x[f * frames + t] } else { 0.0 };
        // Time-major and zero-padded in time: x0[t][n] = x[2n][t], x1[t][n] = x[2n + 1][t],
        // and their sum one band apart, (x1 + x0')[t][n] = x[2n + 1][t] + x[2n + 2][t].
        let padded_frames = frames + width - 1;
        let mut inputs = [
            Aligned::zeroed(padded_frames * len),
            Aligned::zeroed(padded_frames * len),
            Aligned::zeroed(padded_frames * len),
        ];
        for t in 0..frames {
            let row = (t + self.before) * len;
            for n in 0..len {
                let (even, odd, next) = (band(2 * n, t), band(2 * n + 1, t), band(2 * n + 2, t));
                inputs[0][row + n] = even;
                inputs[1][row + n] = odd;
                inputs[2][row + n] = odd + next;
            }
        }
        let kernels = [&phases.even, &phases.odd, &phases.sum];
        let k = taps * width;
        let mut scratch: Vec<PhaseScratch> = rows_per_frame
            .iter()
            .map(|&rows| PhaseScratch {
                columns: Aligned::zeroed(CHUNK_FRAMES * rows * k),
                products: Aligned::zeroed(CHUNK_FRAMES * rows * filters),
            })
            .collect();
        let mut extremes = Extremes::new(CHUNK_FRAMES * filters);
        let mut band_values = vec![0.0; filters];
        for start in (0..frames).step_by(CHUNK_FRAMES) {
            let n_frames = CHUNK_FRAMES.min(frames - start);
            for (((phase, kernel), &per_frame), s) in
                inputs.iter().zip(kernels).zip(&rows_per_frame).zip(&mut scratch)
            {
                let rows = n_frames * per_frame;
                for (row, column) in s.columns.chunks_exact_mut(k).take(rows).enumerate() {
                    let (t, i) = (start + row / per_frame, row % per_frame);
                    for (dw, run) in column.chunks_exact_mut(taps).enumerate() {
                        let from = (t + dw) * len + i;
                        run.copy_from_slice(&phase[from..from + taps]);
                    }
                }
                let lhs = View { data: &s.columns, rs: k, cs: 1 };
                let rhs = View { data: kernel, rs: 1, cs: k };
                matmul(&mut s.products, rows, filters, k, lhs, rhs);
            }
            extremes.clear();
            let [p0, p1, p2] = [0, 1, 2].map(|i| &scratch[i].products);
            let row = |p, per_frame, t, i| band_row(p, filters, per_frame * t + i);
            for t in 0..n_frames {
                for i in 0..n_even {
                    let (a, b) = (row(p0, rows_per_frame[0], t, i), row(p1, n_even, t, i));
                    for ((v, a), b) in band_values.iter_mut().zip(a).zip(b) {
                        *v = a + b;
                    }
                    extremes.update(t * filters, &band_values);
                }
                for i in 0..n_odd {
                    let sum = row(p2, n_odd, t, i);
                    let (odd, next) = (row(p1, n_even, t, i), row(p0, rows_per_frame[0], t, i + 1));
                    for (((v, s), o), e) in band_values.iter_mut().zip(sum).zip(odd).zip(next) {
                        *v = s - o - e;
                    }
                    extremes.update(t * filters, &band_values);
                }
            }
            extremes.finish(n_frames, filters, &self.bias, &self.bn, &mut out[start..], frames);
        }
    }

    fn forward_per_band(
        &self,
        weights: &[f32],
        x: &[f32],
        mels: usize,
        frames: usize,
        out: &mut [f32],
    ) {
        let (width, filters) = (self.width, self.filters);
        // The weights as the right-hand side `[width, filters]`.
        let rhs = View { data: weights, rs: 1, cs: width };
        let padded_len = frames + width - 1;
        let mut padded = vec![0.0; padded_len];
        let mut products = vec![0.0; frames * filters];
        let mut extremes = Extremes::new(frames * filters);
        for f in 0..mels {
            padded[self.before..self.before + frames]
                .copy_from_slice(&x[f * frames..(f + 1) * frames]);
            let lhs = View { data: &padded, rs: 1, cs: 1 };
            matmul(&mut products, frames, filters, width, lhs, rhs);
            extremes.update(0, &products);
        }
        extremes.finish(frames, filters, &self.bias, &self.bn, out, frames);
    }
}

/// Row `row` (`filters` values) of a `[rows][filters]` product.
fn band_row(products: &[f32], filters: usize, row: usize) -> &[f32] {
    &products[row * filters..(row + 1) * filters]
}
