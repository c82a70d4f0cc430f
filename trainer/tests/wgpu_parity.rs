//! The wgpu backend computes what the CPU backend (burn-flex) computes: two optimiser steps of
//! the training loop's own code from the same weights and windows, then the CNN's and the
//! CRNN's logits in inference mode. Runs where wgpu finds an adapter (a GPU, or Mesa's
//! lavapipe, which `./build.sh setup` installs); elsewhere it says why it is skipped.
#![cfg(feature = "wgpu")]

use burn::module::Module;
use burn::tensor::Device;
use genrescope::classify::max_abs_diff;
use genrescope::model::{ArchitectureConfig, GenreNet};
use genrescope_trainer::commands::backend::{adapters, Backend};
use genrescope_trainer::train::fit::{optimizer, train_pass};
use genrescope_trainer::train::windows::WindowSet;

const N_MELS: usize = 32;
const N_FRAMES: usize = 48;
const N_LABELS: usize = 4;
/// Largest difference allowed for the same weights on both devices.
const TOLERANCE: f32 = 1e-4;
/// Largest difference allowed after two Adam steps on each device (see the test).
const AFTER_STEPS_TOLERANCE: f32 = 2e-3;

/// 16 windows of smooth deterministic patterns (different per window), labels 0..4.
fn windows() -> WindowSet {
    let n = 16;
    let mut set = WindowSet::new(N_MELS, N_FRAMES);
    for w in 0..n {
        for m in 0..N_MELS {
            for f in 0..N_FRAMES {
                let (w, m, f) = (w as f32, m as f32, f as f32);
                set.data.push((0.37 * m + 0.11 * f * (1.0 + 0.1 * w)).sin() + 0.05 * w - 0.4);
            }
        }
        set.labels.push(w % N_LABELS);
        set.tracks.push(w);
    }
    set
}

/// Logits of every window of `set`, in one batch.
fn logits(model: &GenreNet, set: &WindowSet, device: &Device) -> Vec<f32> {
    let all: Vec<usize> = (0..set.len()).collect();
    let (x, _) = set.batch(&all, device);
    model.forward(x).into_data().try_to_vec::<f32>().unwrap()
}

/// The same (lazily initialised) weights on both devices: the clone shares the parameters,
/// so they initialise once, on the CPU, and are copied.
fn on_both(arch: &ArchitectureConfig, cpu: &Device, gpu: &Device) -> (GenreNet, GenreNet) {
    let model = GenreNet::new(arch, N_MELS, N_FRAMES, N_LABELS, cpu).unwrap();
    let copy = model.clone().fork(gpu);
    (model, copy)
}

#[test]
fn training_steps_and_inference_on_wgpu_match_the_cpu() {
    let found = adapters();
    if found.is_empty() {
        eprintln!("skipped: wgpu finds no adapter here (install a GPU driver, or Mesa's lavapipe: apt-get install mesa-vulkan-drivers)");
        return;
    }
    let (gpu, name) = Backend::Wgpu.device().expect("wgpu starts when an adapter exists");
    eprintln!("comparing {name} with the CPU");
    let cpu = Device::flex();
    let set = windows();

    // Training: no dropout (its masks come from each backend's own generator).
    let cnn =
        ArchitectureConfig::Cnn { filters: vec![32, 64, 128], dense: vec![256, 128], dropout: 0.0 };
    let (cpu_model, gpu_model) = on_both(&cnn, &cpu.clone().autodiff(), &gpu.clone().autodiff());
    let before = logits(&cpu_model.valid(), &set, &cpu);
    let difference = max_abs_diff(&before, &logits(&gpu_model.valid(), &set, &gpu));
    assert!(difference < TOLERANCE, "logits before training differ by {difference}");
    let batches = vec![(0..8).collect::<Vec<_>>(), (8..16).collect()];
    let (mut cpu_losses, mut gpu_losses) = (Vec::new(), Vec::new());
    let (cpu_model, cpu_pass) =
        train_pass(cpu_model, &mut optimizer(None), &set, &batches, 1e-3, &cpu, |p| {
            cpu_losses.push(p.loss_sum)
        })
        .unwrap();
    let (gpu_model, gpu_pass) =
        train_pass(gpu_model, &mut optimizer(None), &set, &batches, 1e-3, &gpu, |p| {
            gpu_losses.push(p.loss_sum)
        })
        .unwrap();
    assert_eq!((cpu_pass.seen, gpu_pass.seen), (16, 16));
    // The first batch's loss comes from the same weights on both devices.
    let first = (cpu_losses[0] - gpu_losses[0]).abs() / 8.0;
    assert!(
        first < TOLERANCE as f64,
        "first-batch loss per window: cpu {} wgpu {}",
        cpu_losses[0] / 8.0,
        gpu_losses[0] / 8.0
    );
    // After Adam steps the bound is looser: Adam's first step moves every weight by about
    // lr * sign(gradient), so a gradient that is ~0 may flip sign between two float
    // implementations and move by a whole 1e-3 the other way. Seen on lavapipe: 3e-5 to 4.6e-4.
    let (cpu_logits, gpu_logits) =
        (logits(&cpu_model.valid(), &set, &cpu), logits(&gpu_model.valid(), &set, &gpu));
    assert!(cpu_logits.iter().all(|v| v.is_finite()));
    let moved = max_abs_diff(&before, &cpu_logits);
    let difference = max_abs_diff(&cpu_logits, &gpu_logits);
    eprintln!("after two Adam steps: logits moved by up to {moved:.3e}, cpu vs wgpu differ by {difference:.3e}");
    assert!(
        difference < AFTER_STEPS_TOLERANCE,
        "logits after two Adam steps differ by {difference}"
    );
    assert!(
        moved > 10.0 * AFTER_STEPS_TOLERANCE,
        "the steps barely moved the logits ({moved}), so the comparison says little"
    );
    let loss_difference = (cpu_pass.loss_sum - gpu_pass.loss_sum).abs() / 16.0;
    assert!(
        loss_difference < AFTER_STEPS_TOLERANCE as f64,
        "mean training loss: cpu {} wgpu {}",
        cpu_pass.mean_loss(),
        gpu_pass.mean_loss()
    );

    // Inference of the CRNN (bidirectional GRU).
    let (cpu_model, gpu_model) = on_both(&ArchitectureConfig::crnn_default(), &cpu, &gpu);
    let difference = max_abs_diff(&logits(&cpu_model, &set, &cpu), &logits(&gpu_model, &set, &gpu));
    assert!(difference < TOLERANCE, "CRNN logits differ by {difference}");
}
