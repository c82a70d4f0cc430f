//! The CPU path against Burn's layers, on random weights, batch-norm statistics (negative
//! scales included, which turn the frequency maximum into a minimum) and inputs.

use burn::module::{Param, RunningState};
use burn::nn::BatchNorm;
use burn::tensor::{Device, Tensor, TensorData};

use super::from_burn::{applies, front_end, pooled_conv_of, pools, values};
use crate::model::musicnn::{
    FrequencyPooledConv, Musicnn, MusicnnEmbedding, MusicnnTransfer, FRONT_END_CHANNELS, POOL_DIM,
};

/// Deterministic values in `[low, high)` (a linear congruential generator).
pub(crate) fn uniform(n: usize, seed: u64, low: f32, high: f32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            low + (high - low) * ((state >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

fn vector(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

/// `bn` with random scales (about a third negative), shifts and running statistics.
pub(crate) fn randomised(mut bn: BatchNorm, seed: u64, device: &Device) -> BatchNorm {
    let [n] = bn.gamma.dims();
    bn.gamma = Param::from_tensor(vector(uniform(n, seed, -0.5, 1.0), device));
    bn.beta = Param::from_tensor(vector(uniform(n, seed + 1, -0.3, 0.3), device));
    bn.running_mean = RunningState::new(vector(uniform(n, seed + 2, -0.2, 0.4), device));
    bn.running_var = RunningState::new(vector(uniform(n, seed + 3, 0.05, 2.0), device));
    bn
}

/// A transfer network with its tag layer and a hidden layer, every batch norm randomised.
fn network(device: &Device) -> MusicnnTransfer {
    let mut net = MusicnnTransfer::new(MusicnnEmbedding::Pools, &[16], 0.5, 7, true, device);
    randomise_backbone(&mut net.backbone, device);
    net
}

/// Randomises every batch norm of the backbone's input, front end, mid end and pools.
pub(crate) fn randomise_backbone(backbone: &mut Musicnn, device: &Device) {
    backbone.input_bn = randomised(backbone.input_bn.clone(), 10, device);
    for (i, branch) in backbone.timbral.iter_mut().chain(backbone.temporal.iter_mut()).enumerate() {
        branch.bn = randomised(branch.bn.clone(), 20 + 4 * i as u64, device);
    }
    for (i, conv) in backbone.midend.iter_mut().enumerate() {
        conv.bn = randomised(conv.bn.clone(), 60 + 4 * i as u64, device);
    }
    backbone.pool_bn = randomised(backbone.pool_bn.clone(), 80, device);
}

fn input(batch: usize, frames: usize, device: &Device) -> Tensor<4> {
    let values = uniform(batch * 96 * frames, batch as u64 * 1000 + frames as u64, -1.0, 3.0);
    Tensor::from_data(TensorData::new(values, [batch, 1, 96, frames]), device)
}

/// Fails unless `got` equals `want` within 1e-4 relative (to each value, or to the mean
/// magnitude for values near zero).
fn assert_close<const D: usize>(got: Tensor<D>, want: Tensor<D>, what: &str) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let (got, want) = (values(got), values(want));
    let mean = want.iter().map(|v| v.abs()).sum::<f32>() / want.len() as f32;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-4 * (w.abs() + mean), "{what}[{i}]: {g} vs {w}");
    }
}

#[test]
fn front_end_equals_burn_layers() {
    let device = Device::flex();
    let net = network(&device);
    for (batch, frames) in [(1, 187), (3, 187), (2, 60)] {
        let x = input(batch, frames, &device);
        let fast = front_end(&net.backbone, &x).expect("the MusiCNN front end has a CPU path");
        assert_eq!(fast.dims(), [batch, FRONT_END_CHANNELS, frames]);
        assert_close(fast, net.backbone.front_end_layers(x), "front end");
    }
}

/// The CPU path's frequency-pooled convs against Burn's conv for kernel heights and band
/// counts of both parities, down to a single output band, and widths with and without padding.
#[test]
fn frequency_pooled_convs_of_any_shape_equal_burn_layers() {
    let device = Device::flex();
    let frames = 23;
    for (height, mels) in [(2, 2), (2, 7), (3, 3), (3, 8), (4, 9), (5, 12), (6, 11), (7, 20)] {
        for width in [1, 3, 4] {
            let mut module = FrequencyPooledConv::new(5, height, width, &device);
            module.bn = randomised(module.bn, (height * 10 + width) as u64, &device);
            let conv = pooled_conv_of(&module).expect("a plain conv");
            let x = uniform(mels * frames, (mels * 100 + width) as u64, -1.0, 3.0);
            let mut fast = vec![0.0; 5 * frames];
            conv.forward(&x, mels, frames, &mut fast);
            let fast = Tensor::from_data(TensorData::new(fast, [1, 5, frames]), &device);
            let input = Tensor::from_data(TensorData::new(x, [1, 1, mels, frames]), &device);
            assert_close(fast, module.forward(input), &format!("{height}x{width} on {mels} bands"));
        }
    }
}

#[test]
fn pools_equal_burn_layers() {
    let device = Device::flex();
    let net = network(&device);
    for (batch, frames) in [(1, 187), (3, 187), (2, 60)] {
        let front = net.backbone.front_end_layers(input(batch, frames, &device));
        let fast = pools(&net.backbone, &front).expect("the MusiCNN mid end has a CPU path");
        assert_eq!(fast.dims(), [batch, POOL_DIM]);
        assert_close(fast, net.backbone.pools_from_front_layers(front), "pools");
    }
}

#[test]
fn every_output_equals_burn_layers() {
    let device = Device::flex();
    let net = network(&device);
    for batch in [1, 3] {
        let x = input(batch, 187, &device);
        // forward_all takes the CPU path on the flex device ...
        let (logits, outputs) = net.forward_all(x.clone());
        // ... and the reference runs every layer through Burn.
        let backbone = &net.backbone;
        let front = backbone.front_end_layers(x);
        let pools = backbone.pool_bn.forward(backbone.pools_from_front_layers(front));
        let (penultimate, tag_logits) = backbone.top_from(pools.clone()).expect("has its top");
        assert_close(logits, net.head.forward(pools.clone()), "logits");
        assert_close(outputs.pools, pools, "pools");
        assert_close(outputs.penultimate.expect("penultimate"), penultimate, "penultimate");
        assert_close(outputs.tag_logits.expect("tags"), tag_logits, "tag logits");
    }
}

#[test]
fn only_the_plain_flex_device_takes_the_cpu_path() {
    assert!(applies(&Device::flex()));
    assert!(!applies(&Device::flex().autodiff()));
}
