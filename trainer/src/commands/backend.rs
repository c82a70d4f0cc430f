//! Choosing the compute device from `--backend`.

use burn::tensor::Device;
use clap::ValueEnum;

/// Where the network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// wgpu when a hardware GPU adapter exists, else cpu.
    Auto,
    /// burn-flex on the CPU (pure Rust, SIMD).
    Cpu,
    /// wgpu: Vulkan, Metal or DX12 (a software adapter such as lavapipe works too).
    Wgpu,
}

impl Backend {
    /// The plain (inference) device for this choice, and its name for reports.
    pub fn device(self) -> anyhow::Result<(Device, &'static str)> {
        match self {
            Backend::Cpu | Backend::Auto => Ok((Device::flex(), "cpu (burn-flex)")),
            Backend::Wgpu => anyhow::bail!("this trainer was built without wgpu support"),
        }
    }
}
