//! [`FrontEnd`] and [`MidEnd`] from a Burn [`Musicnn`]'s layers, and the tensor entry points
//! [`Musicnn`] takes on the plain flex device.

use burn::nn::BatchNorm;
use burn::tensor::{Device, Tensor, TensorData};

use super::super::musicnn::{FrequencyPooledConv, MidEndConv, Musicnn};
use super::affine::ChannelAffine;
use super::mid_end::MidLayer;
use super::pooled_conv::PooledConv;
use super::{FrontEnd, MidEnd};

/// Whether [`front_end`] serves tensors on `device`: the flex CPU device without autodiff
/// (training, and WebGPU, keep Burn's layers).
pub(crate) fn applies(device: &Device) -> bool {
    !device.is_autodiff() && *device == Device::flex()
}

/// The front end's output `[batch, channels, frames]` for inputs `[batch, 1, mels, frames]`,
/// or `None` when a layer is not of the form this path computes (the caller then runs Burn's
/// layers).
pub(crate) fn front_end(net: &Musicnn, x: &Tensor<4>) -> Option<Tensor<3>> {
    let [batch, channels, mels, frames] = x.dims();
    let front = front_end_of(net)?;
    if channels != 1 || !front.fits(mels) {
        return None;
    }
    let out = front.forward(&values(x.clone()), mels, frames);
    Some(Tensor::from_data(TensorData::new(out, [batch, front.channels(), frames]), &x.device()))
}

/// The pooled vector `[batch, 2 * channels]` (see [`Musicnn::pools_from_front`]) from the front
/// end's output `[batch, channels, frames]`, or `None` when a layer is not of the form this
/// path computes.
pub(crate) fn pools(net: &Musicnn, front: &Tensor<3>) -> Option<Tensor<2>> {
    let [batch, channels, frames] = front.dims();
    let layers = net.midend.iter().map(mid_layer_of).collect::<Option<_>>()?;
    let mid = MidEnd { layers };
    if !mid.chains_from(channels) || frames == 0 {
        return None;
    }
    let pooled = mid.pools(&values(front.clone()), channels, frames);
    let shape = [batch, mid.pooled_len(channels)];
    Some(Tensor::from_data(TensorData::new(pooled, shape), &front.device()))
}

/// The front end's weights of `net`, or `None` when a conv is not of the form
/// [`PooledConv`] computes.
fn front_end_of(net: &Musicnn) -> Option<FrontEnd> {
    let convs =
        net.timbral.iter().chain(&net.temporal).map(pooled_conv_of).collect::<Option<_>>()?;
    let input_bn = affine_of(&net.input_bn);
    Some(FrontEnd { scale: *input_bn.scale.first()?, shift: *input_bn.shift.first()?, convs })
}

/// The map `bn` applies at inference (running statistics).
fn affine_of(bn: &BatchNorm) -> ChannelAffine {
    ChannelAffine::new(
        &values(bn.gamma.val()),
        &values(bn.beta.val()),
        &values(bn.running_mean.value()),
        &values(bn.running_var.value()),
        bn.epsilon as f32,
    )
}

/// The weights of `module`, or `None` when its conv is not a plain stride-1, one-input-channel
/// conv padded only in time (the module path then runs instead).
pub(super) fn pooled_conv_of(module: &FrequencyPooledConv) -> Option<PooledConv> {
    let conv = &module.conv;
    let [filters, channels, height, width] = conv.weight.dims();
    let burn::nn::PaddingConfig2d::Explicit(top, before, bottom, after) = conv.padding else {
        return None;
    };
    let plain = channels == 1
        && conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && top == 0
        && bottom == 0
        && before + after + 1 == width;
    if !plain {
        return None;
    }
    let bias = conv.bias.as_ref().map_or_else(|| vec![0.0; filters], |b| values(b.val()));
    let raw = values(conv.weight.val());
    Some(PooledConv::new(&raw, [filters, height, width], before, bias, affine_of(&module.bn)))
}

/// The weights of `module`, or `None` when its conv is not a plain stride-1 conv padded by
/// `(width - 1) / 2` frames on each side.
fn mid_layer_of(module: &MidEndConv) -> Option<MidLayer> {
    let conv = &module.conv;
    let [c_out, c_in, width] = conv.weight.dims();
    let burn::nn::PaddingConfig1d::Explicit(before, after) = conv.padding else {
        return None;
    };
    let plain = conv.stride == 1
        && conv.dilation == 1
        && conv.groups == 1
        && before == after
        && before + after + 1 == width;
    if !plain {
        return None;
    }
    let bias = conv.bias.as_ref().map_or_else(|| vec![0.0; c_out], |b| values(b.val()));
    let weights = values(conv.weight.val());
    Some(MidLayer::new(weights, [c_out, c_in, width], bias, affine_of(&module.bn)))
}

/// A float tensor's values as f32, in row-major order.
pub(super) fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("a float tensor converted to f32")
}
