//! The device a model runs on: Burn's [`Device`] when Burn is built in (feature `burn`);
//! without Burn, only the CPU, where the Burn-free networks
//! ([`plain`](crate::model::plain)) run.

#[cfg(feature = "burn")]
pub use burn::tensor::Device;

/// The CPU: the one device of a build without Burn.
#[cfg(not(feature = "burn"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device;

#[cfg(not(feature = "burn"))]
impl Device {
    /// The CPU (named as Burn's CPU device is, so callers read the same with and without it).
    pub fn flex() -> Self {
        Device
    }
}
