//! Choosing the compute device from `--backend`.
//!
//! Every command runs the same code on either device: Burn 0.22 dispatches tensor operations
//! on the [`Device`] at run time, so only the device differs between `cpu` and `wgpu`.

use burn::tensor::Device;
use clap::ValueEnum;

/// Where the network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// wgpu when a hardware GPU adapter exists, else cpu.
    Auto,
    /// The CPU: burn-flex (pure Rust, SIMD) for training and CNN/CRNN networks; MusiCNN
    /// transfer and table networks classify without Burn, in plain Rust.
    Cpu,
    /// wgpu: Vulkan, Metal or DX12 (a software adapter such as lavapipe works too).
    Wgpu,
}

/// The name reported for the CPU backend.
const CPU_NAME: &str = "cpu (burn-flex)";

impl Backend {
    /// The plain (inference) device for this choice and a description of it for reports
    /// (backend and, for wgpu, the adapter). Also tells the user on stderr what was chosen.
    pub fn device(self) -> anyhow::Result<(Device, String)> {
        let (device, name) = match self {
            Backend::Cpu => (Device::flex(), CPU_NAME.to_string()),
            Backend::Wgpu => gpu::device()?,
            Backend::Auto => auto()?,
        };
        eprintln!("backend: {name}");
        Ok((device, name))
    }
}

/// `--backend auto`: wgpu on a hardware GPU adapter, otherwise the CPU.
#[cfg(feature = "wgpu")]
fn auto() -> anyhow::Result<(Device, String)> {
    let adapters = gpu::adapters();
    if !adapters.iter().any(gpu::is_hardware) {
        let found = if adapters.is_empty() {
            "no wgpu adapter".to_string()
        } else {
            format!(
                "only software adapters: {}",
                adapters.iter().map(gpu::describe).collect::<Vec<_>>().join(", ")
            )
        };
        return Ok((Device::flex(), format!("{CPU_NAME}; {found}")));
    }
    match gpu::device() {
        Ok(chosen) => Ok(chosen),
        Err(e) => {
            eprintln!("warning: a GPU adapter exists but wgpu could not start on it ({e:#}); using the CPU");
            Ok((Device::flex(), CPU_NAME.to_string()))
        }
    }
}

/// `--backend auto` in a build without wgpu: always the CPU.
#[cfg(not(feature = "wgpu"))]
fn auto() -> anyhow::Result<(Device, String)> {
    Ok((Device::flex(), format!("{CPU_NAME}; built without wgpu")))
}

/// Stand-in for the wgpu module in a build without the `wgpu` feature.
#[cfg(not(feature = "wgpu"))]
mod gpu {
    use burn::tensor::Device;

    pub fn device() -> anyhow::Result<(Device, String)> {
        anyhow::bail!(
            "this trainer was built without wgpu support (cargo feature `wgpu`); use --backend cpu"
        )
    }
}

#[cfg(feature = "wgpu")]
pub use gpu::{adapters, is_hardware};

/// The wgpu device: adapter discovery and the one runtime per process.
#[cfg(feature = "wgpu")]
mod gpu {
    use std::future::Future;
    use std::sync::{Arc, OnceLock};
    use std::task::{Context, Poll, Wake, Waker};

    use burn::tensor::wgpu::wgpu::{self, AdapterInfo, Backends, DeviceType};
    use burn::tensor::Device;

    /// The graphics APIs Burn's automatic wgpu selection tries (Vulkan, DX12 and GL; Metal on
    /// macOS).
    fn apis() -> Backends {
        Backends::VULKAN | Backends::METAL | Backends::DX12 | Backends::GL
    }

    /// Every adapter wgpu finds on this machine (hardware and software).
    pub fn adapters() -> Vec<AdapterInfo> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: apis(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        block_on(instance.enumerate_adapters(apis())).iter().map(wgpu::Adapter::get_info).collect()
    }

    /// True for a real GPU (discrete, integrated or virtualised), false for a CPU rasteriser
    /// such as lavapipe or llvmpipe.
    pub fn is_hardware(info: &AdapterInfo) -> bool {
        matches!(
            info.device_type,
            DeviceType::DiscreteGpu | DeviceType::IntegratedGpu | DeviceType::VirtualGpu
        )
    }

    /// "name (API, kind)", e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, software)".
    pub(crate) fn describe(info: &AdapterInfo) -> String {
        let kind = match info.device_type {
            DeviceType::DiscreteGpu => "discrete GPU",
            DeviceType::IntegratedGpu => "integrated GPU",
            DeviceType::VirtualGpu => "virtual GPU",
            DeviceType::Cpu => "software",
            DeviceType::Other => "other",
        };
        format!("{} ({:?}, {kind})", info.name, info.backend)
    }

    /// The wgpu device on the adapter wgpu prefers (high performance first), started once per
    /// process: Burn's wgpu runtime can be initialised only once.
    pub(crate) fn device() -> anyhow::Result<(Device, String)> {
        static DEVICE: OnceLock<Result<(Device, String), String>> = OnceLock::new();
        let chosen = DEVICE.get_or_init(|| match Device::wgpu_options().init_with_setup() {
            Ok((device, setup)) => Ok((device, format!("wgpu on {}", describe(&setup.adapter.get_info())))),
            Err(e) => Err(format!(
                "cannot start wgpu: {e}. wgpu needs a Vulkan, Metal or DX12 adapter: install the GPU's \
                 driver (on Linux without a GPU, Mesa's software Vulkan: apt-get install \
                 mesa-vulkan-drivers), or use --backend cpu"
            )),
        });
        chosen.clone().map_err(anyhow::Error::msg)
    }

    /// Runs a future to completion on this thread (wgpu's native futures are ready at once).
    fn block_on<F: Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(out) => return out,
                Poll::Pending => std::thread::park(),
            }
        }
    }
}
