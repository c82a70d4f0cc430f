//! MusiCNN's front end, mid end and pools on the CPU, without Burn: for inference only. The
//! kernels here are plain Rust on f32 slices; [`FrontEnd`] and [`MidEnd`] hold one network's
//! weights, built either from a Burn `Musicnn` (`from_burn`, on a plain flex device, where they give the
//! same values as its layers in fewer passes over memory) or from a bundle's stored
//! parameters (the Burn-free network, [`crate::model::plain`]).
//!
//! Per input and branch, one matrix product (the `gemm` crate, as burn-flex uses) and one
//! pass that applies bias, ReLU, batch norm and the maximum over frequency together
//! (`affine`); the layouts that make the products cheap are in `pooled_conv`. The mid end and
//! the temporal pools (`mid_end`) likewise, without im2col copies.

pub(crate) mod affine;
mod aligned;
pub(crate) mod gemm;
pub(crate) mod mid_end;
pub(crate) mod pooled_conv;

#[cfg(feature = "burn")]
mod from_burn;

#[cfg(feature = "burn")]
pub(crate) use from_burn::applies;
#[cfg(feature = "burn")]
pub(super) use from_burn::{front_end, pools};
use mid_end::MidLayer;
use pooled_conv::PooledConv;

/// The front end's weights: the input batch norm (one channel) and every frequency-pooled
/// conv, timbral then temporal.
pub(crate) struct FrontEnd {
    /// The input batch norm's scale.
    pub(crate) scale: f32,
    /// The input batch norm's shift.
    pub(crate) shift: f32,
    /// The branches, in output order.
    pub(crate) convs: Vec<PooledConv>,
}

impl FrontEnd {
    /// Output channels per input (the branches' filters together).
    pub(crate) fn channels(&self) -> usize {
        self.convs.iter().map(|conv| conv.filters).sum()
    }

    /// Whether inputs of `mels` bands fit every kernel.
    #[cfg_attr(not(feature = "burn"), allow(dead_code))]
    pub(crate) fn fits(&self, mels: usize) -> bool {
        self.convs.iter().all(|conv| conv.fits(mels))
    }

    /// The front end's output `[batch][channels][frames]` for inputs `[batch][mels][frames]`
    /// (`data`'s length a multiple of `mels * frames`; see [`fits`](Self::fits)).
    pub(crate) fn forward(&self, data: &[f32], mels: usize, frames: usize) -> Vec<f32> {
        let total = self.channels();
        let batch = data.len() / (mels * frames).max(1);
        let mut out = vec![0.0; batch * total * frames];
        let mut item = vec![0.0; mels * frames];
        for (input, output) in
            data.chunks_exact(mels * frames).zip(out.chunks_exact_mut(total * frames))
        {
            for (normalised, &v) in item.iter_mut().zip(input) {
                *normalised = self.scale * v + self.shift;
            }
            let mut rest = output;
            for conv in &self.convs {
                let (branch, tail) = rest.split_at_mut(conv.filters * frames);
                conv.forward(&item, mels, frames, branch);
                rest = tail;
            }
        }
        out
    }
}

/// The mid end's weights: its convs, the second and later adding their input.
pub(crate) struct MidEnd {
    /// The layers, in order.
    pub(crate) layers: Vec<MidLayer>,
}

impl MidEnd {
    #[cfg_attr(not(feature = "burn"), allow(dead_code))]
    /// Whether the layers chain from `channels` inputs (the second and later keeping the
    /// channel count, as their residual sums need).
    pub(crate) fn chains_from(&self, channels: usize) -> bool {
        let mut inputs = channels;
        for (i, layer) in self.layers.iter().enumerate() {
            if layer.c_in() != inputs || (i > 0 && layer.c_out() != inputs) {
                return false;
            }
            inputs = layer.c_out();
        }
        true
    }

    /// Values of one pooled vector for `channels` front-end channels: the maximum and mean of
    /// every front- and mid-end channel.
    pub(crate) fn pooled_len(&self, channels: usize) -> usize {
        2 * (channels + self.layers.iter().map(MidLayer::c_out).sum::<usize>())
    }

    /// The pooled vectors `[batch][pooled_len]` (see `Musicnn::pools_from_front`) from the
    /// front end's output `[batch][channels][frames]`, `frames > 0` (see
    /// [`chains_from`](Self::chains_from)).
    pub(crate) fn pools(&self, front: &[f32], channels: usize, frames: usize) -> Vec<f32> {
        let batch = front.len() / (channels * frames).max(1);
        let mut pooled = Vec::with_capacity(batch * self.pooled_len(channels));
        for item in front.chunks_exact(channels * frames) {
            mid_end::pools(&self.layers, item, frames, &mut pooled);
        }
        pooled
    }
}

#[cfg(all(test, feature = "burn"))]
pub(crate) mod tests;
