//! MusiCNN's front end, mid end and pools on the CPU (burn-flex) without Burn's module path:
//! for inference only, on a plain (non-autodiff) flex device, where it gives the same values
//! as [`Musicnn::front_end`] and [`Musicnn::pools_from_front`] through Burn's layers, in fewer
//! passes over memory.
//!
//! Per input and branch, one matrix product (the `gemm` crate, as burn-flex uses) and one
//! pass that applies bias, ReLU, batch norm and the maximum over frequency together
//! (`affine`); the layouts that make the products cheap are in `pooled_conv`. The mid end and
//! the temporal pools (`mid_end`) likewise, without im2col copies.

mod affine;
mod aligned;
mod gemm;
mod mid_end;
mod pooled_conv;

use burn::tensor::{Device, Tensor, TensorData};

use super::musicnn::Musicnn;
use affine::ChannelAffine;
use mid_end::MidLayer;
use pooled_conv::PooledConv;

/// Whether [`front_end`] serves tensors on `device`: the flex CPU device without autodiff
/// (training, and WebGPU, keep Burn's layers).
pub(super) fn applies(device: &Device) -> bool {
    !device.is_autodiff() && *device == Device::flex()
}

/// The front end's output `[batch, channels, frames]` for inputs `[batch, 1, mels, frames]`,
/// or `None` when a layer is not of the form this path computes (the caller then runs Burn's
/// layers).
pub(super) fn front_end(net: &Musicnn, x: &Tensor<4>) -> Option<Tensor<3>> {
    let [batch, channels, mels, frames] = x.dims();
    let convs: Vec<PooledConv> =
        net.timbral.iter().chain(&net.temporal).map(PooledConv::of).collect::<Option<_>>()?;
    if channels != 1 || !convs.iter().all(|conv| conv.fits(mels)) {
        return None;
    }
    let input_bn = ChannelAffine::of(&net.input_bn);
    let (scale, shift) = (*input_bn.scale.first()?, *input_bn.shift.first()?);
    let total: usize = convs.iter().map(|conv| conv.filters).sum();
    let data = values(x.clone());
    let mut out = vec![0.0; batch * total * frames];
    let mut item = vec![0.0; mels * frames];
    for (input, output) in
        data.chunks_exact(mels * frames).zip(out.chunks_exact_mut(total * frames))
    {
        for (normalised, &v) in item.iter_mut().zip(input) {
            *normalised = scale * v + shift;
        }
        let mut rest = output;
        for conv in &convs {
            let (branch, tail) = rest.split_at_mut(conv.filters * frames);
            conv.forward(&item, mels, frames, branch);
            rest = tail;
        }
    }
    Some(Tensor::from_data(TensorData::new(out, [batch, total, frames]), &x.device()))
}

/// The pooled vector `[batch, 2 * channels]` (see [`Musicnn::pools_from_front`]) from the front
/// end's output `[batch, channels, frames]`, or `None` when a layer is not of the form this
/// path computes.
pub(super) fn pools(net: &Musicnn, front: &Tensor<3>) -> Option<Tensor<2>> {
    let [batch, channels, frames] = front.dims();
    let layers: Vec<MidLayer> = net.midend.iter().map(MidLayer::of).collect::<Option<_>>()?;
    let mut inputs = channels;
    for (i, layer) in layers.iter().enumerate() {
        // The second and later layers add their input: they keep the channel count.
        if layer.c_in() != inputs || (i > 0 && layer.c_out() != inputs) {
            return None;
        }
        inputs = layer.c_out();
    }
    let pooled_channels = channels + layers.iter().map(MidLayer::c_out).sum::<usize>();
    if frames == 0 {
        return None;
    }
    let data = values(front.clone());
    let mut pooled = Vec::with_capacity(batch * 2 * pooled_channels);
    for item in data.chunks_exact(channels * frames) {
        mid_end::pools(&layers, item, frames, &mut pooled);
    }
    let shape = [batch, 2 * pooled_channels];
    Some(Tensor::from_data(TensorData::new(pooled, shape), &front.device()))
}

/// A float tensor's values as f32, in row-major order.
fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("a float tensor converted to f32")
}

#[cfg(test)]
mod tests;
