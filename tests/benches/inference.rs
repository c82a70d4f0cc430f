//! CPU (burn-flex) inference throughput: windows per second of the from-scratch CNN (batch 1
//! and 32) and of the MusiCNN transfer network (batch 1 and 10, a 30 s track's patches).
//! Weights are freshly initialised; speed does not depend on their values.
//!
//! Run: `cargo bench -p genrescope --bench inference`

use burn::tensor::{Device, Tensor, TensorData};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use genrescope::model::{ArchitectureConfig, GenreNet};

fn input(batch: usize, n_mels: usize, n_frames: usize, device: &Device) -> Tensor<4> {
    let values: Vec<f32> =
        (0..batch * n_mels * n_frames).map(|i| ((i as f32) * 0.0137).sin()).collect();
    Tensor::from_data(TensorData::new(values, [batch, 1, n_mels, n_frames]), device)
}

/// Windows per second of the network `arch` describes, at each batch size.
fn bench_network(
    c: &mut Criterion,
    group: &str,
    arch: ArchitectureConfig,
    n_mels: usize,
    n_frames: usize,
    batches: [usize; 2],
) {
    let device = Device::flex();
    let model = GenreNet::new(&arch, n_mels, n_frames, 10, &device).unwrap();
    let mut group = c.benchmark_group(group);
    group.sample_size(10);
    for batch in batches {
        let x = input(batch, n_mels, n_frames, &device);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter(|| model.forward(x.clone()).into_data().try_to_vec::<f32>().unwrap())
        });
    }
    group.finish();
}

fn cnn_inference(c: &mut Criterion) {
    bench_network(c, "cnn_flex_inference", ArchitectureConfig::cnn_default(), 128, 130, [1, 32]);
}

fn musicnn_inference(c: &mut Criterion) {
    bench_network(
        c,
        "musicnn_flex_inference",
        ArchitectureConfig::musicnn_default(),
        96,
        187,
        [1, 10],
    );
}

criterion_group!(benches, cnn_inference, musicnn_inference);
criterion_main!(benches);
