//! ReLU, then inference batch norm, then the maximum over frequency, in one step per value:
//! batch norm is a per-channel affine map `scale * v + shift`, which commutes with the maximum
//! when `scale >= 0` and turns it into the minimum when `scale < 0`; ReLU is monotone, so it
//! commutes with both.

/// Inference batch norm as `scale * v + shift` per channel.
pub(crate) struct ChannelAffine {
    /// `gamma / sqrt(running_var + epsilon)`.
    pub(crate) scale: Vec<f32>,
    /// `beta - running_mean * scale`.
    pub(crate) shift: Vec<f32>,
}

impl ChannelAffine {
    /// The map a batch norm with scales `gamma`, shifts `beta` and running statistics `mean`
    /// and `var` applies at inference.
    pub(crate) fn new(
        gamma: &[f32],
        beta: &[f32],
        mean: &[f32],
        var: &[f32],
        epsilon: f32,
    ) -> Self {
        let scale: Vec<f32> =
            gamma.iter().zip(var).map(|(g, v)| g / (v + epsilon).sqrt()).collect();
        let shift = beta.iter().zip(mean).zip(&scale).map(|((b, m), s)| b - m * s).collect();
        ChannelAffine { scale, shift }
    }
}

/// Running elementwise maximum and minimum of conv outputs (before bias, ReLU and batch norm).
pub(super) struct Extremes {
    /// The maxima.
    hi: Vec<f32>,
    /// The minima.
    lo: Vec<f32>,
}

impl Extremes {
    /// `len` running extremes, empty (the first [`update`](Self::update) sets them).
    pub(super) fn new(len: usize) -> Self {
        Extremes { hi: vec![f32::NEG_INFINITY; len], lo: vec![f32::INFINITY; len] }
    }

    /// Resets every extreme to empty.
    pub(super) fn clear(&mut self) {
        self.hi.fill(f32::NEG_INFINITY);
        self.lo.fill(f32::INFINITY);
    }

    /// Takes `values` into the extremes from `offset` on (one value per extreme, in order).
    pub(super) fn update(&mut self, offset: usize, values: &[f32]) {
        let (hi, lo) = (&mut self.hi[offset..], &mut self.lo[offset..]);
        for ((hi, lo), &v) in hi.iter_mut().zip(lo.iter_mut()).zip(values) {
            *hi = if v > *hi { v } else { *hi };
            *lo = if v < *lo { v } else { *lo };
        }
    }

    /// `max over f of bn(relu(conv + bias))` from the first `rows` rows of the extremes (laid
    /// out `[rows][channels]`), written to `out[c * stride + row]` (channel-major, as
    /// `[channels, frames]`).
    pub(super) fn finish(
        &self,
        rows: usize,
        channels: usize,
        bias: &[f32],
        bn: &ChannelAffine,
        out: &mut [f32],
        stride: usize,
    ) {
        for c in 0..channels {
            let (scale, shift, bias) = (bn.scale[c], bn.shift[c], bias[c]);
            let extremes = if scale >= 0.0 { &self.hi } else { &self.lo };
            for row in 0..rows {
                let v = (extremes[row * channels + c] + bias).max(0.0);
                out[c * stride + row] = scale * v + shift;
            }
        }
    }
}
